"""A real browser on the data-quality pages: scores, drill-down, a person, accepting a fix.

The database is seeded as for the other browser test (``e2e_support.seed``: a generated tree,
60 people, an HR officer of the agency with the most people), then one of that agency's
people gets a birth name in title case (SACH-005), the engine runs and the cleaning service
proposes fixes, all in this process. A uvicorn subprocess serves the application with the
quality pages; Chromium signs in, reads the scores, drills into a rule and pages it with
HTMX, opens a person's quality panel and accepts the proposed fix, which shows the new draft
version of the dossier. Screenshots go to ``/tmp/hoso_shots`` (``HOSO_SHOTS_DIR``).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import SHOTS, Seeded, seed, serve
from playwright.sync_api import Page, expect
from sqlalchemy import select

from hoso.auth.principal import operator
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.generate.people import DEFAULT_AS_OF
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.quality import cleaning, service
from hoso.quality import views as quality_views
from hoso.quality.models import QualityRun
from hoso.web.i18n import Locale

pytestmark = [pytest.mark.slow, pytest.mark.browser]

VI = Locale("vi")


@dataclass(frozen=True)
class QualitySeed:
    """What the browser test looks for."""

    base: Seeded
    agency: str
    personal_id: str
    """The person with the title-case birth name (a SACH-005 fix proposed)."""
    fixed_name: str
    version: int
    overall: str
    records: str
    busiest_rule: str
    busiest_count: int


def _seed_quality(base: Seeded) -> QualitySeed:
    with unit_of_work() as s:
        agency = s.execute(
            select(Person.managing_agency_code).where(Person.personal_id == base.personal_id)
        ).scalar_one()
        person, version = s.execute(
            select(Person, PersonVersion)
            .join(PersonVersion, PersonVersion.person_id == Person.id)
            .where(
                Person.managing_agency_code == agency,
                Person.personal_id != base.personal_id,
                PersonVersion.version == Person.current_version,
            )
            .order_by(Person.personal_id)
            .limit(1)
        ).one()
        doc = {
            "personal_id": person.personal_id,
            "managing_agency": person.managing_agency_code,
            "employing_unit": person.employing_unit_code,
            "data": copy.deepcopy(version.data),
        }
        name = str(doc["data"]["birth_name"])
        doc["data"]["birth_name"] = name.title()
        stored = people_service.update(
            s, person.personal_id, PersonWrite.model_validate(doc), principal=operator()
        )
        pid, base_version = person.personal_id, stored.version
    with unit_of_work() as s:
        run = service.run(s, actor="e2e", as_of=DEFAULT_AS_OF, full=True)
        report = cleaning.propose(s, principal=operator(agency), agency=agency)
        assert report.created >= 1, report
        latest = service.latest_agency_scores(s, agency=agency)
        assert latest and latest[0].run_id == run.run_id
        run_row = s.get(QualityRun, run.run_id)
        assert run_row is not None
        total = service.subtree_report(s, agency, run_row)
        by_rule = total["findings_by_rule"]
        busiest = max(sorted(by_rule), key=lambda k: sum(by_rule[k].values()))
        return QualitySeed(
            base=base,
            agency=agency,
            personal_id=pid,
            fixed_name=name.upper(),
            version=base_version,
            overall=VI.decimal(f"{total['scores']['overall']:.1f}"),
            records=VI.number(total["records"]),
            busiest_rule=busiest,
            busiest_count=sum(by_rule[busiest].values()),
        )


@pytest.fixture
def quality_server(
    fresh_db_url: str,
    use_database: Callable[[str], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, QualitySeed]]:
    """Seed, run the engine, propose fixes; then serve the app from a uvicorn subprocess."""
    quality_dir = tmp_path / "quality"
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(quality_dir))
    use_database(fresh_db_url)
    seeded = _seed_quality(seed())
    try:
        with serve(
            fresh_db_url, tmp_path / "uvicorn.log", HOSO_QUALITY_DIR=str(quality_dir)
        ) as base_url:
            yield base_url, seeded
    finally:
        get_settings.cache_clear()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_scores_drilldown_person_and_accepting_a_fix(
    quality_server: tuple[str, QualitySeed], page: Page
) -> None:
    base_url, q = quality_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    external: list[str] = []
    page.on(
        "request", lambda req: None if req.url.startswith(base_url) else external.append(req.url)
    )

    # Sign in, then the quality page of the officer's scope.
    page.goto(base_url + "/dang-nhap?next=/chat-luong")
    page.get_by_label("Tên đăng nhập").fill(q.base.username)
    page.get_by_label("Mật khẩu").fill(q.base.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/chat-luong$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chất lượng dữ liệu")
    expect(page.locator("#so-ho-so")).to_have_text(q.records)
    overall = page.locator('[data-dimension="overall"] .stat-value')
    expect(overall).to_have_text(q.overall)
    expect(page.locator("#bang-co-quan")).to_contain_text(q.base.unit_name)
    expect(page.locator("svg.spark").first).to_be_visible()
    assert unicodedata.is_normalized("NFC", page.locator("body").inner_text())
    _shot(page, "q01-chat-luong")

    # Drill into the busiest rule; page its people with HTMX.
    page.locator(f'#bang-quy-tac tr[data-rule="{q.busiest_rule}"] a').first.click()
    expect(page).to_have_url(re.compile(rf"/chat-luong/quy-tac/{q.busiest_rule}$"))
    expect(page.locator("#phat-hien .count")).to_contain_text(VI.number(q.busiest_count))
    rows = page.locator("#bang-phat-hien tbody tr")
    expect(rows).to_have_count(min(q.busiest_count, quality_views.PAGE_SIZE))
    first_page = rows.first.get_attribute("data-person")
    _shot(page, "q02-quy-tac")
    assert q.busiest_count > quality_views.PAGE_SIZE, "too few findings to page"
    page.get_by_role("link", name=re.compile("Trang sau")).click()
    expect(page).to_have_url(re.compile(r"trang=2"))
    expect(page.locator("#phat-hien .pager")).to_contain_text("Trang 2")
    assert first_page is not None
    expect(rows.first).not_to_have_attribute("data-person", first_page)

    # The SACH-005 finding leads to the person's quality panel.
    page.goto(base_url + "/chat-luong/quy-tac/SACH-005")
    page.locator(f'tr[data-person="{q.personal_id}"] a.name').click()
    expect(page).to_have_url(re.compile(rf"/chat-luong/ho-so/{q.personal_id}$"))
    finding = page.locator('tr[data-rule="SACH-005"]')
    expect(finding).to_contain_text("Họ và tên khai sinh")
    expect(page.locator("#diem-ho-so")).to_be_visible()
    _shot(page, "q03-ho-so")

    # The review queue: accept the proposal for that person; the new draft version opens.
    page.goto(base_url + "/chat-luong")
    page.get_by_role("link", name=re.compile("Đề xuất làm sạch chờ duyệt")).click()
    expect(page).to_have_url(re.compile(r"/chat-luong/de-xuat$"))
    card = page.locator("article.fix-card", has=page.locator(f'a[href="/ho-so/{q.personal_id}"]'))
    expect(card).to_contain_text("Họ và tên khai sinh")
    expect(card.locator("td.new")).to_contain_text(q.fixed_name)
    _shot(page, "q04-de-xuat")
    card.get_by_role("button", name="Chấp nhận").click()
    outcome = page.locator("#ket-qua-xu-ly")
    expect(outcome).to_contain_text("Đã chấp nhận")
    link = outcome.locator("a.new-version")
    expect(link).to_have_text(f"phiên bản nháp mới v{q.version + 1}")
    _shot(page, "q05-da-chap-nhan")
    link.click()
    expect(page).to_have_url(re.compile(rf"/ho-so/{q.personal_id}/phien-ban/{q.version + 1}$"))
    expect(page.locator("h1.person-name")).to_have_text(q.fixed_name)
    expect(page.locator(".version-box")).to_contain_text("Đang kê khai")
    _shot(page, "q06-phien-ban-moi")

    assert errors == [], errors
    assert external == [], external
