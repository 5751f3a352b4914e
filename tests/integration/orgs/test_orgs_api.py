"""The /api/v1/orgs routes under TestClient, with users of two provinces."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from orgs_factories import H40, H41, TestClient
from sqlalchemy.orm import Session

from hoso.auth import api as auth_api
from hoso.auth import service as auth_service
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.errors import HosoError
from hoso.orgs import api as orgs_api


def make_app() -> FastAPI:
    app = FastAPI()
    app.include_router(auth_api.router)
    app.include_router(orgs_api.router)

    @app.exception_handler(HosoError)
    def _problem(_request: Request, exc: HosoError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status,
            media_type="application/problem+json",
            content={
                "code": exc.code,
                "title": f"{exc.message_vi} / {exc.message_en}",
                "issues": [i.as_dict() for i in exc.issues],
            },
        )

    return app


def headers_for(session: Session, username: str, role: str, org: str) -> dict[str, str]:
    user = auth_service.create(
        session,
        UserCreate(
            username=username,
            full_name=username,
            role=role,  # type: ignore[arg-type]
            org_unit_code=org,
            password="mat-khau-du-dai",
        ),
        principal=operator(),
    )
    session.flush()
    return {"Authorization": f"Bearer {auth_service.issue_token(user)}"}


@pytest.fixture
def client(tree: Session) -> TestClient:
    return TestClient(make_app())


def test_listing_is_scoped_paged_and_filtered(tree: Session, client: TestClient) -> None:
    hr = headers_for(tree, "hr.nghean", "hr_officer", H41)
    page = client.get("/api/v1/orgs", headers=hr, params={"limit": 2, "offset": 1})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 4
    assert (body["limit"], body["offset"]) == (2, 1)
    assert [u["code"] for u in body["items"]] == [f"{H41}.S05", f"{H41}.S05.P01"]
    children = client.get("/api/v1/orgs", headers=hr, params={"parent_code": H41}).json()
    assert [u["code"] for u in children["items"]] == [f"{H41}.S05", f"{H41}.S07"]
    found = client.get("/api/v1/orgs", headers=hr, params={"q": "y tế"}).json()
    assert [u["code"] for u in found["items"]] == [f"{H41}.S07"]
    assert found["items"][0]["kind_label"] == "Sở, ban, ngành / Department"
    assert found["items"][0]["depth"] == 2
    assert client.get("/api/v1/orgs", params={"limit": 0}, headers=hr).status_code == 422
    assert client.get("/api/v1/orgs").status_code == 401


def test_get_subtree_staffing_successors(tree: Session, client: TestClient) -> None:
    hr = headers_for(tree, "hr.nghean", "hr_officer", H41)
    one = client.get(f"/api/v1/orgs/{H41}", headers=hr)
    assert one.status_code == 200
    assert one.json()["admin_unit"] == {"scheme": "2025", "code": "40"}
    assert one.json()["path"] == f"/VN/{H41}/"
    sub = client.get(f"/api/v1/orgs/{H41}.S05/subtree", headers=hr).json()
    assert [u["code"] for u in sub] == [f"{H41}.S05", f"{H41}.S05.P01"]
    staffing = client.get(f"/api/v1/orgs/{H41}/staffing", headers=hr).json()
    assert staffing == {
        "code": H41,
        "quota": 100,
        "subtree_quota": 190,
        "subtree_units": 4,
        "units_without_quota": 0,
    }
    national = headers_for(tree, "analyst", "national_analyst", "VN")
    succ = client.get("/api/v1/orgs/000.00.00.H44/successors", headers=national).json()
    assert [u["code"] for u in succ] == ["000.00.00.H45"]


def test_another_province_is_out_of_reach(tree: Session, client: TestClient) -> None:
    hr = headers_for(tree, "hr.nghean", "hr_officer", H41)
    for url in (
        f"/api/v1/orgs/{H40}",
        f"/api/v1/orgs/{H40}/subtree",
        f"/api/v1/orgs/{H40}/staffing",
        f"/api/v1/orgs/{H40}.S05",
    ):
        r = client.get(url, headers=hr)
        assert r.status_code == 403, url
        assert r.json()["code"] == "out_of_scope"
    assert client.get("/api/v1/orgs/NOWHERE", headers=hr).status_code == 404
    assert client.get("/api/v1/orgs/NOWHERE/subtree", headers=hr).status_code == 404


def test_import_needs_org_write_and_scope(tree: Session, client: TestClient) -> None:
    body = {
        "units": [
            {
                "code": f"{H41}.S09",
                "name": "Sở Tài chính",
                "parent_code": H41,
                "kind": "department",
                "staffing_quota": 40,
            }
        ]
    }
    hr = headers_for(tree, "hr.nghean", "hr_officer", H41)
    assert client.post("/api/v1/orgs/import", json=body, headers=hr).status_code == 403
    admin = headers_for(tree, "admin.nghean", "agency_admin", H41)
    first = client.post("/api/v1/orgs/import", json=body, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    again = client.post("/api/v1/orgs/import", json=body, headers=admin)
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1}
    assert client.get(f"/api/v1/orgs/{H41}.S09", headers=hr).json()["staffing_quota"] == 40

    other = {
        "units": [
            {"code": f"{H40}.S09", "name": "Sở Tài chính", "parent_code": H40, "kind": "department"}
        ]
    }
    assert client.post("/api/v1/orgs/import", json=other, headers=admin).status_code == 403
    orphan = {
        "units": [{"code": f"{H41}.S10", "name": "X", "parent_code": "NOWHERE", "kind": "other"}]
    }
    refused = client.post("/api/v1/orgs/import", json=orphan, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["issues"][0]["field"] == "units[0].parent_code"
