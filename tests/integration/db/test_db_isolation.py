"""unit_of_work() commits or stores nothing; the ``session`` fixture rolls every test back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import pg_harness
from hoso.db.engine import make_engine, unit_of_work
from hoso.orgs.models import OrgUnit

MARKER = "ISOLATION-PROBE"


def _unit(code: str) -> OrgUnit:
    return OrgUnit(code=code, name="Đơn vị thử / probe unit", path=f"/{code}/", kind="other")


def _count(session: Session, code: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.code == code)) or 0
    )


def _count_outside(url: str, code: str) -> int:
    """Count through a connection of its own, outside any test transaction."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return _count(session, code)
    finally:
        engine.dispose()


# The next two tests run in this order (pytest keeps file order; make test distributes by file).
def test_1_unit_of_work_commit_is_visible_inside_the_test(session: Session, db_url: str) -> None:
    with unit_of_work() as uow:
        uow.add(_unit(MARKER))
    assert _count(session, MARKER) == 1


def test_2_the_previous_test_left_nothing_behind(session: Session, db_url: str) -> None:
    assert _count(session, MARKER) == 0
    assert _count_outside(db_url, MARKER) == 0


def test_failed_unit_of_work_stores_nothing(session: Session) -> None:
    with unit_of_work() as uow:
        uow.add(_unit("KEPT"))
    with pytest.raises(RuntimeError, match="boom"), unit_of_work() as uow:
        uow.add(_unit("ROLLED-BACK"))
        uow.flush()
        assert _count(uow, "ROLLED-BACK") == 1
        raise RuntimeError("boom")
    assert _count(session, "ROLLED-BACK") == 0
    assert _count(session, "KEPT") == 1


def test_isolated_session_rolls_back_committed_units_of_work(
    db_engine: Engine, db_url: str
) -> None:
    codes = [f"{MARKER}-A", f"{MARKER}-B"]
    with pytest.MonkeyPatch.context() as mp, pg_harness.isolated_session(db_engine, mp) as s:
        for code in codes:  # several commits, each a savepoint; the first one outermost
            with unit_of_work() as uow:
                uow.add(_unit(code))
        assert [_count(s, code) for code in codes] == [1, 1]
    assert [_count_outside(db_url, code) for code in codes] == [0, 0]


def test_real_unit_of_work_commits_or_stores_nothing(
    fresh_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(fresh_db_url)
    with unit_of_work() as uow:
        uow.add(_unit("COMMITTED"))
    with pytest.raises(ValueError, match="refused"), unit_of_work() as uow:
        uow.add(_unit("NEVER"))
        uow.flush()
        raise ValueError("refused")
    assert _count_outside(fresh_db_url, "COMMITTED") == 1
    assert _count_outside(fresh_db_url, "NEVER") == 0


def test_failed_commit_stores_nothing(
    fresh_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(fresh_db_url)
    with unit_of_work() as uow:
        uow.add(_unit("TAKEN"))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), unit_of_work() as uow:
        uow.add(_unit("ALONGSIDE"))
        uow.add(_unit("TAKEN"))  # violates the unique code at flush/commit time
    assert _count_outside(fresh_db_url, "ALONGSIDE") == 0
    assert _count_outside(fresh_db_url, "TAKEN") == 1
