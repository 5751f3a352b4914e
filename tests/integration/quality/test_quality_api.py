"""Quality JSON API over HTTP: findings, scores, runs, and the review queue of fixes.

The app is ``hoso.main.create_app()``; the quality router is included here when the
application does not mount it yet. Users are made through the real auth service in the
test's transaction; every request runs in a SAVEPOINT of it (see ``tests/conftest.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_cleaning_world import (  # type: ignore[import-not-found]
    AS_OF,
    BINH,
    CHAU,
    DUNG,
    HA_TINH,
    NGHE_AN,
    NGHE_AN_Y_TE,
    ROOT,
    quality_dir,
    world,
)

from hoso.audit.models import AuditEvent
from hoso.auth import service as auth_service
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.main import create_app
from hoso.people import service as people_service
from hoso.quality.api import router
from hoso.quality.models import QualityFix

__all__ = ["quality_dir", "world"]  # fixtures used by name

URL = "/api/v1/quality"
PASSWORD = "mat-khau-thu-nghiem-chat-luong-1"
USERS = [
    ("admin", "national_admin", ROOT),
    ("hr.nghean", "hr_officer", NGHE_AN),
    ("hr.hatinh", "hr_officer", HA_TINH),
    ("analyst.nghean", "national_analyst", NGHE_AN),
    ("admin.nghean", "agency_admin", NGHE_AN),
]

_REAL_HASH = auth_service.hash_password


@lru_cache
def _hash() -> str:
    return _REAL_HASH(PASSWORD)


def quality_app() -> FastAPI:
    """The application, with the quality router included when it is not mounted yet."""
    app = create_app()
    paths = {getattr(r, "path", "") for r in app.routes}
    if f"{URL}/fixes" not in paths:
        app.include_router(router)
    return app


@pytest.fixture
def tokens(world: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    """``Authorization`` headers by username."""
    monkeypatch.setattr(auth_service, "hash_password", lambda _p: _hash())
    out: dict[str, dict[str, str]] = {}
    for username, role, unit in USERS:
        user = auth_service.create(
            world,
            UserCreate(
                username=username,
                full_name=username,
                role=role,  # type: ignore[arg-type]
                org_unit_code=unit,
                password=PASSWORD,
            ),
            principal=operator(),
        )
        out[username] = {"Authorization": f"Bearer {auth_service.issue_token(user)}"}
    world.flush()
    return out


@pytest.fixture
def client(tokens: dict[str, dict[str, str]]) -> Iterator[TestClient]:
    with TestClient(quality_app(), raise_server_exceptions=False) as c:
        yield c


def reads(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).scalars()
    )


def test_findings_are_scoped_paged_and_audited(
    client: TestClient, tokens: dict[str, dict[str, str]], world: Session
) -> None:
    everyone = client.get(f"{URL}/findings", params={"limit": 1000}, headers=tokens["admin"])
    assert everyone.status_code == 200, everyone.text
    body = everyone.json()
    assert body["total"] == len(body["items"]) > 0
    assert {"personal_id", "rule_id", "field", "value", "message"} <= set(body["items"][0])
    ha_tinh = client.get(f"{URL}/findings", headers=tokens["hr.hatinh"]).json()
    assert {f["personal_id"] for f in ha_tinh["items"]} == {DUNG}
    mojibake = client.get(
        f"{URL}/findings", params={"rule": "SACH-003"}, headers=tokens["hr.nghean"]
    ).json()
    assert [(f["personal_id"], f["field"]) for f in mojibake["items"]] == [
        (BINH, "family_own_side[1].full_name")
    ]
    page = client.get(
        f"{URL}/findings", params={"limit": 2, "offset": 1}, headers=tokens["hr.nghean"]
    ).json()
    full = client.get(f"{URL}/findings", params={"limit": 1000}, headers=tokens["hr.nghean"]).json()
    assert page["items"] == full["items"][1:3] and page["total"] == full["total"]
    outside = client.get(f"{URL}/findings", params={"agency": NGHE_AN}, headers=tokens["hr.hatinh"])
    assert outside.status_code == 403
    assert client.get(f"{URL}/findings").status_code == 401
    events = reads(world, "quality:findings:read")
    assert len(events) == 5 and events[1].actor == "hr.hatinh"
    assert events[1].data == {"agency": HA_TINH, "rows": len(ha_tinh["items"])}


def test_scores_report_trend_and_worst_records(
    client: TestClient, tokens: dict[str, dict[str, str]], world: Session
) -> None:
    national = client.get(f"{URL}/scores", headers=tokens["admin"])
    assert national.status_code == 200, national.text
    body = national.json()
    assert body["report"]["records"] == 5 and len(body["trend"]) == 1
    nghe_an = client.get(
        f"{URL}/scores", params={"records": 1, "limit": 2}, headers=tokens["hr.nghean"]
    ).json()
    assert nghe_an["report"]["agency"] == NGHE_AN and nghe_an["report"]["records"] == 4
    (point,) = nghe_an["trend"]
    assert point["records"] == 4
    assert point["overall"] == pytest.approx(nghe_an["report"]["scores"]["overall"], abs=0.05)
    worst = nghe_an["records"]
    assert len(worst) == 2 and worst[0]["overall"] <= worst[1]["overall"]
    assert {w["personal_id"] for w in worst} <= {BINH, CHAU, "040088000005", "040080000006"}
    sub = client.get(f"{URL}/scores", params={"agency": HA_TINH}, headers=tokens["admin"]).json()
    assert sub["report"]["records"] == 1 and sub["trend"][0]["records"] == 1
    # scores go by managing agency: Sở Y tế employs CHAU but manages nobody
    unit = client.get(f"{URL}/scores", params={"agency": NGHE_AN_Y_TE}, headers=tokens["admin"])
    assert unit.json()["report"]["records"] == 0
    events = reads(world, "quality:scores:read")
    assert [(e.actor, e.data["agency"]) for e in events] == [
        ("admin", None),
        ("hr.nghean", NGHE_AN),
        ("admin", HA_TINH),
        ("admin", NGHE_AN_Y_TE),
    ]
    assert events[1].data["rows"] == 2


def test_runs_need_quality_run(
    client: TestClient, tokens: dict[str, dict[str, str]], world: Session
) -> None:
    denied = client.post(f"{URL}/runs", json={}, headers=tokens["hr.nghean"])
    assert denied.status_code == 403
    run = client.post(
        f"{URL}/runs",
        json={"as_of": AS_OF.isoformat(), "full": True},
        headers=tokens["admin.nghean"],
    )
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["kind"] == "full" and body["records_checked"] == 4  # Nghệ An's subtree only
    bad = client.post(f"{URL}/runs", json={"profile": "p200"}, headers=tokens["admin"])
    assert bad.status_code == 422 and "p200" in bad.text
    outside = client.post(f"{URL}/runs", json={"agency": HA_TINH}, headers=tokens["admin.nghean"])
    assert outside.status_code == 403


def test_review_queue_propose_accept_reject(
    client: TestClient, tokens: dict[str, dict[str, str]], world: Session
) -> None:
    hr = tokens["hr.nghean"]
    proposed = client.post(f"{URL}/fixes/propose", json={}, headers=hr)
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["created"] == 2  # Nghệ An's fixes only
    queue = client.get(f"{URL}/fixes", headers=hr).json()
    assert queue["total"] == 2 and {f["personal_id"] for f in queue["items"]} == {BINH, CHAU}
    assert client.get(f"{URL}/fixes", headers=tokens["hr.hatinh"]).json()["total"] == 0
    chau = next(f for f in queue["items"] if f["personal_id"] == CHAU)
    binh = next(f for f in queue["items"] if f["personal_id"] == BINH)
    one = client.get(f"{URL}/fixes/{chau['id']}", headers=hr)
    assert one.status_code == 200 and one.json()["changes"] == chau["changes"]
    assert client.get(f"{URL}/fixes/{chau['id']}", headers=tokens["hr.hatinh"]).status_code == 404
    ward = next(c for c in chau["changes"] if c["ambiguous"])
    pick = ward["candidates"][0]["value"]
    accepted = client.post(
        f"{URL}/fixes/accept",
        json={"ids": [binh["id"], chau["id"]], "choices": {str(chau["id"]): {ward["field"]: pick}}},
        headers=hr,
    )
    assert accepted.status_code == 200, accepted.text
    result = accepted.json()
    assert result["accepted"] == 2
    assert [o["new_version"] for o in result["outcomes"]] == [2, 2]
    data = people_service.get_by_personal_id(world, CHAU, principal=operator()).data
    assert data[ward["field"]] == pick
    again = client.post(f"{URL}/fixes/accept", json={"ids": [binh["id"]]}, headers=hr).json()
    assert again["accepted"] == 0 and again["outcomes"][0]["status"] == "refused"
    # the Hà Tĩnh queue: an empty reason is refused with a field-level error, then rejected
    ha = tokens["hr.hatinh"]
    assert client.post(f"{URL}/fixes/propose", json={}, headers=ha).json()["created"] == 1
    dung = client.get(f"{URL}/fixes", headers=ha).json()["items"][0]
    empty = client.post(
        f"{URL}/fixes/reject", json={"ids": [dung["id"]], "reason": " "}, headers=ha
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "reason"
    done = client.post(
        f"{URL}/fixes/reject", json={"ids": [dung["id"]], "reason": "Đúng theo CCCD"}, headers=ha
    )
    assert done.status_code == 200 and done.json() == {"rejected": 1}
    history = client.get(f"{URL}/fixes", params={"status": "all"}, headers=tokens["admin"]).json()
    assert sorted(f["status"] for f in history["items"]) == ["accepted", "accepted", "rejected"]
    foreign = client.post(
        f"{URL}/fixes/reject", json={"ids": [binh["id"]], "reason": "x"}, headers=ha
    )
    assert foreign.status_code == 404


def test_review_permissions(
    client: TestClient, tokens: dict[str, dict[str, str]], world: Session
) -> None:
    analyst = tokens["analyst.nghean"]
    assert client.get(f"{URL}/findings", headers=analyst).status_code == 200  # quality:read
    assert client.get(f"{URL}/fixes", headers=analyst).status_code == 403
    assert client.post(f"{URL}/fixes/propose", json={}, headers=analyst).status_code == 403
    bad_rule = client.post(
        f"{URL}/fixes/propose", json={"rules": ["DUNG-001"]}, headers=tokens["admin"]
    )
    assert bad_rule.status_code == 422 and "DUNG-001" in bad_rule.text
    empty: Any = client.post(f"{URL}/fixes/accept", json={"ids": []}, headers=tokens["admin"])
    assert empty.status_code == 422
    assert world.execute(select(QualityFix)).first() is None
