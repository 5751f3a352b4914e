"""Sạch (clean) rules SACH-001 … SACH-013: duplicates, encodings, names, admin units, registry.

Readings of ``quality-rules.md`` §5 that the functions share:

- **Duplicates** (SACH-001/002, ``dataset`` rules) compare the records of ``ctx.frame`` with
  every current record (``ctx.everyone``) but report only on the records of ``ctx.frame``:
  an incremental run checks a few changed records against everyone. A frame record replaces
  its older copy in the population (same ``_id``). Personal IDs are compared without
  separators (spaces, dots, hyphens, brackets; SACH-012 reports those). A record is *active*
  for SACH-001 unless its ``employment_status_code`` is a code whose
  ``employment_status.active`` is false (an empty status counts as active, as for SONG-010).
- **Text** (SACH-003/004/005/006/012): the checks run on the *distinct* values of each leaf
  of the active profile (names, agencies, institutions, occupations repeat across records;
  valid codes and pattern-conforming identifiers are left out at once), first a Polars
  regex over them, then the per-value function of :mod:`hoso.quality.text` on the few hits,
  then one ``is_in`` over the leaf's column for the offending values. The distinct values
  that any of these rules may flag are computed once per frame and profile and shared
  (:func:`_memo`), as is the registry comparison of SACH-009/010.
- **Registry** (SACH-009/010/011): the dossier and the registry view (``ctx.registry``, keyed
  by ``personal_id``) are compared after normalisation: text in NFC, upper case, single
  spaces (:func:`hoso.quality.text.normalise_birth_name`); codes trimmed and in upper case
  (an adapter maps the registry's own codes to the exchange codes before this); dates at the
  coarser precision; identifiers without separators; administrative units in the same
  scheme, or after converting the legacy side to the 2025 units when the schemes differ (a
  split commune matches any of its successors; the scheme fields then do not count as a
  difference). An empty value on either side is not compared. ``expected`` is the registry
  value as the registry holds it. The optional registry ``status`` (alive/deceased) is not
  read: a deceased person is still known to the registry.
- **Duplicate rows** (SACH-013): text and code cells are compared trimmed, with single
  spaces and in upper case; dates, numbers and booleans as stored.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import polars as pl

from hoso.catalog.loader import FieldDef
from hoso.quality import admin_units, text
from hoso.quality.rules import (
    DATASET,
    ID,
    REGISTRY,
    Context,
    after,
    before,
    cell_findings,
    concat,
    empty_findings,
    findings,
    rule,
    scalar_findings,
)

# --- patterns ---------------------------------------------------------------------------------

NON_NFC_PATTERN = (
    r"[\p{M}\u0374\u037e\u0387\u0958-\u095f\u09dc-\u09df\u0a33\u0a36\u0a59-\u0a5e"
    r"\u0b5c-\u0b5d\u0f43-\u0f69\u1161-\u1175\u11a8-\u11c2\u1f71-\u1ffd\u2000-\u2001\u2126"
    r"\u212a-\u212b\u2329-\u232a\u2adc\uf900-\ufaff\ufb1d-\ufb4e\x{1d15e}-\x{1d1c0}"
    r"\x{2f800}-\x{2fa1f}]"
)
"""SACH-004 pre-filter (Polars): every text that is not NFC holds one of these characters —
a combining mark, a character NFC replaces (singletons such as U+212B ANGSTROM SIGN,
composition exclusions, CJK compatibility ideographs) or a conjoining Hangul vowel/final.
``text.COMBINING_MARK_PATTERN`` (U+0300–U+036F) misses the others. Hits are confirmed with
:func:`hoso.quality.text.is_nfc`."""

ID_SEPARATORS = r"[\s.\-()]"
"""Separators removed from identifiers before comparing them (as DUNG-008 normalises)."""

_PLUS84 = re.compile(r"^\s*\(?(?:\+|00)84")
_INNER_SEPARATOR = re.compile(r"[^\s.\-()]" + ID_SEPARATORS + r"+[^\s.\-()]")


def _vietnamese_letters() -> str:
    """The letters of Vietnamese, precomposed, both cases, as regex escapes."""
    base = "aăâeêioôơuưy"
    marks = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
    letters = set("abcdefghijklmnopqrstuvwxyzđ")
    letters.update(unicodedata.normalize("NFC", b + m) for b in base for m in marks)
    letters.update({c.upper() for c in letters})
    return "".join(f"\\u{ord(c):04x}" for c in sorted(letters))


_LETTER = f"[{_vietnamese_letters()}]"
_VIETNAMESE_NAME = f"^{_LETTER}+(?:[ '\u2019-]{_LETTER}+)*$"
"""Letters of Vietnamese (precomposed, both cases) with single separators: such a name is NFC
and its upper case is NFC, so its SACH-002 key is just its upper case."""

# --- small helpers ----------------------------------------------------------------------------


_T = TypeVar("_T")

_MEMO: dict[tuple[object, ...], tuple[tuple[weakref.ref[Any], ...], object]] = {}
_MEMO_LOCK = threading.RLock()


def _memo(name: str, owners: tuple[object, ...], build: Callable[[], _T]) -> _T:
    """``build()`` computed once while ``owners`` (frames, the catalogue) live.

    Several rules of this module share one pass over the data (the distinct text values,
    the registry view). The engine calls rules with the same ``Context``, on several
    threads; the result is kept with weak references to its inputs and dropped when one of
    them goes.
    """
    key = (name, *(id(o) for o in owners))
    hit = _MEMO.get(key)
    if hit is not None and all(r() is o for r, o in zip(hit[0], owners, strict=True)):
        return hit[1]  # type: ignore[return-value]
    with _MEMO_LOCK:  # rules run on several threads: build once, the others wait
        hit = _MEMO.get(key)
        if hit is not None and all(r() is o for r, o in zip(hit[0], owners, strict=True)):
            return hit[1]  # type: ignore[return-value]
        return _memo_store(key, owners, build())


def _memo_store(key: tuple[object, ...], owners: tuple[object, ...], value: _T) -> _T:
    def forget(ref: weakref.ref[Any]) -> None:
        entry = _MEMO.get(key)
        if entry is not None and any(r is ref for r in entry[0]):
            del _MEMO[key]

    _MEMO[key] = (tuple(weakref.ref(o, forget) for o in owners), value)
    return value


def _series(values: Sequence[str]) -> pl.Expr:
    """``values`` as one literal list, for ``is_in``."""
    return pl.lit(pl.Series(values, dtype=pl.String).implode())


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _pid_key(expr: pl.Expr) -> pl.Expr:
    """A personal ID without separators, for comparisons (empty → null)."""
    key = expr.cast(pl.String).str.replace_all(ID_SEPARATORS, "")
    return pl.when(key.str.len_bytes() > 0).then(key)


def _plain(pid: pl.Expr) -> pl.Expr:
    """True for a 12-digit ID, its own :func:`_pid_key` (false for null)."""
    return (
        (pid.str.len_bytes() == 12) & pid.cast(pl.UInt64, strict=False).is_not_null()
    ).fill_null(False)


def _pid_keys(pids: pl.Series) -> pl.Series:
    """:func:`_pid_key` of each value; 12-digit IDs (nearly all) are taken as they are and
    only the others go through the regex."""
    plain = pl.select(_plain(pl.lit(pids))).to_series()
    if plain.all():
        return pids
    idx = (~plain).arg_true()
    fixed = pl.select(_pid_key(pl.lit(pids.gather(idx)))).to_series()
    return pids.clone().scatter(idx, fixed)  # scatter works in place: keep ``pids``


def _filled(expr: pl.Expr) -> pl.Expr:
    """True for a value that is not empty (null and blank strings are empty, §5)."""
    return expr.is_not_null() & (expr.cast(pl.String).str.strip_chars().str.len_bytes() > 0)


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (with ``personal_id`` and ``_personal_id``) with ``_stored`` (the personal ID
    as stored: the data field, else the dossier key) and ``_key`` (without separators; rows
    without an ID dropped)."""
    data = frame["personal_id"]
    key = _pid_keys(data)
    missing = key.is_null()
    if missing.any():
        meta = frame["_personal_id"]
        data = data.zip_with(~missing, meta)
        key = key.zip_with(~missing, _pid_keys(meta))
    frame = frame.with_columns(data.alias("_stored"), key.alias("_key"))
    return frame.filter(pl.col("_key").is_not_null())


def _split(
    ctx: Context, leaves: Iterable[FieldDef]
) -> tuple[list[FieldDef], dict[str, list[FieldDef]]]:
    """``leaves`` present in the frame: top-level scalars, and table columns by table."""
    scalars: list[FieldDef] = []
    by_table: dict[str, list[FieldDef]] = {}
    for leaf in leaves:
        if leaf.table is None:
            if ctx.has(leaf.code):
                scalars.append(leaf)
        elif ctx.has(leaf.table):
            by_table.setdefault(leaf.table, []).append(leaf)
    return scalars, by_table


def _profile_leaves(ctx: Context, rule_id: str) -> list[FieldDef]:
    """The leaves of ``rule_id`` in the active profile (the engine drops findings on others,
    so they are not scanned)."""
    return [leaf for leaf in ctx.leaves(rule_id) if leaf.in_profile(ctx.profile)]


def _stringish(leaf: FieldDef) -> bool:
    """Leaves stored as text (or lists of text) in the frame."""
    return leaf.type not in ("integer", "year", "boolean", "image")


# --- distinct values flagged for the text rules (shared by SACH-003/004/005/006/012) -------------

_TEXT_RULES = ("SACH-003", "SACH-004", "SACH-005", "SACH-006", "SACH-012")


def _leaf_codes(ctx: Context, leaf: FieldDef) -> frozenset[str] | None:
    """All codes of a coded leaf's lists, or None when a list is external (not held here)."""
    lists = [leaf.codelist] if leaf.codelist else []
    lists.extend((leaf.codelist_by_scheme or {}).values())
    codes: set[str] = set()
    for list_id in dict.fromkeys(lists):
        codelist = ctx.catalog.codelists.get(list_id)
        if codelist is None:
            return None
        codes.update(codelist.codes)
    return frozenset(codes)


def _is_identifier(leaf: FieldDef) -> bool:
    """Identifier-like leaves: personal IDs, phones and patterned strings (BHXH, BHYT, CMND)."""
    return leaf.type in ("personal_id", "phone") or (
        leaf.type == "string" and leaf.pattern is not None
    )


def _prefilter(ctx: Context, leaf: FieldDef, rules: frozenset[str]) -> pl.Expr:
    """A superset of the values of ``leaf`` that one of ``rules`` may report (vectorised)."""
    value = pl.col("value")
    patterns = [text.INVISIBLE_PATTERN, r"^\s|\s$|^$"]
    if "SACH-003" in rules:
        patterns.append(text.LEGACY_PATTERN)
    if "SACH-004" in rules:
        patterns.append(NON_NFC_PATTERN)
    if "SACH-012" in rules and _is_identifier(leaf):
        patterns.append(r"[\s.\-()+]")
    flagged = value.str.contains("|".join(f"(?:{p})" for p in patterns))
    if "SACH-005" in rules:
        flagged = flagged | (value != value.str.to_uppercase())
    if "SACH-006" in rules:
        flagged = flagged | ~value.str.contains(text.NAME_PATTERN_RUST)
        if leaf.code == "birth_name":
            flagged = flagged | ~value.str.contains(" ", literal=True)
    if "SACH-012" in rules and leaf.type == "code":
        codes = _leaf_codes(ctx, leaf)
        if codes is None:
            flagged = flagged | (value != value.str.to_uppercase())
        else:
            flagged = flagged | ~value.is_in(pl.Series(sorted(codes), dtype=pl.String).implode())
    return flagged


def _prefilter_key(ctx: Context, leaf: FieldDef, rules: frozenset[str]) -> tuple[str, ...]:
    """Leaves with the same key get the same :func:`_prefilter` (one scan for all)."""
    if "SACH-012" in rules and leaf.type == "code":
        return ("code", leaf.path)  # its own code list
    return (
        *sorted(rules),
        "id" if _is_identifier(leaf) else "",
        "birth" if leaf.code == "birth_name" else "",
    )


_ASCII_ID_PATTERN = re.compile(r"(?:[\^$(){}|?0-9,]|\[(?:[0-9A-Za-z]-[0-9A-Za-z]|[0-9A-Za-z])+\])+")
"""A catalogue pattern that only admits ASCII letters and digits (``^[0-9]{12}$`` …)."""


def _clean_as_stored(
    ctx: Context, leaf: FieldDef, rules: frozenset[str], col: pl.Expr
) -> pl.Expr | None:
    """A cheap test for values none of ``rules`` can report on ``leaf``, or None.

    A valid code of a known list is in the right case, without spaces; a value matching an
    identifier pattern of ASCII letters and digits has no space, separator, ``+84``,
    mojibake, invisible or decomposed character (``rules`` never holds the name rules
    SACH-005/006 for such leaves).
    """
    if leaf.type == "code":
        codes = _leaf_codes(ctx, leaf)
        if codes is not None:
            return col.is_in(pl.Series(sorted(codes), dtype=pl.String).implode())
    names = rules & {"SACH-005", "SACH-006"}
    if leaf.pattern is not None and _ASCII_ID_PATTERN.fullmatch(leaf.pattern) and not names:
        return col.str.contains(leaf.pattern)
    return None


def _table_fields(ctx: Context, table: str) -> frozenset[str]:
    """The column names of ``table`` as the frame stores it (``List(Struct)``)."""
    dtype = ctx.frame.schema[table]
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        return frozenset(f.name for f in dtype.inner.fields)
    return frozenset()


def _distinct(
    ctx: Context,
    leaves: Mapping[str | None, Sequence[FieldDef]],
    rules_of: Mapping[str, frozenset[str]],
) -> dict[str, pl.Series]:
    """The distinct non-null values (elements, for lists) of each leaf, by table (None for
    the scalars), that a text rule may report (values clean as stored left out), all tables
    in parallel. A table's rows are exploded lazily, only the leaves' columns read out."""
    queries: list[pl.LazyFrame] = []
    for table, columns in leaves.items():
        exprs = []
        for leaf in columns:
            col = pl.col(leaf.code)
            if leaf.multiple:
                col = col.explode()
            col = col.drop_nulls()
            clean = _clean_as_stored(ctx, leaf, rules_of[leaf.path], col)
            if clean is not None:
                col = col.filter(~clean)
            exprs.append(col.unique().implode().alias(leaf.path))
        if not exprs:
            continue
        if table is None:
            queries.append(ctx.frame.lazy().select(exprs))
        else:
            rows = ctx.frame.lazy().select(table).explode(table, keep_nulls=False).unnest(table)
            queries.append(rows.select(exprs))
    out: dict[str, pl.Series] = {}
    for row in pl.collect_all(queries):
        out.update({name: row[name][0] for name in row.columns})
    return out


def _build_flagged(ctx: Context) -> dict[str, pl.Series]:
    found: dict[str, set[str]] = {}
    by_path: dict[str, FieldDef] = {}
    for rule_id in _TEXT_RULES:
        for leaf in _profile_leaves(ctx, rule_id):
            if _stringish(leaf):
                found.setdefault(leaf.path, set()).add(rule_id)
                by_path[leaf.path] = leaf
    rules_of = {path: frozenset(r) for path, r in found.items()}
    scalars, by_table = _split(ctx, by_path.values())
    wanted: dict[str | None, Sequence[FieldDef]] = {None: scalars}
    for table, leaves in by_table.items():
        columns = _table_fields(ctx, table)
        wanted[table] = [c for c in leaves if c.code in columns]
    values = _distinct(ctx, wanted, rules_of)
    # One regex pass per group of leaves with the same pre-filter.
    groups: dict[tuple[str, ...], list[str]] = {}
    for path, distinct in values.items():
        if distinct.len():
            groups.setdefault(_prefilter_key(ctx, by_path[path], rules_of[path]), []).append(path)
    out: dict[str, pl.Series] = {}
    for paths in groups.values():
        leaf = by_path[paths[0]]
        tagged = pl.concat(
            [values[p].rename("value").to_frame().with_columns(_path=pl.lit(p)) for p in paths]
        )
        kept = tagged.filter(_prefilter(ctx, leaf, rules_of[paths[0]]))
        for p, part in kept.partition_by("_path", as_dict=True).items():
            out[str(p[0])] = part["value"]
    return out


def _flagged(ctx: Context) -> dict[str, pl.Series]:
    """Leaf path → its distinct values that a text rule may report (a superset), computed once
    per records frame and shared by the text rules."""
    return _memo(f"flagged:{ctx.profile}", (ctx.frame, ctx.catalog), lambda: _build_flagged(ctx))


def _value_findings(
    ctx: Context, rule_id: str, bad: Callable[[FieldDef, str], bool]
) -> pl.DataFrame:
    """Findings of a text rule: the leaves' values for which ``bad(leaf, value)`` holds."""
    flagged = _flagged(ctx)
    offending: dict[str, list[str]] = {}
    leaves: list[FieldDef] = []
    for leaf in _profile_leaves(ctx, rule_id):
        values = flagged.get(leaf.path)
        if values is None or values.len() == 0:
            continue
        hits = [v for v in values.to_list() if bad(leaf, v)]
        if hits:
            offending[leaf.path] = hits
            leaves.append(leaf)

    def predicate(col: pl.Expr, leaf: FieldDef) -> pl.Expr:
        return col.is_in(pl.Series(offending[leaf.path], dtype=pl.String).implode())

    scalars, by_table = _split(ctx, leaves)
    return concat(
        [
            *scalar_findings(ctx, scalars, predicate),
            *cell_findings(_holding(ctx, by_table, offending), by_table, predicate),
        ]
    )


def _holding(
    ctx: Context, by_table: Mapping[str, Sequence[FieldDef]], offending: Mapping[str, list[str]]
) -> Context:
    """``ctx`` reduced to the records with an offending cell in ``by_table`` (their rows,
    not every row of the tables, are then read out), in the frame's order."""
    if not by_table:
        return ctx
    tests = []
    for table, leaves in by_table.items():
        columns = _table_fields(ctx, table)
        for leaf in leaves:
            if leaf.code not in columns:
                continue
            cell = pl.element().struct.field(leaf.code)
            if leaf.multiple:
                cell = cell.list.eval(pl.element().is_in(_series(offending[leaf.path]))).list.any()
            else:
                cell = cell.is_in(_series(offending[leaf.path]))
            tests.append(pl.col(table).list.eval(cell.fill_null(False)).list.any().fill_null(False))
    if not tests:
        return replace(ctx, frame=ctx.frame.select(ID).clear(), _tables={})
    frame = ctx.frame.lazy().select(ID, *by_table).filter(pl.any_horizontal(tests)).collect()
    return replace(ctx, frame=frame, _tables={})


# --- duplicates: SACH-001, SACH-002 -----------------------------------------------------------


def _dataset(ctx: Context, columns: Sequence[str], narrow: pl.Expr | None = None) -> pl.DataFrame:
    """``columns`` of the frame's records (``_mine`` true) and of the rest of the population
    (``_mine`` false; a frame record replaces its copy in the population), that rest limited
    to the rows where ``narrow`` holds (a superset of those that can match the frame's)."""
    mine = ctx.frame.select(columns).with_columns(_mine=pl.lit(True))
    population = ctx.population
    if population is None or population is ctx.frame:
        return mine
    population = population.select(columns)
    if narrow is not None:
        population = population.filter(narrow)
    others = population.join(mine.select(ID), on=ID, how="anti").with_columns(_mine=pl.lit(False))
    return pl.concat([mine, others], how="vertical")


@rule("SACH-001", needs=[DATASET], codelists=["employment_status"])
def sach_001(ctx: Context) -> pl.DataFrame:
    """The same personal ID in more than one active record: one finding on each record of the
    frame (of each group the frame touches with ``ctx.whole_groups``; ``value`` = its
    personal ID as stored)."""
    inactive = ctx.codes("employment_status").filter(
        pl.col("active").str.to_lowercase() == "false"
    )["code"]
    status = pl.col("employment_status_code").str.strip_chars().str.to_uppercase()
    columns = [ID, "_personal_id", "personal_id", "employment_status_code"]
    narrow = None
    incremental = ctx.population is not None and ctx.population is not ctx.frame
    if incremental:
        # Only records that can share a frame record's key: a plain ID (nearly all) is its
        # own key, so the rest of the population needs keying only where an ID equals one
        # of the frame's keys or is not plain (0.35 s → 0.1 over a million people).
        keys = _keyed(ctx.frame.select(columns))["_key"].unique().implode()
        narrow = (
            pl.col("personal_id").is_in(keys)
            | pl.col("_personal_id").is_in(keys)
            | ~_plain(pl.col("personal_id"))
            | ~_plain(pl.col("_personal_id"))
        )
    records = _keyed(_dataset(ctx, columns, narrow)).filter(
        ~status.is_in(inactive.implode()).fill_null(False)
    )
    if incremental:
        keys_ = records.filter(pl.col("_mine")).select("_key").unique()
        records = records.join(keys_, on="_key", how="semi")
    mine = pl.lit(True) if ctx.whole_groups else pl.col("_mine")
    dup = records.filter(pl.col("_key").is_duplicated() & mine)
    return findings(dup, field="personal_id", value="_stored")


def name_key(names: pl.Series) -> pl.Series:
    """SACH-002's birth-name key of each name: :func:`hoso.quality.text.dedup_key_name` (NFC,
    upper case, single spaces, without invisible characters), vectorised for Vietnamese
    names and computed in Python for the others."""
    plain = names.str.contains(_VIETNAMESE_NAME).fill_null(False)
    key = names.str.to_uppercase()
    others = names.filter(~plain & names.is_not_null())
    if others.len() == 0:
        return key
    mapping = {v: text.dedup_key_name(v) for v in others.unique().to_list()}
    fixed = names.replace_strict(mapping, default=None, return_dtype=pl.String)
    return pl.select(pl.when(plain).then(key).otherwise(fixed)).to_series().alias(names.name)


def _hometown_province_2025() -> pl.Expr:
    """The home-town province in the 2025 scheme (legacy codes through
    ``province_legacy.merged_into_2025_code``)."""
    code = pl.col("hometown_province_code").str.strip_chars()
    scheme = pl.col("hometown_unit_scheme").str.strip_chars().str.to_lowercase()
    merged = code.replace_strict(admin_units.province_merge_map(), default=None)
    return pl.when(scheme == admin_units.SCHEME_LEGACY).then(merged).otherwise(code)


_KEY = ["_name", "_dob", "_province"]


@rule("SACH-002", needs=[DATASET], codelists=["province_legacy"])
def sach_002(ctx: Context) -> pl.DataFrame:
    """Records with different personal IDs and the same (birth name, date of birth, 2025
    home-town province) key: a finding on each record of the frame, ``related`` = another
    personal ID of the key (the smallest other one)."""
    columns = [
        ID,
        "_personal_id",
        "personal_id",
        "birth_name",
        "date_of_birth",
        "hometown_province_code",
        "hometown_unit_scheme",
    ]
    records = _dataset(ctx, columns).with_columns(
        _dob=pl.col("date_of_birth").str.strip_chars(), _province=_hometown_province_2025()
    )
    records = records.filter(
        (pl.col("_dob").str.len_bytes() > 0) & (pl.col("_province").str.len_bytes() > 0)
    )
    if ctx.population is not None and ctx.population is not ctx.frame:
        # An incremental run: only the population born on a frame record's birth date in its
        # home-town province matters (a few records per frame record; the name keys and the
        # hashes below then cost nothing, where they took 0.5 s over a million people).
        places = records.filter(pl.col("_mine")).select("_dob", "_province").unique()
        records = records.join(places, on=["_dob", "_province"], how="semi")
    records = records.with_columns(name_key(records["birth_name"]).alias("_name"))
    records = _keyed(records).filter(pl.col("_name").str.len_bytes() > 0)
    # Cheap first pass on a hash of the key; the exact grouping runs on the few candidates.
    hashed = pl.struct(_KEY).hash()
    records = records.filter(hashed.is_duplicated())
    keys = records.filter(pl.col("_mine")).select(_KEY).unique()
    group = records.join(keys, on=_KEY, how="semi")
    per_id = group.group_by([*_KEY, "_key"]).agg(pl.col("_stored").first())
    top = (
        per_id.group_by(_KEY)
        .agg(
            pl.col("_key").sort().head(2).alias("_keys"),
            pl.col("_stored").sort_by("_key").head(2).alias("_storeds"),
            pl.len().alias("_ids"),
        )
        .filter(pl.col("_ids") > 1)
    )
    hits = (group if ctx.whole_groups else group.filter(pl.col("_mine"))).join(top, on=_KEY)
    related = (
        pl.when(pl.col("_key") == pl.col("_keys").list.get(0))
        .then(pl.col("_storeds").list.get(1))
        .otherwise(pl.col("_storeds").list.get(0))
    )
    return findings(hits, field="personal_id", value="_stored", related=related)


# --- encodings: SACH-003, SACH-004 ------------------------------------------------------------


@rule("SACH-003")
def sach_003(ctx: Context) -> pl.DataFrame:
    """Text in TCVN3 (ABC) or VNI read as Windows-1252 (mojibake), by the signatures of §5
    (:func:`hoso.quality.text.detect_legacy`)."""
    return _value_findings(ctx, "SACH-003", lambda leaf, v: text.detect_legacy(v) is not None)


def unicode_problem(value: str) -> bool:
    """SACH-004 for one value: not NFC, or a control or invisible format character.

    In TCVN3 mojibake the soft hyphen U+00AD is the letter ``ư`` (byte 0xAD): SACH-003
    reports that text, so the soft hyphen alone does not count here.
    """
    if not text.is_nfc(value):
        return True
    if "\xad" in value and text.detect_legacy(value) == "tcvn3":
        value = value.replace("\xad", "")
    return text.has_invisible(value)


@rule("SACH-004")
def sach_004(ctx: Context) -> pl.DataFrame:
    """Text not in NFC (decomposed marks …) or holding control or zero-width characters."""
    return _value_findings(ctx, "SACH-004", lambda leaf, v: unicode_problem(v))


# --- names: SACH-005, SACH-006 ----------------------------------------------------------------


def birth_name_not_upper(value: str) -> bool:
    """SACH-005 for one value: the birth name (NFC) differs from its upper case. Blank values
    are not checked (§5)."""
    name = _nfc(value)
    return name.strip() != "" and name != name.upper()


@rule("SACH-005")
def sach_005(ctx: Context) -> pl.DataFrame:
    """The birth name is not in upper case."""
    return _value_findings(ctx, "SACH-005", lambda leaf, v: birth_name_not_upper(v))


def invalid_name(value: str, *, birth_name: bool) -> bool:
    """SACH-006 for one value: not letters with single separators (§5, after NFC), or a birth
    name of fewer than two words. Blank values are not checked (§5)."""
    if value.strip() == "":
        return False
    if not text.is_valid_name(value):
        return True
    return birth_name and " " not in _nfc(value)


@rule("SACH-006")
def sach_006(ctx: Context) -> pl.DataFrame:
    """Names with digits or other characters, extra spaces, or a one-word birth name."""
    return _value_findings(
        ctx,
        "SACH-006",
        lambda leaf, v: invalid_name(v, birth_name=leaf.path == "birth_name"),
    )


# --- administrative units: SACH-007, SACH-008 -------------------------------------------------


def _scheme(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars().str.to_lowercase()


@rule("SACH-007", time_dependent=True)
def sach_007(ctx: Context) -> pl.DataFrame:
    """An address still in the legacy scheme on or after ``effective_from``: one finding on
    its ``*_unit_scheme`` field."""
    effective = dt.date.fromisoformat(ctx.param("SACH-007", "effective_from"))
    if ctx.as_of < effective:
        return empty_findings()
    parts: list[pl.DataFrame] = []
    for leaf in ctx.scalar_leaves("SACH-007"):
        col = pl.col(leaf.code)
        maybe = ctx.frame.filter(col.is_not_null() & (col != admin_units.SCHEME_2025))
        hit = maybe.filter(_scheme(col) == admin_units.SCHEME_LEGACY)
        parts.append(findings(hit, field=leaf.code, value=leaf.code))
    return concat(parts)


def _unit_lists(ctx: Context, leaf: FieldDef) -> tuple[pl.Series, pl.Series] | None:
    """(2025 codes, legacy codes) of a ward or province leaf; None for other leaves."""
    level = _unit_level(leaf)
    if level == "ward":
        return (
            admin_units.ward_province_frame(admin_units.SCHEME_2025)["ward_code"],
            admin_units.ward_province_frame(admin_units.SCHEME_LEGACY)["ward_code"],
        )
    if level == "province":
        lists = leaf.codelist_by_scheme or {}
        return (
            ctx.codes(lists[admin_units.SCHEME_2025])["code"],
            ctx.codes(lists[admin_units.SCHEME_LEGACY])["code"],
        )
    return None


def _unit_level(leaf: FieldDef) -> str | None:
    """``ward`` or ``province`` for a unit-code leaf with per-scheme lists, else None."""
    lists = leaf.codelist_by_scheme or {}
    new, old = lists.get(admin_units.SCHEME_2025, ""), lists.get(admin_units.SCHEME_LEGACY, "")
    if new.startswith("ward") and old.startswith("ward"):
        return "ward"
    if new.startswith("province") and old.startswith("province"):
        return "province"
    return None


@rule("SACH-008", codelists=["province_2025", "province_legacy"])
def sach_008(ctx: Context) -> pl.DataFrame:
    """A unit code labelled 2025 that exists only in the legacy list, or a code labelled
    legacy that exists in no list (finding on the unit code)."""
    parts: list[pl.DataFrame] = []
    for leaf in ctx.scalar_leaves("SACH-008"):
        lists = _unit_lists(ctx, leaf)
        if lists is None or leaf.scheme_field is None or not ctx.has(leaf.scheme_field):
            continue
        new, old = lists
        only_legacy = old.filter(~old.is_in(new.implode())).implode()
        known = pl.concat([new, old]).unique().implode()
        raw = pl.col(leaf.code)
        # As stored first (cheap): a code only in the legacy list, or in no list at all.
        maybe = ctx.frame.filter(raw.is_in(only_legacy) | ~raw.is_in(known))
        code = raw.str.strip_chars()
        scheme = _scheme(pl.col(leaf.scheme_field))
        bad = ((scheme == admin_units.SCHEME_2025) & code.is_in(only_legacy)) | (
            (scheme == admin_units.SCHEME_LEGACY) & ~code.is_in(known)
        )
        hit = maybe.filter(_filled(raw) & bad.fill_null(False))
        parts.append(findings(hit, field=leaf.code, value=leaf.code))
    return concat(parts)


# --- population registry: SACH-009, SACH-010, SACH-011 ------------------------------------------

MATCH_STATUS = "_population_match_status"
"""Metadata column of the stored registry results (a ``population_match_status`` code)."""


def _registry_view(ctx: Context) -> pl.DataFrame:
    """The registry entries with ``_key`` (personal ID without separators), one per key."""
    registry = ctx.registry
    if registry is None or "personal_id" not in registry.columns:
        return pl.DataFrame(schema={"_key": pl.String})

    def build() -> pl.DataFrame:
        assert registry is not None
        view = registry.with_columns(
            _pid_keys(registry["personal_id"].cast(pl.String)).alias("_key")
        ).filter(pl.col("_key").is_not_null())
        if view["_key"].is_duplicated().any():
            view = view.unique(subset=["_key"], keep="first", maintain_order=True)
        return view

    return _memo("registry", (registry,), build)


def _norm_code(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_uppercase()


def _norm_id(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(ID_SEPARATORS, "").str.to_uppercase()


def _registry_fields(ctx: Context) -> list[str]:
    """The leaves SACH-009 and SACH-010 compare in the active profile (the personal ID is
    the join key), with the scheme fields of their addresses."""
    leaves = [
        leaf
        for leaf in (*ctx.scalar_leaves("SACH-009"), *ctx.scalar_leaves("SACH-010"))
        if leaf.code != "personal_id" and leaf.in_profile(ctx.profile)
    ]
    # An address's scheme is read even where only its codes are reported.
    schemes = [
        leaf.scheme_field for leaf in leaves if leaf.scheme_field and ctx.has(leaf.scheme_field)
    ]
    return list(dict.fromkeys([*(leaf.code for leaf in leaves), *schemes]))


def _build_pairs(ctx: Context) -> pl.DataFrame:
    registry = _registry_view(ctx)
    both = [f for f in _registry_fields(ctx) if f in registry.columns]
    dossier = _keyed(ctx.frame.select(ID, "personal_id", "_personal_id", *both))
    if not both:
        return dossier.select(ID, "_key").clear()
    # Values equal as stored are equal after any normalisation: an anti-join on every field
    # keeps the few records where something differs (or the registry lacks the ID); only
    # those are joined in full.
    theirs = registry.select("_key", *[pl.col(f).cast(pl.String) for f in both])
    differ = dossier.select(ID, "_key", *[pl.col(f).cast(pl.String) for f in both]).join(
        theirs, on=["_key", *both], how="anti", nulls_equal=True
    )
    d = differ.select(ID, "_key", *[pl.col(f).alias(f"d_{f}") for f in both])
    r = theirs.join(differ.select("_key"), on="_key", how="semi").select(
        "_key", *[pl.col(f).alias(f"r_{f}") for f in both]
    )
    return d.join(r, on="_key", how="inner")


def _pairs_frame(ctx: Context) -> pl.DataFrame:
    """Records joined with their registry entry where some field differs as stored:
    ``d_<f>`` (dossier) and ``r_<f>`` (registry) for the fields both sides have."""
    registry = ctx.registry
    if registry is None:
        return pl.DataFrame(schema={ID: pl.Int64, "_key": pl.String})
    return _memo(
        f"pairs:{ctx.profile}", (ctx.frame, registry, ctx.catalog), lambda: _build_pairs(ctx)
    )


def _mismatch(pairs: pl.DataFrame, leaf: FieldDef, mask: pl.Expr) -> pl.DataFrame:
    hit = pairs.filter(mask.fill_null(False))
    return findings(hit, field=leaf.code, value=f"d_{leaf.code}", expected=pl.col(f"r_{leaf.code}"))


def _compare_value(pairs: pl.DataFrame, leaf: FieldDef) -> pl.DataFrame:
    """Findings where a leaf differs from the registry after normalisation (units compared
    as codes: callers convert schemes first)."""
    mine, theirs = pl.col(f"d_{leaf.code}"), pl.col(f"r_{leaf.code}")
    filled = _filled(mine) & _filled(theirs)
    if leaf.type in ("date", "year_month", "year"):
        a, b = mine.str.strip_chars(), theirs.str.strip_chars()
        return _mismatch(pairs, leaf, filled & (before(a, b) | after(a, b)))
    if leaf.type == "code":
        return _mismatch(pairs, leaf, filled & (_norm_code(mine) != _norm_code(theirs)))
    if _is_identifier(leaf):
        return _mismatch(pairs, leaf, filled & (_norm_id(mine) != _norm_id(theirs)))
    candidates = _mismatch(pairs, leaf, filled & (mine != theirs))
    if candidates.height == 0:
        return candidates
    mask = [
        text.normalise_birth_name(a) != text.normalise_birth_name(b)
        for a, b in zip(
            candidates["value"].to_list(), candidates["expected"].to_list(), strict=True
        )
    ]
    return candidates.filter(pl.Series(mask, dtype=pl.Boolean))


def _compare_address(
    pairs: pl.DataFrame, scheme_leaf: FieldDef, members: Sequence[FieldDef]
) -> list[pl.DataFrame]:
    """Findings on one address (its scheme and unit codes) against the registry's."""
    s = scheme_leaf.code
    mine_s, theirs_s = _scheme(pl.col(f"d_{s}")), _scheme(pl.col(f"r_{s}"))
    schemes = [admin_units.SCHEME_2025, admin_units.SCHEME_LEGACY]
    cross = (mine_s.is_in(schemes) & theirs_s.is_in(schemes) & (mine_s != theirs_s)).fill_null(
        False
    )
    direct = pairs.filter(~cross)
    out = [_compare_value(direct, scheme_leaf)]
    out.extend(_compare_value(direct, leaf) for leaf in members)
    converted = pairs.filter(cross)
    if converted.height:
        out.extend(_compare_converted(converted, s, members))
    return out


def _compare_converted(
    pairs: pl.DataFrame, scheme: str, members: Sequence[FieldDef]
) -> list[pl.DataFrame]:
    """Unit codes of two schemes: the legacy side converted to the 2025 units, then compared
    (the district, which only the legacy side has, is not)."""
    legacy_mine = _scheme(pl.col(f"d_{scheme}")) == admin_units.SCHEME_LEGACY
    out: list[pl.DataFrame] = []
    ward = next((m for m in members if _unit_level(m) == "ward"), None)
    province = next((m for m in members if _unit_level(m) == "province"), None)
    if ward is not None:
        conversion = admin_units.conversion_frame().select(
            "legacy_ward_code", "new_province_code", "candidate_ward_codes"
        )
        mine, theirs = pl.col(f"d_{ward.code}"), pl.col(f"r_{ward.code}")
        pairs = pairs.with_columns(
            _old_ward=pl.when(legacy_mine).then(mine).otherwise(theirs).str.strip_chars(),
            _new_ward=pl.when(legacy_mine).then(theirs).otherwise(mine).str.strip_chars(),
        ).join(conversion, left_on="_old_ward", right_on="legacy_ward_code", how="left")
        bad = (
            _filled(mine)
            & _filled(theirs)
            & pl.col("candidate_ward_codes").is_not_null()
            & ~pl.col("candidate_ward_codes").list.contains(pl.col("_new_ward"))
        )
        out.append(_mismatch(pairs, ward, bad))
    else:
        pairs = pairs.with_columns(new_province_code=pl.lit(None, dtype=pl.String))
    if province is not None:
        mine, theirs = pl.col(f"d_{province.code}"), pl.col(f"r_{province.code}")
        old = pl.when(legacy_mine).then(mine).otherwise(theirs).str.strip_chars()
        new = pl.when(legacy_mine).then(theirs).otherwise(mine).str.strip_chars()
        merged = pl.coalesce(
            pl.col("new_province_code"),
            old.replace_strict(admin_units.province_merge_map(), default=None),
        )
        bad = _filled(mine) & _filled(theirs) & merged.is_not_null() & (merged != new)
        out.append(_mismatch(pairs, province, bad))
    return out


def _registry_rule(ctx: Context, rule_id: str) -> pl.DataFrame:
    """Every leaf of ``rule_id`` (but the personal ID, the join key) against the registry."""
    leaves = [leaf for leaf in ctx.scalar_leaves(rule_id) if leaf.code != "personal_id"]
    pairs = _pairs_frame(ctx)
    if pairs.height == 0:
        return empty_findings()
    present = [leaf for leaf in leaves if f"d_{leaf.code}" in pairs.columns]
    done: set[str] = set()
    parts: list[pl.DataFrame] = []
    for leaf in present:
        if leaf.codelist != "admin_unit_scheme":
            continue
        prefix = leaf.code.removesuffix("unit_scheme")
        members = [
            m
            for m in present
            if m.code.startswith(prefix)
            and (m.scheme_field == leaf.code or m.codelist == "district_legacy")
        ]
        done.update([leaf.code, *(m.code for m in members)])
        parts.extend(_compare_address(pairs, leaf, members))
    parts.extend(_compare_value(pairs, leaf) for leaf in present if leaf.code not in done)
    return concat(parts)


@rule("SACH-009", needs=[REGISTRY])
def sach_009(ctx: Context) -> pl.DataFrame:
    """Birth name, date of birth or sex differs from the population registry (``expected`` =
    the registry's value)."""
    return _registry_rule(ctx, "SACH-009")


@rule("SACH-010", needs=[REGISTRY], codelists=["province_legacy"])
def sach_010(ctx: Context) -> pl.DataFrame:
    """Another registry-mastered field differs from the registry (``expected`` = its value)."""
    return _registry_rule(ctx, "SACH-010")


@rule("SACH-011", needs=[REGISTRY])
def sach_011(ctx: Context) -> pl.DataFrame:
    """The personal ID is not in the population registry (finding on ``personal_id``).

    ``ctx.registry`` is the registry's answer for the records checked: an ID without an entry
    is an ID the registry does not know.
    """
    if ctx.registry is None:
        return empty_findings()
    if ctx.has(MATCH_STATUS):
        # Stored results of the registry matching (issue 5): only people the registry was
        # asked about and did not know; people never matched are SONG-009's business.
        status = pl.col(MATCH_STATUS).cast(pl.String)
        asked = ctx.frame.select(ID, "personal_id", "_personal_id", MATCH_STATUS)
        rows = _keyed(asked.filter(status == "NOT_FOUND"))
        return findings(rows, field="personal_id", value="_stored")
    known = _registry_view(ctx).select("_key")
    records = _keyed(ctx.frame.select(ID, "personal_id", "_personal_id"))
    missing = records.join(known, on="_key", how="anti")
    return findings(missing, field="personal_id", value="_stored")


# --- normalisation: SACH-012 ------------------------------------------------------------------


def needs_normalisation(value: str, leaf: FieldDef, codes: frozenset[str] | None) -> bool:
    """SACH-012 for one value of ``leaf``: leading/trailing whitespace, an empty string,
    separators inside an identifier, a ``+84`` phone, or a code in the wrong case (``codes``:
    the leaf's codes, None for an external list whose codes are upper case)."""
    if value == "" or value.strip() != value:
        return True
    if _is_identifier(leaf) and _INNER_SEPARATOR.search(value):
        return True
    if leaf.type == "phone" and _PLUS84.match(value):
        return True
    if leaf.type == "code":
        if codes is None:
            return value != value.upper()
        if value not in codes:
            folded = value.upper()
            return any(code.upper() == folded for code in codes)
    return False


@rule("SACH-012")
def sach_012(ctx: Context) -> pl.DataFrame:
    """Values that need normalisation: leading/trailing spaces, an empty string, separators
    inside an identifier, a code in the wrong case, a phone in ``+84`` form."""
    codes: dict[str, frozenset[str] | None] = {}

    def bad(leaf: FieldDef, value: str) -> bool:
        if leaf.path not in codes:
            codes[leaf.path] = _leaf_codes(ctx, leaf) if leaf.type == "code" else None
        return needs_normalisation(value, leaf, codes[leaf.path])

    return _value_findings(ctx, "SACH-012", bad)


# --- duplicate rows: SACH-013 -----------------------------------------------------------------

_AS_STORED = frozenset({"date", "year_month", "year", "integer", "boolean", "decimal"})
"""Column types compared as stored by SACH-013 (text and codes are normalised)."""


def _normalised_text(series: pl.Series) -> pl.Series:
    """Text cells trimmed, with single spaces and in upper case (blank → null), computed on
    the distinct values (cells repeat: occupations, institutions, names)."""
    distinct = series.drop_nulls().unique()
    normal = distinct.str.replace_all(r"\s+", " ").str.strip_chars().str.to_uppercase()
    normal = pl.select(pl.when(normal.str.len_bytes() > 0).then(normal)).to_series()
    return series.replace_strict(distinct, normal, default=None, return_dtype=pl.String)


def _row_key(rows: pl.DataFrame, columns: Sequence[FieldDef]) -> list[pl.Series]:
    """The normalised cells of each row: text and codes trimmed, single spaces, upper case;
    other cells as stored."""
    out: list[pl.Series] = []
    for leaf in columns:
        cells = rows[leaf.code]
        if leaf.type not in _AS_STORED:
            if cells.dtype == pl.String:
                cells = _normalised_text(cells)
            elif cells.dtype == pl.List(pl.String):
                cells = cells.list.eval(pl.element().str.strip_chars().str.to_uppercase())
        out.append(cells.alias(f"_n_{leaf.code}"))
    return out


def _repeated(table: str, columns: Sequence[FieldDef]) -> pl.Expr:
    """True for a record whose ``table`` has two rows equal on the columns compared as
    stored: a cheap superset of the records with duplicate rows."""
    stored = [c.code for c in columns if c.type in _AS_STORED]
    rows = pl.col(table)
    if not stored:
        return (rows.list.len() > 1).fill_null(False)
    # One column is enough for a superset (the first: from, year, birth year …) and costs
    # half as much as several.
    keys = rows.list.eval(pl.element().struct.field(stored[0]))
    return (keys.list.n_unique() < rows.list.len()).fill_null(False)


def _exploded(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rows of ``table`` in ``frame``: ``_id``, ``_i``, then its columns."""
    return (
        frame.filter(pl.col(table).list.len() > 0)
        .with_columns(_i=pl.int_ranges(pl.col(table).list.len(), dtype=pl.Int64))
        .explode(table, "_i")
        .unnest(table)
    )


def _duplicate_rows(
    candidates: pl.DataFrame, table: str, columns: Sequence[FieldDef]
) -> pl.DataFrame:
    """Findings on the later copies among the rows of ``candidates`` (``_id``, ``table``)."""
    rows = _exploded(candidates, table)
    present = [c for c in columns if c.code in rows.columns]
    # Rows equal on the cells compared as stored and on their codes first (cheap: few
    # distinct codes), then on every normalised cell.
    first = [c for c in present if c.type in _AS_STORED or (c.type == "code" and not c.multiple)]
    if first:
        coarse = pl.struct([ID, *_row_key(rows, first)])
        rows = rows.filter(coarse.is_duplicated())
    normal = [f"_n_{c.code}" for c in present]
    keyed = rows.select(ID, "_i").with_columns(_row_key(rows, present))
    filled = pl.any_horizontal(
        [
            pl.col(n).list.len() > 0 if c.multiple else pl.col(n).is_not_null()
            for n, c in zip(normal, present, strict=True)
        ]
    ).fill_null(False)
    later = keyed.filter(filled & ~pl.struct([ID, *normal]).is_first_distinct())
    stored = later.select(ID, "_i").join(candidates, on=ID)
    return findings(
        stored,
        field=pl.format(f"{table}[{{}}]", pl.col("_i")),
        value=pl.col(table).list.get(pl.col("_i")),
    )


@rule("SACH-013")
def sach_013(ctx: Context) -> pl.DataFrame:
    """A table row equal to an earlier row of the same table after normalisation: one finding
    on each later copy (``table[i]``, ``value`` = the row)."""
    tables = {
        t: list(ctx.catalog.by_code[t].columns)
        for t in ctx.rule_def("SACH-013").fields
        if ctx.has(t) and t in ctx.catalog.by_code
    }
    if not tables:
        return empty_findings()
    flags = ctx.frame.select(ID, *[_repeated(t, c).alias(t) for t, c in tables.items()])
    parts: list[pl.DataFrame] = []
    for table, columns in tables.items():
        ids = flags.filter(pl.col(table))[ID]
        if ids.len() == 0:
            continue
        candidates = ctx.frame.select(ID, table).filter(pl.col(ID).is_in(ids.implode()))
        parts.append(_duplicate_rows(candidates, table, columns))
    return concat(parts)


__all__ = [
    "ID_SEPARATORS",
    "NON_NFC_PATTERN",
    "birth_name_not_upper",
    "invalid_name",
    "name_key",
    "needs_normalisation",
    "unicode_problem",
]
