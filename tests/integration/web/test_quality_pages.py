"""The data-quality pages: scores and trend, drill-down, XLSX, runs and the review queue.

Generated people (10 % with a labelled defect) are stored through the real services, the
real engine runs twice (a full run, then an incremental one after one change, so there is a
trend), and the pages are read through ``TestClient`` as four users: an HR officer and an
agency administrator of the biggest province, an HR officer of another province and a
national administrator. Numbers on the pages are compared with what the service reports.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.testclient import TestClient

from hoso.audit.models import AuditEvent
from hoso.auth import service as auth_service
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.catalog.loader import get_catalog
from hoso.config import get_settings
from hoso.errors import InvalidInput
from hoso.generate.orgs import generate_orgs
from hoso.generate.people import DEFAULT_AS_OF, generate_people
from hoso.main import create_app
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.quality import cleaning, service
from hoso.quality import views as quality_views
from hoso.quality.models import FixStatus, QualityFix, QualityRun, QualityScore
from hoso.web.i18n import Locale

COUNT = 150
SEED = 11
PASSWORD = "mat-khau-chat-luong-1"
VI = Locale("vi")


def _text(html: str) -> str:
    """Visible text, tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def quality_app() -> FastAPI:
    """The application with the quality pages (mounted here until ``hoso.main`` does)."""
    app = create_app()
    if not any(getattr(r, "path", None) == "/chat-luong" for r in app.routes):
        app.include_router(quality_views.router)
    return app


@dataclass
class QWorld:
    """What the fixture stored."""

    big: str
    """The province with the most people (the officers' scope)."""
    other: str
    """Another province."""
    lines: list[dict[str, Any]]
    tokens: dict[str, str] = field(default_factory=dict)
    runs: list[int] = field(default_factory=list)

    def people_of(self, agency: str) -> list[str]:
        """Personal IDs managed by ``agency``."""
        return [x["personal_id"] for x in self.lines if x["managing_agency"] == agency]


@lru_cache
def _hash() -> str:
    return auth_service.HASHER.hash(PASSWORD)


@pytest.fixture
def quality_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private snapshot folder and no watermark margin (changes are seconds apart here)."""
    folder = tmp_path / "quality"
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(folder))
    monkeypatch.setenv("HOSO_QUALITY_MARGIN_SECONDS", "0")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def _store(session: Session, monkeypatch: pytest.MonkeyPatch) -> QWorld:
    op = operator()
    orgs = generate_orgs(SEED, 3, communes_per_province=2)
    orgs_service.upsert_units(session, [OrgUnitIn.model_validate(u) for u in orgs], principal=op)
    lines = [line for line, _ in generate_people(COUNT, SEED, orgs=orgs, defect_rate=0.1)]
    batch = [people_service.check_write(session, line, principal=op) for line in lines]
    people_service.store_batch(session, batch, principal=op, source="import")
    # approved and synced, as an agency's records are; a few left unsigned (SONG-011)
    moment = dt.datetime.combine(DEFAULT_AS_OF, dt.time(3), tzinfo=dt.UTC)
    unsigned = [x["personal_id"] for x in lines[::10]]
    signed = select(Person.id).where(Person.personal_id.not_in(unsigned))
    session.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id.in_(signed))
        .values(
            approval={"approved_at": moment.isoformat().replace("+00:00", "Z")},
            approved_version=1,
            status="SYNCED",
            status_changed_at=moment,
        )
    )
    session.execute(update(Person).values(updated_at=moment, created_at=moment))
    provinces = sorted(
        {x["managing_agency"] for x in lines if ".H" in x["managing_agency"]},
        key=lambda code: -sum(x["managing_agency"] == code for x in lines),
    )
    assert len(provinces) >= 2, provinces
    world = QWorld(big=provinces[0], other=provinces[1], lines=lines)
    monkeypatch.setattr(auth_service, "hash_password", lambda _p: _hash())
    ministry = next(x["managing_agency"] for x in lines if ".G" in x["managing_agency"])
    for username, role, unit in [
        ("hr.big", "hr_officer", world.big),
        ("admin.big", "agency_admin", world.big),
        ("hr.other", "hr_officer", world.other),
        ("national", "national_admin", ministry),
        ("approver.big", "approver", world.big),
    ]:
        user = auth_service.create(
            session,
            UserCreate(
                username=username,
                full_name=f"Người dùng {username}",
                role=role,  # type: ignore[arg-type]
                org_unit_code=unit,
                password=PASSWORD,
            ),
            principal=op,
        )
        world.tokens[username] = auth_service.issue_token(user)
    session.flush()
    return world


@pytest.fixture
def qworld(session: Session, quality_dir: Path, monkeypatch: pytest.MonkeyPatch) -> QWorld:
    """The people, the users, a full run and an incremental run after one change."""
    world = _store(session, monkeypatch)
    world.runs.append(service.run(session, actor="tester", as_of=DEFAULT_AS_OF, full=True).run_id)
    line = next(x for x in world.lines if x["managing_agency"] == world.big)
    changed = copy.deepcopy(line)
    changed["data"]["date_of_birth"] = "2030-01-01"  # after the as-of date: new findings
    people_service.update(
        session, line["personal_id"], PersonWrite.model_validate(changed), principal=operator()
    )
    session.flush()
    world.runs.append(service.run(session, actor="tester", as_of=DEFAULT_AS_OF).run_id)
    return world


@pytest.fixture
def client(qworld: QWorld) -> Iterator[Callable[[str | None], TestClient]]:
    """``client(username)``: a browser-like client signed in as ``username`` (None: nobody)."""
    app = quality_app()
    opened: list[TestClient] = []

    def make(username: str | None) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        c.__enter__()
        opened.append(c)
        if username is not None:
            c.cookies.set("hoso_session", qworld.tokens[username], domain="testserver.local")
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def _score(value: float) -> str:
    return VI.decimal(f"{value:.1f}")


def _row(html: str, attr: str, key: str) -> str:
    m = re.search(rf'<tr {attr}="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert m, f"no row {attr}={key}"
    return m[1]


def _cell(row: str, key: str) -> str:
    m = re.search(rf'data-k="{key}">([^<]*)<', row)
    assert m, f"no cell {key}"
    return m[1].strip()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert m, "no CSRF token in the page"
    return m[1]


# --- the scores page -------------------------------------------------------------------------


def test_national_overview_shows_the_service_numbers(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    page = client("national").get("/chat-luong")
    assert page.status_code == 200, page.text
    html = page.text
    run = session.get(QualityRun, qworld.runs[-1])
    assert run is not None
    assert f'href="/chat-luong/lan-chay/{run.id}"' in html
    assert "tăng dần" in _text(html) and VI.date(run.as_of) in html
    rows = service.latest_agency_scores(session)
    everyone = next(r for r in rows if r.agency_code == service.ALL)
    assert re.search(rf'id="so-ho-so">{VI.number(everyone.records)}<', html)
    assert re.search(rf'id="so-dat">{VI.number(everyone.records_passed)}<', html)
    assert re.search(rf'id="ty-le-du">{re.escape(_score(everyone.complete_records))} %<', html)
    for key in ("dung", "du", "sach", "song", "overall"):
        card = re.search(rf'data-dimension="{key}">.*?stat-value">([^<]+)<', html, re.S)
        assert card and card[1] == _score(getattr(everyone, key)), key
    agencies = [r for r in rows if r.agency_code != service.ALL]
    assert {r.agency_code for r in agencies} == {x["managing_agency"] for x in qworld.lines}
    for r in agencies:
        row = _row(html, "data-agency", r.agency_code)
        assert _cell(row, "records") == VI.number(r.records)
        assert _cell(row, "passed") == VI.number(r.records_passed)
        assert _cell(row, "complete") == _score(r.complete_records)
        for key in ("dung", "du", "sach", "song", "overall"):
            assert _cell(row, key) == _score(getattr(r, key)), (r.agency_code, key)
        # the trend over the two runs: a line of two points
        trend = service.trend(session, r.agency_code)
        assert len(trend) == 2
        points = re.search(r'<polyline fill="none" points="([^"]+)"', row)
        assert points and len(points[1].split()) == 2
    # the worst rules: the report's counts, most first, with the rule's Vietnamese text
    by_rule = everyone.report["findings_by_rule"]
    rules = get_catalog().rule_by_id
    expected = sorted(  # most findings first, errors before warnings on a tie, then the id
        by_rule,
        key=lambda k: (-sum(by_rule[k].values()), rules[k].severity != "error", k),
    )[: quality_views.WORST_RULES]
    shown = re.findall(r'<tr data-rule="([A-Z]+-\d{3})">', html)
    assert shown == expected
    counts = [sum(by_rule[k].values()) for k in shown]
    assert counts == sorted(counts, reverse=True)
    top = rules[shown[0]]
    first = _row(html, "data-rule", shown[0])
    assert f">{VI.number(counts[0])}</a>" in first
    assert top.description_vi in unicodedata.normalize("NFC", _text(first))
    # the rules not evaluated, with the reason
    assert run.not_evaluated, "expected rules without input (no registry view)"
    section = html[html.index('id="chua-danh-gia"') :]
    for ne in run.not_evaluated:
        assert ne["rule_id"] in section
        assert ne["reason_vi"] in section
    assert unicodedata.is_normalized("NFC", _text(html))


def test_scoped_overview_shows_only_the_subtree(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    html = client("hr.big").get("/chat-luong").text
    shown = set(re.findall(r'<tr data-agency="([^"]+)">', html))
    codes = set(service.agency_codes(session, qworld.big))
    assert shown and shown <= codes
    assert qworld.other not in shown
    run = session.get(QualityRun, qworld.runs[-1])
    assert run is not None
    report = service.subtree_report(session, qworld.big, run)
    assert report["records"] == len(qworld.people_of(qworld.big))
    assert re.search(rf'id="so-ho-so">{VI.number(report["records"])}<', html)
    card = re.search(r'data-dimension="overall">.*?stat-value">([^<]+)<', html, re.S)
    assert card and card[1] == _score(report["scores"]["overall"])
    # the HR officer may not start a run; the agency administrator may
    assert 'action="/chat-luong/chay"' not in html
    assert 'action="/chat-luong/chay"' in client("admin.big").get("/chat-luong").text
    # the agency page of the province shows the same subtree
    agency = client("hr.big").get(f"/chat-luong/co-quan/{qworld.big}")
    assert agency.status_code == 200
    assert re.search(rf'id="so-ho-so">{VI.number(report["records"])}<', agency.text)


def test_english_toggle(client: Callable[[str | None], TestClient]) -> None:
    page = client("hr.big").get("/chat-luong?lang=en")
    text = _text(page.text)
    assert "Data quality: correct, complete, clean, live" in text
    assert "Rules with the most findings" in text
    assert "Quy tắc có nhiều phát hiện nhất" not in text


def test_scope_refusals(client: Callable[[str | None], TestClient], qworld: QWorld) -> None:
    big_person = qworld.people_of(qworld.big)[0]
    other = client("hr.other")
    assert other.get(f"/chat-luong/co-quan/{qworld.big}").status_code == 403
    assert other.get(f"/chat-luong/co-quan/{qworld.big}/quy-tac/DU-001").status_code == 403
    assert other.get(f"/chat-luong/phat-hien.xlsx?co_quan={qworld.big}").status_code == 403
    assert other.get(f"/chat-luong/ho-so/{big_person}").status_code == 404
    assert other.get(f"/chat-luong/de-xuat?co_quan={qworld.big}").status_code == 403
    assert other.get("/chat-luong/co-quan/KHONG.CO").status_code == 404
    assert other.get(f"/chat-luong/co-quan/{qworld.other}").status_code == 200
    # the approver reads quality but reviews no fixes
    assert client("approver.big").get("/chat-luong").status_code == 200
    assert client("approver.big").get("/chat-luong/de-xuat").status_code == 403
    # nobody signed in: to the sign-in page
    anon = client(None).get("/chat-luong")
    assert anon.status_code == 303 and anon.headers["location"].startswith("/dang-nhap")


def test_no_run_yet(
    session: Session,
    quality_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _store(session, monkeypatch)
    with TestClient(quality_app(), raise_server_exceptions=False, follow_redirects=False) as c:
        c.cookies.set("hoso_session", world.tokens["admin.big"], domain="testserver.local")
        page = c.get("/chat-luong")
    assert page.status_code == 200
    assert "Chưa có lần kiểm tra chất lượng nào" in page.text
    assert 'action="/chat-luong/chay"' in page.text


# --- drill-down --------------------------------------------------------------------------------


def _busiest_rule(session: Session, agency: str) -> tuple[str, int]:
    run = session.get(QualityRun, session.execute(select(func.max(QualityRun.id))).scalar())
    assert run is not None
    by_rule = service.subtree_report(session, agency, run)["findings_by_rule"]
    rule = max(sorted(by_rule), key=lambda k: sum(by_rule[k].values()))
    return rule, sum(by_rule[rule].values())


def test_rule_drilldown_lists_the_people_paged(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    rule, total = _busiest_rule(session, qworld.big)
    assert total > quality_views.PAGE_SIZE, (rule, total)  # enough to page
    before = session.execute(
        select(func.count()).where(AuditEvent.action == "quality:findings:read")
    ).scalar_one()
    c = client("hr.big")
    page = c.get(f"/chat-luong/co-quan/{qworld.big}/quy-tac/{rule}")
    assert page.status_code == 200, page.text
    expected = list(service.iter_findings(session, agency=qworld.big, rule_id=rule))
    assert len(expected) == total
    first = expected[: quality_views.PAGE_SIZE]
    shown = re.findall(r'<tr data-person="(\d{12})">', page.text)
    assert shown == [f["personal_id"] for f in first]
    assert f"<strong>{VI.number(total)}</strong> phát hiện" in page.text
    pid = first[0]["personal_id"]
    assert f'href="/ho-so/{pid}"' in page.text and f'href="/chat-luong/ho-so/{pid}"' in page.text
    # the field label is the catalogue's
    label = quality_views.field_label(first[0]["field"], VI)
    assert label in page.text
    # counts by field add up to the total
    by_field = re.findall(r'<tr data-field="[^"]+">.*?class="num">([\d.]+)</td>', page.text)
    assert sum(int(n.replace(".", "")) for n in by_field) == total
    # page 2 through HTMX: only the list, the next people
    nxt = c.get(
        f"/chat-luong/co-quan/{qworld.big}/quy-tac/{rule}?trang=2", headers={"HX-Request": "true"}
    )
    assert nxt.status_code == 200
    assert nxt.text.lstrip().startswith('<section id="phat-hien"') and "<html" not in nxt.text
    second = re.findall(r'<tr data-person="(\d{12})">', nxt.text)
    assert second == [
        f["personal_id"] for f in expected[quality_views.PAGE_SIZE : 2 * quality_views.PAGE_SIZE]
    ]
    assert 'hx-get="/chat-luong/co-quan/' in page.text and 'hx-target="#phat-hien"' in page.text
    after = session.execute(
        select(func.count()).where(AuditEvent.action == "quality:findings:read")
    ).scalar_one()
    assert after == before + 2  # every read of people's findings is audited
    # the same rule over the officer's whole scope
    scope = c.get(f"/chat-luong/quy-tac/{rule}")
    assert re.findall(r'<tr data-person="(\d{12})">', scope.text) == shown
    assert c.get("/chat-luong/quy-tac/KHONG-000").status_code == 404


def test_person_panel(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    score = session.execute(
        select(QualityScore)
        .where(QualityScore.managing_agency_code == qworld.big, QualityScore.errors > 0)
        .order_by(QualityScore.overall, QualityScore.personal_id)
        .limit(1)
    ).scalar_one()
    page = client("hr.big").get(f"/chat-luong/ho-so/{score.personal_id}")
    assert page.status_code == 200, page.text
    html = page.text
    for key in ("dung", "du", "sach", "song", "overall"):
        cell = re.search(rf'data-dimension="{key}"><dt>[^<]+</dt><dd[^>]*><strong>([^<]+)<', html)
        assert cell and cell[1] == _score(getattr(score, key)), key
    assert "Chưa đạt" in html  # it has errors
    findings = list(service.iter_findings(session, personal_id=score.personal_id))
    assert findings
    assert re.search(rf'id="so-phat-hien">{len(findings)}<', html)
    rows = set(re.findall(r'<tr data-rule="([^"]+)" data-field="([^"]+)">', html))
    assert rows == {(f["rule_id"], f["field"]) for f in findings}
    for f in findings:
        assert quality_views.field_label(f["field"], VI) in html
    assert f'href="/ho-so/{score.personal_id}"' in html


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_download(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    r = client("hr.big").get("/chat-luong/phat-hien.xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"phat-hien-{qworld.big}" in r.headers["content-disposition"]
    sheet = list(
        openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)["Phát hiện"].iter_rows(
            values_only=True
        )
    )
    total = service.count_findings(session, agency=qworld.big)
    assert total and len(sheet) == total + 1
    assert str(sheet[0][0]).startswith("Số định danh")
    pids = {row[0] for row in sheet[1:]}
    assert pids <= set(qworld.people_of(qworld.big))
    names = {row[1] for row in sheet[1:]}
    assert None not in names  # with the person's name
    event = session.execute(
        select(AuditEvent)
        .where(AuditEvent.action == "quality:findings:read")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one()
    assert event.actor == "hr.big" and event.data["rows"] == total
    assert event.data["agency"] == qworld.big
    rule, count = _busiest_rule(session, qworld.big)
    one = client("hr.big").get(f"/chat-luong/phat-hien.xlsx?quy_tac={rule}")
    rows = list(
        openpyxl.load_workbook(io.BytesIO(one.content), read_only=True)["Phát hiện"].iter_rows(
            values_only=True
        )
    )
    assert len(rows) == count + 1 and {row[3] for row in rows[1:]} == {rule}


# --- runs -----------------------------------------------------------------------------------


def test_run_button(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    admin = client("admin.big")
    token = _csrf(admin.get("/chat-luong").text)
    runs = session.execute(select(func.count()).select_from(QualityRun)).scalar_one()
    refused = admin.post("/chat-luong/chay", data={"csrf": "0" * 64})
    assert refused.status_code == 403
    foreign = admin.post(
        "/chat-luong/chay", data={"csrf": token}, headers={"Origin": "https://example.org"}
    )
    assert foreign.status_code == 403
    officer = client("hr.big")
    denied = officer.post(
        "/chat-luong/chay", data={"csrf": _csrf(officer.get("/chat-luong/de-xuat").text)}
    )
    assert denied.status_code == 403
    assert session.execute(select(func.count()).select_from(QualityRun)).scalar_one() == runs
    done = admin.post("/chat-luong/chay", data={"csrf": token, "profile": "p109", "full": "true"})
    assert done.status_code == 303, done.text
    run = session.execute(select(QualityRun).order_by(QualityRun.id.desc()).limit(1)).scalar_one()
    assert done.headers["location"] == f"/chat-luong/lan-chay/{run.id}"
    assert run.profile == "p109" and run.kind == "full" and run.agency_code == qworld.big
    assert run.actor == "admin.big"
    summary = admin.get(done.headers["location"])
    assert summary.status_code == 200
    assert re.search(rf'id="so-kiem-tra">{VI.number(run.records_checked)}<', summary.text)
    assert re.search(rf'id="so-phat-hien">{VI.number(run.findings)}<', summary.text)
    assert run.records_checked == len(qworld.people_of(qworld.big))
    # another province's scoped run is not shown
    assert client("hr.other").get(done.headers["location"]).status_code == 404


# --- the review queue ---------------------------------------------------------------------------


def _fix_ids(html: str) -> list[int]:
    return [
        int(x)
        for x in re.findall(r'<article class="card fix-card fix-proposed" id="de-xuat-(\d+)"', html)
    ]


def add_cleanable_defects(session: Session, world: QWorld) -> list[str]:
    """Give five people of the big province text a cleaning rule can fix, then re-check."""
    changed = []
    lines = [x for x in world.lines if x["managing_agency"] == world.big][2:7]
    for i, line in enumerate(lines):
        doc = copy.deepcopy(line)
        name = doc["data"]["birth_name"]
        if i % 3 == 0:
            doc["data"]["birth_name"] = name.title()  # SACH-005: not in upper case
        elif i % 3 == 1:
            doc["data"]["birth_name"] = name.lower()  # SACH-005 too
        else:
            doc["data"]["birth_name"] = name.replace(" ", "  ", 1)  # SACH-006: double space
        people_service.update(
            session, line["personal_id"], PersonWrite.model_validate(doc), principal=operator()
        )
        changed.append(line["personal_id"])
    session.flush()
    world.runs.append(service.run(session, actor="tester", as_of=DEFAULT_AS_OF).run_id)
    return changed


def test_review_queue_propose_accept_reject(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    defective = add_cleanable_defects(session, qworld)
    c = client("hr.big")
    queue = c.get("/chat-luong/de-xuat")
    assert queue.status_code == 200
    token = _csrf(queue.text)
    assert c.post("/chat-luong/de-xuat/tao", data={}).status_code == 403  # no CSRF token
    made = c.post("/chat-luong/de-xuat/tao", data={"csrf": token})
    assert made.status_code == 200, made.text
    hr = operator(qworld.big)
    pending = cleaning.count_fixes(session, principal=hr)
    fixed_people = {f.personal_id for f in cleaning.list_fixes(session, principal=hr, limit=1000)}
    assert set(defective) <= fixed_people
    assert f"Đã tạo {pending} đề xuất mới" in made.text
    ids = _fix_ids(made.text)
    assert ids == [
        f.id for f in cleaning.list_fixes(session, principal=hr, limit=quality_views.FIX_PAGE_SIZE)
    ]
    fixes = {f.id: f for f in cleaning.list_fixes(session, principal=hr, limit=1000)}
    plain = [i for i in ids if not any(ch.get("ambiguous") for ch in fixes[i].changes)]
    assert len(plain) >= 5
    # each change is shown with its field label and old value
    first = fixes[plain[0]]
    card = made.text[made.text.index(f'id="de-xuat-{first.id}"') :]
    card = card[: card.index("</article>")]
    for ch in first.changes:
        assert quality_views.field_label(ch["field"], VI) in card
    # accept one
    pid = first.personal_id
    version = session.execute(
        select(Person.current_version).where(Person.personal_id == pid)
    ).scalar_one()
    one = c.post("/chat-luong/de-xuat", data={"csrf": token, "hanh_dong": f"accept:{first.id}"})
    assert one.status_code == 200, one.text
    session.expire_all()
    person = session.execute(select(Person).where(Person.personal_id == pid)).scalar_one()
    assert person.current_version == version + 1
    assert f'href="/ho-so/{pid}/phien-ban/{version + 1}"' in one.text
    assert "Đã chấp nhận" in one.text
    stored = session.get(QualityFix, first.id)
    assert stored is not None and stored.status == FixStatus.ACCEPTED
    assert stored.new_version == version + 1
    new_version = session.get(PersonVersion, (person.id, version + 1))
    assert new_version is not None and new_version.status == "DRAFT"
    for ch in first.changes:  # the draft holds the proposed values
        if ch["kind"] != cleaning.NOTE:
            assert cleaning.get_path(new_version.data, ch["field"]) == ch["new"], ch
    # accepting it again is refused, with the service's message
    again = c.post("/chat-luong/de-xuat", data={"csrf": token, "hanh_dong": f"accept:{first.id}"})
    assert "không chấp nhận được nữa" in again.text
    # reject without a reason: refused, nothing changes
    second = plain[1]
    no_reason = c.post("/chat-luong/de-xuat", data={"csrf": token, "hanh_dong": f"reject:{second}"})
    assert no_reason.status_code == 422 and "Từ chối cần nêu lý do" in no_reason.text
    session.expire_all()
    assert session.get(QualityFix, second).status == FixStatus.PROPOSED  # type: ignore[union-attr]
    rejected = c.post(
        "/chat-luong/de-xuat",
        data={"csrf": token, "hanh_dong": f"reject:{second}", f"ly_do_{second}": "Đã sửa tay"},
    )
    assert rejected.status_code == 200
    session.expire_all()
    fix = session.get(QualityFix, second)
    assert fix is not None and fix.status == FixStatus.REJECTED and fix.reason == "Đã sửa tay"
    # bulk: accept the ticked ones
    bulk = plain[2:4]
    many = c.post(
        "/chat-luong/de-xuat",
        data={"csrf": token, "hanh_dong": "accept", "chon": [str(i) for i in bulk]},
    )
    assert many.status_code == 200
    session.expire_all()
    for i in bulk:
        f = session.get(QualityFix, i)
        assert f is not None and f.status == FixStatus.ACCEPTED, f
        assert f'data-fix="{i}"' in many.text[: many.text.index("status-tabs")]
    nothing = c.post("/chat-luong/de-xuat", data={"csrf": token, "hanh_dong": "accept"})
    assert nothing.status_code == 422 and "Chưa chọn đề xuất nào" in nothing.text
    # the decided ones are listed under their status
    done = c.get("/chat-luong/de-xuat?trang_thai=accepted")
    assert f'id="de-xuat-{first.id}"' in done.text
    # another province's officer cannot decide them
    other = client("hr.other")
    refused = other.post(
        "/chat-luong/de-xuat",
        data={
            "csrf": _csrf(other.get("/chat-luong/de-xuat").text),
            "hanh_dong": f"accept:{plain[-1]}",
        },
    )
    assert refused.status_code == 404
    session.expire_all()
    assert session.get(QualityFix, plain[-1]).status == FixStatus.PROPOSED  # type: ignore[union-attr]
    # the audit trail has the decisions
    actions = set(session.execute(select(AuditEvent.action)).scalars())
    assert {"quality:fix:propose", "quality:fix:accept", "quality:fix:reject"} <= actions


def test_ambiguous_change_is_decided_by_the_radio_choice(
    client: Callable[[str | None], TestClient], qworld: QWorld, session: Session
) -> None:
    pid = qworld.people_of(qworld.big)[1]
    person = session.execute(select(Person).where(Person.personal_id == pid)).scalar_one()
    version = session.get(PersonVersion, (person.id, person.current_version))
    assert version is not None
    old = version.data.get("birth_place_text") or None
    candidates = [{"value": "Thôn Đông, xã Yên Hòa", "label": "Phương án 1"},
                  {"value": "Thôn Tây, xã Yên Hòa", "label": "Phương án 2"}]  # fmt: skip
    fix = QualityFix(
        person_id=person.id,
        personal_id=pid,
        managing_agency_code=person.managing_agency_code,
        base_version=person.current_version,
        base_content_hash=version.content_hash,
        status=FixStatus.PROPOSED,
        changes=[
            {
                "field": "birth_place_text",
                "old": old,
                "new": None,
                "rule_id": "SACH-003",
                "rule_ids": ["SACH-003"],
                "kind": "legacy_encoding",
                "ambiguous": True,
                "candidates": candidates,
                "note_vi": "Đọc được theo hai bảng mã",
                "note_en": "Reads in both encodings",
            }
        ],
        created_by="tester",
    )
    session.add(fix)
    session.flush()
    c = client("hr.big")
    queue = c.get("/chat-luong/de-xuat")
    assert f'name="lua_chon_{fix.id}_0" value="1"' in queue.text
    assert "Phương án 2" in queue.text
    token = _csrf(queue.text)
    missing = c.post("/chat-luong/de-xuat", data={"csrf": token, "hanh_dong": f"accept:{fix.id}"})
    assert "cần người duyệt chọn" in missing.text  # refused: nothing picked
    session.expire_all()
    assert session.get(QualityFix, fix.id).status == FixStatus.PROPOSED  # type: ignore[union-attr]
    chosen = c.post(
        "/chat-luong/de-xuat",
        data={"csrf": token, "hanh_dong": f"accept:{fix.id}", f"lua_chon_{fix.id}_0": "1"},
    )
    assert chosen.status_code == 200
    session.expire_all()
    dossier = people_service.get_by_personal_id(session, pid, principal=operator())
    assert dossier.data["birth_place_text"] == "Thôn Tây, xã Yên Hòa"
    assert dossier.version == version.version + 1 and dossier.status == "DRAFT"


def test_parse_helpers() -> None:
    form = FormData([("hanh_dong", "reject"), ("chon", "3"), ("chon", "1"), ("ly_do", " sai ")])
    assert quality_views.parse_decision(form) == ("reject", [1, 3], "sai")
    form = FormData([("hanh_dong", "reject:7"), ("ly_do_7", "trùng")])
    assert quality_views.parse_decision(form) == ("reject", [7], "trùng")
    with pytest.raises(InvalidInput) as no_reason:
        quality_views.parse_decision(FormData([("hanh_dong", "reject:7")]))
    assert no_reason.value.issues[0].field == "ly_do"
    with pytest.raises(InvalidInput) as bad_id:
        quality_views.parse_decision(FormData([("hanh_dong", "accept:x")]))
    assert bad_id.value.issues[0].field == "chon"
    fix = QualityFix(
        id=5,
        changes=[
            {"field": "a", "ambiguous": False, "candidates": []},
            {"field": "b", "ambiguous": True, "candidates": [{"value": "X"}, {"value": "Y"}]},
            {"field": "c", "ambiguous": True, "candidates": ["P", "Q"]},
        ],
    )
    picked = FormData([("lua_chon_5_1", "1"), ("lua_chon_5_2", "9")])
    assert quality_views.parse_choices(picked, [fix]) == {5: {"b": "Y"}}
    spark = quality_views.sparkline([80.0, 90.0, 85.0], VI)
    assert spark is not None and len(spark.points.split()) == 3
    assert spark.label == "80,0 → 90,0 → 85,0"
    ys = [float(p.split(",")[1]) for p in spark.points.split()]
    assert ys[1] < ys[2] < ys[0]  # higher score, higher on the chart
    assert quality_views.sparkline([], VI) is None
