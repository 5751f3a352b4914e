"""The population-registry pages through ``TestClient``: overview, queue, one person, forms.

The world is that of the review service tests (``tests/integration/population/
test_review_world.py``: four dossiers with a matched, a potential, two conflicting results),
read and decided as an HR officer of Nghệ An, an HR officer of Hà Tĩnh and the national
administrator, signed in with the session cookie as a browser is.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "population"))

from test_review_world import (  # type: ignore[import-not-found]
    BEST,
    HA_TINH,
    NGHE_AN,
    RESIDENCE,
    SECOND,
    ReviewWorld,
    build,
    deliver_proposals,
    deliver_resolutions,
    events,
    to_national,
)

from hoso.auth.principal import operator
from hoso.config import get_settings
from hoso.errors import InvalidInput
from hoso.exchange import corrections
from hoso.main import create_app
from hoso.people import service as people_service
from hoso.people.schemas import PersonWrite
from hoso.population import api as population_api
from hoso.population import views as population_views
from hoso.population.models import Decision, Outcome, PopulationMatch, PopulationRun
from hoso.web.i18n import Locale

VI = Locale("vi")
HR = operator(NGHE_AN)


def population_app() -> FastAPI:
    """The application with the population pages (mounted here until ``hoso.main`` does)."""
    app = create_app()
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/dan-cu" not in paths:
        app.include_router(population_views.router)
    if "/api/v1/population/results" not in paths:
        app.include_router(population_api.router)
    return app


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF token on the page"
    return found[1]


@pytest.fixture
def pworld(session: Session) -> ReviewWorld:
    """The review world in the test's transaction."""
    return build(session)


@pytest.fixture
def client(pworld: ReviewWorld) -> Iterator[Callable[[str | None], TestClient]]:
    """``client(username)``: a client signed in with that user's session cookie."""
    opened: list[TestClient] = []

    def make(username: str | None) -> TestClient:
        c = TestClient(population_app(), raise_server_exceptions=False, follow_redirects=False)
        c.__enter__()
        if username is not None:
            c.cookies.set("hoso_session", pworld.seed.tokens[username], domain="testserver.local")
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def _edit(session: Session, personal_id: str) -> None:
    dossier = people_service.get_by_personal_id(session, personal_id, principal=operator())
    people_service.update(
        session,
        personal_id,
        PersonWrite.model_validate(
            {
                "personal_id": personal_id,
                "managing_agency": dossier.managing_agency,
                "employing_unit": dossier.employing_unit,
                "data": {**dossier.data, "salary_step": 5, "salary_coefficient": "3.66"},
            }
        ),
        principal=operator(),
    )


# --- overview -----------------------------------------------------------------------------------


def test_overview_counts_per_agency(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    r = client("hr.nghean").get("/dan-cu")
    assert r.status_code == 200, r.text
    html = r.text
    assert unicodedata.is_normalized("NFC", html)
    assert "Đối chiếu với Cơ sở dữ liệu quốc gia về dân cư" in html
    assert re.search(r'id="so-ho-so">3<', html)
    assert re.search(r'id="so-cho-duyet">3<', html)
    assert re.search(r'id="ty-le-xac-thuc">33,3 %<', html)
    row = re.search(rf'<tr data-agency="{re.escape(NGHE_AN)}">(.*?)</tr>', html, re.S)
    assert row, html
    cells = dict(re.findall(r'data-k="([a-z_]+)">(?:<a [^>]+>)?([^<]+)<', row[1]))
    assert cells == {
        "people": "3",
        "matched": "1",
        "potential_match": "1",
        "conflict": "1",
        "not_found": "0",
        "unchecked": "0",
        "verified": "33,3 %",
        "to_review": "3",
    }
    assert f'data-agency="{HA_TINH}"' not in html
    assert 'id="form-de-xuat"' in html  # an HR officer reviews
    assert "Chưa có lần đối chiếu nào" in html
    run = PopulationRun(agency_code=None, actor="operator", registry_url="http://r",
                        status="completed", total=4, done=4)  # fmt: skip
    session.add(run)
    session.flush()
    shown = client("hr.nghean").get("/dan-cu").text
    meta = shown[shown.index('id="lan-doi-chieu"') : shown.index("</dl>")]
    assert f"#{run.id}" in meta and "Hoàn thành" in meta
    assert re.search(r'id="so-da-doi-chieu">4<', meta)
    everyone = client("admin").get("/dan-cu").text
    assert f'data-agency="{HA_TINH}"' in everyone and re.search(r'id="so-ho-so">4<', everyone)
    english = client("hr.nghean").get("/dan-cu?lang=en").text
    assert "Matching with the national population registry" in english
    assert re.search(r'id="ty-le-xac-thuc">33.3 %<', english)
    assert client("hr.nghean").get(f"/dan-cu?co_quan={HA_TINH}").status_code == 403
    assert client("analyst.nghean").get("/dan-cu").status_code == 200  # reads, no forms
    assert 'id="form-de-xuat"' not in client("analyst.nghean").get("/dan-cu").text
    anonymous = client(None).get("/dan-cu")
    assert anonymous.status_code == 303 and "/dang-nhap" in anonymous.headers["location"]


# --- the queue ----------------------------------------------------------------------------------


def test_queue_lists_by_kind(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    page = c.get("/dan-cu/duyet")
    assert page.status_code == 200
    people = re.findall(r'<tr data-person="(\d+)" data-kind="([a-z_]+)"', page.text)
    assert dict(people) == {
        pworld.pids["an"]: "differences",
        pworld.pids["binh"]: "potential_match",
        pworld.pids["cuong"]: "conflict",
    }
    assert re.search(r'id="so-ket-qua">3<', page.text)
    assert "2 ứng viên, cao nhất 93,0 %" in page.text
    assert "Sinh ngày … tháng … năm" in page.text  # cuong's differing field, labelled
    potential = c.get("/dan-cu/duyet?loai=potential_match").text
    assert re.findall(r'<tr data-person="(\d+)"', potential) == [pworld.pids["binh"]]
    partial = c.get("/dan-cu/duyet?loai=conflict", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<section id="hang-cho"')
    assert re.findall(r'<tr data-person="(\d+)"', partial.text) == [pworld.pids["cuong"]]
    assert "Không có kết quả nào cần duyệt" in c.get("/dan-cu/duyet?quyet_dinh=rejected").text
    assert events(session, "population:results:read")[0].data["rows"] == 3
    other = client("hr.hatinh").get("/dan-cu/duyet").text
    assert re.findall(r'<tr data-person="(\d+)"', other) == [pworld.pids["dung"]]


def test_bulk_confirm_from_the_queue(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    token = _csrf(c.get("/dan-cu/duyet").text)
    nothing = c.post("/dan-cu/duyet", data={"csrf": token, "hanh_dong": "confirm"})
    assert nothing.status_code == 422 and "Chưa chọn kết quả nào" in nothing.text
    no_token = c.post("/dan-cu/duyet", data={"hanh_dong": "confirm", "chon": pworld.pids["an"]})
    assert no_token.status_code == 403
    to_national(session, pworld.pids["an"])
    done = c.post(
        "/dan-cu/duyet",
        data={
            "csrf": token,
            "hanh_dong": "confirm",
            "de_xuat": "1",
            "chon": [pworld.pids["an"], pworld.pids["binh"], pworld.pids["dung"]],
        },
    )
    assert done.status_code == 200, done.text
    outcome = done.text[done.text.index('id="ket-qua-xu-ly"') : done.text.index("status-tabs")]
    assert f'data-person="{pworld.pids["an"]}"' in outcome
    assert "đã đề xuất 2 đính chính" in outcome
    assert "Không có kết quả đối chiếu" in outcome  # dung: another province's
    session.expire_all()
    binh = session.get(PopulationMatch, pworld.person_id("binh"))
    assert binh is not None and binh.registry_personal_id == BEST
    assert binh.decision == Decision.CONFIRMED
    assert session.get(PopulationMatch, pworld.person_id("dung")).decision == "pending"  # type: ignore[union-attr]
    # the queue now holds only cuong
    rows = re.findall(r'<tr data-person="(\d+)"', done.text[done.text.index("hang-cho") :])
    assert rows == [pworld.pids["cuong"]]


# --- one person ---------------------------------------------------------------------------------


def test_potential_match_side_by_side_and_confirm(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    url = f"/dan-cu/ho-so/{pworld.pids['binh']}"
    page = c.get(url)
    assert page.status_code == 200, page.text
    html = page.text
    cards = re.findall(r'data-candidate="(\d+)"', html)
    assert cards == [BEST, SECOND]
    probabilities = re.findall(r'<strong data-k="probability">([^<]+)</strong>', html)
    assert probabilities == ["93,0 %", "61,0 %"]
    best = html[html.index(f'data-candidate="{BEST}"') : html.index(f'data-candidate="{SECOND}"')]
    assert re.search(r'<tr data-field="religion_code" class="is-diff">', best)
    assert re.search(r'<tr data-field="birth_name" class="is-same">', best)
    assert "Họ và tên khai sinh" in best and "exact" in best
    assert "Công giáo" in best  # the registry's religion code 02, labelled
    assert f'value="confirm:{BEST}"' in html and 'value="reject"' in html
    token = _csrf(html)
    foreign = c.post(
        f"{url}/quyet-dinh",
        data={"csrf": token, "hanh_dong": f"confirm:{BEST}"},
        headers={"Origin": "https://example.org"},
    )
    assert foreign.status_code == 403
    done = c.post(f"{url}/quyet-dinh", data={"csrf": token, "hanh_dong": f"confirm:{BEST}"})
    assert done.status_code == 200, done.text
    assert "Đã xác nhận kết quả theo CSDLQG về dân cư" in done.text
    assert re.search(r'id="quyet-dinh"><span class="badge [^"]+">Đã xác nhận<', done.text)
    assert re.search(r'id="ket-qua"><span class="badge [^"]+">Khớp<', done.text)
    assert re.search(rf'id="so-dinh-danh-dan-cu">{BEST}<', done.text)
    assert 'value="confirm:' not in done.text  # decided: no more forms
    session.expire_all()
    match = session.get(PopulationMatch, pworld.person_id("binh"))
    assert match is not None and match.outcome == Outcome.MATCHED
    assert match.decided_by == "hr.nghean"
    # the side-by-side table now compares with the confirmed record
    assert re.search(r'<tr data-field="religion_code" class="is-diff pop-mastered">', done.text)


def test_conflict_reject_needs_a_reason(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    url = f"/dan-cu/ho-so/{pworld.pids['cuong']}"
    html = c.get(url).text
    row = re.search(
        r'<tr data-field="date_of_birth" class="is-diff pop-identity">(.*?)</tr>', html, re.S
    )
    assert row and "1978-11-30" in row[1] and "1978-11-03" in row[1] and "Khác" in row[1]
    assert re.search(r'<tr data-field="ethnicity_code" class="is-same">', html)
    assert '<label for="ly_do">' in html  # the reason box is labelled
    token = _csrf(html)
    refused = c.post(f"{url}/quyet-dinh", data={"csrf": token, "hanh_dong": "reject"})
    assert refused.status_code == 422 and "Từ chối cần nêu lý do" in refused.text
    session.expire_all()
    assert session.get(PopulationMatch, pworld.person_id("cuong")).decision == "pending"  # type: ignore[union-attr]
    reason = "Giấy khai sinh ghi ngày 30/11/1978"
    done = c.post(f"{url}/quyet-dinh", data={"csrf": token, "hanh_dong": "reject", "ly_do": reason})
    assert done.status_code == 200
    assert "Đã từ chối kết quả đối chiếu" in done.text
    assert f'id="ly-do-quyet-dinh">{reason}<' in done.text
    assert 'id="form-de-xuat"' not in done.text  # the dossier is right: nothing to propose
    assert client("hr.hatinh").get(url).status_code == 404


def test_a_stale_result_cannot_be_decided(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    url = f"/dan-cu/ho-so/{pworld.pids['cuong']}"
    token = _csrf(c.get(url).text)
    _edit(session, pworld.pids["cuong"])
    page = c.get(url).text
    assert 'id="da-thay-doi"' in page and 'id="form-quyet-dinh"' not in page
    refused = c.post(f"{url}/quyet-dinh", data={"csrf": token, "hanh_dong": "confirm"})
    assert refused.status_code == 409
    assert "đã thay đổi sau lần đối chiếu" in _text(refused.text)


def test_propose_and_the_correction_status(
    client: Callable[[str | None], TestClient], pworld: ReviewWorld, session: Session
) -> None:
    c = client("hr.nghean")
    an = pworld.pids["an"]
    url = f"/dan-cu/ho-so/{an}"
    to_national(session, an)
    page = c.get(url).text
    assert 'id="form-de-xuat"' in page and re.search(r'id="so-dinh-chinh">0<', page)
    residence = re.search(
        r'<tr data-field="residence_address_line" class="is-diff pop-mastered">(.*?)</tr>',
        page,
        re.S,
    )
    assert residence and RESIDENCE in residence[1]
    made = c.post("/dan-cu/de-xuat-dinh-chinh", data={"csrf": _csrf(page), "ma_dinh_danh": an})
    assert made.status_code == 200, made.text
    assert "Đã đề xuất 2 đính chính cho 1 hồ sơ." in made.text
    statuses = re.findall(r'data-field="([a-z_]+)" data-status="([a-z]+)"', made.text)
    assert sorted(statuses) == [
        ("religion_code", "proposed"),
        ("residence_address_line", "proposed"),
    ]
    assert "Đã đề xuất, chờ cơ quan quản lý" in made.text
    assert 'id="form-de-xuat"' not in made.text  # everything is proposed
    # the agency answers: accept one, reject the other with a reason
    deliver_proposals(session)
    received = {x["field"]: x for x in corrections.list_(session, principal=HR, side="agency")}
    national = get_settings().national_node
    corrections.resolve(
        session, received["religion_code"]["correction_id"], decision="accepted", reason=None,
        principal=HR, national_node=national,
    )  # fmt: skip
    corrections.resolve(
        session, received["residence_address_line"]["correction_id"], decision="rejected",
        reason="Đã chuyển nơi ở", principal=HR, national_node=national,
    )  # fmt: skip
    deliver_resolutions(session)
    after = c.get(url).text
    statuses = dict(re.findall(r'data-field="([a-z_]+)" data-status="([a-z]+)"', after))
    assert statuses == {"religion_code": "accepted", "residence_address_line": "rejected"}
    assert "Cơ quan đã chấp nhận" in after and "Cơ quan đã từ chối" in after
    assert "Đã chuyển nơi ở" in after
    assert 'id="da-thay-doi"' in after  # the accepted draft is a new version
    # proposing for the whole scope again makes nothing new
    assert 'name="csrf"' not in after  # nothing left to decide or propose here
    overview = c.post("/dan-cu/de-xuat-dinh-chinh", data={"csrf": _csrf(page)})
    assert overview.status_code == 200
    assert "Đã đề xuất 0 đính chính cho 0 hồ sơ." in overview.text


def test_form_parsers_and_formatting() -> None:
    form = FormData([("hanh_dong", "reject"), ("chon", "040085000001"), ("ly_do", " sai ")])
    assert population_views.parse_bulk(form) == ("rejected", ["040085000001"], "sai")
    with pytest.raises(InvalidInput) as no_reason:
        population_views.parse_bulk(FormData([("hanh_dong", "reject"), ("chon", "040085000001")]))
    assert no_reason.value.issues[0].field == "ly_do"
    with pytest.raises(InvalidInput) as bad_id:
        population_views.parse_bulk(FormData([("hanh_dong", "confirm"), ("chon", "12")]))
    assert bad_id.value.issues[0].field == "chon"
    assert population_views.parse_decision(FormData([("hanh_dong", f"confirm:{BEST}")])) == (
        "confirmed",
        BEST,
        None,
    )
    with pytest.raises(InvalidInput):
        population_views.parse_decision(FormData([("hanh_dong", "confirm:abc")]))
    assert population_views.percent_text(VI, 0.5) == "50,0 %"
    assert population_views.percent_text(Locale("en"), 0.125) == "12.5 %"
    assert population_views.percent_text(VI, None) == "—"
    assert population_views.comparison_text({"kind": "jaro", "score": 0.97}, VI) == (
        "kind: jaro, score: 0,97"
    )
    # every level of the probabilistic model has words in both languages
    from hoso.population import probabilistic

    levels = {lv.label for c in probabilistic._spec() for lv in c.levels} | {"missing"}
    assert levels <= set(population_views.LEVEL_LABELS)
    assert (
        population_views.comparison_text(
            {"level": "same_ward", "ours": "00004", "registry": "00004", "weight": 11.46}, VI
        )
        == "cùng xã, phường (trọng số +11,5)"
    )
    assert population_views.comparison_text({"level": "one_typo", "weight": -0.5},
                                            Locale("en")) == "one digit off (weight -0.5)"  # fmt: skip
    assert population_views.comparison_text(True, VI) == "trùng"
    assert population_views.comparison_text({"label_vi": "gần đúng", "label_en": "close"},
                                            Locale("en")) == "close"  # fmt: skip
