"""Đúng (correct) rules DUNG-016 … DUNG-030: plausible values and consistent fields.

Ages and intervals (DUNG-016/017/018) compare ISO partial dates at the coarser precision of
the two (quality-rules.md §5): a date ``N`` whole years (or months) after another keeps that
date's precision, so a finding is only reported when it holds for every day a partial date
may stand for. A person is ``N`` years old from the ``N``-th birthday on (born on 29
February: from 1 March in common years). Dates are read as integer parts, which is several
times faster than comparing text for a million records.

Salary rules (DUNG-019/020/021/024/025) take the salary group of the rank code from
``rank.csv``, the number of steps from ``salary_group.csv`` and the coefficients from
``salary_scale.csv``; coefficients compare as decimals within a tolerance of 0.005. A rank
code that is not in the list makes the scale rules skip the value (DUNG-010 reports it).

Table rules work on the list columns without exploding whole tables: a per-row flag is
computed inside ``list.eval`` and only the records with a flagged row are exploded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from hoso.catalog.loader import Catalog, FieldDef
from hoso.quality import admin_units
from hoso.quality.rules import ID, Context, as_text, concat, empty_findings, findings, rule

_EPSILON = 1e-9
"""Slack for decimal comparisons done in binary floating point."""

DECIMAL_TOLERANCE = 0.005
"""§5's tolerance for coefficients (DUNG-023/024 have no parameter of their own)."""


# --- partial dates ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartialDate:
    """An ISO partial date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``) as integer expressions.

    ``precision`` is 1 (year), 2 (year-month) or 3 (date), null when the text has none of
    these lengths; ``number`` is the date's digits as an integer (``YYYY``, ``YYYYMM`` or
    ``YYYYMMDD``), null when they are not all digits."""

    precision: pl.Expr
    number: pl.Expr

    @staticmethod
    def parts(name: str, expr: pl.Expr) -> dict[str, pl.Expr]:
        """Columns ``_<name>_p`` / ``_<name>_n`` to compute once (``with_columns``) and read
        back with :meth:`column`: the text is parsed once, however often it is compared."""
        text = as_text(expr)
        size = text.str.len_bytes()
        return {
            f"_{name}_p": pl.when(size == 4)
            .then(1)
            .when(size == 7)
            .then(2)
            .when(size == 10)
            .then(3),
            f"_{name}_n": text.str.replace_all("-", "", literal=True).cast(pl.Int64, strict=False),
        }

    @classmethod
    def column(cls, name: str) -> PartialDate:
        """The date whose :meth:`parts` were computed under ``name``."""
        return cls(pl.col(f"_{name}_p"), pl.col(f"_{name}_n"))

    @classmethod
    def of(cls, expr: pl.Expr) -> PartialDate:
        """The date of a text (or integer year) column, parsed where it is used."""
        p, n = PartialDate.parts("x", expr).values()
        return cls(p, n)

    @classmethod
    def on(cls, day: dt.date) -> PartialDate:
        """A full date as literals."""
        return cls(pl.lit(3), pl.lit(day.year * 10000 + day.month * 100 + day.day))

    @property
    def year(self) -> pl.Expr:
        """The year."""
        return self.at(pl.lit(1))

    def at(self, level: pl.Expr) -> pl.Expr:
        """The number truncated to ``level`` (1-3, not above the precision)."""
        drop = self.precision - level
        n = self.number
        return (
            pl.when(drop == 0)
            .then(n)
            .when(drop == 1)
            .then(n // 100)
            .when(drop == 2)
            .then(n // 10000)
        )

    def plus_years(self, years: int) -> PartialDate:
        """``years`` years later, same precision (the day is not clamped: 29 Feb + 1 year
        sorts between 28 Feb and 1 Mar)."""
        unit = (
            pl.when(self.precision == 1)
            .then(1)
            .when(self.precision == 2)
            .then(100)
            .otherwise(10000)
        )
        return PartialDate(self.precision, self.number + years * unit)

    def plus_months(self, months: int, *, round_up: bool = False) -> PartialDate:
        """``months`` months later, same precision (day not clamped). A year-only date moves
        by ``months // 12`` years, rounded up with ``round_up`` (for upper bounds), so that
        comparisons stay on the safe side."""
        p, n = self.precision, self.number
        month_of = pl.when(p == 2).then(n).otherwise(n // 100)
        index = (month_of // 100) * 12 + month_of % 100 - 1 + months
        shifted = (index // 12) * 100 + index % 12 + 1
        whole = months // 12 + (1 if round_up and months % 12 else 0)
        number = (
            pl.when(p == 1)
            .then(n + whole)
            .when(p == 2)
            .then(shifted)
            .otherwise(shifted * 100 + n % 100)
        )
        return PartialDate(p, number)


def _keys(a: PartialDate, b: PartialDate) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Comparable keys of ``a`` and ``b`` at their coarser precision, and that precision."""
    level = pl.min_horizontal(a.precision, b.precision)
    level = pl.when(a.precision.is_not_null() & b.precision.is_not_null()).then(level)
    return a.at(level), b.at(level), level


def earlier(a: PartialDate, b: PartialDate) -> pl.Expr:
    """``a < b`` at the coarser precision (``2008-09`` is not earlier than ``2008-09-15``)."""
    ka, kb, _ = _keys(a, b)
    return ka < kb


def later(a: PartialDate, b: PartialDate) -> pl.Expr:
    """``a > b`` at the coarser precision."""
    ka, kb, _ = _keys(a, b)
    return ka > kb


def on_or_after(a: PartialDate, b: PartialDate) -> pl.Expr:
    """``a >= b`` for certain: later at the coarser precision, or the same full date."""
    ka, kb, level = _keys(a, b)
    return (ka > kb) | ((ka == kb) & (level == 3))


# --- value helpers ------------------------------------------------------------------------------


def _filled(expr: pl.Expr) -> pl.Expr:
    """True for a non-empty string (not null, not blank)."""
    return expr.is_not_null() & (expr.str.strip_chars() != "")


def _decimal(expr: pl.Expr) -> pl.Expr:
    """A decimal kept as text (``"4.98"``) as a float; null when it is no number."""
    return expr.cast(pl.String).cast(pl.Float64, strict=False)


def _differs(a: pl.Expr, b: pl.Expr, tolerance: float) -> pl.Expr:
    """Two decimals (floats) differ by more than ``tolerance``; null when either is null."""
    return (a - b).abs() > tolerance + _EPSILON


def _where(
    ctx: Context,
    condition: pl.Expr,
    *columns: str,
    prepare: Mapping[str, pl.Expr] | None = None,
    prefilter: pl.Expr | None = None,
) -> pl.DataFrame:
    """``_id`` and ``columns`` of the records where ``condition`` holds, after computing the
    ``prepare`` columns (parsed dates).

    Lazy, so that only the columns read are filtered (filtering the whole frame would copy
    every table of every matching record). ``prefilter``: a cheap condition that every
    match meets, evaluated first so that ``condition`` only runs on the few records left."""
    frame = ctx.frame.lazy()
    if prefilter is not None:
        made = set(prepare or {})
        read = {
            name
            for expr in (condition, *(prepare or {}).values())
            for name in expr.meta.root_names()
            if name not in made
        }
        frame = (
            frame.filter(prefilter.fill_null(True))
            .select(*dict.fromkeys([ID, *columns, *sorted(read)]))
            .collect()
            .lazy()
        )
    if prepare:
        frame = frame.with_columns(**prepare)
    return frame.filter(condition).select(ID, *dict.fromkeys(columns)).collect()


def cell(column: str) -> pl.Expr:
    """A column of the current row, inside :func:`table_cells` element expressions."""
    return pl.element().struct.field(column)


def _cell_path(table: str, column: str) -> pl.Expr:
    return pl.format(f"{table}[{{}}].{column}", pl.col("_i"))


def table_cells(
    ctx: Context,
    table: str,
    *,
    lists: Mapping[str, pl.Expr],
    candidate: pl.Expr,
    keep: pl.Expr,
    extra: Mapping[str, pl.Expr] | None = None,
) -> pl.DataFrame:
    """Rows of ``table`` that ``keep`` selects, without exploding the whole table.

    ``lists``: name -> an element expression over the row (:func:`cell`), evaluated for every
    row as a list column; ``extra``: record-level columns. ``candidate`` (over those list
    and record columns) picks the records to explode; ``keep`` (over the exploded values)
    picks their rows. Returns ``_id``, ``_i`` (0-based row index), the ``lists`` and
    ``extra`` columns."""
    names = list(lists)
    col = pl.col(table)
    return (
        ctx.frame.lazy()
        .select(ID, **(extra or {}), **{name: col.list.eval(e) for name, e in lists.items()})
        .filter(candidate.fill_null(False))
        .with_columns(_i=pl.int_ranges(pl.col(names[0]).list.len(), dtype=pl.Int64))
        .explode(*names, "_i")
        .filter(keep.fill_null(False))
        .collect()
    )


def _columns_of(ctx: Context, table: str) -> set[str]:
    """The columns of a table present in the frame."""
    if not ctx.has(table):
        return set()
    dtype = ctx.frame.schema[table]
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    return {f.name for f in inner.fields} if isinstance(inner, pl.Struct) else set()


# --- salary scale lookups ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SalaryScale:
    """The salary tables as lookups: groups are numbered to keep the keys integers."""

    group_index: dict[str, int]
    """Salary group -> its number."""
    rank_group: dict[str, int]
    """Rank/title code -> number of its salary group (``rank.csv.salary_group``)."""
    steps: dict[int, int]
    """Group number -> number of steps (``salary_group.csv.steps``)."""
    coefficient: dict[int, float]
    """``group * 100 + step`` -> coefficient (``salary_scale.csv``)."""
    coefficient_text: dict[int, str]
    """The same coefficients as stored in the table (for ``expected``)."""

    def group(self, rank: pl.Expr) -> pl.Expr:
        """The group number of a rank code, null for an unknown rank."""
        return rank.replace_strict(self.rank_group, default=None, return_dtype=pl.Int64)

    def last_step(self, group: pl.Expr) -> pl.Expr:
        """The number of steps of a group number."""
        return group.replace_strict(self.steps, default=None, return_dtype=pl.Int64)

    def key(self, group: pl.Expr, step: pl.Expr) -> pl.Expr:
        """The scale key of (group number, step); null for steps outside 1-99."""
        return pl.when((step >= 1) & (step < 100)).then(group * 100 + step)

    def scale(self, group: pl.Expr, step: pl.Expr) -> pl.Expr:
        """The scale coefficient (float), null off the scale."""
        return self.key(group, step).replace_strict(
            self.coefficient, default=None, return_dtype=pl.Float64
        )

    def scale_text(self, group: pl.Expr, step: pl.Expr) -> pl.Expr:
        """The scale coefficient as text, null off the scale."""
        return self.key(group, step).replace_strict(
            self.coefficient_text, default=None, return_dtype=pl.String
        )


_SCALES: list[tuple[Catalog, SalaryScale]] = []
"""The lookups of the last catalogues seen (a catalogue is unhashable: compared by identity)."""


def salary_scale(ctx: Context) -> SalaryScale:
    """The salary lookups of ``ctx``'s catalogue (built once per catalogue)."""
    for catalog, scale in _SCALES:
        if catalog is ctx.catalog:
            return scale
    scale = _build_scale(ctx.catalog)
    _SCALES[:] = [*_SCALES[-3:], (ctx.catalog, scale)]
    return scale


def _build_scale(catalog: Catalog) -> SalaryScale:
    groups = catalog.codelists["salary_group"].codes
    index = {g: i for i, g in enumerate(sorted(groups))}
    rank_group = {
        code: index[entry.extra["salary_group"]]
        for code, entry in catalog.codelists["rank"].codes.items()
        if entry.extra.get("salary_group") in index
    }
    steps = {index[g]: int(e.extra["steps"]) for g, e in groups.items() if e.extra.get("steps")}
    text = {index[g] * 100 + s: c for (g, s), c in catalog.salary_scale.items() if g in index}
    return SalaryScale(
        group_index=index,
        rank_group=rank_group,
        steps=steps,
        coefficient={k: float(v) for k, v in text.items()},
        coefficient_text=text,
    )


# --- DUNG-016 … DUNG-018: ages and intervals -----------------------------------------------------


@rule("DUNG-016")
def dung_016(ctx: Context) -> pl.DataFrame:
    """Age at first recruitment below ``min_age`` or above ``max_age`` (whole years)."""
    if not (ctx.has("first_recruitment_date") and ctx.has("date_of_birth")):
        return empty_findings()
    low = int(ctx.param("DUNG-016", "min_age"))
    high = int(ctx.param("DUNG-016", "max_age"))
    recruit, dob = PartialDate.column("recruit"), PartialDate.column("dob")
    hit = _where(
        ctx,
        earlier(recruit, dob.plus_years(low)) | on_or_after(recruit, dob.plus_years(high + 1)),
        "first_recruitment_date",
        prepare={
            **PartialDate.parts("recruit", pl.col("first_recruitment_date")),
            **PartialDate.parts("dob", pl.col("date_of_birth")),
        },
    )
    return concat([findings(hit, field="first_recruitment_date", value="first_recruitment_date")])


def _active(ctx: Context) -> pl.Expr:
    """The employment status counts as active: empty (§5), active, or an unknown code."""
    if not ctx.has("employment_status_code"):
        return pl.lit(True)
    inactive = [
        code
        for code, entry in ctx.catalog.codelists["employment_status"].codes.items()
        if entry.extra.get("active", "").strip().lower() == "false"
    ]
    return ~pl.col("employment_status_code").is_in(inactive).fill_null(False)


@rule("DUNG-017", time_dependent=True, codelists=["employment_status"])
def dung_017(ctx: Context) -> pl.DataFrame:
    """An active person younger than ``min_age`` or older than ``max_age`` (whole years) on
    the as-of date.

    An empty employment status counts as active (§5), and so does an unknown code (DUNG-009
    reports it)."""
    if not ctx.has("date_of_birth"):
        return empty_findings()
    low = int(ctx.param("DUNG-017", "min_age"))
    high = int(ctx.param("DUNG-017", "max_age"))
    dob, today = PartialDate.column("dob"), PartialDate.on(ctx.as_of)
    hit = _where(
        ctx,
        _active(ctx)
        & (earlier(today, dob.plus_years(low)) | on_or_after(today, dob.plus_years(high + 1))),
        "date_of_birth",
        prepare=PartialDate.parts("dob", pl.col("date_of_birth")),
    )
    return concat([findings(hit, field="date_of_birth", value="date_of_birth")])


@rule("DUNG-018")
def dung_018(ctx: Context) -> pl.DataFrame:
    """Party admission before the ``min_age`` birthday (on ``party_admission_date``), or full
    membership less than ``min_months`` or more than ``max_months`` after admission (on
    ``party_official_date``).

    "More than N months" means after the date N months after admission."""
    if not ctx.has("party_admission_date"):
        return empty_findings()
    min_age = int(ctx.param("DUNG-018", "min_age"))
    min_months = int(ctx.param("DUNG-018", "min_months"))
    max_months = int(ctx.param("DUNG-018", "max_months"))
    admitted = PartialDate.column("admitted")
    admission = PartialDate.parts("admitted", pl.col("party_admission_date"))
    parts = []
    if ctx.has("date_of_birth"):
        dob = PartialDate.column("dob")
        young = _where(
            ctx,
            earlier(admitted, dob.plus_years(min_age)),
            "party_admission_date",
            prepare={**admission, **PartialDate.parts("dob", pl.col("date_of_birth"))},
            prefilter=pl.col("party_admission_date").is_not_null(),
        )
        parts.append(findings(young, field="party_admission_date", value="party_admission_date"))
    if ctx.has("party_official_date"):
        official = PartialDate.column("official")
        odd = _where(
            ctx,
            earlier(official, admitted.plus_months(min_months))
            | later(official, admitted.plus_months(max_months, round_up=True)),
            "party_official_date",
            prepare={**admission, **PartialDate.parts("official", pl.col("party_official_date"))},
            prefilter=pl.col("party_official_date").is_not_null(),
        )
        parts.append(findings(odd, field="party_official_date", value="party_official_date"))
    return concat(parts)


# --- DUNG-019 … DUNG-025: salary -----------------------------------------------------------------


@rule("DUNG-019", codelists=["rank", "salary_group"])
def dung_019(ctx: Context) -> pl.DataFrame:
    """Salary step above the number of steps of the rank's salary group (current salary and
    every salary_history row)."""
    scale = salary_scale(ctx)
    parts = []
    if ctx.has("salary_step") and ctx.has("rank_code"):
        group = scale.group(pl.col("rank_code"))
        hit = _where(ctx, pl.col("salary_step") > scale.last_step(group), "salary_step")
        parts.append(findings(hit, field="salary_step", value="salary_step"))
    if {"rank_code", "salary_step"} <= _columns_of(ctx, "salary_history"):
        too_high = cell("salary_step") > scale.last_step(scale.group(cell("rank_code")))
        rows = table_cells(
            ctx,
            "salary_history",
            lists={"_bad": too_high, "salary_step": cell("salary_step")},
            candidate=pl.col("_bad").list.any(),
            keep=pl.col("_bad"),
        )
        parts.append(
            findings(rows, field=_cell_path("salary_history", "salary_step"), value="salary_step")
        )
    return concat(parts)


@rule("DUNG-020", codelists=["rank", "salary_group", "salary_scale"])
def dung_020(ctx: Context) -> pl.DataFrame:
    """Salary coefficient differs from the scale coefficient of its (group, step) by more
    than ``tolerance``; ``expected`` is the scale coefficient. A step off the scale is
    DUNG-019's finding, an unparsable coefficient DUNG-007's."""
    tolerance = float(ctx.param("DUNG-020", "tolerance"))
    scale = salary_scale(ctx)
    parts = []
    if all(ctx.has(c) for c in ("salary_coefficient", "salary_step", "rank_code")):
        group = scale.group(pl.col("rank_code"))
        step = pl.col("salary_step")
        frame = _where(
            ctx,
            _differs(_decimal(pl.col("salary_coefficient")), scale.scale(group, step), tolerance),
            "salary_coefficient",
            "salary_step",
            "rank_code",
        )
        parts.append(
            findings(
                frame,
                field="salary_coefficient",
                value="salary_coefficient",
                expected=scale.scale_text(group, step),
            )
        )
    if {"rank_code", "salary_step", "salary_coefficient"} <= _columns_of(ctx, "salary_history"):
        group, step = scale.group(cell("rank_code")), cell("salary_step")
        off = _differs(_decimal(cell("salary_coefficient")), scale.scale(group, step), tolerance)
        rows = table_cells(
            ctx,
            "salary_history",
            lists={
                "_bad": off,
                "rank_code": cell("rank_code"),
                "salary_step": step,
                "salary_coefficient": cell("salary_coefficient"),
            },
            candidate=pl.col("_bad").list.any(),
            keep=pl.col("_bad"),
        )
        parts.append(
            findings(
                rows,
                field=_cell_path("salary_history", "salary_coefficient"),
                value="salary_coefficient",
                expected=scale.scale_text(scale.group(pl.col("rank_code")), pl.col("salary_step")),
            )
        )
    return concat(parts)


@rule("DUNG-021", codelists=["rank", "salary_group"])
def dung_021(ctx: Context) -> pl.DataFrame:
    """PCTNVK while the salary step is below the last step of the rank's group, or a rate
    below ``min_percent``.

    The rate check needs no rank; the step check is skipped for an unknown rank or an
    empty step."""
    if not ctx.has("beyond_scale_seniority_percent"):
        return empty_findings()
    minimum = int(ctx.param("DUNG-021", "min_percent"))
    percent = pl.col("beyond_scale_seniority_percent")
    early = pl.lit(False)
    if ctx.has("salary_step") and ctx.has("rank_code"):
        scale = salary_scale(ctx)
        last = scale.last_step(scale.group(pl.col("rank_code")))
        early = (pl.col("salary_step") < last).fill_null(False)
    hit = _where(
        ctx, percent.is_not_null() & (early | (percent < minimum)), "beyond_scale_seniority_percent"
    )
    return concat([findings(hit, field="beyond_scale_seniority_percent", value=percent)])


@rule("DUNG-022")
def dung_022(ctx: Context) -> pl.DataFrame:
    """Percentage of the salary received not in ``allowed`` (85 on probation, 100)."""
    if not ctx.has("salary_percent"):
        return empty_findings()
    allowed = [int(v) for v in ctx.param("DUNG-022", "allowed").split(",") if v.strip()]
    col = pl.col("salary_percent")
    hit = _where(ctx, col.is_not_null() & ~col.is_in(allowed), "salary_percent")
    return concat([findings(hit, field="salary_percent", value="salary_percent")])


@rule("DUNG-023", codelists=["position"])
def dung_023(ctx: Context) -> pl.DataFrame:
    """Position allowance outside ``min``–``max``, or not the position's coefficient of
    ``position.csv`` (default or alt, within 0.005) where the list gives one; ``expected``
    is the default coefficient (the alt one when there is no default)."""
    if not ctx.has("position_allowance_coefficient"):
        return empty_findings()
    low = float(ctx.param("DUNG-023", "min"))
    high = float(ctx.param("DUNG-023", "max"))
    value = _decimal(pl.col("position_allowance_coefficient"))
    bad = (value < low - _EPSILON) | (value > high + _EPSILON)
    default_of: dict[str, str] = {}
    alt_of: dict[str, str] = {}
    for code, entry in ctx.catalog.codelists["position"].codes.items():
        default = entry.extra.get("allowance_coefficient", "").strip()
        alt = entry.extra.get("allowance_coefficient_alt", "").strip()
        if default or alt:
            default_of[code] = default or alt
            alt_of[code] = alt or default
    expected = pl.lit(None, dtype=pl.String)
    columns = ["position_allowance_coefficient"]
    if ctx.has("current_position_code"):
        position = pl.col("current_position_code")
        expected = position.replace_strict(default_of, default=None, return_dtype=pl.String)
        alt_coefficient = position.replace_strict(alt_of, default=None, return_dtype=pl.String)
        bad = bad | (
            _differs(value, _decimal(expected), DECIMAL_TOLERANCE)
            & _differs(value, _decimal(alt_coefficient), DECIMAL_TOLERANCE)
        ).fill_null(False)
        columns.append("current_position_code")
    hit = _where(ctx, bad, *columns)
    return concat(
        [
            findings(
                hit,
                field="position_allowance_coefficient",
                value="position_allowance_coefficient",
                expected=expected,
            )
        ]
    )


def _open(row: pl.Expr) -> pl.Expr:
    """A salary_history row (struct) without ``to``."""
    to = row.struct.field("to").cast(pl.String)
    return to.is_null() | (to == "")


def latest_open_rows(ctx: Context, columns: Sequence[str]) -> pl.DataFrame:
    """``_id``, the scalars ``columns`` and ``_row_<column>`` of the latest open
    salary_history row of each record that has one (no ``to``; the latest ``from``, the last
    such row on a tie).

    Usually that is the last row and the only open one, read without exploding the table;
    the other records (several open rows, or an open row before closed ones) are exploded."""
    history = pl.col("salary_history")
    frame = (
        ctx.frame.lazy()
        .select(
            ID,
            *columns,
            _open=history.list.eval(_open(pl.element())).list.sum(),
            _last=history.list.last(),
        )
        .filter(pl.col("_open") > 0)
        .with_columns(_simple=(pl.col("_open") == 1) & _open(pl.col("_last")).fill_null(False))
        .collect()
    )
    simple = frame.filter(pl.col("_simple")).select(
        ID, *columns, **{f"_row_{c}": pl.col("_last").struct.field(c) for c in columns}
    )
    others = frame.filter(~pl.col("_simple")).select(ID, *columns)
    if others.height == 0:
        return simple
    start = (
        history.struct.field("from").cast(pl.String)
        if "from" in _columns_of(ctx, "salary_history")
        else pl.lit(None, dtype=pl.String)
    )
    rows = (
        ctx.frame.lazy()
        .filter(pl.col(ID).is_in(others[ID].implode()))
        .select(ID, history)
        .with_columns(_i=pl.int_ranges(history.list.len(), dtype=pl.Int64))
        .explode("salary_history", "_i")
        .filter(_open(history))
        .select(
            ID,
            "_i",
            start.fill_null("").alias("_from"),
            **{f"_row_{c}": history.struct.field(c) for c in columns},
        )
        .sort(ID, "_from", "_i")
        .unique(subset=[ID], keep="last", maintain_order=True)
        .drop("_i", "_from")
        .collect()
    )
    return pl.concat([simple, others.join(rows, on=ID, how="inner")], how="vertical_relaxed")


@rule("DUNG-024")
def dung_024(ctx: Context) -> pl.DataFrame:
    """Current rank, step or coefficient differs from the latest open salary_history row
    (:func:`latest_open_rows`); ``expected`` is the row's value. Coefficients compare within
    0.005."""
    present = _columns_of(ctx, "salary_history")
    columns = [
        c for c in ("rank_code", "salary_step", "salary_coefficient") if c in present and ctx.has(c)
    ]
    if not columns or "to" not in present:
        return empty_findings()
    frame = latest_open_rows(ctx, columns)
    parts = []
    for column in columns:
        mine, theirs = pl.col(column), pl.col(f"_row_{column}")
        if column == "salary_coefficient":
            hit = frame.filter(_differs(_decimal(mine), _decimal(theirs), DECIMAL_TOLERANCE))
        else:
            hit = frame.filter(mine != theirs)
        if column == "rank_code":  # a blank code is empty, not a different rank
            hit = hit.filter(_filled(mine) & _filled(theirs))
        parts.append(findings(hit, field=column, value=column, expected=theirs))
    return concat(parts)


@rule("DUNG-025", time_dependent=True, codelists=["career_level", "rank", "salary_group"])
def dung_025(ctx: Context) -> pl.DataFrame:
    """From ``effective_from``: the salary group of the career level differs from the salary
    group of the rank/title code (groups of ``exempt_salary_groups`` exempt); ``expected`` is
    the career level of the rank's group, where one maps to it."""
    start = dt.date.fromisoformat(ctx.param("DUNG-025", "effective_from"))
    if ctx.as_of < start or not (ctx.has("career_level") and ctx.has("rank_code")):
        return empty_findings()
    scale = salary_scale(ctx)
    exempt = [
        scale.group_index[g]
        for g in ctx.param("DUNG-025", "exempt_salary_groups").split("|")
        if g in scale.group_index
    ]
    level_group = {
        code: scale.group_index[entry.extra["salary_group"]]
        for code, entry in ctx.catalog.codelists["career_level"].codes.items()
        if entry.extra.get("salary_group") in scale.group_index
    }
    level_of_group: dict[int, str] = {}
    for code, group in level_group.items():
        level_of_group.setdefault(group, code)
    rank_group = scale.group(pl.col("rank_code"))
    level = pl.col("career_level").replace_strict(level_group, default=None, return_dtype=pl.Int64)
    hit = _where(
        ctx, ~rank_group.is_in(exempt) & (rank_group != level), "career_level", "rank_code"
    )
    expected = rank_group.replace_strict(level_of_group, default=None, return_dtype=pl.String)
    return concat([findings(hit, field="career_level", value="career_level", expected=expected)])


# --- DUNG-026 … DUNG-030: consistency --------------------------------------------------------------


@rule("DUNG-026", codelists=["rank", "employee_type"])
def dung_026(ctx: Context) -> pl.DataFrame:
    """Employee type differs from the ``rank.employee_type`` of the rank/title code.

    Only the types that ``rank.csv`` assigns (công chức, viên chức) are compared: a cadre
    or a contract worker may be paid on either scale. ``expected`` is the rank's type."""
    if not (ctx.has("employee_type_code") and ctx.has("rank_code")):
        return empty_findings()
    type_of = {
        code: entry.extra["employee_type"]
        for code, entry in ctx.catalog.codelists["rank"].codes.items()
        if entry.extra.get("employee_type")
    }
    mine = pl.col("employee_type_code")
    theirs = pl.col("rank_code").replace_strict(type_of, default=None, return_dtype=pl.String)
    hit = _where(
        ctx,
        mine.is_in(sorted(set(type_of.values()))) & (mine != theirs),
        "employee_type_code",
        "rank_code",
    )
    return concat(
        [findings(hit, field="employee_type_code", value="employee_type_code", expected=theirs)]
    )


@dataclass(frozen=True, slots=True)
class WrongRelationships:
    """Relationship codes that are wrong in one family table (DUNG-027)."""

    side: tuple[str, ...]
    """Codes of the other side."""
    for_man: tuple[str, ...]
    """Codes a male declarant cannot use here."""
    for_woman: tuple[str, ...]
    """Codes a female declarant cannot use here."""


def wrong_relationships(ctx: Context, side: str) -> WrongRelationships:
    """The wrong codes of the ``side`` table (``own`` or ``spouse``), from ``relationship.csv``.

    Own side: a spouse (``kind = spouse``) has the other sex than the declarant. Spouse side:
    ``*_CHONG`` codes are a woman's in-laws, ``*_VO`` codes a man's."""
    side_codes: list[str] = []
    man: list[str] = []
    woman: list[str] = []
    for code, entry in ctx.catalog.codelists["relationship"].codes.items():
        if entry.extra.get("side") != side:
            side_codes.append(code)
        elif side == "own" and entry.extra.get("kind") == "spouse":
            {"M": man, "F": woman}.get(entry.extra.get("sex", ""), []).append(code)
        elif side == "spouse" and code.endswith("_CHONG"):
            man.append(code)
        elif side == "spouse" and code.endswith("_VO"):
            woman.append(code)
    return WrongRelationships(tuple(side_codes), tuple(man), tuple(woman))


@rule("DUNG-027", codelists=["relationship", "sex"])
def dung_027(ctx: Context) -> pl.DataFrame:
    """A relationship code inconsistent with the declarant's sex or with its table's side
    (:func:`wrong_relationships`): a man declaring CHONG, a woman VO, ``*_CHONG`` codes for a
    man and ``*_VO`` codes for a woman on the spouse side, a code of the other side. Unknown
    codes are DUNG-009's findings."""
    sex = pl.col("sex") if ctx.has("sex") else pl.lit(None, dtype=pl.String)
    man, woman = pl.col("_sex") == "M", pl.col("_sex") == "F"
    parts = []
    for table, side in (("family_own_side", "own"), ("family_spouse_side", "spouse")):
        if "relationship_code" not in _columns_of(ctx, table):
            continue
        wrong = wrong_relationships(ctx, side)
        code = cell("relationship_code")
        side_, man_, woman_ = pl.col("_side"), pl.col("_man"), pl.col("_woman")
        rows = table_cells(
            ctx,
            table,
            lists={
                "_side": code.is_in(wrong.side),
                "_man": code.is_in(wrong.for_man),
                "_woman": code.is_in(wrong.for_woman),
                "relationship_code": code,
            },
            extra={"_sex": sex},
            candidate=side_.list.any()
            | (man_.list.any() & man).fill_null(False)
            | (woman_.list.any() & woman).fill_null(False),
            keep=side_ | (man_ & man).fill_null(False) | (woman_ & woman).fill_null(False),
        )
        parts.append(
            findings(rows, field=_cell_path(table, "relationship_code"), value="relationship_code")
        )
    return concat(parts)


@rule("DUNG-028", codelists=["relationship"])
def dung_028(ctx: Context) -> pl.DataFrame:
    """A parent born less than ``min_generation_gap_years`` before the declarant, or a child
    less than that after (family_own_side birth years; parents and children by
    ``relationship.kind``)."""
    if not (
        {"relationship_code", "birth_year"} <= _columns_of(ctx, "family_own_side")
        and ctx.has("date_of_birth")
    ):
        return empty_findings()
    gap = int(ctx.param("DUNG-028", "min_generation_gap_years"))
    kinds = ctx.catalog.codelists["relationship"].codes
    parents = [c for c, e in kinds.items() if e.extra.get("kind") == "parent"]
    children = [c for c, e in kinds.items() if e.extra.get("kind") == "child"]
    code, year = cell("relationship_code"), cell("birth_year")
    born, parent, child = pl.col("_born"), pl.col("_parent"), pl.col("_child")
    rows = table_cells(
        ctx,
        "family_own_side",
        lists={
            # the birth year of a parent (resp. a child), null on other rows
            "_parent": pl.when(code.is_in(parents)).then(year),
            "_child": pl.when(code.is_in(children)).then(year),
            "birth_year": year,
        },
        extra={"_born": PartialDate.of(pl.col("date_of_birth")).year},
        candidate=(born - parent.list.max() < gap) | (child.list.min() - born < gap),
        keep=(born - parent < gap) | (child - born < gap),
    )
    return concat(
        [findings(rows, field=_cell_path("family_own_side", "birth_year"), value="birth_year")]
    )


def _present(ctx: Context, leaf: FieldDef) -> pl.Expr:
    """The leaf is filled (not null, not a blank string, not an empty list)."""
    col = pl.col(leaf.code)
    dtype = ctx.frame.schema[leaf.code]
    if isinstance(dtype, pl.List):
        return col.list.len() > 0
    if dtype == pl.String:
        return _filled(col)
    return col.is_not_null()


@rule("DUNG-029")
def dung_029(ctx: Context) -> pl.DataFrame:
    """A dependent field filled while its prerequisite is empty (``requires`` pairs
    ``dependent:prerequisite``); the finding names the dependent field."""
    by_code = ctx.catalog.by_code
    parts = []
    for pair in ctx.param("DUNG-029", "requires").split(","):
        dependent, sep, prerequisite = (p.strip() for p in pair.partition(":"))
        if not sep or not (ctx.has(dependent) and ctx.has(prerequisite)):
            continue
        hit = _where(
            ctx,
            _present(ctx, by_code[dependent])
            & ~_present(ctx, by_code[prerequisite]).fill_null(False),
            dependent,
        )
        parts.append(findings(hit, field=dependent, value=dependent))
    return concat(parts)


@lru_cache(maxsize=1)
def ward_provinces() -> pl.DataFrame:
    """``_scheme``, ``_ward``, ``_ward_province``: the communes of both schemes."""
    return pl.concat(
        [
            admin_units.ward_province_frame(scheme).select(
                pl.lit(scheme).alias("_scheme"),
                pl.col("ward_code").alias("_ward"),
                pl.col("province_code").alias("_ward_province"),
            )
            for scheme in (admin_units.SCHEME_2025, admin_units.SCHEME_LEGACY)
        ],
        how="vertical",
    )


@dataclass(frozen=True, slots=True)
class Address:
    """The unit-code leaves of one address (DUNG-030)."""

    scheme: FieldDef
    ward: FieldDef | None
    province: FieldDef | None
    districts: tuple[FieldDef, ...]


def addresses(ctx: Context) -> list[Address]:
    """The addresses DUNG-030 reads, from the catalogue: each scheme leaf with the leaves
    whose ``scheme_field`` names it, and the legacy district leaf of the same prefix."""
    leaves = [leaf for leaf in ctx.leaves("DUNG-030") if leaf.table is None]

    def by_list(members: Sequence[FieldDef], list_id: str) -> FieldDef | None:
        return next((m for m in members if list_id in (m.codelist_by_scheme or {}).values()), None)

    out = []
    for scheme in (leaf for leaf in leaves if leaf.codelist == "admin_unit_scheme"):
        prefix = scheme.code.removesuffix("unit_scheme")
        members = [leaf for leaf in leaves if leaf.scheme_field == scheme.code]
        districts = tuple(
            leaf
            for leaf in leaves
            if leaf.codelist == "district_legacy" and leaf.code.startswith(prefix)
        )
        out.append(
            Address(
                scheme, by_list(members, "ward_2025"), by_list(members, "province_2025"), districts
            )
        )
    return out


@rule("DUNG-030", codelists=["admin_unit_scheme", "ward_2025", "ward_legacy", "district_legacy"])
def dung_030(ctx: Context) -> pl.DataFrame:
    """Inconsistent unit codes of one address: a commune outside the declared province (same
    scheme; on the ward code), a district code under scheme 2025 (on the district code), or
    a code without a scheme (on the scheme field, value null).

    A commune unknown in its scheme's list is DUNG-009's / SACH-008's finding; an unknown
    scheme is DUNG-009's."""
    schemes = list(ctx.catalog.codelists["admin_unit_scheme"].codes)
    parts = []
    for address in addresses(ctx):
        if not ctx.has(address.scheme.code):
            continue
        scheme = pl.col(address.scheme.code)
        codes = [
            leaf
            for leaf in (address.ward, address.province, *address.districts)
            if leaf is not None and ctx.has(leaf.code)
        ]
        if codes:
            any_code = pl.any_horizontal([_present(ctx, leaf) for leaf in codes])
            hit = _where(
                ctx,
                ~_present(ctx, address.scheme) & any_code,
                prefilter=~scheme.is_in(schemes),
            )
            parts.append(findings(hit, field=address.scheme.code))
        for district in (d for d in address.districts if ctx.has(d.code)):
            hit = _where(
                ctx,
                (scheme == admin_units.SCHEME_2025) & _present(ctx, district),
                district.code,
                prefilter=pl.col(district.code).is_not_null() & (scheme == admin_units.SCHEME_2025),
            )
            parts.append(findings(hit, field=district.code, value=district.code))
        ward, province = address.ward, address.province
        if ward is None or province is None or not (ctx.has(ward.code) and ctx.has(province.code)):
            continue
        hit = (
            ctx.frame.lazy()
            .select(
                ID,
                pl.col(ward.code),
                _scheme=scheme,
                _ward=pl.col(ward.code),
                _province=pl.col(province.code),
            )
            .join(ward_provinces().lazy(), on=["_scheme", "_ward"], how="inner")
            .filter(pl.col("_ward_province") != pl.col("_province"))
            .collect()
            .filter(_filled(pl.col("_province")))
        )
        parts.append(findings(hit, field=ward.code, value=ward.code))
    return concat(parts)
