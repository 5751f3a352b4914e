"""Reads of the simulated registry: lookup, batch verification, search, count, export.

Every function takes a SQLAlchemy ``Connection`` on the simulator's database and runs Core
selects (no ORM objects: a verification of 1,000 IDs is two indexed queries and a loop).
A *citizen* is a dict of the registry fields the citizen has, absent fields left out, in
the order of the API's citizen JSON (``personal_id``, ``birth_name``, ``date_of_birth``,
``sex``, …, ``status``, ``legacy_id_no``, then the other registry-mastered fields).

A query ID is looked up as the registry does: 12 digits by personal ID first, then as an
old 12-digit CMND; 9 digits as an old CMND (``legacy_id_no``); anything else is not found.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Select

from hoso.popsim.fields import is_legacy_id, is_personal_id, name_key
from hoso.popsim.models import CITIZEN, COLUMNS
from hoso.popsim.writer import citizen_from_row

MAX_VERIFY = 1000
"""Most IDs one verification call may ask for."""
MAX_SEARCH = 100
"""Most citizens one search returns."""

_C = CITIZEN.c
_SELECT: Select[Any] = select(*(cast(_C.extra, Text) if c == "extra" else _C[c] for c in COLUMNS))
_PID = COLUMNS.index("personal_id")
_LEGACY = COLUMNS.index("legacy_id_no")


def _among(conn: Connection, column: ColumnElement[Any], values: Sequence[str]) -> Any:
    if conn.dialect.name == "postgresql":
        # One array parameter: the statement text (and its plan) is the same for any count.
        return column == any_(bindparam("values", list(values), type_=ARRAY(Text)))
    return column.in_(list(values))


def get(conn: Connection, query: str) -> dict[str, Any] | None:
    """The citizen with personal ID (or old CMND number) ``query``, or None."""
    if is_personal_id(query):
        row = conn.execute(_SELECT.where(_C.personal_id == query)).first()
        if row is not None:
            return citizen_from_row(row)
    if is_legacy_id(query):
        row = conn.execute(_SELECT.where(_C.legacy_id_no == query)).first()
        if row is not None:
            return citizen_from_row(row)
    return None


def verify(conn: Connection, queries: Sequence[str]) -> list[dict[str, Any]]:
    """One result per query, in the order asked (at most :data:`MAX_VERIFY` queries).

    A result is ``{"query", "found", "matched_by": "personal_id" | "legacy_id_no" | None,
    "citizen": citizen | None}``. Two queries at most: one by personal ID for the 12-digit
    queries, one by old CMND for the 9-digit ones and the 12-digit ones not found.
    """
    if len(queries) > MAX_VERIFY:
        raise ValueError(f"at most {MAX_VERIFY} IDs per call")
    pids = sorted({q for q in queries if isinstance(q, str) and is_personal_id(q)})
    by_pid: dict[str, dict[str, Any]] = {}
    if pids:
        for row in conn.execute(_SELECT.where(_among(conn, _C.personal_id, pids))):
            by_pid[row[_PID]] = citizen_from_row(row)
    legacy = sorted(
        {q for q in queries if isinstance(q, str) and q not in by_pid and is_legacy_id(q)}
    )
    by_legacy: dict[str, dict[str, Any]] = {}
    if legacy:
        for row in conn.execute(_SELECT.where(_among(conn, _C.legacy_id_no, legacy))):
            by_legacy[row[_LEGACY]] = citizen_from_row(row)
    results: list[dict[str, Any]] = []
    for q in queries:
        citizen = by_pid.get(q)
        if citizen is not None:
            results.append(
                {"query": q, "found": True, "matched_by": "personal_id", "citizen": citizen}
            )
            continue
        citizen = by_legacy.get(q)
        if citizen is not None:
            results.append(
                {"query": q, "found": True, "matched_by": "legacy_id_no", "citizen": citizen}
            )
        else:
            results.append({"query": q, "found": False, "matched_by": None, "citizen": None})
    return results


def search(
    conn: Connection,
    *,
    birth_name: str,
    date_of_birth: str | None = None,
    sex: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Citizens with this birth name (compared by :func:`name_key`), ordered by personal ID.

    ``date_of_birth`` is a full ``YYYY-MM-DD`` date or a year ``YYYY``; ``sex`` ``M``/``F``.
    """
    stmt = _SELECT.where(_C.name_key == name_key(birth_name))
    if date_of_birth is not None:
        if len(date_of_birth) == 4:
            stmt = stmt.where(
                _C.date_of_birth >= f"{date_of_birth}-01-01",
                _C.date_of_birth <= f"{date_of_birth}-12-31",
            )
        else:
            stmt = stmt.where(_C.date_of_birth == date_of_birth)
    if sex is not None:
        stmt = stmt.where(_C.sex == sex)
    stmt = stmt.order_by(_C.personal_id).limit(max(1, min(limit, MAX_SEARCH)))
    return [citizen_from_row(row) for row in conn.execute(stmt)]


def count(conn: Connection) -> int:
    """Number of citizens in the registry."""
    return int(conn.execute(select(func.count()).select_from(CITIZEN)).scalar_one())


def iter_citizens(conn: Connection, *, chunk: int = 10_000) -> Iterator[dict[str, Any]]:
    """Every citizen in personal-ID order, read ``chunk`` rows at a time (bounded memory)."""
    last = ""
    while True:
        rows = conn.execute(
            _SELECT.where(_C.personal_id > last).order_by(_C.personal_id).limit(chunk)
        ).all()
        for row in rows:
            yield citizen_from_row(row)
        if len(rows) < chunk:
            return
        last = rows[-1][_PID]
