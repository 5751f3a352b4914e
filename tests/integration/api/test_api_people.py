"""People JSON API over HTTP: list, read, versions, as-of, diff, create, update, posts."""

from __future__ import annotations

import datetime as dt

from api_seed import HA_TINH, NGHE_AN, NGHE_AN_Y_TE, TestClient, World, dossier
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hoso.people.canonical import content_hash
from hoso.people.models import Person
from hoso.web.i18n import VIETNAM_TZ

URL = "/api/v1/people"


def test_list_is_scoped_and_counts(client: TestClient, world: World) -> None:
    national = client.get(URL, headers=world.auth("admin")).json()
    assert national["total"] == 4
    nghe_an = client.get(URL, headers=world.auth("hr.nghean")).json()
    assert nghe_an["total"] == 3
    assert {p["managing_agency_code"] for p in nghe_an["items"]} == {NGHE_AN}
    ha_tinh = client.get(URL, headers=world.auth("hr.hatinh")).json()
    assert [p["personal_id"] for p in ha_tinh["items"]] == [world.people["dung"]]


def test_list_filters(client: TestClient, world: World) -> None:
    auth = world.auth("admin")

    def pids(**params: str) -> set[str]:
        body = client.get(URL, params=params, headers=auth).json()
        assert body["total"] == len(body["items"])
        return {p["personal_id"] for p in body["items"]}

    assert pids(q="nguyen van") == {world.people["an"]}
    assert pids(q="binh") == {world.people["binh"]}  # a later word, no diacritics
    assert pids(q="0400") == {world.people["an"], world.people["cuong"]}
    assert pids(q="04019") == {world.people["binh"]}  # personal-ID prefix
    assert pids(sex="F") == {world.people["binh"], world.people["dung"]}
    assert pids(agency=HA_TINH) == {world.people["dung"]}
    assert pids(unit=NGHE_AN_Y_TE) == {world.people["binh"]}
    assert pids(unit=NGHE_AN) == {world.people[k] for k in ("an", "binh", "cuong")}
    assert pids(employee_type="VC") == {world.people["binh"]}


def test_list_paging(client: TestClient, world: World) -> None:
    auth = world.auth("admin")
    first = client.get(URL, params={"limit": 3, "offset": 0}, headers=auth).json()
    second = client.get(URL, params={"limit": 3, "offset": 3}, headers=auth).json()
    assert first["total"] == second["total"] == 4
    assert (len(first["items"]), len(second["items"])) == (3, 1)
    ids = [p["personal_id"] for p in first["items"] + second["items"]]
    assert sorted(ids) == sorted(world.people.values())
    too_many = client.get(URL, params={"limit": 501}, headers=auth)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "limit"
    assert client.get(URL, params={"limit": 500}, headers=auth).status_code == 200


def test_get_current_dossier(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    r = client.get(f"{URL}/{pid}", headers=world.auth("hr.nghean"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == '"2"'
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (body["personal_id"], body["version"], body["current_version"]) == (pid, 2, 2)
    assert body["data"]["birth_name"] == "NGUYỄN VĂN AN"
    assert body["data"]["salary_step"] == 5
    assert body["content_hash"] == content_hash(body["data"])
    assert body["managing_agency"] == NGHE_AN


def test_versions_and_one_version(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    auth = world.auth("hr.nghean")
    versions = client.get(f"{URL}/{pid}/versions", headers=auth).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["previous_content_hash"] == versions[1]["content_hash"]
    assert [v["source"] for v in versions] == ["api", "import"]
    v1 = client.get(f"{URL}/{pid}/versions/1", headers=auth)
    assert v1.status_code == 200 and v1.headers["etag"] == '"1"'
    assert v1.json()["data"]["salary_step"] == 4
    assert v1.json()["current_version"] == 2
    missing = client.get(f"{URL}/{pid}/versions/9", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_as_of(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    auth = world.auth("admin")
    today = dt.datetime.now(VIETNAM_TZ).date()  # as-of days are Vietnam days
    for url in (f"{URL}/{pid}/as-of/{today.isoformat()}", f"{URL}/{pid}?as_of={today}"):
        r = client.get(url, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
    before = client.get(f"{URL}/{pid}/as-of/2000-01-01", headers=auth)
    assert before.status_code == 404
    assert "2000" in before.json()["detail_en"]
    bad = client.get(f"{URL}/{pid}/as-of/2000-02-30", headers=auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "day"


def test_diff(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    r = client.get(f"{URL}/{pid}/diff", params={"from": 1, "to": 2}, headers=world.auth("admin"))
    assert r.status_code == 200
    body = r.json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    changes = {(c["path"], c["op"], c["old"], c["new"]) for c in body["changes"]}
    assert changes == {
        ("salary_step", "changed", 4, 5),
        ("salary_coefficient", "changed", "3.33", "3.66"),
        ("work_history[1].to", "added", None, "2020-06"),
    }
    missing_param = client.get(f"{URL}/{pid}/diff", params={"from": 1}, headers=world.auth("admin"))
    assert missing_param.status_code == 422
    assert missing_param.json()["errors"][0]["field"] == "to"


def test_posts(client: TestClient, world: World) -> None:
    pid = world.people["binh"]
    posts = client.get(f"{URL}/{pid}/posts", headers=world.auth("hr.nghean")).json()
    assert posts[0]["kind"] == "primary"
    assert posts[0]["unit_code"] == NGHE_AN_Y_TE


def test_create_returns_201_location_etag(
    client: TestClient, world: World, session: Session
) -> None:
    body = dossier("040195000009", birth_name="ĐỖ THỊ HẠNH", sex="F", date_of_birth="1995-05-05")
    r = client.post(URL, json=body, headers=world.auth("hr.nghean"))
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{URL}/040195000009"
    assert r.headers["etag"] == '"1"'
    created = r.json()
    assert created["created_by"] == "hr.nghean" and created["source"] == "api"
    again = client.get(r.headers["location"], headers=world.auth("hr.nghean")).json()
    assert again["data"]["birth_name"] == "ĐỖ THỊ HẠNH"
    stored = session.execute(
        select(Person.name_search).where(Person.personal_id == "040195000009")
    ).scalar_one()
    assert stored == "do thi hanh"
    duplicate = client.post(URL, json=body, headers=world.auth("hr.nghean"))
    assert duplicate.status_code == 409
    assert duplicate.json()["status"] == 409


def test_put_with_if_match_makes_a_version(client: TestClient, world: World) -> None:
    pid = world.people["cuong"]
    auth = world.auth("hr.nghean")
    current = client.get(f"{URL}/{pid}", headers=auth)
    body = dossier(pid, birth_name="LÊ VĂN CƯỜNG", date_of_birth="1978-11-30", salary_step=6)
    r = client.put(f"{URL}/{pid}", json=body, headers={**auth, "If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    assert r.json()["data"]["salary_step"] == 6
    # Same data again: no new version, same ETag.
    same = client.put(f"{URL}/{pid}", json=body, headers={**auth, "If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["etag"] == '"2"'
    # The query form of the precondition.
    body["data"]["salary_step"] = 7
    r3 = client.put(f"{URL}/{pid}", params={"expected_version": 2}, json=body, headers=auth)
    assert r3.status_code == 200 and r3.json()["version"] == 3


def test_put_with_stale_if_match_is_409(client: TestClient, world: World, session: Session) -> None:
    pid = world.people["an"]  # at version 2
    body = dossier(pid, salary_step=9)
    r = client.put(
        f"{URL}/{pid}", json=body, headers={**world.auth("hr.nghean"), "If-Match": '"1"'}
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "version_conflict"
    assert problem["type"] == "/problems/version_conflict"
    assert "phiên bản" in problem["detail"] and "version" in problem["detail_en"]
    version = session.execute(
        select(Person.current_version).where(Person.personal_id == pid)
    ).scalar_one()
    assert version == 2


def test_put_with_malformed_if_match_is_422(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    r = client.put(
        f"{URL}/{pid}",
        json=dossier(pid),
        headers={**world.auth("hr.nghean"), "If-Match": "version two"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "If-Match"


def test_put_body_for_another_person_is_refused(client: TestClient, world: World) -> None:
    pid = world.people["an"]
    r = client.put(
        f"{URL}/{pid}", json=dossier(world.people["cuong"]), headers=world.auth("hr.nghean")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "personal_id"


def test_role_without_write_permission_is_403(
    client: TestClient, world: World, session: Session
) -> None:
    before = session.execute(select(func.count()).select_from(Person)).scalar_one()
    r = client.post(URL, json=dossier("040195000010"), headers=world.auth("analyst.nghean"))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert session.execute(select(func.count()).select_from(Person)).scalar_one() == before
    # The same role may read.
    assert (
        client.get(f"{URL}/{world.people['an']}", headers=world.auth("analyst.nghean")).status_code
        == 200
    )


def test_the_xlsx_template_downloads_with_vietnamese_labels(
    client: TestClient, world: World
) -> None:
    import io

    from openpyxl import load_workbook

    assert client.get(f"{URL}/template.xlsx").status_code == 401
    r = client.get(f"{URL}/template.xlsx", headers=world.auth("hr.nghean"))
    assert r.status_code == 200
    assert "mau_nhap_ho_so.xlsx" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(wb["ho_so"].iter_rows(min_row=1, max_row=2, values_only=True))
    assert dict(zip(rows[0], rows[1], strict=True))["date_of_birth"] == "Sinh ngày … tháng … năm"
