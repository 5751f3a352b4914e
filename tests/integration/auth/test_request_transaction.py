"""One transaction per request, committed before the response is sent (real commits).

These tests use a brand-new database (``fresh_db_url``) and real COMMITs, not the savepoint
harness, because what they check is what happens at COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from auth_factories import TestClient, add_tree, add_user, bearer, make_app
from fastapi import Depends
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent
from hoso.auth.deps import SessionDep, get_session
from hoso.db.engine import get_sessionmaker, unit_of_work
from hoso.orgs.models import OrgUnit

BODY = {"units": [{"code": "VN.X1", "name": "Đơn vị thử", "parent_code": "VN", "kind": "other"}]}


class CommitFailure(RuntimeError):
    """Raised by the test in place of a failing COMMIT."""


@pytest.fixture
def world(fresh_db_url: str, use_database: Callable[[str], None]) -> dict[str, str]:
    use_database(fresh_db_url)
    with unit_of_work() as session:
        add_tree(session)
        admin = add_user(session, "admin", "national_admin", "VN")
        headers = bearer(admin)
    return headers


@pytest.fixture
def failing_commit() -> Iterator[None]:
    def boom(_session: Session) -> None:
        raise CommitFailure("simulated commit failure")

    event.listen(Session, "before_commit", boom)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", boom)


def stored() -> tuple[int, int]:
    """(units named VN.X1, audit events), read without committing anything."""
    with get_sessionmaker()() as session:
        units = session.execute(select(func.count()).where(OrgUnit.code == "VN.X1")).scalar_one()
        events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return int(units), int(events)


def test_a_successful_request_is_committed(world: dict[str, str]) -> None:
    _, events_before = stored()
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.post("/api/v1/orgs/import", json=BODY, headers=world)
    assert r.status_code == 200, r.text
    assert stored() == (1, events_before + 1)


def test_a_failed_commit_is_a_5xx_and_stores_nothing(
    world: dict[str, str], failing_commit: None
) -> None:
    _, events_before = stored()
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.post("/api/v1/orgs/import", json=BODY, headers=world)
    assert r.status_code == 500
    assert stored() == (0, events_before)


def test_an_error_in_the_endpoint_rolls_back(world: dict[str, str]) -> None:
    before = stored()
    orphan = {
        "units": [
            *BODY["units"],
            {"code": "VN.X2", "name": "X", "parent_code": "NOWHERE", "kind": "other"},
        ]
    }
    client = TestClient(make_app(), raise_server_exceptions=False)
    assert client.post("/api/v1/orgs/import", json=orphan, headers=world).status_code == 422
    assert stored() == before


def test_a_failed_sign_in_is_kept_although_the_request_fails(world: dict[str, str]) -> None:
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "wrong-wrong"})
    assert r.status_code == 401
    with unit_of_work() as session:
        actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions[-1] == "auth:session:login_failed"


def test_request_scoped_teardown_would_answer_200_for_a_lost_write(
    world: dict[str, str], failing_commit: None
) -> None:
    """Why ``SessionDep`` uses ``scope="function"``: with FastAPI's default, the commit runs
    after the response is sent, so a failed commit still reached the client as a 200. If this
    test starts failing, FastAPI changed its teardown order (see ``hoso.auth.deps``)."""
    app = make_app()

    @app.post("/naive")
    def naive(session: Annotated[Session, Depends(get_session)]) -> dict[str, Any]:
        session.add(
            OrgUnit(
                code="VN.X1",
                name="X",
                parent_code="VN",
                path="/VN/VN.X1/",
                kind="other",
                successor_codes=[],
                extra={},
            )
        )
        return {"ok": True}

    @app.post("/safe")
    def safe(session: SessionDep) -> dict[str, Any]:
        return naive(session)

    client = TestClient(app, raise_server_exceptions=False)
    assert client.post("/naive").status_code == 200
    assert client.post("/safe").status_code == 500
    assert stored()[0] == 0  # neither write reached the database
