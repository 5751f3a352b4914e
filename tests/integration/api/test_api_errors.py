"""The error contract over HTTP: RFC 9457 problem+json, scope, authentication, failed commits.

Scope decision: a dossier outside the caller's subtree answers **404**, with the same body as
a personal ID that is not on file at all, so the API does not reveal who is registered
elsewhere. A role that lacks a permission (an analyst writing) answers 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from api_seed import HA_TINH, TestClient, World, dossier, seed_world
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent
from hoso.db.engine import unit_of_work
from hoso.main import create_app
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion

URL = "/api/v1/people"
PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "title_en", "detail_en", "errors"}


def _problem(r: object, status: int) -> dict[str, object]:
    from httpx2 import Response

    assert isinstance(r, Response)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


def test_structural_error_names_the_field_in_both_languages(
    client: TestClient, world: World, session: Session
) -> None:
    body = dossier("040195000011")
    body["data"]["work_history"].append({"from": "2020-13", "unit": "Sở Y tế"})  # row [2]
    r = client.post(URL, json=body, headers=world.auth("hr.nghean"))
    problem = _problem(r, 422)
    assert problem["code"] == "invalid_input"
    assert problem["type"] == "/problems/invalid_input"
    issues = problem["errors"]
    assert isinstance(issues, list)
    issue = next(i for i in issues if i["field"] == "work_history[2].from")
    assert issue["value"] == "2020-13"
    assert set(issue) == {"field", "value", "code", "message_vi", "message_en"}
    assert "Trường 'work_history[2].from'" in issue["message_vi"]
    assert "must be" in issue["message_en"] or "does not exist" in issue["message_en"]
    assert problem["title"] == "Dữ liệu không hợp lệ" and problem["title_en"] == "Invalid input"
    stored = session.execute(
        select(func.count()).select_from(Person).where(Person.personal_id == "040195000011")
    ).scalar_one()
    assert stored == 0


def test_several_structural_errors_are_all_reported(client: TestClient, world: World) -> None:
    body = dossier("040195000012", date_of_birth="1990-02-30", salary_step="four", no_such_field=1)
    body["data"]["work_history"] = {"from": "2010-01"}
    problem = _problem(client.post(URL, json=body, headers=world.auth("hr.nghean")), 422)
    fields = {i["field"] for i in problem["errors"]}  # type: ignore[union-attr]
    assert {"date_of_birth", "salary_step", "no_such_field", "work_history"} <= fields


def test_request_shape_errors_are_problem_json_with_paths(client: TestClient, world: World) -> None:
    auth = world.auth("hr.nghean")
    no_data = _problem(client.post(URL, json={"personal_id": "040195000013"}, headers=auth), 422)
    assert [i["field"] for i in no_data["errors"]] == ["data"]  # type: ignore[union-attr]
    assert no_data["errors"][0]["message_vi"].startswith("Thiếu trường bắt buộc")  # type: ignore[index]
    not_json = client.post(
        URL, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert _problem(not_json, 422)["code"] == "invalid_input"
    bad_pid = _problem(client.get(f"{URL}/12345", headers=auth), 422)
    assert bad_pid["errors"][0]["field"] == "personal_id"  # type: ignore[index]


def test_unknown_person_is_404(client: TestClient, world: World) -> None:
    problem = _problem(client.get(f"{URL}/040199999999", headers=world.auth("admin")), 404)
    assert problem["code"] == "not_found"
    assert problem["title"] == "Không tìm thấy" and problem["title_en"] == "Not found"
    assert "040199999999" in str(problem["detail"]) and "040199999999" in str(problem["detail_en"])


def test_out_of_scope_person_is_404_like_an_unknown_one(client: TestClient, world: World) -> None:
    auth = world.auth("hr.hatinh")
    nghe_an_pid = world.people["an"]
    hidden = _problem(client.get(f"{URL}/{nghe_an_pid}", headers=auth), 404)
    unknown = _problem(client.get(f"{URL}/040199999999", headers=auth), 404)
    assert hidden["code"] == unknown["code"] == "not_found"
    assert str(hidden["detail"]).replace(nghe_an_pid, "X") == str(unknown["detail"]).replace(
        "040199999999", "X"
    )
    for sub in ("versions", "versions/1", "diff?from=1&to=2", "posts"):
        _problem(client.get(f"{URL}/{nghe_an_pid}/{sub}", headers=auth), 404)
    put = client.put(f"{URL}/{nghe_an_pid}", json=dossier(nghe_an_pid), headers=auth)
    _problem(put, 404)
    # Creating in another province's agency is a structural error on that field.
    other = dossier("040195000014", agency="000.00.00.H41", unit=None)
    refused = _problem(client.post(URL, json=other, headers=auth), 422)
    assert refused["errors"][0]["code"] == "out_of_scope"  # type: ignore[index]
    # The owner of the scope sees it.
    assert (
        client.get(f"{URL}/{world.people['dung']}", headers=auth).json()["managing_agency"]
        == HA_TINH
    )


def test_unauthenticated_is_401(client: TestClient, world: World) -> None:
    for r in (
        client.get(URL),
        client.get(f"{URL}/{world.people['an']}"),
        client.post(URL, json=dossier("040195000015")),
    ):
        problem = _problem(r, 401)
        assert problem["code"] == "not_authenticated"
        assert r.headers["www-authenticate"] == "Bearer"
    forged = client.get(URL, headers={"Authorization": "Bearer not-a-token"})
    assert _problem(forged, 401)["code"] == "invalid_token"


def test_unknown_route_and_method(client: TestClient, world: World) -> None:
    assert _problem(client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert (
        _problem(client.delete(URL, headers=world.auth("admin")), 405)["code"]
        == "method_not_allowed"
    )


def test_unexpected_error_is_500_without_internals(
    client: TestClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("psycopg: password=hunter2 at /srv/hoso/service.py")

    monkeypatch.setattr(people_service, "get_by_personal_id", boom)
    r = client.get(f"{URL}/{world.people['an']}", headers=world.auth("admin"))
    problem = _problem(r, 500)
    assert problem["code"] == "internal_error"
    assert "hunter2" not in r.text and "Traceback" not in r.text and "service.py" not in r.text
    incident = re.search(r"[0-9a-f]{12}", str(problem["detail"]))
    assert incident is not None and problem["instance"] == f"urn:hoso:incident:{incident[0]}"
    logged = [rec for rec in caplog.records if getattr(rec, "incident", None) == incident[0]]
    assert logged and logged[0].exc_info is not None
    assert str(world.people["an"]) not in logged[0].getMessage()


def test_openapi_document_and_docs_page(client: TestClient) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    doc = spec.json()
    assert doc["info"]["title"] == "hoso — CSDLQG về CBCCVC"
    paths = doc["paths"]
    for path in (
        "/api/v1/people",
        "/api/v1/people/{personal_id}",
        "/api/v1/people/{personal_id}/versions",
        "/api/v1/people/{personal_id}/versions/{version}",
        "/api/v1/people/{personal_id}/as-of/{day}",
        "/api/v1/people/{personal_id}/diff",
        "/api/v1/people/{personal_id}/posts",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/people"]) == {"get", "post"}
    assert "put" in paths["/api/v1/people/{personal_id}"]
    assert PROBLEM in paths["/api/v1/people/{personal_id}"]["get"]["responses"]["404"]["content"]
    assert not any(p.startswith(("/ho-so", "/dang-nhap")) for p in paths)  # pages stay out
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "/openapi.json" in docs.text
    # Served from this application: no CDN.
    assert re.search(r"(src|href)=\"https?://", docs.text) is None
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_problem_type_pages(client: TestClient) -> None:
    page = client.get("/problems/version_conflict")
    assert page.status_code == 200 and "If-Match" in page.text
    assert client.get("/problems/no_such_code").status_code == 404


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


def _counts() -> tuple[int, int, int]:
    with unit_of_work() as s:
        return (
            s.execute(select(func.count()).select_from(Person)).scalar_one(),
            s.execute(select(func.count()).select_from(PersonVersion)).scalar_one(),
            s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )


def test_failed_commit_returns_5xx_and_stores_nothing(
    fresh_db_url: str, use_database: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real database (no test transaction around it): the commit itself fails."""
    use_database(fresh_db_url)
    with unit_of_work() as s:
        world = seed_world(s)
    before = _counts()
    calls: list[str] = []

    def failing_commit(self: Session) -> None:
        calls.append("commit")
        raise OSError("disk I/O error")

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        with monkeypatch.context() as patch:
            patch.setattr(Session, "commit", failing_commit)
            r = client.post(URL, json=dossier("040195000016"), headers=world.auth("hr.nghean"))
            put = client.put(
                f"{URL}/{world.people['cuong']}",
                json=dossier(world.people["cuong"], salary_step=8),
                headers=world.auth("hr.nghean"),
            )
        assert calls, "the request's commit was never attempted"
        for response in (r, put):
            problem = _problem(response, 500)
            assert problem["code"] == "internal_error"
            assert "disk" not in response.text
        assert _counts() == before
        # Once commits work again the same request succeeds: the failure was the commit.
        ok = client.post(URL, json=dossier("040195000016"), headers=world.auth("hr.nghean"))
        assert ok.status_code == 201
    after = _counts()
    assert after[:2] == (before[0] + 1, before[1] + 1)
    assert after[2] > before[2]
