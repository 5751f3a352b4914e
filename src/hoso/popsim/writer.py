"""Bulk writes of citizens: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

A :data:`Row` holds the values of :data:`hoso.popsim.models.COLUMNS` in order (``extra``
as JSON text). :class:`CitizenWriter` writes batches of rows on one connection, in the
caller's transaction:

- ``upsert=False`` (seeding an emptied table): PostgreSQL streams the rows with
  ``COPY citizen FROM STDIN``; SQLite runs one ``INSERT`` with ``executemany``;
- ``upsert=True`` (loading an extract, safe to rerun): PostgreSQL copies the batch into a
  temporary table and runs ``INSERT … SELECT … ON CONFLICT (personal_id) DO UPDATE``;
  SQLite runs ``INSERT … ON CONFLICT(personal_id) DO UPDATE`` with ``executemany``.

A batch must not hold the same personal ID twice (PostgreSQL refuses to update a row twice
in one statement); :func:`hoso.popsim.load.load` keeps the last one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection

from hoso.popsim.fields import extra_fields, name_key
from hoso.popsim.models import CITIZEN, COLUMNS

Row = tuple[str | None, ...]
"""Values of ``COLUMNS`` in order; ``extra`` is JSON text or None."""

_TABLE = CITIZEN.name
_STAGE = "popsim_citizen_stage"
_COLS = ", ".join(COLUMNS)
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "personal_id")
_NCOLS = len(COLUMNS)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def row_from_citizen(citizen: dict[str, Any]) -> Row:
    """The row of a citizen dict (registry fields by code; ``status`` defaults to alive)."""
    extra = {k: citizen[k] for k in extra_fields() if citizen.get(k) is not None}
    values: list[str | None] = []
    for column in COLUMNS:
        if column == "name_key":
            values.append(name_key(citizen["birth_name"]))
        elif column == "extra":
            values.append(orjson.dumps(extra).decode() if extra else None)
        elif column == "status":
            values.append(citizen.get("status") or "alive")
        else:
            values.append(citizen.get(column))
    return tuple(values)


def citizen_from_row(row: Sequence[Any]) -> dict[str, Any]:
    """The citizen dict of a stored row (``COLUMNS`` order; absent fields left out)."""
    doc: dict[str, Any] = {}
    for column, value in zip(COLUMNS, row, strict=True):
        if value is None or column == "name_key":
            continue
        if column == "extra":
            doc.update(orjson.loads(value) if isinstance(value, str | bytes) else value)
        else:
            doc[column] = value
    return doc


def copy_line(row: Row) -> bytes:
    """One row in COPY text format (``\\N`` for NULL, backslash/tab/newline escaped)."""
    line = "\t".join("\\N" if v is None else v for v in row)
    if (
        line.count("\t") != _NCOLS - 1
        or line.count("\\") != row.count(None)
        or "\n" in line
        or "\r" in line
    ):
        line = "\t".join("\\N" if v is None else v.translate(_ESCAPES) for v in row)
    return line.encode()


class CitizenWriter:
    """Writes batches of rows on ``conn`` (see the module docstring)."""

    def __init__(self, conn: Connection, *, upsert: bool) -> None:
        self.conn = conn
        self.upsert = upsert
        self.postgres = conn.dialect.name == "postgresql"
        self._staged = False

    def write(self, rows: Sequence[Row]) -> None:
        """Store one batch (no personal ID twice in it)."""
        if not rows:
            return
        if self.postgres:
            if self.upsert:
                self._stage()
                self._copy(_STAGE, rows)
                self.conn.exec_driver_sql(
                    f"INSERT INTO {_TABLE} ({_COLS}) SELECT {_COLS} FROM {_STAGE} "
                    f"ON CONFLICT (personal_id) DO UPDATE SET {_UPDATES}"
                )
                self.conn.exec_driver_sql(f"TRUNCATE {_STAGE}")
            else:
                self._copy(_TABLE, rows)
            return
        marks = ", ".join("?" for _ in COLUMNS)
        sql = f"INSERT INTO {_TABLE} ({_COLS}) VALUES ({marks})"
        if self.upsert:
            sql += f" ON CONFLICT(personal_id) DO UPDATE SET {_UPDATES}"
        self.conn.exec_driver_sql(sql, list(rows))

    def _stage(self) -> None:
        if not self._staged:
            # ON COMMIT DELETE ROWS: the stage is empty after each batch's commit anyway.
            self.conn.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
                f"(LIKE {_TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            self._staged = True

    def _copy(self, table: str, rows: Sequence[Row]) -> None:
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({_COLS}) FROM STDIN") as copy:
            chunk: list[bytes] = []
            size = 0
            for row in rows:
                line = copy_line(row)
                chunk.append(line)
                size += len(line)
                if size > 1 << 20:
                    copy.write(b"\n".join(chunk) + b"\n")
                    chunk, size = [], 0
            if chunk:
                copy.write(b"\n".join(chunk) + b"\n")


@contextmanager
def indexes_rebuilt(conn: Connection) -> Iterator[None]:
    """Drop the indexes (and, on PostgreSQL, the primary key) around a bulk load; rebuild after.

    For filling an emptied table: building an index from sorted data is much faster than
    inserting millions of keys one by one. Everything runs in the caller's transaction
    (DDL is transactional on both backends), so a failed load restores the indexes too; a
    duplicate personal ID fails when the primary key is rebuilt.
    """
    postgres = conn.dialect.name == "postgresql"
    pk = CITIZEN.primary_key.name
    for index in CITIZEN.indexes:
        index.drop(conn)
    if postgres:
        conn.exec_driver_sql(f"ALTER TABLE {_TABLE} DROP CONSTRAINT {pk}")
    yield
    if postgres:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        conn.exec_driver_sql(f"ALTER TABLE {_TABLE} ADD CONSTRAINT {pk} PRIMARY KEY (personal_id)")
    for index in CITIZEN.indexes:
        index.create(conn)
    conn.exec_driver_sql(f"ANALYZE {_TABLE}")


def truncate(conn: Connection) -> None:
    """Empty the ``citizen`` table (in the caller's transaction)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {_TABLE}")
    else:
        conn.exec_driver_sql(f"DELETE FROM {_TABLE}")
