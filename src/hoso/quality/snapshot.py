"""The records as a Polars frame, and the analytic snapshot that keeps it between runs.

The quality engine checks a frame with one row per current record version: the catalogue's
scalars as typed columns, each table as a list of structs, and the record metadata in
columns that start with ``_`` (:data:`META_SCHEMA`). Building it from the database means
reading every dossier (about 7 KB of JSON each): :func:`load_frame` streams the rows out of
the database as JSON lines (the server wraps each stored document with its metadata) and
lets DuckDB read them into typed columns in parallel (a per-record Python loop would take
minutes for a million records).

:class:`Snapshot` keeps the last frame as Parquet under ``HOSO_QUALITY_DIR``: a base file
plus delta files of the records changed since, merged on read (last write wins per
``_id``) and compacted when the deltas grow. It is derived data — delete it and the next
run rebuilds it — and it is never the source of truth for what a run re-checks: the
database's ``quality_run`` watermark is (see ``service.py``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.ipc
from sqlalchemy import Select, String, and_, any_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from hoso.catalog.loader import Catalog, FieldDef, get_catalog
from hoso.db.ids import index_lookups, is_postgresql, literal_id_array, sorted_ids
from hoso.people.models import Person, PersonVersion
from hoso.quality.rules import ID

UTC = pl.Datetime("us", "UTC")

META_SCHEMA: dict[str, Any] = {
    ID: pl.Int64,
    "_personal_id": pl.String,
    "_agency": pl.String,
    "_unit": pl.String,
    "_version": pl.Int64,
    "_hash": pl.String,
    "_status": pl.String,
    "_person_status": pl.String,
    "_created_at": UTC,
    "_updated_at": UTC,
    "_changed_at": UTC,
    "_approved_at": UTC,
    "_approved_hash": pl.String,
    "_synced_at": UTC,
}
"""Metadata columns (``_changed_at``: the last data or status change, for the watermark)."""

_DUCK_META = {
    ID: "BIGINT",
    "_personal_id": "VARCHAR",
    "_agency": "VARCHAR",
    "_unit": "VARCHAR",
    "_version": "BIGINT",
    "_hash": "VARCHAR",
    "_status": "VARCHAR",
    "_person_status": "VARCHAR",
    "_created_at": "TIMESTAMPTZ",
    "_updated_at": "TIMESTAMPTZ",
    "_changed_at": "TIMESTAMPTZ",
    "_approved_at": "TIMESTAMPTZ",
    "_approved_hash": "VARCHAR",
    "_synced_at": "TIMESTAMPTZ",
}


# --- schema from the catalogue ---------------------------------------------------------------


def _leaf_dtype(leaf: FieldDef) -> Any:
    if leaf.type in ("integer", "year"):
        base: Any = pl.Int64
    elif leaf.type == "boolean":
        base = pl.Boolean
    else:
        base = pl.String
    return pl.List(base) if leaf.multiple else base


def _leaf_duck(leaf: FieldDef) -> Any:
    if leaf.type in ("integer", "year"):
        base: Any = "BIGINT"
    elif leaf.type == "boolean":
        base = "BOOLEAN"
    elif leaf.type == "image":
        base = "JSON"
    else:
        base = "VARCHAR"
    return [base] if leaf.multiple else base


def data_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """Polars dtypes of the data columns: scalars, then tables as lists of structs."""
    catalog = catalog or get_catalog()
    out: dict[str, Any] = {}
    for f in catalog.fields:
        if f.is_table:
            out[f.code] = pl.List(pl.Struct({c.code: _leaf_dtype(c) for c in f.columns}))
        else:
            out[f.code] = _leaf_dtype(f)
    return out


def frame_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """Every column of a records frame: metadata, then data."""
    return {**META_SCHEMA, **data_schema(catalog)}


def _duck_structure(catalog: Catalog) -> str:
    out: dict[str, Any] = {}
    for f in catalog.fields:
        if f.is_table:
            out[f.code] = [{c.code: _leaf_duck(c) for c in f.columns}]
        else:
            out[f.code] = _leaf_duck(f)
    return json.dumps(out, ensure_ascii=False)


def empty_frame(catalog: Catalog | None = None) -> pl.DataFrame:
    """A records frame without rows."""
    return pl.DataFrame(schema=frame_schema(catalog))


def _conform(frame: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Columns in schema order with the schema's dtypes (missing columns as nulls)."""
    schema = frame_schema(catalog)
    cols = []
    for name, dtype in schema.items():
        if name in frame.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(cols)


# --- frames from documents (tests, small inputs) -----------------------------------------------


def frame_from_documents(
    records: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    catalog: Catalog | None = None,
) -> pl.DataFrame:
    """A records frame from ``(meta, data)`` pairs (meta keys as in :data:`META_SCHEMA`).

    Image leaves are kept as their JSON text, as the database path does."""
    catalog = catalog or get_catalog()
    images = [f.code for f in catalog.scalars if f.type == "image"]
    rows: list[dict[str, Any]] = []
    for meta, data in records:
        row = dict(meta)
        for key, value in data.items():
            if key in images and value is not None and not isinstance(value, str):
                value = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
            row[key] = value
        rows.append(row)
    schema = frame_schema(catalog)
    known = [{k: v for k, v in r.items() if k in schema} for r in rows]
    return pl.DataFrame(known, schema=schema, strict=False)


# --- frames from the database ------------------------------------------------------------------


def current_rows_query(
    *,
    person_ids: Sequence[int] | None = None,
    changed_since: dt.datetime | None = None,
    agency_prefix: str | None = None,
    with_data: bool = True,
    postgresql: bool = False,
    id_range: tuple[int, int] | None = None,
) -> Select[*tuple[Any, ...]]:
    """Current versions with their metadata, as the columns :func:`load_frame` expects
    (``with_data`` False: an empty document instead of the dossier's; ``postgresql``: the
    ids as an inline array, for a statement compiled with literal binds)."""
    approved = aliased(PersonVersion)
    last_approved = (
        select(func.max(PersonVersion.version))
        .where(PersonVersion.person_id == Person.id, PersonVersion.approved_version.is_not(None))
        .correlate(Person)
        .scalar_subquery()
    )
    current = aliased(PersonVersion)
    changed = func.coalesce(
        case(
            (current.status_changed_at > Person.updated_at, current.status_changed_at),
            else_=Person.updated_at,
        ),
        Person.updated_at,
    )
    stmt = (
        select(
            Person.id,
            Person.personal_id,
            Person.managing_agency_code,
            Person.employing_unit_code,
            Person.current_version,
            Person.current_content_hash,
            current.status,
            Person.status,
            Person.created_at,
            Person.updated_at,
            changed,
            approved.approval["approved_at"].as_string(),
            approved.content_hash,
            case((approved.status == "SYNCED", approved.status_changed_at), else_=None),
            current.data if with_data else literal("{}", type_=String()),
        )
        .join(
            current,
            and_(current.person_id == Person.id, current.version == Person.current_version),
        )
        .outerjoin(
            approved, and_(approved.person_id == Person.id, approved.version == last_approved)
        )
        .order_by(Person.id)
    )
    if person_ids is not None:
        stmt = stmt.where(_id_in(Person.id, person_ids, postgresql))
    if id_range is not None:  # on both tables: each part reads its range of each index
        stmt = stmt.where(Person.id.between(*id_range), current.person_id.between(*id_range))
    if changed_since is not None:
        status_changed = select(PersonVersion.person_id).where(
            PersonVersion.status_changed_at >= changed_since
        )
        stmt = stmt.where(or_(Person.updated_at >= changed_since, Person.id.in_(status_changed)))
    if agency_prefix is not None:
        stmt = stmt.where(Person.managing_agency_code == agency_prefix)
    return stmt


DUCKDB_MEMORY_LIMIT = "3GB"
"""Memory DuckDB may use while parsing the dossiers (it spills to disk beyond)."""

_JSON_COLUMNS = [*list(_DUCK_META), "data"]

META_COLUMNS: tuple[str, ...] = tuple(_DUCK_META)
"""The records frame's metadata columns (from the person and version rows, not the data)."""


def _id_in(column: Any, ids: Sequence[int], postgresql: bool) -> Any:
    """``column`` in ``ids``: an inline array on PostgreSQL (the statements are compiled with
    literal binds for COPY; an IN list of literals costs more to render than to run)."""
    if postgresql:
        return column == any_(literal_id_array(ids))
    return column.in_(sorted_ids(ids))


def keys_query() -> Select[*tuple[Any, ...]]:
    """``(_id, _version, _hash, _status, _changed_at)`` of every current record: what a
    snapshot row must match to be current."""
    current = aliased(PersonVersion)
    return select(
        Person.id.label("k_id"),
        Person.current_version.label("k_version"),
        Person.current_content_hash.label("k_hash"),
        current.status.label("k_status"),
        func.coalesce(current.status_changed_at, Person.updated_at).label("k_status_at"),
        Person.updated_at.label("k_updated_at"),
    ).join(
        current,
        and_(current.person_id == Person.id, current.version == Person.current_version),
    )  # unordered: the keys are joined, and sorting a million of them cost 0.7 s


KEY_SCHEMA: dict[str, Any] = {
    ID: pl.Int64,
    "_version": pl.Int64,
    "_hash": pl.String,
    "_status": pl.String,
    "_status_at": UTC,
    "_updated_at": UTC,
}


def db_keys(session: Session, person_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """The keys of every current record, or of ``person_ids`` (COPY on PostgreSQL)."""
    if person_ids is not None and not person_ids:
        return pl.DataFrame(schema=KEY_SCHEMA)
    postgresql = is_postgresql(session)
    stmt = keys_query()
    if person_ids is not None:
        stmt = stmt.where(_id_in(Person.id, person_ids, postgresql))
    if postgresql:
        # Times as microseconds since the epoch: a third of the text to send and no date
        # parsing on this side (a million keys: 3.7 s as ISO text).
        inner = _compile_pg(stmt)
        sql = (
            "SELECT k_id, k_version, k_hash, k_status,"
            " round(date_part('epoch', k_status_at) * 1000000)::bigint,"
            " round(date_part('epoch', k_updated_at) * 1000000)::bigint"
            f" FROM ({inner}) AS k"
        )
        raw = session.connection().connection.driver_connection
        assert raw is not None
        buf = bytearray()
        with raw.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            # the join of every person with its current version hashes in memory
            cur.execute("SET LOCAL work_mem = '256MB'")
            try:
                with (
                    index_lookups(cur, person_ids is not None),
                    cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy,
                ):
                    for chunk in copy:
                        buf += chunk
            finally:
                cur.execute("RESET work_mem")
        if not buf:
            return pl.DataFrame(schema=KEY_SCHEMA)
        frame = pl.read_csv(
            bytes(buf),
            has_header=False,
            new_columns=list(KEY_SCHEMA),
            schema_overrides={k: (pl.Int64 if k in ("_status_at", "_updated_at") else v)
                              for k, v in KEY_SCHEMA.items()},
        )  # fmt: skip
        return frame.with_columns(
            pl.from_epoch(pl.col(c), time_unit="us").dt.replace_time_zone("UTC").alias(c)
            for c in ("_status_at", "_updated_at")
        )
    rows = [
        (pid, version, hash_, status, _aware(status_at), _aware(updated))
        for pid, version, hash_, status, status_at, updated in session.execute(stmt)
    ]
    return pl.DataFrame(rows, schema=KEY_SCHEMA, orient="row")


def _aware(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def stale_ids(snapshot_frame: pl.DataFrame, keys: pl.DataFrame) -> tuple[list[int], list[int]]:
    """``(to reload, to drop)``: records whose snapshot row no longer matches the database,
    and snapshot rows the database no longer has (retired rows are ignored)."""
    have = snapshot_frame.select(
        ID, "_version", "_hash", "_status",
        pl.col("_changed_at").alias("_snap_changed"), pl.col("_updated_at").alias("_snap_upd"),
    ).filter(pl.col(ID) > 0)  # fmt: skip
    joined = keys.join(have, on=ID, how="left", suffix="_snap")
    stale = joined.filter(
        pl.col("_version_snap").is_null()
        | (pl.col("_version") != pl.col("_version_snap"))
        | (pl.col("_hash") != pl.col("_hash_snap"))
        | (pl.col("_status") != pl.col("_status_snap"))
        | (pl.col("_updated_at") != pl.col("_snap_upd"))
        | (pl.max_horizontal("_status_at", "_updated_at") > pl.col("_snap_changed"))
    )
    gone = have.join(keys.select(ID), on=ID, how="anti")
    return stale[ID].to_list(), gone[ID].to_list()


def _timestamp(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return str(value.isoformat())
    return str(value)


def _compile_pg(stmt: Select[*tuple[Any, ...]]) -> str:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _write_ndjson_sqlalchemy(session: Session, stmt: Select[*tuple[Any, ...]], path: Path) -> int:
    count = 0
    with path.open("wb") as fh:
        for row in session.execute(stmt).yield_per(2000):
            *meta, data = row
            line = dict(zip(_DUCK_META, (_json_value(v) for v in meta), strict=True))
            text = data if isinstance(data, str) else orjson.dumps(data).decode()
            line["data"] = orjson.Fragment(text)
            fh.write(orjson.dumps(line) + b"\n")
            count += 1
    return count


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    return value


def _write_ndjson_postgresql(
    session: Session, stmt: Select[*tuple[Any, ...]], path: Path, *, by_id: bool = False
) -> int:
    """One JSON object per current version, built by the server around the stored document
    (``json`` keeps its text), so that DuckDB reads typed columns straight from the JSON.

    COPY's CSV format with control characters as quote and delimiter writes each line as it
    is: JSON text never holds a raw control character, a newline included."""
    inner = _compile_pg(stmt)
    aliases = [f"c{i}" for i in range(len(_JSON_COLUMNS))]
    pairs = ", ".join(
        f"'{name}', q.{alias}{'::json' if name == 'data' else ''}"
        for name, alias in zip(_JSON_COLUMNS, aliases, strict=True)
    )
    sql = f"SELECT json_build_object({pairs}) FROM ({inner}) AS q({', '.join(aliases)})"
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        path.open("wb") as fh,
        raw.cursor() as cur,
        index_lookups(cur, by_id),
        cur.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        ) as copy,
    ):
        for chunk in copy:
            fh.write(chunk)
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def load_frame(
    session: Session,
    *,
    person_ids: Sequence[int] | None = None,
    changed_since: dt.datetime | None = None,
    agency: str | None = None,
    catalog: Catalog | None = None,
    workdir: Path | None = None,
    metadata_only: bool = False,
) -> pl.DataFrame:
    """Current versions from the database as a records frame (DuckDB parses the JSON);
    ``metadata_only``: the metadata columns (:data:`META_COLUMNS`) with empty data."""
    catalog = catalog or get_catalog()
    if changed_since is not None:
        # Two index range scans find the ids; the rows are then read by primary key (an OR
        # of both conditions in one query would scan every person).
        ids = set(
            session.execute(select(Person.id).where(Person.updated_at >= changed_since)).scalars()
        )
        ids.update(
            session.execute(
                select(PersonVersion.person_id).where(
                    PersonVersion.status_changed_at >= changed_since
                )
            ).scalars()
        )
        person_ids = sorted(ids if person_ids is None else ids & set(person_ids))
        changed_since = None
        if not person_ids:
            return empty_frame(catalog)
    postgresql = is_postgresql(session)
    if not postgresql:
        stmt = current_rows_query(
            person_ids=person_ids, changed_since=changed_since, agency_prefix=agency,
            with_data=not metadata_only,
        )  # fmt: skip
        with tempfile.TemporaryDirectory(dir=workdir, prefix="hoso-quality-") as tmp:
            lines = Path(tmp) / "rows.jsonl"
            if _write_ndjson_sqlalchemy(session, stmt, lines) == 0:
                return empty_frame(catalog)
            return _conform(_ndjson_to_frame(lines, catalog, Path(tmp)), catalog)
    parts = _id_parts(session, person_ids, agency)
    with (
        tempfile.TemporaryDirectory(dir=workdir, prefix="hoso-quality-") as tmp,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hoso-export") as pool,
    ):
        # PostgreSQL exports part i + 1 (its own process; this thread mostly waits on the
        # socket) while DuckDB parses part i: 10,000 dossiers 1.3 s instead of 1.6.
        def export(i: int, part: list[int] | tuple[int, int]) -> tuple[Path, int]:
            stmt = current_rows_query(
                person_ids=part if isinstance(part, list) else None,
                id_range=part if isinstance(part, tuple) else None,
                agency_prefix=agency, with_data=not metadata_only, postgresql=True,
            )  # fmt: skip
            lines = Path(tmp) / f"rows-{i}.jsonl"
            return lines, _write_ndjson_postgresql(
                session, stmt, lines, by_id=isinstance(part, list)
            )

        exports = [pool.submit(export, i, part) for i, part in enumerate(parts)]
        frames: list[pl.DataFrame] = []
        with _duckdb(Path(tmp)) as con:  # one for every part (each connect costs ~20 ms)
            for future in exports:
                lines, count = future.result()
                if count == 0:
                    continue
                if count <= SMALL_LOAD:
                    frames.append(_ndjson_to_frame(lines, catalog, Path(tmp), con=con))
                else:
                    parquet = lines.with_suffix(".parquet")
                    _ndjson_to_parquet(lines, parquet, catalog, con=con)
                    frames.append(pl.read_parquet(parquet))
                lines.unlink()
    if not frames:
        return empty_frame(catalog)
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
    return _conform(frame, catalog)


EXPORT_PART = 2_500
"""Ids per exported part when reading a list of ids (parts export while others parse)."""

RANGE_PARTS = 16
"""Parts of a whole-table read (ranges of ids of about equal counts)."""


def _id_parts(
    session: Session, person_ids: Sequence[int] | None, agency: str | None
) -> list[list[int] | tuple[int, int]]:
    """What :func:`load_frame` exports in turn: slices of ``person_ids``, or ranges of the
    ids of every person (of ``agency``) when there is no list."""
    if person_ids is not None:
        ids = sorted_ids(person_ids)
        if not ids:
            return []
        step = max(EXPORT_PART, -(-len(ids) // 64))
        return [ids[i : i + step] for i in range(0, len(ids), step)]
    query = select(Person.id).order_by(Person.id)
    if agency is not None:
        query = query.where(Person.managing_agency_code == agency)
    everyone = list(session.execute(query).scalars())
    if not everyone:
        return []
    step = -(-len(everyone) // RANGE_PARTS)
    return [
        (everyone[i], everyone[min(i + step, len(everyone)) - 1])
        for i in range(0, len(everyone), step)
    ]


def _duck_type(spec: Any) -> str:
    """A DuckDB type from the structure :func:`_duck_structure` describes."""
    if isinstance(spec, list):
        return f"{_duck_type(spec[0])}[]"
    if isinstance(spec, dict):
        fields = ", ".join(f'"{k}" {_duck_type(v)}' for k, v in spec.items())
        return f"STRUCT({fields})"
    return str(spec)


def _ndjson_to_parquet(
    lines: Path, parquet: Path, catalog: Catalog, *, con: duckdb.DuckDBPyConnection | None = None
) -> None:
    """Typed ``read_json`` of the exported lines: DuckDB parses each document once into the
    catalogue's columns (3× faster than ``json_transform`` over a text column, measured on
    10,000 dossiers). Written to Parquet: DuckDB streams it within its memory limit."""
    with _duckdb(parquet.parent, con) as duck:
        duck.execute(f"COPY ({_typed_select(lines, catalog)}) TO '{parquet}' (FORMAT parquet)")


def _ndjson_to_frame(
    lines: Path, catalog: Catalog, workdir: Path, *, con: duckdb.DuckDBPyConnection | None = None
) -> pl.DataFrame:
    """As :func:`_ndjson_to_parquet`, straight to Arrow and Polars: for a few thousand rows
    (10,000 dossiers: 0.87 s against 1.13 s to write Parquet, and its reading saved)."""
    with _duckdb(workdir, con) as duck:
        table = duck.sql(_typed_select(lines, catalog)).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


SMALL_LOAD = 50_000
"""Up to this many rows, :func:`load_frame` takes DuckDB's result as Arrow in memory."""


@contextmanager
def _duckdb(
    workdir: Path, shared: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A configured in-memory DuckDB, or ``shared`` (the caller's, already configured)."""
    if shared is not None:
        yield shared
        return
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        # DuckDB takes 80 % of the RAM by default: a cold build of a million dossiers then
        # met the OOM killer beside PostgreSQL and Polars. Bound it and let it spill.
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = '{workdir / 'duckdb-spill'}'")
        con.execute(f"SET threads = {os.cpu_count() or 2}")
        yield con
    finally:
        con.close()


def _typed_select(lines: Path, catalog: Catalog) -> str:
    """The query reading ``lines`` into the metadata and the catalogue's data columns."""
    structure = json.loads(_duck_structure(catalog))
    columns = {**_DUCK_META, "data": _duck_type(structure)}
    meta_cols = ", ".join(f'"{c}"' for c in _DUCK_META)
    columns_sql = ", ".join(
        "'{}': '{}'".format(k, v.replace("'", "''")) for k, v in columns.items()
    )
    return f"""
        SELECT {meta_cols}, unnest(data)
        FROM read_json('{lines}', format = 'newline_delimited', columns = {{{columns_sql}}},
                       maximum_object_size = 67108864)
    """


# --- the snapshot ---------------------------------------------------------------------------


def merge(base: pl.DataFrame, *newer: pl.DataFrame, retire: bool = False) -> pl.DataFrame:
    """``base`` with the rows of each of ``newer`` (oldest first) replacing or adding theirs.

    One copy of the kept rows of ``base`` (the only large frame), none of the sort: rows keep
    the base's order, then the newer rows. With ``retire`` the base is not copied at all: its
    superseded rows stay, with their ``_id`` negated (only that column is new), and the
    caller drops what has a negative ``_id`` (:func:`live`)."""
    parts = [n.select(base.columns) if n.columns != base.columns else n for n in newer]
    parts = [n for n in parts if n.height]
    if not parts:
        return base
    latest = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        latest = latest.unique(subset=[ID], keep="last", maintain_order=True)
    superseded = pl.col(ID).is_in(latest[ID].implode())
    if retire:
        kept = base.with_columns(pl.when(superseded).then(-pl.col(ID)).otherwise(pl.col(ID)))
    else:
        kept = base.filter(~superseded)
    return pl.concat([kept, latest], how="vertical", rechunk=False)


def has_retired(frame: pl.DataFrame) -> bool:
    """True when ``frame`` (from ``merge(..., retire=True)``) holds superseded rows."""
    low = frame[ID].min() if frame.height else None
    return isinstance(low, int) and low < 0


def live(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the superseded rows of ``merge(..., retire=True)``."""
    return frame.filter(pl.col(ID) > 0) if has_retired(frame) else frame


class Snapshot:
    """The last records frame as Arrow IPC files: ``base-N.arrow`` + ``delta-N-T.arrow``."""

    MAX_DELTAS = 8
    """:meth:`add` merges the delta parts into one beyond this many (they are small: the
    base is not rewritten by an incremental run)."""

    COMPACT_SHARE = 0.05
    """A full run (which reads every column anyway) merges everything into one base when the
    delta parts hold at least this share of the base's rows; :meth:`compact` does it on
    demand (``hoso quality compact``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def _manifest(self) -> Path:
        return self.directory / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        """``{"parts": [...], "synced_at": ISO or null, "catalog": version}``."""
        try:
            data: dict[str, Any] = json.loads(self._manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"parts": [], "synced_at": None}
        return data

    def exists(self) -> bool:
        """True when a base part is there."""
        return bool(self.manifest()["parts"])

    def synced_at(self) -> dt.datetime | None:
        """The watermark of the newest part (changes at or after it may be missing)."""
        value = self.manifest().get("synced_at")
        return dt.datetime.fromisoformat(value) if value else None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock for the duration of a run (one writer at a time)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(
        self, columns: Sequence[str] | None = None, *, retire: bool = False
    ) -> pl.DataFrame | None:
        """The merged frame (the last write of each ``_id``), or None without a snapshot.

        Parts are Arrow IPC files mapped into memory: a part loads in milliseconds and its
        pages come from the page cache as the rules read them. Merging deltas copies only
        the ``columns`` asked for; with ``retire`` nothing is copied (see :func:`merge`)."""
        parts = self.manifest()["parts"]
        if not parts:
            return None
        wanted = None if columns is None else list(dict.fromkeys([ID, *columns]))
        frames = [self._read(p, wanted) for p in parts]
        return merge(frames[0], *frames[1:], retire=retire)

    def rows(self, ids: Sequence[int]) -> pl.DataFrame | None:
        """The snapshot's rows of ``ids`` (all columns; a few rows gathered from the parts)."""
        parts = self.manifest()["parts"]
        if not parts:
            return None
        wanted = pl.Series(sorted(set(ids)), dtype=pl.Int64).implode()
        found = [self._read(p, None).filter(pl.col(ID).is_in(wanted)) for p in parts]
        return merge(found[0], *found[1:])

    def _read(self, part: str, columns: list[str] | None) -> pl.DataFrame:
        path = self.directory / part
        if part.endswith(".parquet"):  # a snapshot written before the Arrow IPC parts
            return pl.read_parquet(path, columns=columns)
        table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        if columns is not None:
            table = table.select(columns)
        frame = pl.from_arrow(table, rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def _write(self, frame: pl.DataFrame, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{name}.tmp"
        # Uncompressed Arrow IPC: read back by memory mapping, without decoding (Parquet
        # took 9-14 s to decode a million dossiers; the file is ~6 GB per million).
        frame.write_ipc(tmp, compression="uncompressed")
        os.replace(tmp, self.directory / name)

    def _save_manifest(self, parts: list[str], synced_at: dt.datetime) -> None:
        tmp = self.directory / ".manifest.tmp"
        data = {"parts": parts, "synced_at": synced_at.isoformat(), "source": self.source}
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self._manifest)

    source: str = ""
    """Which database the snapshot mirrors (a hash of its URL): another one means a rebuild."""

    def matches(self, source: str) -> bool:
        """True when the snapshot exists and mirrors the database ``source``."""
        return self.exists() and self.manifest().get("source") == source

    def replace(self, frame: pl.DataFrame, synced_at: dt.datetime) -> None:
        """Make ``frame`` the whole snapshot (old parts removed)."""
        old = self.manifest()["parts"]
        generation = len(old) + int(dt.datetime.now(dt.UTC).timestamp())
        name = f"base-{generation}.arrow"
        self._write(frame, name)
        self._save_manifest([name], synced_at)
        for part in old:
            if part != name:
                (self.directory / part).unlink(missing_ok=True)

    def compact(self) -> int:
        """Merge every part into one base (same watermark); returns the parts merged."""
        parts = self.manifest()["parts"]
        synced_at = self.synced_at()
        if len(parts) <= 1 or synced_at is None:
            return len(parts)
        merged = self.load()
        assert merged is not None
        self.replace(merged, synced_at)
        return len(parts)

    def add(self, frame: pl.DataFrame, synced_at: dt.datetime) -> None:
        """Add the changed records ``frame`` as a delta part (the deltas merged into one
        beyond :attr:`MAX_DELTAS`)."""
        parts = list(self.manifest()["parts"])
        if not parts:
            self.replace(frame, synced_at)
            return
        if frame.height == 0:
            self._save_manifest(parts, synced_at)
            return
        name = f"delta-{len(parts)}-{int(dt.datetime.now(dt.UTC).timestamp() * 1000)}.arrow"
        deltas = parts[1:]
        if len(deltas) >= self.MAX_DELTAS:
            # One delta for all of them: reads and writes the deltas only, never the base.
            older = [self._read(p, None) for p in deltas]
            frame = merge(older[0], *older[1:], frame)
            self._write(frame, name)
            self._save_manifest([parts[0], name], synced_at)
            for part in deltas:
                (self.directory / part).unlink(missing_ok=True)
            return
        self._write(frame, name)
        self._save_manifest([*parts, name], synced_at)

    def delta_share(self) -> float:
        """Rows of the delta parts over rows of the base (0 with one part)."""
        parts = self.manifest()["parts"]
        if len(parts) <= 1:
            return 0.0
        rows = [self._rows(p) for p in parts]
        return sum(rows[1:]) / max(rows[0], 1)

    def _rows(self, part: str) -> int:
        path = self.directory / part
        if part.endswith(".parquet"):
            return int(pl.scan_parquet(path).select(pl.len()).collect().item())
        with pa.memory_map(str(path), "r") as source:
            reader = pa.ipc.open_file(source)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
