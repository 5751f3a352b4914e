"""``hoso.db.ids``: id-list conditions of any length, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table, any_, insert, select
from sqlalchemy.orm import Session

from hoso.db.ids import CHUNK, id_conditions, is_postgresql, literal_id_array

metadata = MetaData()
things = Table(
    "test_ids_things",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(20)),
)


def _table(session: Session) -> None:
    things.create(session.connection())
    session.execute(insert(things), [{"id": i, "name": f"n{i}"} for i in range(1, 3 * CHUNK, 3)])


def test_id_conditions_select_exactly_the_listed_ids_beyond_one_chunk(session: Session) -> None:
    """More ids than one SQLite ``IN`` list holds, with duplicates, unsorted, and most of them
    absent: every present one is found once, nothing else."""
    _table(session)
    wanted = [*range(3 * CHUNK, 0, -1), 7, 7, 10**12]
    conditions = list(id_conditions(session, things.c.id, wanted))
    distinct = len(set(wanted))  # 3 * CHUNK + 1
    assert len(conditions) == (1 if is_postgresql(session) else -(-distinct // CHUNK))
    found = [
        row.id for cond in conditions for row in session.execute(select(things.c.id).where(cond))
    ]
    assert sorted(found) == list(range(1, 3 * CHUNK, 3))
    assert list(id_conditions(session, things.c.id, [])) == []


def test_literal_id_array_inlines_only_integers(session: Session) -> None:
    """The inline array renders ints only: a value that is not a number is refused before it
    reaches any SQL."""
    expr = literal_id_array([3, 1, 2, 2])
    assert str(expr) == "'{1,2,3}'::bigint[]"
    try:
        literal_id_array(["1); DROP TABLE person; --"])  # type: ignore[list-item]
    except ValueError:
        pass
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("a non-integer id was inlined")
    if is_postgresql(session):
        _table(session)
        rows = session.execute(
            select(things.c.id).where(things.c.id == any_(literal_id_array([1, 4, 5])))
        ).all()
        assert sorted(r.id for r in rows) == [1, 4]
