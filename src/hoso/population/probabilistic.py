"""Probabilistic matching with Splink, for dossiers without a usable personal ID.

A dossier whose ID is absent, malformed or not found in the registry is matched on its
birth name, date of birth, sex, home town and ethnicity against the registry's citizens
with a Fellegi-Sunter model run by `Splink <https://moj-analytical-services.github.io/splink/>`_
(5.x): on DuckDB in-process by default, or on Spark (pyspark) for registries beyond one
machine, with the same comparisons, blocking rules and parameters.

==================  ===========================================================================
``prepare``         a frame of records or citizens -> the model's normalised columns
``link``            records x registry -> candidate pairs above a threshold, with the
                    comparison of each field (level, values, weight)
``best``            per record: ``matched`` (auto-accepted), ``potential_match`` (review) or
                    ``not_found``, with the candidates best first
``train``           estimate the parameters again (u by random sampling, m by EM)
``PARAMETERS``      the parameters in use (trained once, see below)
``local_spark``     a local-mode Spark session with Splink's similarity functions
==================  ===========================================================================

Columns
-------
``records`` has ``record_key`` and ``registry`` has ``personal_id``; both may carry the
catalogue fields ``birth_name``, ``date_of_birth``, ``sex``, ``hometown_ward_code``,
``hometown_province_code``, ``hometown_unit_scheme``, ``hometown_district_legacy_code``,
``ethnicity_code``, ``residence_ward_code``, ``residence_province_code`` and
``residence_unit_scheme`` (missing columns count as empty). Values are normalised as the
deterministic comparison does (:func:`hoso.population.matching.normalise`): legacy
encodings repaired, NFC, case, spaces, tone placement, ISO dates (partial dates kept), and
home towns and residences converted to the 2025 units (:func:`hoso.population.matching.to_2025`). The
Python normalisation runs once per distinct value (names, dates and addresses repeat a lot),
the rest is vectorised.

Model
-----
Comparisons (levels best first; a value missing on either side is a neutral level). Where
one side lacks information (a name written without diacritics, a partial date, a home town
known only by its province) the agreement it still allows is a level of its own, or part of
the exact level, so that its weight reflects what the record actually says:

- ``birth_name``: ``exact`` (equal, or equal without diacritics when one side has none;
  weighted by the frequency of the name without diacritics, so a rare name weighs more than
  ``NGUYỄN VĂN HÙNG``); ``no_diacritics`` (both written with diacritics that differ, equal
  without: ``HÙNG``/``HƯNG``); ``one_edit`` (Damerau-Levenshtein <= 1 without diacritics);
  ``similar`` (Jaro-Winkler >= 0.92 without diacritics); ``different``.
- ``date_of_birth``: ``exact``; ``day_month_swapped``; ``one_typo`` (Damerau-Levenshtein
  <= 1 on the ISO text); ``partial_month`` / ``partial_year`` (one side gives only the year
  and month, or only the year, and it agrees); ``same_month``; ``same_year``; ``different``.
- ``sex``: ``exact``; ``different``.
- ``hometown``: ``same_ward`` (2025 commune); ``province_only`` (one side's commune is
  unknown, e.g. a legacy commune split in 2025, and the 2025 provinces agree);
  ``same_province``; ``different``.
- ``ethnicity_code``: ``exact`` (frequency-adjusted: Kinh weighs little); ``different``.
- ``residence``: ``same_ward`` (the permanent residence's 2025 commune); ``same_province``;
  ``different``. People move and dossiers lag behind the registry, so it weighs less than
  the home town, but it tells namesakes born on the same day apart.

Blocking (pairs compared): same date of birth; same name without diacritics and year of
birth; same sex, home-town commune and year of birth; same name without diacritics, day and
month of birth (a typo in the year); same home-town commune, day and month of birth (typos
in both the name and the year). A pair needs one of them.

The prior, the probability that a random (record, citizen) pair matches, is
``match_rate / len(registry)``: with ``match_rate`` (default 0.9) the share of records
expected to be in the registry, so that probabilities stay calibrated whatever the size of
the registry.

Parameters
----------
``PARAMETERS`` holds the m and u probabilities of every level, trained once by
:func:`train` through ``bench/match.py --train`` on its seeded registry (the simulator's
4,998,095 citizens less 5,000) and the 100,000 query records of its step 7 with the default
("realistic") noise: u by random sampling, m by expectation maximisation (see :func:`train`;
no ground truth is used). m describes how true matches disagree and u how chance agreements happen, neither
depends on the registry's size; term frequencies are computed on the data of each run. To
regenerate them, e.g. on a real registry extract and its unmatched dossiers, call
:func:`train` and paste the dict it returns here, or pass it to :func:`link` as
``parameters``.

Decisions
---------
:func:`best` takes, per record, the candidates at or above ``review`` (best first). Since a
record matches at most one citizen, the best candidate's *confidence* is its odds over one
plus the sum of all candidates' odds (``p/(1-p)``): a lone 0.9999 keeps it, two twins at
0.999 each fall to 0.5. A record is ``matched`` (auto-accepted) when that confidence is at
least ``auto_accept``, ``potential_match`` when its best candidate is at least ``review``,
else ``not_found``.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import polars as pl

from hoso.population import matching
from hoso.population.models import Outcome

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from splink.internals.comparison_creator import ComparisonCreator
    from splink.internals.comparison_level_creator import ComparisonLevelCreator
    from splink.internals.database_api import DatabaseAPI
    from splink.internals.settings_creator import SettingsCreator

__all__ = [
    "COMPARED_FIELDS",
    "INPUT_FIELDS",
    "MODEL_COLUMNS",
    "PARAMETERS",
    "Backend",
    "Parameters",
    "best",
    "link",
    "local_spark",
    "prepare",
    "train",
]

Backend = Literal["duckdb", "spark"]
"""Where Splink runs: DuckDB in-process, or Spark (pyspark; local mode or a cluster)."""

Frame = pl.DataFrame | pl.LazyFrame | str | Path
"""A frame, or the path of a Parquet file (or a directory/glob of them)."""

INPUT_FIELDS: Final = (
    "birth_name",
    "date_of_birth",
    "sex",
    "hometown_ward_code",
    "hometown_province_code",
    "hometown_unit_scheme",
    "hometown_district_legacy_code",
    "ethnicity_code",
    "residence_ward_code",
    "residence_province_code",
    "residence_unit_scheme",
)
"""Catalogue fields read from records and citizens (all optional)."""

COMPARED_FIELDS: Final = (
    "birth_name", "date_of_birth", "sex", "hometown", "ethnicity_code", "residence",
)  # fmt: skip
"""The model's comparisons, by the name used in explanations."""

MODEL_COLUMNS: Final = (
    "unique_id",
    "name",
    "name_ascii",
    "dob",
    "dob_ym",
    "dob_year",
    "dob_month",
    "dob_day",
    "sex",
    "ward",
    "province",
    "ethnicity",
    "res_ward",
    "res_province",
)
"""The columns :func:`prepare` produces and the model reads."""

_RECORDS, _REGISTRY = "records", "registry"  # Splink dataset names; "records" sorts first


@dataclass(frozen=True, slots=True)
class _Level:
    label: str
    make: Callable[[], ComparisonLevelCreator]
    tf: str | None = None


@dataclass(frozen=True, slots=True)
class _Comparison:
    name: str
    null_column: str
    shown: str
    """The model column shown as the two sides' values in explanations."""
    levels: tuple[_Level, ...]


# Levels conditioned on what one side lacks (a name written without diacritics, a partial
# date, a home town known only by province) are levels of their own or part of the exact
# level, so that their weight reflects the information the record actually has.
_NAME_EQUAL = "name_l = name_r OR (name_ascii_l = name_ascii_r AND (name_l = name_ascii_l OR name_r = name_ascii_r))"
_PARTIAL_MONTH = "(length(dob_l) = 7 OR length(dob_r) = 7) AND dob_ym_l = dob_ym_r"
_PARTIAL_YEAR = "(length(dob_l) = 4 OR length(dob_r) = 4) AND dob_year_l = dob_year_r"
_PROVINCE_ONLY = "(ward_l IS NULL OR ward_r IS NULL) AND province_l = province_r"


def _spec() -> tuple[_Comparison, ...]:
    import splink.comparison_level_library as cll

    def custom(sql: str) -> Callable[[], ComparisonLevelCreator]:
        return lambda: cll.CustomLevel(sql, base_dialect_str="duckdb")

    return (
        _Comparison(
            "birth_name",
            "name",
            "name",
            (
                _Level("exact", custom(_NAME_EQUAL), tf="name_ascii"),
                _Level("no_diacritics", lambda: cll.ExactMatchLevel("name_ascii")),
                _Level("one_edit", lambda: cll.DamerauLevenshteinLevel("name_ascii", 1)),
                _Level("similar", lambda: cll.JaroWinklerLevel("name_ascii", 0.92)),
                _Level("different", cll.ElseLevel),
            ),
        ),
        _Comparison(
            "date_of_birth",
            "dob",
            "dob",
            (
                _Level("exact", lambda: cll.ExactMatchLevel("dob")),
                _Level(
                    "day_month_swapped",
                    lambda: cll.And(
                        cll.ExactMatchLevel("dob_year"),
                        cll.ColumnsReversedLevel("dob_month", "dob_day", symmetrical=True),
                    ),
                ),
                _Level("one_typo", lambda: cll.DamerauLevenshteinLevel("dob", 1)),
                _Level("partial_month", custom(_PARTIAL_MONTH)),
                _Level("partial_year", custom(_PARTIAL_YEAR)),
                _Level("same_month", lambda: cll.ExactMatchLevel("dob_ym")),
                _Level("same_year", lambda: cll.ExactMatchLevel("dob_year")),
                _Level("different", cll.ElseLevel),
            ),
        ),
        _Comparison(
            "sex",
            "sex",
            "sex",
            (
                _Level("exact", lambda: cll.ExactMatchLevel("sex")),
                _Level("different", cll.ElseLevel),
            ),
        ),
        _Comparison(
            "hometown",
            "province",
            "ward",
            (
                _Level("same_ward", lambda: cll.ExactMatchLevel("ward")),
                _Level("province_only", custom(_PROVINCE_ONLY)),
                _Level("same_province", lambda: cll.ExactMatchLevel("province")),
                _Level("different", cll.ElseLevel),
            ),
        ),
        _Comparison(
            "ethnicity_code",
            "ethnicity",
            "ethnicity",
            (
                _Level("exact", lambda: cll.ExactMatchLevel("ethnicity"), tf="ethnicity"),
                _Level("different", cll.ElseLevel),
            ),
        ),
        _Comparison(
            "residence",
            "res_province",
            "res_ward",
            (
                _Level("same_ward", lambda: cll.ExactMatchLevel("res_ward")),
                _Level("same_province", lambda: cll.ExactMatchLevel("res_province")),
                _Level("different", cll.ElseLevel),
            ),
        ),
    )


Parameters = dict[str, dict[str, dict[str, float]]]
"""``{comparison: {level label: {"m": m probability, "u": u probability}}}``."""

# Trained by `bench/match.py --train` (see the module docstring).
PARAMETERS: Final[Parameters] = {
    "birth_name": {
        "exact": {"m": 0.9531, "u": 0.0001655},
        "no_diacritics": {"m": 0.0002012, "u": 3e-05},
        "one_edit": {"m": 0.02968, "u": 0.0003188},
        "similar": {"m": 0.004028, "u": 0.01096},
        "different": {"m": 0.01302, "u": 0.9885},
    },
    "date_of_birth": {
        "exact": {"m": 0.6085, "u": 3.818e-05},
        "day_month_swapped": {"m": 0.003177, "u": 1.551e-05},
        "one_typo": {"m": 0.02167, "u": 0.00121},
        "partial_month": {"m": 0.003171, "u": 7.102e-06},
        "partial_year": {"m": 0.01181, "u": 0.0002525},
        "same_month": {"m": 0.0001, "u": 0.0007785},
        "same_year": {"m": 0.007844, "u": 0.01349},
        "different": {"m": 0.3438, "u": 0.9842},
    },
    "sex": {
        "exact": {"m": 0.9983, "u": 0.5014},
        "different": {"m": 0.001671, "u": 0.4986},
    },
    "hometown": {
        "same_ward": {"m": 0.9565, "u": 0.0003323},
        "province_only": {"m": 0.01087, "u": 0.0007784},
        "same_province": {"m": 0.02666, "u": 0.03849},
        "different": {"m": 0.00592, "u": 0.9604},
    },
    "ethnicity_code": {
        "exact": {"m": 0.9945, "u": 0.6475},
        "different": {"m": 0.005451, "u": 0.3525},
    },
    "residence": {
        "same_ward": {"m": 0.8501, "u": 0.0003964},
        "same_province": {"m": 0.1008, "u": 0.04843},
        "different": {"m": 0.04905, "u": 0.9512},
    },
}


def _blocking_rules() -> list[Any]:
    from splink import block_on

    return [
        block_on("dob"),
        block_on("name_ascii", "dob_year"),
        block_on("sex", "ward", "dob_year"),
        block_on("name_ascii", "dob_month", "dob_day"),
        block_on("ward", "dob_month", "dob_day"),
    ]


def _comparisons(parameters: Parameters | None) -> list[ComparisonCreator | dict[str, Any]]:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    out: list[ComparisonCreator | dict[str, Any]] = []
    for comp in _spec():
        levels: list[ComparisonLevelCreator | dict[str, Any]] = [
            cll.NullLevel(comp.null_column).configure(label_for_charts="missing")
        ]
        for level in comp.levels:
            options: dict[str, Any] = {"label_for_charts": level.label}
            if level.tf is not None:
                # the level's own u is the baseline of the adjustment (log2(m / tf) overall)
                options["tf_adjustment_column"] = level.tf
                options["disable_tf_exact_match_detection"] = True
            if parameters is not None:
                p = parameters[comp.name][level.label]
                options["m_probability"] = p["m"]
                options["u_probability"] = p["u"]
            levels.append(level.make().configure(**options))
        out.append(CustomComparison(comparison_levels=levels, output_column_name=comp.name))
    return out


def _settings(parameters: Parameters | None, prior: float) -> SettingsCreator:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="link_only",
        comparisons=_comparisons(parameters),
        blocking_rules_to_generate_predictions=_blocking_rules(),
        probability_two_random_records_match=prior,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


# --- preparation ---------------------------------------------------------------------------


def _ascii(name: str) -> str:
    d = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in d if not unicodedata.combining(ch))


@lru_cache(maxsize=1 << 16)
def _name_pair(value: str) -> tuple[str | None, str | None]:
    name = matching.normalise("birth_name", value)
    return name, (_ascii(name) if name is not None else None)


_SEX: Final = {"M": "M", "F": "F", "NAM": "M", "NỮ": "F", "NU": "F", "MALE": "M", "FEMALE": "F"}


def _sex(value: str) -> str | None:
    code = matching.normalise("sex", value)
    return _SEX.get(code, code) if code is not None else None


def _mapped(
    frame: pl.DataFrame, column: str, fn: Callable[[str], Any], dtype: pl.DataType
) -> pl.Series:
    """``fn`` applied once per distinct non-null value of ``column`` (as text)."""
    values = frame.get_column(column).cast(pl.String)
    distinct = values.drop_nulls().unique()
    mapping = pl.Series([fn(v) for v in distinct.to_list()], dtype=dtype)
    return values.replace_strict(distinct, mapping, default=None, return_dtype=dtype)


def _read(frame: Frame, key: str) -> pl.DataFrame:
    lazy: pl.LazyFrame
    if isinstance(frame, str | Path):
        lazy = pl.scan_parquet(frame)
    elif isinstance(frame, pl.DataFrame):
        lazy = frame.lazy()
    else:
        lazy = frame
    names = lazy.collect_schema().names()
    if key not in names:
        raise ValueError(f"missing column {key!r}")
    columns = [pl.col(key).cast(pl.String).alias("unique_id")]
    for f in INPUT_FIELDS:
        columns.append(
            pl.col(f).cast(pl.String) if f in names else pl.lit(None, pl.String).alias(f)
        )
    return lazy.select(columns).collect()


def _units(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """``ward`` and ``province`` (2025 units) of the ``prefix`` address (home town or
    residence), converted once per distinct address."""
    keys = [
        f"{prefix}_unit_scheme",
        f"{prefix}_ward_code",
        f"{prefix}_district_legacy_code",
        f"{prefix}_province_code",
    ]
    if keys[2] not in frame.columns:  # residence: no legacy district column
        frame = frame.with_columns(pl.lit(None, pl.String).alias(keys[2]))
    distinct = frame.select(keys).unique()
    converted = [matching.to_2025(*row) for row in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("ward", [w for w, _ in converted], dtype=pl.String),
        pl.Series("province", [p for _, p in converted], dtype=pl.String),
    )
    return frame.select(keys).join(
        table, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )


def prepare(frame: Frame, *, key: str) -> pl.DataFrame:
    """The model's columns (``MODEL_COLUMNS``) of records or citizens, normalised.

    ``key`` names the identifying column (``record_key`` for records, ``personal_id`` for
    the registry); it becomes ``unique_id``. Rows with the same key are not merged.
    """
    raw = _read(frame, key)
    names = raw.get_column("birth_name").cast(pl.String)
    distinct = names.drop_nulls().unique()
    pairs = [_name_pair(v) for v in distinct.to_list()]
    name = names.replace_strict(
        distinct, pl.Series([p[0] for p in pairs], dtype=pl.String), default=None
    )
    name_ascii = names.replace_strict(
        distinct, pl.Series([p[1] for p in pairs], dtype=pl.String), default=None
    )
    dob = _mapped(
        raw, "date_of_birth", lambda v: matching.normalise("date_of_birth", v), pl.String()
    )
    units = _units(raw, "hometown")
    residence = _units(raw, "residence")
    out = pl.DataFrame(
        {
            "unique_id": raw.get_column("unique_id"),
            "name": name,
            "name_ascii": name_ascii,
            "dob": dob,
            "sex": _mapped(raw, "sex", _sex, pl.String()),
            "ward": units.get_column("ward"),
            "province": units.get_column("province"),
            "ethnicity": _mapped(
                raw,
                "ethnicity_code",
                lambda v: matching.normalise("ethnicity_code", v),
                pl.String(),
            ),
            "res_ward": residence.get_column("ward"),
            "res_province": residence.get_column("province"),
        }
    )
    iso = pl.col("dob").str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").fill_null(False)
    full = iso & (pl.col("dob").str.len_chars() == 10)
    return out.with_columns(
        pl.when(iso).then(pl.col("dob").str.slice(0, 4)).alias("dob_year"),
        pl.when(iso & (pl.col("dob").str.len_chars() >= 7))
        .then(pl.col("dob").str.slice(0, 7))
        .alias("dob_ym"),
        pl.when(full).then(pl.col("dob").str.slice(5, 2)).alias("dob_month"),
        pl.when(full).then(pl.col("dob").str.slice(8, 2)).alias("dob_day"),
    ).select(MODEL_COLUMNS)


# --- backends ------------------------------------------------------------------------------


class _Session:
    """A Splink database API with the two prepared tables registered; cleans up after."""

    def __init__(
        self, backend: Backend, spark: SparkSession | None, staging: str | Path | None = None
    ) -> None:
        self.backend = backend
        self._spark = spark
        self._own_spark = False
        self._tmp: Path | None = None
        self.api: DatabaseAPI[Any]
        if backend == "duckdb":
            from splink import DuckDBAPI

            self.api = DuckDBAPI()
        elif backend == "spark":
            from splink import SparkAPI

            if self._spark is None:
                self._spark = local_spark()
                self._own_spark = True
            self._tmp = Path(tempfile.mkdtemp(prefix="hoso-splink-", dir=staging))
            partitions = int(self._spark.conf.get("spark.sql.shuffle.partitions") or "8")
            self.api = SparkAPI(  # type: ignore[no-untyped-call]
                spark_session=self._spark,
                break_lineage_method="persist",
                num_partitions_on_repartition=max(1, partitions),
            )
        else:
            raise ValueError(f"unknown backend {backend!r} (duckdb or spark)")

    def register(self, frame: pl.DataFrame, name: str) -> Any:
        if self.backend == "duckdb":
            return self.api.register(frame.to_arrow(), dataset_display_name=name)
        assert self._spark is not None and self._tmp is not None
        path = self._tmp / f"{name}.parquet"
        frame.write_parquet(path)
        return self.api.register(self._spark.read.parquet(str(path)), dataset_display_name=name)

    def close(self) -> None:
        if self.backend == "duckdb":
            con = getattr(self.api, "duckdb_con", None)
            if con is not None:
                con.close()
        if self._own_spark and self._spark is not None:
            self._spark.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def local_spark(*, cores: int | str = "*", memory: str = "2g") -> SparkSession:
    """A local-mode Spark session with Splink's similarity functions (its bundled jar)."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("hoso-population-matching")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


# --- linking -------------------------------------------------------------------------------


def _linker(
    session: _Session, records: pl.DataFrame, registry: pl.DataFrame, settings: SettingsCreator
) -> Any:
    from splink import Linker

    left = session.register(records, _RECORDS)
    right = session.register(registry, _REGISTRY)
    return Linker([left, right], settings, log_level=None)


def _explained(table: pl.DataFrame) -> pl.DataFrame:
    """Splink's predictions -> ``record_key, personal_id, probability, match_weight, comparison``."""
    if table.height and table.get_column("source_dataset_l")[0] != _RECORDS:
        table = table.rename(
            {
                c: c[:-2] + ("_r" if c.endswith("_l") else "_l")
                for c in table.columns
                if c.endswith(("_l", "_r"))
            }
        )
    fields: list[pl.Expr] = []
    for comp in _spec():
        n = len(comp.levels)
        labels = {-1: "missing"} | {n - 1 - i: level.label for i, level in enumerate(comp.levels)}
        weight = pl.col(f"mw_{comp.name}")
        if any(level.tf for level in comp.levels):
            weight = weight + pl.col(f"mw_tf_adj_{comp.name}").fill_null(0.0)
        fields.append(
            pl.struct(
                pl.col(f"gamma_{comp.name}")
                .cast(pl.Int64)
                .replace_strict(labels, return_dtype=pl.String)
                .alias("level"),
                pl.col(f"{comp.shown}_l").cast(pl.String).alias("ours"),
                pl.col(f"{comp.shown}_r").cast(pl.String).alias("registry"),
                weight.cast(pl.Float64).alias("weight"),
            ).alias(comp.name)
        )
    return table.select(
        pl.col("unique_id_l").cast(pl.String).alias("record_key"),
        pl.col("unique_id_r").cast(pl.String).alias("personal_id"),
        pl.col("match_probability").cast(pl.Float64).alias("probability"),
        pl.col("match_weight").cast(pl.Float64),
        pl.struct(fields).alias("comparison"),
    ).sort(["record_key", "probability"], descending=[False, True])


def link(
    records: Frame,
    registry: Frame,
    *,
    backend: Backend = "duckdb",
    threshold: float = 0.5,
    parameters: Parameters | None = None,
    match_rate: float = 0.9,
    spark: SparkSession | None = None,
    staging: str | Path | None = None,
) -> pl.DataFrame:
    """Candidate citizens for each record, with their match probability.

    ``records`` (column ``record_key``) and ``registry`` (column ``personal_id``) are
    frames or Parquet paths with the :data:`INPUT_FIELDS`. Returns one row per candidate
    pair at or above ``threshold``: ``record_key``, ``personal_id``, ``probability``,
    ``match_weight`` (log2 Bayes factor including the prior) and ``comparison``, a struct
    with one field per :data:`COMPARED_FIELDS` entry, each ``{level, ours, registry,
    weight}`` (the level label, both normalised values, its log2 Bayes factor). Sorted by
    record, best candidate first.

    ``backend="spark"`` runs the same model on ``spark`` (a session; by default a local one
    from :func:`local_spark`, stopped at the end); the prepared frames are written as Parquet
    under ``staging`` (default: the system's temporary directory), which must be storage
    the executors read when the session is a cluster's. ``parameters`` defaults to
    :data:`PARAMETERS`; ``match_rate`` sets the prior (module docstring).
    """
    if not 0.0 < match_rate <= 1.0:
        raise ValueError("match_rate must be in (0, 1]")
    ours = prepare(records, key="record_key")
    theirs = prepare(registry, key="personal_id")
    if ours.is_empty() or theirs.is_empty():
        return _empty_candidates()
    prior = min(match_rate / theirs.height, 0.5)
    session = _Session(backend, spark, staging)
    try:
        linker = _linker(session, ours, theirs, _settings(parameters or PARAMETERS, prior))
        predictions = linker.inference.predict(
            threshold_match_probability=threshold, warning_mode="never"
        )
        table = pl.from_arrow(predictions.as_pyarrow_table())
    finally:
        session.close()
    assert isinstance(table, pl.DataFrame)
    if table.is_empty():
        return _empty_candidates()
    return _explained(table)


def _comparison_dtype() -> pl.Struct:
    leaf = pl.Struct(
        {"level": pl.String, "ours": pl.String, "registry": pl.String, "weight": pl.Float64}
    )
    return pl.Struct({name: leaf for name in COMPARED_FIELDS})


def _empty_candidates() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "record_key": pl.String,
            "personal_id": pl.String,
            "probability": pl.Float64,
            "match_weight": pl.Float64,
            "comparison": _comparison_dtype(),
        }
    )


def best(
    candidates: pl.DataFrame,
    auto_accept: float = 0.999,
    review: float = 0.5,
    *,
    records: Iterable[str] | pl.Series | None = None,
) -> pl.DataFrame:
    """One decision per record from :func:`link`'s candidates (module docstring, Decisions).

    Returns ``record_key``, ``outcome`` (``matched`` | ``potential_match`` | ``not_found``,
    the :class:`~hoso.population.models.Outcome` values), ``personal_id`` and
    ``probability`` of the best candidate (null when not found), ``confidence`` (the best
    candidate's share of the odds) and ``candidates`` (list of ``{personal_id,
    probability, comparison}`` at or above ``review``, best first). Records without any
    candidate appear only when listed in ``records`` (as ``not_found``).
    """
    if not 0.0 <= review <= auto_accept <= 1.0:
        raise ValueError("thresholds must satisfy 0 <= review <= auto_accept <= 1")
    kept = candidates.filter(pl.col("probability") >= review).sort(
        ["record_key", "probability", "personal_id"], descending=[False, True, False]
    )
    odds = pl.col("probability") / (1.0 - pl.col("probability")).clip(lower_bound=1e-300)
    grouped = (
        kept.with_columns(odds.alias("_odds"))
        .group_by("record_key", maintain_order=True)
        .agg(
            pl.col("personal_id").first(),
            pl.col("probability").first(),
            (pl.col("_odds").first() / (1.0 + pl.col("_odds").sum())).alias("confidence"),
            pl.struct("personal_id", "probability", "comparison").alias("candidates"),
        )
    )
    decided = grouped.with_columns(
        pl.when(pl.col("confidence") >= auto_accept)
        .then(pl.lit(Outcome.MATCHED))
        .otherwise(pl.lit(Outcome.POTENTIAL))
        .alias("outcome")
    )
    if records is not None:
        keys = pl.DataFrame({"record_key": pl.Series(list(records), dtype=pl.String)}).unique(
            maintain_order=True
        )
        decided = keys.join(
            decided, on="record_key", how="left", maintain_order="left"
        ).with_columns(pl.col("outcome").fill_null(pl.lit(Outcome.NOT_FOUND)))
    return decided.select(
        "record_key", "outcome", "personal_id", "probability", "confidence", "candidates"
    )


# --- training ------------------------------------------------------------------------------


def train(
    records: Frame,
    registry: Frame,
    *,
    backend: Backend = "duckdb",
    max_pairs: float = 2e7,
    em_pairs: float = 5e6,
    u_registry_sample: int = 200_000,
    seed: int = 1,
    match_rate: float = 0.9,
    spark: SparkSession | None = None,
) -> Parameters:
    """Estimate :data:`PARAMETERS` afresh from ``records`` and ``registry`` (unsupervised).

    - u by random sampling of ``max_pairs`` (record, citizen) pairs between the records and
      a sample of ``u_registry_sample`` citizens (so that enough records, with their partial
      dates or missing diacritics, are in the pairs; u does not depend on the registry's
      size);
    - m of name, sex, home town and ethnicity by expectation maximisation (u fixed) on the
      pairs with the same date of birth;
    - m of the date of birth by expectation maximisation on the pairs with the same name
      without diacritics, sex and ethnicity (``em_pairs`` of them sampled). Sex and ethnicity
      are in that blocking rule because names depend on them: left free, they would agree
      on almost every blocked pair and pass for evidence of a match. The date and the home
      town remain, two informative comparisons independent of the name, which EM needs.

    No ground truth is used. m probabilities are floored at 1e-4.
    """
    from splink import block_on

    ours = prepare(records, key="record_key")
    theirs = prepare(registry, key="personal_id")
    start = _start_values()
    sample = theirs.sample(min(theirs.height, u_registry_sample), seed=seed)
    u = _trained(
        backend, spark, ours, sample, start, match_rate, [], max_pairs=max_pairs, seed=seed
    )
    with_u = {
        comp: {label: {"m": p["m"], "u": u[comp][label]["u"]} for label, p in levels.items()}
        for comp, levels in start.items()
    }
    by_date = _trained(backend, spark, ours, theirs, with_u, match_rate, [block_on("dob")])
    by_name = _trained(
        backend,
        spark,
        ours,
        theirs,
        with_u,
        match_rate,
        [block_on("name_ascii", "sex", "ethnicity")],
        em_pairs=em_pairs,
    )
    chosen = {"date_of_birth": by_name}
    out: Parameters = {}
    for comp in COMPARED_FIELDS:
        source = chosen.get(comp, by_date)
        out[comp] = {
            label: {"m": _rounded(max(source[comp][label]["m"], 1e-4)), "u": u[comp][label]["u"]}
            for label in start[comp]
        }
    return out


def _trained(
    backend: Backend,
    spark: SparkSession | None,
    records: pl.DataFrame,
    registry: pl.DataFrame,
    parameters: Parameters,
    match_rate: float,
    em_blocking: list[Any],
    *,
    max_pairs: float = 0,
    em_pairs: float | None = None,
    seed: int = 1,
) -> Parameters:
    """One training step on its own backend session: u sampling, or EM sessions."""
    session = _Session(backend, spark)
    try:
        prior = min(match_rate / registry.height, 0.5)
        linker = _linker(session, records, registry, _settings(parameters, prior))
        if max_pairs:
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        for rule in em_blocking:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=em_pairs
            )
        return _parameters_of(linker.misc.save_model_to_json())
    finally:
        session.close()


def _start_values() -> Parameters:
    """Starting m and u of every level: :data:`PARAMETERS` where it has the level, else even."""
    out: Parameters = {}
    for comp in _spec():
        n = len(comp.levels)
        known = PARAMETERS.get(comp.name, {})
        out[comp.name] = {
            level.label: known.get(level.label, {"m": 1.0 / n, "u": 1.0 / n})
            for level in comp.levels
        }
    return out


def _parameters_of(model: Mapping[str, Any]) -> Parameters:
    out: Parameters = {}
    for comp in model["comparisons"]:
        levels: dict[str, dict[str, float]] = {}
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            levels[level["label_for_charts"]] = {
                "m": _rounded(m if m is not None else 1e-6),
                "u": _rounded(u if u is not None else 1e-6),
            }
        out[comp["output_column_name"]] = levels
    return out


def _rounded(x: float) -> float:
    """Four significant digits, so the dict stays readable when pasted into the source."""
    if x <= 0:
        return 1e-9
    return round(x, 3 - math.floor(math.log10(x)))
