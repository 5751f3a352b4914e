"""The population-registry JSON API over HTTP: results, decisions (one and many), corrections.

The app is ``hoso.main.create_app()``; the population routers are included here while the
application does not mount them yet. Requests run in SAVEPOINTs of the test's transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_review_world import (  # type: ignore[import-not-found]
    BEST,
    HA_TINH,
    NGHE_AN,
    ReviewWorld,
    events,
    review_world,
    to_national,
)

from hoso.auth.principal import operator
from hoso.main import create_app
from hoso.people import service as people_service
from hoso.people.schemas import PersonWrite
from hoso.population import api as population_api
from hoso.population import views as population_views

__all__ = ["review_world"]  # fixture used by name

URL = "/api/v1/population"


def population_app() -> FastAPI:
    """The application with the population routers (mounted here until ``hoso.main`` does)."""
    app = create_app()
    paths = {getattr(r, "path", "") for r in app.routes}
    if f"{URL}/results" not in paths:
        app.include_router(population_api.router)
    if "/dan-cu" not in paths:
        app.include_router(population_views.router)
    return app


@pytest.fixture
def client(review_world: ReviewWorld) -> Iterator[TestClient]:
    with TestClient(population_app(), raise_server_exceptions=False) as c:
        yield c


def auth(w: ReviewWorld, username: str) -> dict[str, str]:
    return w.seed.auth(username)


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    assert body["detail"] and body["detail_en"] and body["detail"] != body["detail_en"]
    return dict(body)


def test_results_are_filtered_scoped_and_audited(
    client: TestClient, review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    hr = auth(w, "hr.nghean")
    r = client.get(f"{URL}/results", headers=hr)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["total"] == 3 and len(body["items"]) == 3
    by_pid = {i["personal_id"]: i for i in body["items"]}
    assert set(by_pid) == {w.pids["an"], w.pids["binh"], w.pids["cuong"]}
    an = by_pid[w.pids["an"]]
    assert an["review_kind"] == "differences" and an["stale"] is False
    assert {d["field"] for d in an["differences"]} == {"religion_code", "residence_address_line"}
    assert by_pid[w.pids["binh"]]["candidates"][0]["personal_id"] == BEST
    assert an["corrections"] is None  # only when reading one result
    conflicts = client.get(f"{URL}/results", params={"outcome": "conflict"}, headers=hr).json()
    assert [i["personal_id"] for i in conflicts["items"]] == [w.pids["cuong"]]
    kinds = client.get(f"{URL}/results", params={"kind": "differences"}, headers=hr).json()
    assert [i["personal_id"] for i in kinds["items"]] == [w.pids["an"]]
    paged = client.get(f"{URL}/results", params={"limit": 1, "offset": 1}, headers=hr).json()
    assert paged["total"] == 3 and len(paged["items"]) == 1
    everyone = client.get(f"{URL}/results", headers=auth(w, "admin")).json()
    assert everyone["total"] == 4
    ha_tinh = client.get(f"{URL}/results", headers=auth(w, "hr.hatinh")).json()
    assert [i["personal_id"] for i in ha_tinh["items"]] == [w.pids["dung"]]
    refused = client.get(f"{URL}/results", params={"agency": HA_TINH}, headers=hr)
    assert _problem(refused, 403, "out_of_scope")["detail"].startswith("Đơn vị")
    bad = client.get(f"{URL}/results", params={"outcome": "maybe"}, headers=hr)
    assert _problem(bad, 422, "invalid_input")["errors"][0]["field"] == "outcome"
    _problem(client.get(f"{URL}/results"), 401, "not_authenticated")
    reads = events(session, "population:results:read")
    assert reads[0].actor == "hr.nghean" and reads[0].data == {"agency": NGHE_AN, "rows": 3}


def test_one_result_and_its_audit(
    client: TestClient, review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    r = client.get(f"{URL}/results/{w.pids['cuong']}", headers=auth(w, "hr.nghean"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "conflict" and body["review_kind"] == "conflict"
    assert body["differences"][0]["kind"] == "identity"
    assert body["registry_values"]["date_of_birth"] == "1978-11-03"
    assert body["corrections"] == []
    [read] = events(session, "population:result:read")
    assert read.subject_id == w.pids["cuong"] and read.actor == "hr.nghean"
    hidden = client.get(f"{URL}/results/{w.pids['cuong']}", headers=auth(w, "hr.hatinh"))
    assert "Không có kết quả đối chiếu" in _problem(hidden, 404, "not_found")["detail"]
    assert client.get(f"{URL}/results/12345", headers=auth(w, "admin")).status_code == 422


def test_decide_one(client: TestClient, review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    hr = auth(w, "hr.nghean")
    binh = f"{URL}/results/{w.pids['binh']}/decision"
    no_reason = client.post(binh, json={"decision": "rejected"}, headers=hr)
    assert _problem(no_reason, 422, "invalid_input")["errors"][0]["field"] == "reason"
    which = client.post(binh, json={"decision": "confirmed"}, headers=hr)
    assert _problem(which, 422, "invalid_input")["errors"][0]["field"] == "candidate_personal_id"
    analyst = client.post(
        binh, json={"decision": "confirmed", "candidate_personal_id": BEST},
        headers=auth(w, "analyst.nghean"),
    )  # fmt: skip
    _problem(analyst, 403, "forbidden")
    done = client.post(
        binh, json={"decision": "confirmed", "candidate_personal_id": BEST}, headers=hr
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["outcome"], body["decision"], body["registry_personal_id"]) == (
        "matched",
        "confirmed",
        BEST,
    )
    assert body["decided_by"] == "hr.nghean"
    again = client.post(binh, json={"decision": "rejected", "reason": "nhầm"}, headers=hr)
    assert _problem(again, 409, "already_decided")["detail_en"].startswith("The registry result")
    # the dossier changed since the match: refused with a clear message
    dossier = people_service.get_by_personal_id(session, w.pids["cuong"], principal=operator())
    people_service.update(
        session,
        w.pids["cuong"],
        PersonWrite.model_validate(
            {
                "personal_id": w.pids["cuong"],
                "managing_agency": dossier.managing_agency,
                "employing_unit": dossier.employing_unit,
                "data": {**dossier.data, "salary_step": 5, "salary_coefficient": "3.66"},
            }
        ),
        principal=operator(),
    )
    stale = client.post(
        f"{URL}/results/{w.pids['cuong']}/decision", json={"decision": "confirmed"}, headers=hr
    )
    problem = _problem(stale, 409, "stale_result")
    assert "đã thay đổi sau lần đối chiếu" in problem["detail"]
    assert "changed after it was matched" in problem["detail_en"]
    listed = client.get(f"{URL}/results", headers=hr).json()["items"]
    assert {i["personal_id"]: i["stale"] for i in listed} == {
        w.pids["an"]: False,
        w.pids["binh"]: False,
        w.pids["cuong"]: True,
    }
    assert len(events(session, "population:match:confirm")) == 1


def test_decide_many(client: TestClient, review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    r = client.post(
        f"{URL}/decisions",
        json={
            "personal_ids": [w.pids["an"], w.pids["cuong"], w.pids["dung"], w.pids["an"]],
            "decision": "rejected",
            "reason": "Hồ sơ gốc có giấy khai sinh",
        },
        headers=auth(w, "hr.nghean"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decided"] == 2
    assert [(o["personal_id"], o["status"]) for o in body["outcomes"]] == [
        (w.pids["an"], "rejected"),
        (w.pids["cuong"], "rejected"),
        (w.pids["dung"], "not_found"),  # another province's
    ]
    assert len(events(session, "population:match:reject")) == 2
    empty = client.post(
        f"{URL}/decisions",
        json={"personal_ids": [], "decision": "confirmed"},
        headers=auth(w, "hr.nghean"),
    )
    assert _problem(empty, 422, "invalid_input")["errors"][0]["field"] == "personal_ids"


def test_propose_corrections(
    client: TestClient, review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    hr = auth(w, "hr.nghean")
    to_national(session, w.pids["an"])
    _problem(client.post(f"{URL}/corrections", json={}, headers=auth(w, "analyst.nghean")),
             403, "forbidden")  # fmt: skip
    r = client.post(f"{URL}/corrections", json={}, headers=hr)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["proposed"], body["people"], body["skipped_unsynced"]) == (2, 1, 0)
    assert len(body["correction_ids"]) == 2
    again = client.post(
        f"{URL}/corrections", json={"personal_ids": [w.pids["an"]]}, headers=hr
    ).json()
    assert (again["proposed"], again["skipped_duplicate"]) == (0, 2)
    one = client.get(f"{URL}/results/{w.pids['an']}", headers=hr).json()
    assert one["corrections_proposed"] == 2
    assert {c["field"]: c["status"] for c in one["corrections"]} == {
        "religion_code": "proposed",
        "residence_address_line": "proposed",
    }
    outside = client.post(f"{URL}/corrections", json={"personal_ids": [w.pids["dung"]]}, headers=hr)
    _problem(outside, 404, "not_found")
    # confirming with propose_corrections proposes at once
    to_national(session, w.pids["cuong"])
    done = client.post(
        f"{URL}/results/{w.pids['cuong']}/decision",
        json={"decision": "confirmed", "propose_corrections": True},
        headers=hr,
    ).json()
    assert done["corrections_proposed"] == 1
    assert [(c["field"], c["proposed_value"]) for c in done["corrections"]] == [
        ("date_of_birth", "1978-11-03")
    ]
