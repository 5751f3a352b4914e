"""The auth and users routes under TestClient (one savepoint per request inside the test)."""

from __future__ import annotations

import pytest
from auth_factories import H40, H41, PASSWORD, TestClient, add_user, bearer, make_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent
from hoso.auth.deps import SESSION_COOKIE, OptionalPrincipalDep


@pytest.fixture
def client(tree: Session) -> TestClient:
    return TestClient(make_app())


def test_token_from_form_and_json_then_me(tree: Session, client: TestClient) -> None:
    add_user(tree, "hr.nghean", "hr_officer", f"{H41}.S05")
    tree.flush()
    form = client.post("/api/v1/auth/token", data={"username": "hr.nghean", "password": PASSWORD})
    assert form.status_code == 200, form.text
    body = form.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 8 * 3600
    as_json = client.post(
        "/api/v1/auth/token", json={"username": "hr.nghean", "password": PASSWORD}
    )
    assert as_json.status_code == 200, as_json.text

    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "hr.nghean"
    assert me.json()["org_unit_code"] == f"{H41}.S05"
    assert "password_hash" not in me.json()

    client.cookies.set(SESSION_COOKIE, as_json.json()["access_token"])
    by_cookie = client.get("/api/v1/users/me")
    assert by_cookie.status_code == 200
    assert by_cookie.json()["username"] == "hr.nghean"


def test_wrong_password_is_401_and_the_failure_is_kept(tree: Session, client: TestClient) -> None:
    add_user(tree, "hr.nghean", "hr_officer", H41)
    tree.flush()
    r = client.post("/api/v1/auth/token", data={"username": "hr.nghean", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"
    failed = (
        tree.execute(select(AuditEvent).where(AuditEvent.action == "auth:session:login_failed"))
        .scalars()
        .all()
    )
    assert len(failed) == 1
    missing = client.post("/api/v1/auth/token", json={"username": "hr.nghean"})
    assert missing.status_code == 422
    assert [i["field"] for i in missing.json()["issues"]] == ["password"]


def test_requests_without_a_valid_token_are_401(client: TestClient) -> None:
    assert client.get("/api/v1/users/me").status_code == 401
    bad = client.get("/api/v1/users", headers={"Authorization": "Bearer forged.token.value"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "invalid_token"


def test_users_list_and_create_are_scoped(tree: Session, client: TestClient) -> None:
    admin = add_user(tree, "admin.nghean", "agency_admin", H41)
    add_user(tree, "hr.hatinh", "hr_officer", H40)
    tree.flush()
    created = client.post(
        "/api/v1/users",
        headers=bearer(admin),
        json={
            "username": "hr.sonv",
            "full_name": "Lê Thị Mai",
            "role": "hr_officer",
            "org_unit_code": f"{H41}.S05",
            "password": "mot-mat-khau-dai",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["role_label"].startswith("Cán bộ tổ chức cán bộ")
    listed = client.get("/api/v1/users", headers=bearer(admin))
    assert [u["username"] for u in listed.json()] == ["admin.nghean", "hr.sonv"]

    national = client.post(
        "/api/v1/users",
        headers=bearer(admin),
        json={
            "username": "boss",
            "full_name": "X",
            "role": "national_admin",
            "org_unit_code": H41,
            "password": "mot-mat-khau-dai",
        },
    )
    assert national.status_code == 403
    elsewhere = client.post(
        "/api/v1/users",
        headers=bearer(admin),
        json={
            "username": "hr.other",
            "full_name": "X",
            "role": "hr_officer",
            "org_unit_code": H40,
            "password": "mot-mat-khau-dai",
        },
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["code"] == "out_of_scope"


def test_optional_principal_is_none_unless_signed_in(tree: Session) -> None:
    app = make_app()

    @app.get("/whoami")
    def whoami(principal: OptionalPrincipalDep) -> dict[str, str | None]:
        return {"username": principal.username if principal else None}

    user = add_user(tree, "hr.nghean", "hr_officer", H41)
    tree.flush()
    client = TestClient(app)
    assert client.get("/whoami").json() == {"username": None}
    assert client.get("/whoami", headers={"Authorization": "Bearer nope"}).json() == {
        "username": None
    }
    assert client.get("/whoami", headers=bearer(user)).json() == {"username": "hr.nghean"}
