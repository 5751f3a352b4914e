"""The approval routes over HTTP (TestClient on the whole app), problem+json errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from approval_world import (  # type: ignore[import-not-found]
    World,
    current,
    pid_of,
    signed,
    store,
)
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from hoso.approval.api import router as approval_router
from hoso.auth import service as auth_service
from hoso.exchange.models import OutboxItem
from hoso.main import create_app
from hoso.people.models import VersionStatus

PID = pid_of(1)


def make_app(world: World) -> FastAPI:
    """The whole app, with the approval router mounted if main.py does not yet."""
    app = create_app(world.settings)
    if not any(getattr(r, "path", "") == "/api/v1/approvals" for r in app.routes):
        app.include_router(approval_router)
    return app


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(make_app(world), raise_server_exceptions=False) as c:
        yield c


def auth(world: World, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {auth_service.issue_token(world.users[username])}"}


def test_round_trip_submit_verify_queue_approve(world: World, client: TestClient) -> None:
    store(world, [PID])
    base = f"/api/v1/people/{PID}/versions/1"
    submitted = client.post(f"{base}/submit", headers=auth(world, "hr41a"))
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == VersionStatus.SUBMITTED
    assert submitted.headers["Cache-Control"] == "no-store"

    own = client.post(f"{base}/verify", headers=auth(world, "hr41a"))
    assert own.status_code == 403
    assert own.headers["content-type"].startswith("application/problem+json")
    assert own.json()["code"] == "four_eyes"
    assert "không được tự thẩm định" in own.json()["detail"]

    verified = client.post(f"{base}/verify", headers=auth(world, "hr41b"))
    assert verified.status_code == 200 and verified.json()["status"] == VersionStatus.VERIFIED

    queue = client.get("/api/v1/approvals/pending", headers=auth(world, "boss41"))
    assert queue.status_code == 200
    [row] = queue.json()["items"]
    assert (row["personal_id"], row["version"], row["author"]) == (PID, 1, "hr41a")

    item = signed(world, PID, content_hash=row["content_hash"]).model_dump()
    approved = client.post("/api/v1/approvals", json=[item], headers=auth(world, "boss41"))
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["approved"], body["refused"]) == (1, 0)
    assert body["results"][0]["status"] == VersionStatus.QUEUED
    # The route committed: the approval and its outbox item are stored.
    world.session.expire_all()
    assert current(world.session, PID)[1].approval is not None
    assert len(world.session.execute(select(OutboxItem)).scalars().all()) == 1

    again = client.post("/api/v1/approvals", json=[item], headers=auth(world, "boss41"))
    assert again.status_code == 200
    assert again.json()["results"][0]["error"]["code"] == "status_invalid"


def test_errors_are_problems(world: World, client: TestClient) -> None:
    store(world, [PID])
    base = f"/api/v1/people/{PID}/versions/1"
    assert client.post(f"{base}/submit").status_code == 401
    hidden = client.post(f"{base}/submit", headers=auth(world, "hr40"))
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert client.post(f"{base}/return", json={}, headers=auth(world, "hr41a")).status_code == 422
    draft = client.post(f"{base}/return", json={"reason": "x"}, headers=auth(world, "hr41a"))
    assert draft.status_code == 409 and draft.json()["code"] == "status_invalid"
    item = signed(world, PID).model_dump()
    forbidden = client.post("/api/v1/approvals", json=[item], headers=auth(world, "hr41a"))
    assert forbidden.status_code == 403
    bad = dict(item, content_hash="md5:abc")
    invalid = client.post("/api/v1/approvals", json=[bad], headers=auth(world, "boss41"))
    assert invalid.status_code == 422
    assert any("content_hash" in e["field"] for e in invalid.json()["errors"])
    empty = client.post("/api/v1/approvals", json=[], headers=auth(world, "boss41"))
    assert empty.status_code == 422
    status = client.get(
        "/api/v1/approvals/pending", params={"status": "NOPE"}, headers=auth(world, "boss41")
    )
    assert status.status_code == 422 and status.json()["errors"][0]["field"] == "status"
