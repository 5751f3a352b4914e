"""The rule registry and what a rule sees: data-driven rules as small vectorised functions.

A rule is a row of ``quality-rules.csv`` (id, dimension, category, severity, fields,
params, profiles, scoring, scope) plus one function registered here with :func:`rule`. The
function receives a :class:`Context` over a Polars frame of records (one row per record,
the catalogue's scalars as columns, tables as lists of structs, record metadata in columns
starting with ``_``) and returns the offending leaves as a frame:

    ``_id``  person id · ``field``  finding path (quality-rules.md §6) · ``value`` ·
    ``expected`` (optional) · ``related`` (optional)

The engine adds everything else from the CSV (rule id, dimension, category, severity), keeps
only the leaves of the active profile, removes repeated (rule, field) pairs and scores. So a
new rule is a CSV row plus one function; a changed parameter is a CSV edit (or a deployment
override, ``HOSO_QUALITY_PARAMS``) that functions read through :meth:`Context.param`.

Rules work on whole columns: 1,000,000 records are checked in seconds, not by a Python loop
per record. The helpers below build the common shapes (a predicate over scalar leaves, over
table cells, partial-date comparisons at the coarser precision).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from hoso.catalog.loader import Catalog, CodeList, FieldDef, QualityRule

ID = "_id"
"""Column of the person id (``person.id``) in every frame."""

FINDING_SCHEMA: dict[str, Any] = {
    ID: pl.Int64,
    "field": pl.String,
    "value_json": pl.String,
    "expected_json": pl.String,
    "related": pl.String,
}
"""Columns of findings once values are JSON text (what :func:`concat` returns)."""

# Inputs a rule may need; a rule whose inputs are missing is "not evaluated" (§5).
META = "meta"
APPROVAL = "approval"
DATASET = "dataset"
REGISTRY = "registry"
HR_EVENTS = "hr_events"
FIRST_DECLARED = "first_declared"

INPUT_REASONS: dict[str, tuple[str, str]] = {
    META: ("không có siêu dữ liệu hồ sơ", "no record metadata"),
    APPROVAL: ("không có dữ liệu phê duyệt", "no approval data"),
    DATASET: ("chỉ có một hồ sơ", "a single record"),
    REGISTRY: ("chưa có dữ liệu đối chiếu CSDLQG về dân cư", "no population registry view"),
    HR_EVENTS: ("chưa ghi nhận sự kiện nhân sự", "no HR events recorded"),
    FIRST_DECLARED: (
        "chưa ghi nhận thời điểm kê khai lần đầu",
        "first declaration time not recorded",
    ),
}


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What a rule returns: its findings and, for ``ratio`` rules, how much it checked."""

    findings: pl.DataFrame
    checked: pl.DataFrame | None = None
    """``_id``, ``checked``: leaves or cells the rule had to check per record (ratio rules)."""


RuleFn = Callable[["Context"], "pl.DataFrame | RuleResult"]


@dataclass(frozen=True, slots=True)
class RuleImpl:
    """A registered rule function and what it depends on."""

    id: str
    fn: RuleFn
    needs: frozenset[str]
    time_dependent: bool
    codelists: tuple[str, ...]


REGISTRY_OF_RULES: dict[str, RuleImpl] = {}


def rule(
    rule_id: str,
    *,
    needs: Iterable[str] = (),
    time_dependent: bool = False,
    codelists: Sequence[str] = (),
) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as the implementation of ``rule_id``.

    ``needs``: inputs beyond the record data (:data:`META`, :data:`REGISTRY`, …).
    ``time_dependent``: the result depends on the as-of date (re-run when it changes).
    ``codelists``: code lists read besides those of the rule's leaves (for change detection).
    """

    def register(fn: RuleFn) -> RuleFn:
        if rule_id in REGISTRY_OF_RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY_OF_RULES[rule_id] = RuleImpl(
            id=rule_id,
            fn=fn,
            needs=frozenset(needs),
            time_dependent=time_dependent,
            codelists=tuple(codelists),
        )
        return fn

    return register


def implementations() -> dict[str, RuleImpl]:
    """Every registered rule (importing the rule modules registers them)."""
    from hoso.quality import (  # noqa: F401
        rules_du,
        rules_dung,
        rules_dung_values,
        rules_sach,
        rules_song,
    )

    return REGISTRY_OF_RULES


# --- the context ---------------------------------------------------------------------------


@dataclass
class Context:
    """What a rule sees: the records, the as-of date, the profile, the catalogue, parameters."""

    frame: pl.DataFrame
    """One row per record: ``_id`` and the other ``_`` metadata columns, then the data."""
    as_of: dt.date
    profile: str
    catalog: Catalog
    params: dict[str, str] = field(default_factory=dict)
    """Deployment overrides ``{"RULE-ID.key": "value"}``."""
    population: pl.DataFrame | None = None
    """Every current record (for ``dataset`` rules); defaults to ``frame``."""
    registry: pl.DataFrame | None = None
    """The population registry's view (issue 5), or None."""
    calendar: Any = None
    """The working-day calendar (``hoso.quality.calendar.WorkingCalendar``); None = the
    library's Vietnamese public holidays without announced changes."""
    whole_groups: bool = False
    """Dataset rules: flag every record of a duplicate group that holds a frame record, not
    only the frame's (an incremental run re-checks the groups its changes touch)."""
    _tables: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def as_of_iso(self) -> str:
        """The as-of date as ``YYYY-MM-DD``."""
        return self.as_of.isoformat()

    @property
    def everyone(self) -> pl.DataFrame:
        """All current records for dataset rules."""
        return self.frame if self.population is None else self.population

    def has(self, column: str) -> bool:
        """True when the frame has ``column``."""
        return column in self.frame.columns

    def rule_def(self, rule_id: str) -> QualityRule:
        """The CSV row of ``rule_id``."""
        return self.catalog.rule_by_id[rule_id]

    def param(self, rule_id: str, key: str, default: str | None = None) -> str:
        """Parameter ``key`` of ``rule_id``: the deployment override, else the CSV value."""
        override = self.params.get(f"{rule_id}.{key}")
        if override is not None:
            return override
        value = self.rule_def(rule_id).param_map.get(key)
        if value is None:
            if default is None:
                raise KeyError(f"{rule_id} has no parameter {key!r}")
            return default
        return value

    def leaves(self, rule_id: str) -> list[FieldDef]:
        """The leaves a rule checks: those naming it in ``catalog.yaml`` (``*`` rules) or
        the rule's explicit ``fields`` (metadata and tables left out)."""
        spec = self.rule_def(rule_id)
        if spec.fields == ("*",):
            return [leaf for leaf in self.catalog.leaves if rule_id in leaf.rules]
        by_path = self.catalog.leaf_by_path
        return [by_path[f] for f in spec.fields if f in by_path]

    def scalar_leaves(self, rule_id: str) -> list[FieldDef]:
        """:meth:`leaves` that are top-level scalars present in the frame."""
        return [leaf for leaf in self.leaves(rule_id) if leaf.table is None and self.has(leaf.code)]

    def column_leaves(self, rule_id: str) -> dict[str, list[FieldDef]]:
        """:meth:`leaves` that are table columns, by table."""
        out: dict[str, list[FieldDef]] = {}
        for leaf in self.leaves(rule_id):
            if leaf.table is not None and self.has(leaf.table):
                out.setdefault(leaf.table, []).append(leaf)
        return out

    def table(self, code: str) -> pl.DataFrame:
        """Rows of table ``code``: ``_id``, ``_i`` (0-based row index), then its columns."""
        cached = self._tables.get(code)
        if cached is not None:
            return cached
        columns = [c.code for c in self.catalog.by_code[code].columns]
        if not self.has(code):
            out = pl.DataFrame(
                schema={ID: pl.Int64, "_i": pl.Int64, **dict.fromkeys(columns, pl.String)}
            )
        else:
            out = (
                self.frame.select(ID, pl.col(code))
                .filter(pl.col(code).list.len() > 0)
                .with_columns(_i=pl.int_ranges(pl.col(code).list.len(), dtype=pl.Int64))
                .explode(code, "_i")
                .unnest(code)
            )
        self._tables[code] = out
        return out

    @cached_property
    def _codelist_frames(self) -> dict[str, pl.DataFrame]:
        return {}

    def codes(self, list_id: str) -> pl.DataFrame:
        """Code list ``list_id`` as a frame: ``code``, ``valid_from``, ``valid_to`` (dates or
        null) and its extra columns (strings)."""
        cached = self._codelist_frames.get(list_id)
        if cached is not None:
            return cached
        out = codelist_frame(self.catalog.codelists[list_id])
        self._codelist_frames[list_id] = out
        return out


def codelist_frame(codelist: CodeList) -> pl.DataFrame:
    """A code list as a Polars frame (see :meth:`Context.codes`)."""
    extra_keys = sorted({k for c in codelist.codes.values() for k in c.extra})
    rows = {
        "code": [c.code for c in codelist.codes.values()],
        "valid_from": [c.valid_from for c in codelist.codes.values()],
        "valid_to": [c.valid_to for c in codelist.codes.values()],
    }
    for key in extra_keys:
        rows[key] = [c.extra.get(key) or None for c in codelist.codes.values()]
    schema: dict[str, Any] = {"code": pl.String, "valid_from": pl.Date, "valid_to": pl.Date}
    schema.update(dict.fromkeys(extra_keys, pl.String))
    return pl.DataFrame(rows, schema=schema)


# --- helpers for rule functions --------------------------------------------------------------


def empty_findings() -> pl.DataFrame:
    """A findings frame with no rows."""
    return pl.DataFrame(schema=FINDING_SCHEMA)


def findings(
    frame: pl.DataFrame,
    *,
    field: str | pl.Expr,
    value: str | pl.Expr | None = None,
    expected: pl.Expr | None = None,
    related: pl.Expr | None = None,
) -> pl.DataFrame:
    """Shape ``frame`` (already filtered to the offending rows) into findings.

    ``field`` is a literal path or an expression; ``value`` a column name or an expression
    (its JSON form is made by the engine); ``expected`` and ``related`` optional expressions.
    """
    field_expr = pl.lit(field) if isinstance(field, str) else field
    if value is None:
        value_expr: pl.Expr = pl.lit(None, dtype=pl.String)
    elif isinstance(value, str):
        value_expr = pl.col(value)
    else:
        value_expr = value
    return frame.select(
        pl.col(ID),
        field_expr.alias("field"),
        value_expr.alias("value"),
        (pl.lit(None, dtype=pl.String) if expected is None else expected).alias("expected"),
        (pl.lit(None, dtype=pl.String) if related is None else related.cast(pl.String)).alias(
            "related"
        ),
    )


Predicate = Callable[[pl.Expr, FieldDef], pl.Expr]


def scalar_findings(
    ctx: Context,
    leaves: Iterable[FieldDef],
    predicate: Predicate,
    *,
    expected: Callable[[pl.Expr, FieldDef], pl.Expr] | None = None,
) -> list[pl.DataFrame]:
    """Findings on top-level scalars where ``predicate(column, leaf)`` holds (non-null values
    only). Multi-valued leaves are checked element by element (``code[i]``)."""
    out: list[pl.DataFrame] = []
    for leaf in leaves:
        if leaf.table is not None or not ctx.has(leaf.code):
            continue
        col = pl.col(leaf.code)
        if leaf.multiple:
            exploded = (
                ctx.frame.select(ID, col)
                .filter(col.list.len() > 0)
                .with_columns(_i=pl.int_ranges(col.list.len(), dtype=pl.Int64))
                .explode(leaf.code, "_i")
                .filter(col.is_not_null())
            )
            hit = exploded.filter(predicate(col, leaf))
            out.append(
                findings(
                    hit,
                    field=pl.format(f"{leaf.code}[{{}}]", pl.col("_i")),
                    value=leaf.code,
                    expected=None if expected is None else expected(col, leaf),
                )
            )
            continue
        mask = ctx.frame.select((col.is_not_null() & predicate(col, leaf)).fill_null(False))
        hit = ctx.frame.select(ID, col).filter(mask.to_series())
        if expected is not None:
            hit = ctx.frame.filter(mask.to_series())
        out.append(
            findings(
                hit,
                field=leaf.code,
                value=leaf.code,
                expected=None if expected is None else expected(col, leaf),
            )
        )
    return out


def cell_findings(
    ctx: Context,
    by_table: dict[str, list[FieldDef]],
    predicate: Predicate,
    *,
    expected: Callable[[pl.Expr, FieldDef], pl.Expr] | None = None,
) -> list[pl.DataFrame]:
    """Findings on table cells ``table[i].column`` where ``predicate`` holds (non-null cells;
    multi-valued cells element by element, ``table[i].column[j]``)."""
    out: list[pl.DataFrame] = []
    for table, leaves in by_table.items():
        rows = ctx.table(table)
        for leaf in leaves:
            if leaf.code not in rows.columns:
                continue
            col = pl.col(leaf.code)
            if leaf.multiple:
                exploded = (
                    rows.select(ID, "_i", col)
                    .filter(col.list.len() > 0)
                    .with_columns(_j=pl.int_ranges(col.list.len(), dtype=pl.Int64))
                    .explode(leaf.code, "_j")
                    .filter(col.is_not_null())
                )
                hit = exploded.filter(predicate(col, leaf))
                path = pl.format(f"{table}[{{}}].{leaf.code}[{{}}]", pl.col("_i"), pl.col("_j"))
            else:
                hit = rows.filter(col.is_not_null() & predicate(col, leaf))
                path = pl.format(f"{table}[{{}}].{leaf.code}", pl.col("_i"))
            out.append(
                findings(
                    hit,
                    field=path,
                    value=leaf.code,
                    expected=None if expected is None else expected(col, leaf),
                )
            )
    return out


def as_text(expr: pl.Expr) -> pl.Expr:
    """A date/year-month/year value (string or integer column) as ISO text."""
    return expr.cast(pl.String)


def precision_len(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The length of the coarser of two ISO partial dates (4, 7 or 10)."""
    return pl.min_horizontal(as_text(a).str.len_chars(), as_text(b).str.len_chars())


def before(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """``a < b`` at the coarser precision of the two (§5: ``2008-09`` is not before
    ``2008-09-15``). Null when either is null."""
    n = precision_len(a, b)
    return as_text(a).str.slice(0, n) < as_text(b).str.slice(0, n)


def after(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """``a > b`` at the coarser precision of the two."""
    return before(b, a)


def lit_date(day: dt.date) -> pl.Expr:
    """``day`` as an ISO text literal, for :func:`before` / :func:`after`."""
    return pl.lit(day.isoformat())


def concat(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate findings frames of any value types: ``value``/``expected`` become JSON
    text (columns ``value_json``/``expected_json``; frames already converted pass through)."""
    frames = [_stringly(p) for p in parts if p.height]
    if not frames:
        return empty_findings()
    return pl.concat(frames, how="vertical")


def _stringly(frame: pl.DataFrame) -> pl.DataFrame:
    """Findings with value/expected as JSON text, so that frames of any type concatenate."""
    from hoso.quality.engine import json_column

    if "value_json" in frame.columns:
        return frame.select(ID, "field", "value_json", "expected_json", "related")
    related = frame["related"] if "related" in frame.columns else pl.Series([None] * frame.height)
    expected = (
        frame["expected"] if "expected" in frame.columns else pl.Series([None] * frame.height)
    )
    return pl.DataFrame(
        {
            ID: frame[ID].cast(pl.Int64),
            "field": frame["field"].cast(pl.String),
            "value_json": _json_text(frame["value"], json_column),
            "expected_json": _json_text(expected, json_column),
            "related": related.cast(pl.String),
        }
    )


_JSON_ESCAPED = r'[\x00-\x1f"\\]'
"""Characters a JSON string escapes (orjson escapes these and nothing else)."""


def _json_text(series: pl.Series, encode: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``encode(series)`` (the engine's JSON text of each value), with text that needs no
    escape quoted in one vectorised pass: only the few others go through ``encode``."""
    if series.dtype != pl.String or series.len() == 0:
        return encode(series)
    special = series.str.contains(_JSON_ESCAPED).fill_null(False)
    quoted = pl.select(pl.concat_str(pl.lit('"'), pl.lit(series), pl.lit('"'))).to_series()
    if special.any():
        idx = special.arg_true()
        quoted = quoted.scatter(idx, encode(series.gather(idx)))
    return quoted.alias(series.name)
