"""Đúng (correct) rules DUNG-001 … DUNG-015: identifiers, formats, codes and dates in order.

The other DUNG rules (plausible values, consistent fields) are in ``rules_dung_values``.

The type-driven ``*`` rules (DUNG-006/007/009/010/011/012) build one expression per leaf from
the catalogue (``FieldDef.type``, ``pattern``, ``max_length``, ``min``/``max``, ``scale``,
``codelist``, ``codelist_by_scheme``/``scheme_field``) and run it over the scalars, the
elements of multi-valued fields and the table cells whose leaf names the rule in
``catalog.yaml``.

Readings of quality-rules.md §5 used here:

- Empty values (null, blank) are skipped: only the DU rules report them.
- Dates of different precision compare at the coarser precision. A value that is not an ISO
  date, month or year is never compared (DUNG-006 reports it).
- Codes: closed lists give DUNG-009 (error), open lists DUNG-010 (warning). A code must be
  in its list and valid (``valid_from``/``valid_to``) on the reference date: the as-of
  date for current values; for a table cell the row's ``to``, else ``from``, else
  ``year``, compared at the coarser precision (a row without any date is checked for
  membership only). Validity dates are checked for open lists too (DUNG-010), as
  codelists/README.md's example of ``NN_B`` in a 2015 training row reads.
  Administrative-unit codes are checked for membership in the list of the declared
  scheme (``*_unit_scheme``; the leaf's default list when the scheme is empty; nothing
  when the scheme is unknown, which DUNG-009 reports on the scheme field), without
  validity dates. External open lists (agencies, org units, job positions) are deployment
  configuration that the engine does not hold: their codes are not checked.

Speed (about 200,000 records a second per core for all fifteen rules): tables are never
exploded whole (``Context.table`` copies every column). Each check runs in two stages: a
cheap test over all values that can only over-select (a text comparison, a byte length, a
code-list membership, the distinct values of a low-cardinality column), then the exact test
on the few candidates. Cheap tests on cells run either on one column read out flat
(:class:`_Cells`, shared by the date rules of one run) or on the table's rows in place, one
pass for all the columns of a table (:func:`_row_checks`).
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial

import polars as pl

from hoso.catalog import admin_units
from hoso.catalog.loader import Code, CodeList, FieldDef
from hoso.quality.rules import (
    ID,
    Context,
    after,
    as_text,
    before,
    concat,
    findings,
    lit_date,
    rule,
)

_ISO_PARTIAL = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"
"""A value the date comparisons can read: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""

_IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png")
"""``photo.format`` in catalog.yaml (the loader does not expose ``format``)."""

_ADMIN_LISTS = frozenset(
    {
        "ward_2025",
        "ward_legacy",
        "district_legacy",
        "province_2025",
        "province_legacy",
        "admin_unit_scheme",
    }
)
"""Administrative units and schemes: membership only, no validity dates (DUNG-009)."""

_NUMERIC = frozenset({"integer", "year"})

Check = Callable[[pl.Expr, FieldDef], pl.Expr]


# --- flat table cells ---------------------------------------------------------------------------


class _Cells:
    """The cells of one table as flat series, one per column, in row order.

    A flat position ``k`` is located (record, row) only for the few candidates of a check,
    from the cumulated row counts; reading one column costs a few milliseconds per million
    cells, while exploding whole rows (``Context.table``) copies every column of the table.
    """

    def __init__(self, frame: pl.DataFrame, table: str) -> None:
        self.frame = frame
        self.table = table
        self._lists = frame[table]
        self._lengths = self._lists.list.len().fill_null(0)
        self._ends = self._lengths.cum_sum()
        self._values: dict[str, pl.Series] = {}

    @property
    def columns(self) -> list[str]:
        """The table's column names."""
        dtype = self._lists.dtype
        assert isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)
        return [f.name for f in dtype.inner.fields]

    def values(self, column: str, *, keep: bool = True) -> pl.Series:
        """Column ``column`` of every row of every record, in order (flat); ``keep``: cache
        it for the other rules of the run (the date columns, read by four rules)."""
        cached = self._values.get(column)
        if cached is None:
            cached = self._lists.list.eval(pl.element().struct.field(column)).explode(
                empty_as_null=False, keep_nulls=False
            )
            if keep:
                self._values[column] = cached
        return cached

    def flat(self, column: str) -> pl.LazyFrame:
        """A lazy query of :meth:`values` (for :func:`_prefetch`)."""
        expr = pl.col(self.table).list.eval(pl.element().struct.field(column))
        flat = expr.explode(empty_as_null=False, keep_nulls=False)
        return self.frame.lazy().select(flat.alias(column))

    def keep(self, column: str, values: pl.Series) -> None:
        """Cache ``values`` as :meth:`values` of ``column``."""
        self._values[column] = values

    def has_values(self, column: str) -> bool:
        """True when :meth:`values` of ``column`` is cached."""
        return column in self._values

    def repeated(self, values: pl.Series) -> pl.Series:
        """A record-level series (one value per record of the frame) repeated for every row
        of the record (flat)."""
        owner = (
            pl.DataFrame({"n": self._lengths})
            .select(
                pl.int_range(pl.len(), dtype=pl.UInt32)
                .repeat_by("n")
                .explode(empty_as_null=False, keep_nulls=False)
            )
            .to_series()
        )
        return values.gather(owner)

    def candidates(self, mask: pl.Series, **columns: pl.Series) -> pl.DataFrame:
        """``_o`` (the record's row in the frame), ``_i`` (the row in the table) and
        ``columns`` (flat series) where ``mask`` is true."""
        idx = mask.arg_true().cast(pl.Int64)
        owner = self._ends.search_sorted(idx, side="right")
        start = self._ends.gather(owner) - self._lengths.gather(owner)
        return pl.DataFrame(
            {
                "_o": owner,
                "_i": idx - start,
                **{name: s.gather(idx) for name, s in columns.items()},
            }
        )

    def rows(self, records: pl.Series) -> pl.DataFrame:
        """The rows of the records where ``records`` (a mask over the frame) is true:
        ``_o`` (the record's row in the frame), ``_i`` (the row index), then the columns."""
        idx = records.arg_true()
        return (
            pl.DataFrame({"_o": idx, "_t": self._lists.gather(idx)})
            .with_columns(_i=pl.int_ranges(pl.col("_t").list.len().fill_null(0), dtype=pl.Int64))
            .explode("_t", "_i", empty_as_null=False, keep_nulls=False)
            .unnest("_t")
        )

    def findings(self, hit: pl.DataFrame, leaf: FieldDef) -> pl.DataFrame:
        """Findings ``table[i].column`` (``table[i].column[j]`` when ``hit`` has ``_j``) on
        the rows of ``hit`` (``_o``, ``_i``, ``v`` = the value as stored)."""
        ids = self.frame[ID].gather(hit["_o"])
        if "_j" in hit.columns:
            path = pl.format(f"{self.table}[{{}}].{leaf.code}[{{}}]", pl.col("_i"), pl.col("_j"))
        else:
            path = pl.format(f"{self.table}[{{}}].{leaf.code}", pl.col("_i"))
        return findings(hit.with_columns(ids.alias(ID)), field=path, value="v")


_CellCache = dict[tuple[int, str], tuple["weakref.ref[pl.DataFrame]", _Cells]]
_CELLS: _CellCache = {}


def _forget(cache: _CellCache, key: tuple[int, str], _: object) -> None:
    cache.pop(key, None)


def _cells(ctx: Context, table: str) -> _Cells:
    """The flat cells of ``table`` in ``ctx.frame``, shared by the rules of one run (kept
    while the frame lives)."""
    frame = ctx.frame
    key = (id(frame), table)
    entry = _CELLS.get(key)
    if entry is not None and entry[0]() is frame:
        return entry[1]
    cells = _Cells(frame, table)
    _CELLS[key] = (weakref.ref(frame, partial(_forget, _CELLS, key)), cells)
    return cells


def _prefetch(ctx: Context, by_table: dict[str, list[FieldDef]]) -> None:
    """Read the flat values of these columns, all tables at once (in parallel)."""
    wanted = [
        (cells, leaf.code)
        for table, leaves in by_table.items()
        for cells in [_cells(ctx, table)]
        for leaf in leaves
        if not cells.has_values(leaf.code)
    ]
    if not wanted:
        return
    frames = pl.collect_all([cells.flat(code) for cells, code in wanted])
    for (cells, code), frame in zip(wanted, frames, strict=True):
        cells.keep(code, frame.to_series())


def _by_table(ctx: Context, leaves: Iterable[FieldDef]) -> dict[str, list[FieldDef]]:
    """Table leaves by table, for the tables (and columns) the frame holds."""
    out: dict[str, list[FieldDef]] = {}
    for leaf in leaves:
        if leaf.table is not None and ctx.has(leaf.table) and _has_column(ctx, leaf):
            out.setdefault(leaf.table, []).append(leaf)
    return out


def _has_column(ctx: Context, leaf: FieldDef) -> bool:
    return leaf.code in _cells(ctx, leaf.table or "").columns


def _scalar_leaves(ctx: Context, leaves: Iterable[FieldDef]) -> list[FieldDef]:
    return [leaf for leaf in leaves if leaf.table is None and ctx.has(leaf.code)]


def _filled(col: pl.Expr, leaf: FieldDef) -> pl.Expr:
    """Not empty: not null and, for text, not blank."""
    if leaf.type in _NUMERIC or leaf.type == "boolean":
        return col.is_not_null()
    return col.is_not_null() & (col.cast(pl.String).str.strip_chars() != "")


def _cell_hits(
    cells: _Cells,
    leaf: FieldDef,
    values: pl.Series,
    cheap: pl.Series,
    exact: pl.Expr,
    *,
    record: dict[str, str] | None = None,
    **columns: pl.Series,
) -> pl.DataFrame:
    """Findings on the cells of ``leaf`` (flat ``values``) where ``cheap`` (a flat mask that
    may over-select) holds and then ``exact`` holds, over ``v`` = the cell, ``columns``
    (flat series) and ``record`` (name -> record column, read for the candidates only)."""
    if not cheap.any():
        return findings(pl.DataFrame(schema={ID: pl.Int64}), field=leaf.code)
    cand = cells.candidates(cheap, v=values, **columns)
    if record:
        cand = cand.with_columns(
            cells.frame[column].gather(cand["_o"]).alias(name) for name, column in record.items()
        )
    return cells.findings(cand.filter(_filled(pl.col("v"), leaf) & exact), leaf)


def _element_hits(cells: _Cells, leaf: FieldDef, bad: Callable[[pl.Expr], pl.Expr]) -> pl.DataFrame:
    """Findings ``table[i].column[j]`` on the elements of a multi-valued column where
    ``bad(element)`` holds (non-empty elements)."""
    lists = cells.values(leaf.code, keep=False)
    element = pl.element()
    cheap = lists.list.eval((_filled(element, leaf) & bad(element)).fill_null(False)).list.any()
    cheap = cheap.fill_null(False)
    if not cheap.any():
        return findings(pl.DataFrame(schema={ID: pl.Int64}), field=leaf.code)
    cand = cells.candidates(cheap, v=lists).with_columns(
        _j=pl.int_ranges(pl.col("v").list.len(), dtype=pl.Int64)
    )
    v = pl.col("v")
    hit = cand.explode("v", "_j").filter(_filled(v, leaf) & bad(v).fill_null(False))
    return cells.findings(hit, leaf)


Column = Callable[[str], pl.Expr]
"""A column of the same row (``pl.col`` on exploded rows, a struct field in place)."""

RowCheck = Callable[[FieldDef, Column], pl.Expr]
"""A test on one cell: ``(leaf, column of the row) -> bad`` (the cell is
``column(leaf.code)``)."""


def _field(name: str) -> pl.Expr:
    return pl.element().struct.field(name)


def _any_row(table: str, test: pl.Expr) -> pl.Expr:
    """Per record: does ``test`` (over ``pl.element()``, a row struct) hold for a row of
    ``table``? It runs on the table's values in place, without copying them out."""
    return pl.col(table).list.eval(test.fill_null(False)).list.any().fill_null(False)


def _row_checks(
    ctx: Context, by_table: dict[str, list[FieldDef]], cheap: RowCheck, exact: RowCheck
) -> list[pl.DataFrame]:
    """Findings on single-valued cells: ``cheap`` (may over-select) for all the columns of
    a table in one pass over the rows in place, then ``exact`` on the candidate records'
    rows (which also see the row's other columns)."""
    out: list[pl.DataFrame] = []
    singles = {
        table: [leaf for leaf in leaves if not leaf.multiple] for table, leaves in by_table.items()
    }
    singles = {table: leaves for table, leaves in singles.items() if leaves}
    if not singles:
        return out
    masks = ctx.frame.select(
        [
            _any_row(table, pl.any_horizontal([cheap(leaf, _field) for leaf in leaves]))
            for table, leaves in singles.items()
        ]
    )
    for table, leaves in singles.items():
        records = masks[table]
        if not records.any():
            continue
        cells = _cells(ctx, table)
        rows = cells.rows(records)
        for leaf in leaves:
            col = pl.col(leaf.code)
            hit = rows.filter(_filled(col, leaf) & exact(leaf, pl.col).fill_null(False))
            out.append(cells.findings(hit.select("_o", "_i", col.alias("v")), leaf))
    return out


Scalar = tuple[FieldDef, pl.Expr, pl.Expr]
"""A check on a single-valued scalar: the leaf, a cheap mask (may over-select), the exact test."""


def _scalar_checks(ctx: Context, checks: Iterable[Scalar]) -> list[pl.DataFrame]:
    """Findings of single-valued scalar checks, the cheap masks computed in one pass."""
    checks = list(checks)
    if not checks:
        return []
    narrow = _narrow(ctx, [e for _, cheap, exact in checks for e in (cheap, exact)])
    masks = narrow.select(
        [cheap.fill_null(False).alias(f"_m{k}") for k, (_, cheap, _) in enumerate(checks)]
    )
    found = masks.select(pl.all().any()).row(0)
    out = []
    for k, (leaf, _, exact) in enumerate(checks):
        if not found[k]:
            continue
        col = pl.col(leaf.code)
        hit = narrow.filter(masks[f"_m{k}"]).filter(_filled(col, leaf) & exact.fill_null(False))
        out.append(findings(hit, field=leaf.code, value=leaf.code))
    return out


def _multi_scalar(ctx: Context, leaf: FieldDef, bad: Callable[[pl.Expr], pl.Expr]) -> pl.DataFrame:
    """Findings ``code[i]`` on the elements of a multi-valued scalar where ``bad`` holds."""
    element = pl.element()
    cheap = pl.col(leaf.code).list.eval((_filled(element, leaf) & bad(element)).fill_null(False))
    cand = ctx.frame.select(ID, leaf.code).filter(cheap.list.any().fill_null(False))
    if cand.height == 0:
        return findings(cand, field=leaf.code)
    col = pl.col(leaf.code)
    hit = (
        cand.with_columns(_i=pl.int_ranges(col.list.len(), dtype=pl.Int64))
        .explode(leaf.code, "_i")
        .filter(_filled(col, leaf) & bad(col).fill_null(False))
    )
    return findings(hit, field=pl.format(f"{leaf.code}[{{}}]", pl.col("_i")), value=leaf.code)


def _narrow(ctx: Context, exprs: Iterable[pl.Expr]) -> pl.DataFrame:
    """``ctx.frame`` reduced to ``_id`` and the columns ``exprs`` read (filtering the whole
    frame would gather every column, tables included)."""
    names = {ID}
    for expr in exprs:
        names.update(expr.meta.root_names())
    return ctx.frame.select([c for c in ctx.frame.columns if c in names])


def _bad_distinct(items: Sequence[tuple[pl.Series, pl.Expr]]) -> list[pl.Series | None]:
    """For each ``(values, bad)``: the values for which ``bad`` (over ``v``) holds, decided
    on the distinct values only (dates, years, coefficients repeat a lot), all in parallel;
    None when there are none.

    Integers are decided on their extremes first: when neither the smallest nor the largest
    value is bad, the test (a range) holds for none."""
    out: list[pl.Series | None] = [None] * len(items)
    queries: list[tuple[int, pl.LazyFrame]] = []
    for k, (values, bad) in enumerate(items):
        if values.dtype.is_integer():
            extremes = pl.DataFrame({"v": [values.min(), values.max()]}, schema={"v": values.dtype})
            if extremes.filter(bad.fill_null(False)).height == 0:
                continue
        query = pl.LazyFrame({"v": values}).select(pl.col("v").drop_nulls().unique())
        queries.append((k, query.filter(bad.fill_null(False))))
    for (k, _), found in zip(queries, pl.collect_all([q for _, q in queries]), strict=True):
        if found.height:
            out[k] = found["v"].implode()
    return out


def _comparable(expr: pl.Expr) -> pl.Expr:
    """True for a value the partial-date comparisons can read."""
    return as_text(expr).str.contains(_ISO_PARTIAL)


def _pairs(text: str) -> list[tuple[str, str]]:
    """``a<=b,c<=d`` as ``[(a, b), (c, d)]``."""
    out = []
    for part in text.split(","):
        first, sep, second = part.partition("<=")
        if sep:
            out.append((first.strip(), second.strip()))
    return out


# --- identifiers: DUNG-001 … DUNG-005 ---------------------------------------------------------

_PID_OK = r"^[0-9]{12}$"


def _checkable_pid() -> pl.Expr:
    """A personal ID the digit rules can read (12 digits; otherwise DUNG-001 reports it)."""
    return pl.col("personal_id").str.contains(_PID_OK).fill_null(False)


def _birth_year() -> pl.Expr:
    dob = pl.col("date_of_birth")
    return pl.when(_comparable(dob)).then(as_text(dob).str.slice(0, 4).cast(pl.Int64))


def _pid_findings(ctx: Context, bad: pl.Expr) -> pl.DataFrame:
    frame = _narrow(ctx, [_checkable_pid(), bad]).filter(_checkable_pid() & bad.fill_null(False))
    return concat([findings(frame, field="personal_id", value="personal_id")])


@rule("DUNG-001")
def dung_001(ctx: Context) -> pl.DataFrame:
    """Personal ID and record ID are exactly 12 ASCII digits (``pattern``)."""
    pattern = ctx.param("DUNG-001", "pattern")
    checks = []
    for leaf in ctx.scalar_leaves("DUNG-001"):
        bad = ~pl.col(leaf.code).str.contains(pattern)
        checks.append((leaf, bad, bad))
    return concat(_scalar_checks(ctx, checks))


@rule("DUNG-002")
def dung_002(ctx: Context) -> pl.DataFrame:
    """Digit 4 of the personal ID encodes the century of birth and the sex.

    0/1 = 1900-1999 male/female, 2/3 = 2000-2099, … 8/9 = 2300-2399. With an empty or
    unknown sex only the century is checked; a year outside 1900-2399 has no valid digit.
    """
    if not (ctx.has("personal_id") and ctx.has("date_of_birth")):
        return concat([])
    year = _birth_year()
    digit = pl.col("personal_id").str.slice(3, 1).cast(pl.Int64)
    century = (year - 1900).floordiv(100)
    sex = pl.col("sex") if ctx.has("sex") else pl.lit(None, dtype=pl.String)
    female = pl.when(sex == "F").then(1).when(sex == "M").then(0)
    century_ok = century.is_between(0, 4) & (digit.floordiv(2) == century)
    sex_ok = female.is_null() | (digit % 2 == female)
    return _pid_findings(ctx, year.is_not_null() & ~(century_ok & sex_ok))


@rule("DUNG-003")
def dung_003(ctx: Context) -> pl.DataFrame:
    """Digits 5-6 of the personal ID are the last two digits of the year of birth."""
    if not (ctx.has("personal_id") and ctx.has("date_of_birth")):
        return concat([])
    year = _birth_year()
    yy = pl.col("personal_id").str.slice(4, 2).cast(pl.Int64)
    return _pid_findings(ctx, year.is_not_null() & (yy != year % 100))


@rule("DUNG-004", codelists=["province_legacy"])
def dung_004(ctx: Context) -> pl.DataFrame:
    """Digits 1-3 of the personal ID are a ``personal_id_prefix`` of a legacy province
    (``prefix_list`` = ``list.column``)."""
    if not ctx.has("personal_id"):
        return concat([])
    list_id, _, column = ctx.param("DUNG-004", "prefix_list").partition(".")
    prefixes = ctx.codes(list_id)[column].drop_nulls().to_list()
    return _pid_findings(ctx, ~pl.col("personal_id").str.slice(0, 3).is_in(prefixes))


@rule("DUNG-005", time_dependent=True)
def dung_005(ctx: Context) -> pl.DataFrame:
    """From ``effective_from`` on, the record ID equals the personal ID (``expected``)."""
    effective = dt.date.fromisoformat(ctx.param("DUNG-005", "effective_from"))
    if ctx.as_of < effective or not (ctx.has("record_id") and ctx.has("personal_id")):
        return concat([])
    rid, pid = pl.col("record_id"), pl.col("personal_id")
    hit = _narrow(ctx, [rid, pid]).filter((rid != pid).fill_null(False))
    hit = hit.filter((rid.str.strip_chars() != "") & (pid.str.strip_chars() != ""))
    return concat([findings(hit, field="record_id", value="record_id", expected=pid)])


# --- formats: DUNG-006 … DUNG-008 ---------------------------------------------------------------


def _bad_date(col: pl.Expr, leaf: FieldDef) -> pl.Expr:
    """DUNG-006: not of the form of its type (date, year_month, year), or no real date."""
    text = as_text(col)
    if leaf.type == "year":
        return ~text.str.contains(r"^[0-9]{4}$")
    if leaf.type == "year_month":
        return ~text.str.contains(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    return ~(
        text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        & text.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    )


def _flip(check: Check, leaf: FieldDef, expr: pl.Expr) -> pl.Expr:
    return check(expr, leaf)


def _distinct_rule(
    ctx: Context, leaves: Iterable[FieldDef], bad: Check, *, keep: bool
) -> list[pl.DataFrame]:
    """Findings where ``bad`` holds, decided on the distinct values of each leaf (``keep``:
    cache the flat cell values for the other rules of the run)."""
    leaves = list(leaves)
    parts = []
    scalars = []
    for leaf in _scalar_leaves(ctx, leaves):
        if leaf.multiple:
            parts.append(_multi_scalar(ctx, leaf, partial(_flip, bad, leaf)))
        else:
            scalars.append(leaf)
    by_table = _by_table(ctx, leaves)
    if keep:
        _prefetch(ctx, by_table)
    cells_of: list[tuple[_Cells, FieldDef, pl.Series]] = []
    for table, columns in by_table.items():
        cells = _cells(ctx, table)
        for leaf in columns:
            if leaf.multiple:
                parts.append(_element_hits(cells, leaf, partial(_flip, bad, leaf)))
            else:
                cells_of.append((cells, leaf, cells.values(leaf.code, keep=keep)))
    v = pl.col("v")
    wrong = _bad_distinct(
        [(ctx.frame[leaf.code], bad(v, leaf)) for leaf in scalars]
        + [(values, bad(v, leaf)) for _, leaf, values in cells_of]
    )
    checks: list[Scalar] = [
        (leaf, pl.col(leaf.code).is_in(found), pl.lit(True))
        for leaf, found in zip(scalars, wrong, strict=False)
        if found is not None
    ]
    parts.extend(_scalar_checks(ctx, checks))
    for (cells, leaf, values), found in zip(cells_of, wrong[len(scalars) :], strict=True):
        if found is not None:
            parts.append(_cell_hits(cells, leaf, values, values.is_in(found), pl.lit(True)))
    return parts


@rule("DUNG-006")
def dung_006(ctx: Context) -> pl.DataFrame:
    """Dates are ``YYYY-MM-DD``, months ``YYYY-MM``, years ``YYYY``, and exist.

    A partial legacy date (``2001`` or ``2001-05`` in a date field, ``2001`` in a month
    field) is reported here; the date comparisons still read it at its own precision.
    """
    return concat(_distinct_rule(ctx, ctx.leaves("DUNG-006"), _bad_date, keep=True))


def _decimal_shape(leaf: FieldDef) -> str:
    if leaf.scale is None:
        return r"^-?[0-9]+(\.[0-9]+)?$"
    if leaf.scale == 0:
        return r"^-?[0-9]+$"
    return rf"^-?[0-9]+\.[0-9]{{{leaf.scale}}}$"


def _out_of_range(value: pl.Expr, leaf: FieldDef) -> pl.Expr:
    bad = pl.lit(False)
    if leaf.min is not None:
        bad = bad | (value < leaf.min)
    if leaf.max is not None:
        bad = bad | (value > leaf.max)
    return bad


def _bad_decimal(col: pl.Expr, leaf: FieldDef) -> pl.Expr:
    """A decimal written with exactly ``scale`` decimals and within ``min``/``max``."""
    text = col.cast(pl.String)
    return ~text.str.contains(_decimal_shape(leaf)) | _out_of_range(
        text.cast(pl.Float64, strict=False), leaf
    )


def _bad_text(col: pl.Expr, leaf: FieldDef, *, cheap: bool = False) -> pl.Expr:
    """Pattern and maximum length in characters (``cheap``: in bytes, which can only
    over-select: a character takes one to four bytes)."""
    bad = pl.lit(False)
    if leaf.pattern is not None:
        bad = bad | ~col.str.contains(leaf.pattern)
    limit = leaf.effective_max_length
    if limit is not None:
        length = col.str.len_bytes() if cheap else col.str.len_chars()
        bad = bad | (length > limit)
    return bad


_CANONICAL_IMAGE = (
    r'^\{"media_type":"image/(jpeg|png)","sha256":"[0-9a-f]{64}","uri":"[^"\\]*[^"\\\s][^"\\]*"\}$'
)
"""A valid photo as the importer stores it (sorted keys, no spaces): the cheap first test."""


def _bad_image(col: pl.Expr, *, cheap: bool = False) -> pl.Expr:
    """Not an object with ``media_type`` image/jpeg|png, a hex ``sha256`` and a ``uri``."""
    text = col.cast(pl.String)
    if cheap:
        return ~text.str.contains(_CANONICAL_IMAGE)
    ok = (
        text.str.json_path_match("$.media_type").is_in(list(_IMAGE_MEDIA_TYPES))
        & text.str.json_path_match("$.sha256").str.contains(r"^[0-9a-f]{64}$")
        & (text.str.json_path_match("$.uri").str.strip_chars().str.len_chars() > 0)
    )
    return ~ok.fill_null(False)


def _value_check(leaf: FieldDef) -> Callable[[pl.Expr], pl.Expr]:
    """DUNG-007's exact test for a non-decimal leaf."""
    if leaf.type in _NUMERIC:
        return partial(_flip, _out_of_range, leaf)
    if leaf.type == "image":
        return _bad_image
    return partial(_flip, _bad_text, leaf)


def _value_exact(leaf: FieldDef, column: Column) -> pl.Expr:
    return _value_check(leaf)(column(leaf.code))


def _value_cheap_cell(leaf: FieldDef, column: Column) -> pl.Expr:
    return _value_cheap(leaf, column(leaf.code))


def _value_cheap(leaf: FieldDef, col: pl.Expr) -> pl.Expr:
    """DUNG-007's cheap first test for a non-decimal leaf."""
    if leaf.type in _NUMERIC:
        return _out_of_range(col, leaf)
    if leaf.type == "image":
        return _bad_image(col, cheap=True)
    return _bad_text(col, leaf, cheap=True)


@rule("DUNG-007")
def dung_007(ctx: Context) -> pl.DataFrame:
    """Values respect the type, pattern, length, range and scale declared in catalog.yaml
    (image: an object with ``media_type`` image/jpeg or image/png, ``sha256``, ``uri``)."""
    leaves = ctx.leaves("DUNG-007")
    decimals = [leaf for leaf in leaves if leaf.type == "decimal"]
    parts = _distinct_rule(ctx, decimals, _bad_decimal, keep=False)
    others = [leaf for leaf in leaves if leaf.type not in ("decimal", "boolean")]
    checks: list[Scalar] = []
    for leaf in _scalar_leaves(ctx, others):
        if leaf.multiple:
            parts.append(_multi_scalar(ctx, leaf, _value_check(leaf)))
            continue
        col = pl.col(leaf.code)
        checks.append((leaf, _value_cheap(leaf, col), _value_check(leaf)(col)))
    parts.extend(_scalar_checks(ctx, checks))
    by_table = _by_table(ctx, others)
    parts.extend(_row_checks(ctx, by_table, _value_cheap_cell, _value_exact))
    for table, columns in by_table.items():
        for leaf in columns:
            if leaf.multiple:
                parts.append(_element_hits(_cells(ctx, table), leaf, _value_check(leaf)))
    return concat(parts)


def normalise_contact(value: str, *, phone: bool) -> str:
    """The form DUNG-008 checks: spaces and separators removed, upper case, and for a phone
    ``+84``/``0084`` replaced by ``0`` (SACH-012 reports values that need this)."""
    out = re.sub(r"[\s.\-()]", "", value).upper()
    if phone:
        out = re.sub(r"^(\+|00)84", "0", out)
    return out


def _normalised_contact(col: pl.Expr, *, phone: bool) -> pl.Expr:
    out = col.str.replace_all(r"[\s.\-()]", "").str.to_uppercase()
    if phone:
        out = out.str.replace(r"^(\+|00)84", "0")
    return out


@rule("DUNG-008")
def dung_008(ctx: Context) -> pl.DataFrame:
    """Phone, social-insurance and health-insurance numbers match the leaf's ``pattern``
    after normalisation (:func:`normalise_contact`)."""
    checks: list[Scalar] = []
    for leaf in ctx.scalar_leaves("DUNG-008"):
        if leaf.pattern is None:
            continue
        col = pl.col(leaf.code)
        bad = ~_normalised_contact(col, phone=leaf.type == "phone").str.contains(leaf.pattern)
        # A value that matches as stored matches after normalisation too.
        checks.append((leaf, ~col.str.contains(leaf.pattern), bad))
    return concat(_scalar_checks(ctx, checks))


# --- codes: DUNG-009, DUNG-010 ------------------------------------------------------------------


@lru_cache
def _external_codes(list_id: str) -> tuple[str, ...] | None:
    """Codes of an external administrative-unit list (None for the other external lists)."""
    if list_id == "ward_2025":
        return tuple(admin_units.wards_2025())
    if list_id == "ward_legacy":
        return tuple(admin_units.wards_legacy())
    if list_id == "district_legacy":
        return tuple(admin_units.districts_legacy())
    return None


def _list_closed(ctx: Context, list_id: str) -> bool | None:
    """True/False for a closed/open list, None when the list is unknown."""
    codelist = ctx.catalog.codelists.get(list_id)
    if codelist is not None:
        return codelist.closed
    external = ctx.catalog.external_codelists.get(list_id)
    if external is not None:
        return bool(external.get("closed"))
    return None


def _all_codes(ctx: Context, list_id: str) -> list[str] | None:
    """Every code of a list (file or external administrative units), None if not held."""
    codelist = ctx.catalog.codelists.get(list_id)
    if codelist is not None:
        return list(codelist.codes)
    external = _external_codes(list_id)
    return None if external is None else list(external)


def _leaf_lists(leaf: FieldDef) -> list[str]:
    lists = [leaf.codelist] if leaf.codelist else []
    if leaf.codelist_by_scheme:
        lists.extend(leaf.codelist_by_scheme.values())
    return lists


def coded_leaves(ctx: Context, rule_id: str, *, closed: bool) -> list[FieldDef]:
    """Leaves of ``rule_id`` whose code lists are all closed (DUNG-009) or all open
    (DUNG-010)."""
    out = []
    for leaf in ctx.leaves(rule_id):
        lists = _leaf_lists(leaf)
        if lists and all(_list_closed(ctx, x) is closed for x in lists):
            out.append(leaf)
    return out


def _dated(ctx: Context, leaf: FieldDef) -> CodeList | None:
    """The leaf's code list when validity dates apply to it: a file list (not of
    administrative units) with at least one bounded code."""
    codelist = ctx.catalog.codelists.get(leaf.codelist or "")
    if codelist is None or codelist.id in _ADMIN_LISTS:
        return None
    if not any(c.valid_from or c.valid_to for c in codelist.codes.values()):
        return None
    return codelist


def _not_member(ctx: Context, leaf: FieldDef, col: pl.Expr) -> pl.Expr | None:
    """``col`` is not in the leaf's list (of the declared scheme); None if not checkable."""
    if leaf.codelist_by_scheme and leaf.scheme_field and leaf.table is None and not leaf.multiple:
        scheme = pl.col(leaf.scheme_field) if ctx.has(leaf.scheme_field) else pl.lit(None)
        default = _all_codes(ctx, leaf.codelist) if leaf.codelist else None
        bad = pl.when(scheme.is_null()).then(
            pl.lit(False) if default is None else ~col.is_in(default)
        )
        for value, list_id in leaf.codelist_by_scheme.items():
            codes = _all_codes(ctx, list_id)
            if codes is not None:
                bad = bad.when(scheme == value).then(~col.is_in(codes))  # type: ignore[assignment]
        return bad.otherwise(pl.lit(False))
    if leaf.codelist is None:
        return None
    codes = _all_codes(ctx, leaf.codelist)
    return None if codes is None else ~col.is_in(codes)


def _invalid_on(codelist: CodeList, col: pl.Expr, ref: pl.Expr) -> pl.Expr:
    """``col`` (a code of ``codelist``) is outside its validity on ``ref`` (a partial date,
    compared at the coarser precision; never when ``ref`` is null or unreadable)."""
    bounded: list[Code] = [c for c in codelist.codes.values() if c.valid_from or c.valid_to]
    starts = {c.code: c.valid_from.isoformat() for c in bounded if c.valid_from}
    ends = {c.code: c.valid_to.isoformat() for c in bounded if c.valid_to}
    usable = _comparable(ref)
    bad = pl.lit(False)
    if starts:
        start = col.replace_strict(starts, default=None, return_dtype=pl.String)
        bad = bad | (usable & before(ref, start)).fill_null(False)
    if ends:
        end = col.replace_strict(ends, default=None, return_dtype=pl.String)
        bad = bad | (usable & after(ref, end)).fill_null(False)
    return bad


def _row_reference(table: FieldDef, column: Column) -> pl.Expr | None:
    """A row's reference date for codes: ``to``, else ``from``, else ``year`` (§5)."""
    names = [c.code for c in table.columns if c.code in ("to", "from", "year")]
    ordered = [n for n in ("to", "from", "year") if n in names]
    if not ordered:
        return None
    return pl.coalesce([as_text(column(n)) for n in ordered])


def _not_in(col: pl.Expr, *, codes: list[str]) -> pl.Expr:
    return ~col.is_in(codes)


def _scalar_code_test(ctx: Context, leaf: FieldDef) -> Callable[[pl.Expr], pl.Expr] | None:
    """The test of a current value (single or element): not valid on the as-of date for a
    list with validity dates, else not a member (of the declared scheme's list); None if the
    leaf cannot be checked."""
    dated = _dated(ctx, leaf)
    if dated is not None:
        valid = [c.code for c in dated.codes.values() if c.valid_on(ctx.as_of)]
        return partial(_not_in, codes=valid)
    if _not_member(ctx, leaf, pl.lit(None)) is None:
        return None

    def test(col: pl.Expr) -> pl.Expr:
        bad = _not_member(ctx, leaf, col)
        assert bad is not None
        return bad

    return test


def _code_rule(ctx: Context, rule_id: str, *, closed: bool) -> pl.DataFrame:
    leaves = coded_leaves(ctx, rule_id, closed=closed)
    parts = []
    checks: list[Scalar] = []
    for leaf in _scalar_leaves(ctx, leaves):
        test = _scalar_code_test(ctx, leaf)
        if test is None:
            continue
        if leaf.multiple:
            parts.append(_multi_scalar(ctx, leaf, test))
        else:
            checks.append((leaf, test(pl.col(leaf.code)), pl.lit(True)))
    parts.extend(_scalar_checks(ctx, checks))
    by_table = _by_table(ctx, leaves)
    lists: dict[str, tuple[list[str], CodeList | None]] = {}
    for columns in by_table.values():
        for leaf in columns:
            codes = _all_codes(ctx, leaf.codelist or "")
            if codes is not None:
                lists[leaf.path] = (codes, _dated(ctx, leaf))

    def cheap(leaf: FieldDef, column: Column) -> pl.Expr:
        # Unknown codes, and codes with a bound that the row's date may cross: before the
        # latest valid_from, or after the earliest valid_to (what before/after imply as text).
        if leaf.path not in lists:
            return pl.lit(False)
        codes, dated = lists[leaf.path]
        cell = column(leaf.code)
        bad = ~cell.is_in(codes)
        table = ctx.catalog.by_code[leaf.table or ""]
        reference = _row_reference(table, column)
        if dated is None or reference is None:
            return bad
        # A year alone (rewards_and_ratings) compares as a number: same result, no text.
        by_year = {c.code for c in table.columns} & {"to", "from"} == set()
        starts = [c.valid_from for c in dated.codes.values() if c.valid_from]
        ends = [c.valid_to for c in dated.codes.values() if c.valid_to]
        if starts:
            codes_from = [c.code for c in dated.codes.values() if c.valid_from]
            early = (
                column("year") < max(starts).year
                if by_year
                else reference < max(starts).isoformat()
            )
            bad = bad | (cell.is_in(codes_from) & early)
        if ends:
            codes_to = [c.code for c in dated.codes.values() if c.valid_to]
            late = column("year") > min(ends).year if by_year else reference > min(ends).isoformat()
            bad = bad | (cell.is_in(codes_to) & late)
        return bad

    def exact(leaf: FieldDef, column: Column) -> pl.Expr:
        codes, dated = lists[leaf.path]
        cell = column(leaf.code)
        bad = ~cell.is_in(codes)
        reference = _row_reference(ctx.catalog.by_code[leaf.table or ""], column)
        if dated is not None and reference is not None:
            bad = bad | _invalid_on(dated, cell, reference)
        return bad

    parts.extend(_row_checks(ctx, by_table, cheap, exact))
    for table, columns in by_table.items():
        for leaf in columns:
            if leaf.multiple and leaf.path in lists:
                test = partial(_not_in, codes=lists[leaf.path][0])
                parts.append(_element_hits(_cells(ctx, table), leaf, test))
    return concat(parts)


@rule("DUNG-009", time_dependent=True)
def dung_009(ctx: Context) -> pl.DataFrame:
    """Codes of closed lists exist and are valid on the reference date; administrative-unit
    codes are in the list of the declared scheme."""
    return _code_rule(ctx, "DUNG-009", closed=True)


@rule("DUNG-010", time_dependent=True)
def dung_010(ctx: Context) -> pl.DataFrame:
    """Codes of open lists are in the shipped list (a warning: the list may be partial) and
    valid on the reference date."""
    return _code_rule(ctx, "DUNG-010", closed=False)


# --- dates in order: DUNG-011 … DUNG-015 --------------------------------------------------------


@rule("DUNG-011")
def dung_011(ctx: Context) -> pl.DataFrame:
    """No date of the person precedes ``date_of_birth`` (at the coarser precision)."""
    if not ctx.has("date_of_birth"):
        return concat([])
    leaves = [leaf for leaf in ctx.leaves("DUNG-011") if leaf.path != "date_of_birth"]
    dob = pl.col("date_of_birth")
    checks: list[Scalar] = []
    for leaf in _scalar_leaves(ctx, leaves):
        col = pl.col(leaf.code)
        exact = _comparable(col) & _comparable(dob) & before(col, dob)
        # Before at the coarser precision implies before as text.
        checks.append((leaf, as_text(col) < as_text(dob), exact))
    parts = _scalar_checks(ctx, checks)
    v, born = pl.col("v"), pl.col("_dob")
    exact = _comparable(v) & _comparable(born) & before(v, born)
    by_table = _by_table(ctx, leaves)
    _prefetch(ctx, by_table)
    # The cheap mask: the cell against the record's date of birth repeated for each row,
    # as text (before implies less as text), or against its year for a year column.
    frame_dob = ctx.frame.select(as_text(dob).alias("d"))["d"]
    frame_year = frame_dob.str.slice(0, 4).cast(pl.Int64, strict=False)
    for table, columns in by_table.items():
        cells = _cells(ctx, table)
        numeric = any(leaf.type in _NUMERIC for leaf in columns)
        texts = any(leaf.type not in _NUMERIC for leaf in columns)
        born_text = cells.repeated(frame_dob) if texts else None
        born_year = cells.repeated(frame_year) if numeric else None
        for leaf in columns:
            values = cells.values(leaf.code)
            if leaf.type in _NUMERIC:
                assert born_year is not None
                mask = values <= born_year
            else:
                assert born_text is not None
                mask = values < born_text
            hit = _cell_hits(
                cells, leaf, values, mask.fill_null(False), exact, record={"_dob": "date_of_birth"}
            )
            parts.append(hit)
    return concat(parts)


@rule("DUNG-012", time_dependent=True)
def dung_012(ctx: Context) -> pl.DataFrame:
    """No date, month or year lies after the as-of date (at the value's own precision)."""
    leaves = ctx.leaves("DUNG-012")
    today, year = ctx.as_of_iso, ctx.as_of.year
    checks: list[Scalar] = []
    for leaf in _scalar_leaves(ctx, leaves):
        col = pl.col(leaf.code)
        # After at the value's precision implies after as text (the as-of date is complete).
        cheap = (col > year) if leaf.type in _NUMERIC else (col > today)
        checks.append((leaf, cheap, _comparable(col) & after(col, lit_date(ctx.as_of))))
    parts = _scalar_checks(ctx, checks)
    v = pl.col("v")
    exact = _comparable(v) & after(v, lit_date(ctx.as_of))
    by_table = _by_table(ctx, leaves)
    _prefetch(ctx, by_table)
    for table, columns in by_table.items():
        cells = _cells(ctx, table)
        for leaf in columns:
            values = cells.values(leaf.code)
            mask = (values > year) if leaf.type in _NUMERIC else (values > today)
            parts.append(_cell_hits(cells, leaf, values, mask.fill_null(False), exact))
    return concat(parts)


@rule("DUNG-013")
def dung_013(ctx: Context) -> pl.DataFrame:
    """In every history row, ``from`` is on or before ``to`` (at the coarser precision); the
    finding names ``table[i].to``."""
    parts = []
    by_table = _by_table(ctx, ctx.leaves("DUNG-013"))
    _prefetch(ctx, by_table)
    for table, leaves in by_table.items():
        by_code = {leaf.code: leaf for leaf in leaves}
        if not {"from", "to"} <= set(by_code):
            continue
        cells = _cells(ctx, table)
        start, end = cells.values("from"), cells.values("to")
        f, v = pl.col("_from"), pl.col("v")
        exact = _comparable(f) & _comparable(v) & after(f, v)
        cheap = (start > end).fill_null(False)
        parts.append(_cell_hits(cells, by_code["to"], end, cheap, exact, _from=start))
    return concat(parts)


def _ordered_pairs(ctx: Context, rule_id: str) -> pl.DataFrame:
    """Findings on the later field ``b`` of each ``pairs`` entry ``a<=b`` where ``a`` is
    after ``b`` (at the coarser precision)."""
    by_path = ctx.catalog.leaf_by_path
    checks: list[Scalar] = []
    for first, second in _pairs(ctx.param(rule_id, "pairs")):
        if not (ctx.has(first) and ctx.has(second)):
            continue
        a, b = pl.col(first), pl.col(second)
        exact = _comparable(a) & _comparable(b) & after(a, b) & _filled(a, by_path[first])
        checks.append((by_path[second], as_text(a) > as_text(b), exact))
    return concat(_scalar_checks(ctx, checks))


@rule("DUNG-014")
def dung_014(ctx: Context) -> pl.DataFrame:
    """Party admission ≤ full membership, enlistment ≤ discharge, appointment ≤
    reappointment (``pairs``); the finding names the later field."""
    return _ordered_pairs(ctx, "DUNG-014")


@rule("DUNG-015")
def dung_015(ctx: Context) -> pl.DataFrame:
    """First recruitment ≤ joining the agency and ≤ rank appointment; rank appointment ≤
    salary effective date (``pairs``, a warning); the finding names the later field."""
    return _ordered_pairs(ctx, "DUNG-015")
