"""A real browser on the population-registry pages: overview, queue, confirming a match.

The database is seeded as for the other browser tests (``e2e_support.seed``: a generated
tree, 60 people, an HR officer of the agency with the most people); then two of that
agency's people get a registry result as a verification run stores it: a potential match
with two candidates and a conflict on the date of birth. A uvicorn subprocess serves the
application with the population pages; Chromium signs in, reads the overview, opens the
queue, confirms the best candidate of the potential match and sees the status change, then
rejects the conflict with a reason using the keyboard only. Screenshots go to
``/tmp/hoso_shots`` (``HOSO_SHOTS_DIR``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_support import SHOTS, Seeded, seed, serve
from playwright.sync_api import Page, expect
from sqlalchemy import select

from hoso.db.engine import unit_of_work
from hoso.people.models import Person, PersonVersion
from hoso.population.models import Outcome, PopulationMatch

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MATCHED_AT = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class PopulationSeed:
    """What the browser test looks for."""

    base: Seeded
    agency: str
    people: int
    potential: str
    potential_name: str
    best: str
    conflict: str


def _registry_view(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    from hoso.population import review

    out = {k: data[k] for k in review.mastered_fields() if data.get(k) is not None}
    out.update(changes)
    out["status"] = "alive"
    return out


def _other_number(pid: str, n: int) -> str:
    return pid[:6] + f"{(int(pid[6:]) + 7919 * n) % 1_000_000:06d}"


def _seed_population(base: Seeded) -> PopulationSeed:
    with unit_of_work() as s:
        agency = s.execute(
            select(Person.managing_agency_code).where(Person.personal_id == base.personal_id)
        ).scalar_one()
        rows = s.execute(
            select(Person, PersonVersion)
            .join(PersonVersion, PersonVersion.person_id == Person.id)
            .where(
                Person.managing_agency_code == agency,
                Person.personal_id != base.personal_id,
                PersonVersion.version == Person.current_version,
            )
            .order_by(Person.personal_id)
            .limit(2)
        ).all()
        people = len(
            s.execute(select(Person.id).where(Person.managing_agency_code == agency)).all()
        )
        (p1, v1), (p2, v2) = rows
        best, second = _other_number(p1.personal_id, 1), _other_number(p1.personal_id, 2)
        dob = str(v2.data["date_of_birth"])
        wrong_day = dob[:8] + ("01" if dob[8:] != "01" else "02")

        def match(person: Person, **kw: Any) -> PopulationMatch:
            return PopulationMatch(
                person_id=person.id,
                personal_id=person.personal_id,
                managing_agency_code=person.managing_agency_code,
                version=person.current_version,
                content_hash=person.current_content_hash,
                matched_at=MATCHED_AT,
                **kw,
            )

        s.add(
            match(
                p1,
                outcome=Outcome.POTENTIAL,
                matched_by="probabilistic",
                probability=0.94,
                candidates=[
                    {
                        "personal_id": best,
                        "probability": 0.94,
                        "comparison": {"birth_name": "exact", "date_of_birth": "exact"},
                        "citizen": _registry_view(dict(v1.data), personal_id=best),
                    },
                    {
                        "personal_id": second,
                        "probability": 0.58,
                        "comparison": {"birth_name": "exact", "date_of_birth": "year"},
                        "citizen": _registry_view(
                            dict(v1.data),
                            personal_id=second,
                            date_of_birth=str(v1.data["date_of_birth"])[:4] + "-01-01",
                        ),
                    },
                ],
            )
        )
        s.add(
            match(
                p2,
                outcome=Outcome.CONFLICT,
                matched_by="personal_id",
                registry_personal_id=p2.personal_id,
                registry_status="alive",
                registry_values=_registry_view(dict(v2.data), date_of_birth=wrong_day),
                differences=[
                    {
                        "field": "date_of_birth",
                        "ours": dob,
                        "registry": wrong_day,
                        "kind": "identity",
                        "note_vi": "Khác ngày sinh trong CSDLQG về dân cư",
                        "note_en": "The date of birth differs from the registry",
                    }
                ],
            )
        )
        return PopulationSeed(
            base=base,
            agency=agency,
            people=people,
            potential=p1.personal_id,
            potential_name=str(v1.data["birth_name"]),
            best=best,
            conflict=p2.personal_id,
        )


@pytest.fixture
def population_server(
    fresh_db_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> Iterator[tuple[str, PopulationSeed]]:
    """Seed the people and two registry results; serve the app from a uvicorn subprocess."""
    use_database(fresh_db_url)
    seeded = _seed_population(seed())
    with serve(fresh_db_url, tmp_path / "uvicorn.log") as base_url:
        yield base_url, seeded


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_review_and_confirm_a_potential_match(
    population_server: tuple[str, PopulationSeed], page: Page
) -> None:
    base_url, q = population_server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    external: list[str] = []
    page.on(
        "request", lambda req: None if req.url.startswith(base_url) else external.append(req.url)
    )

    # Sign in, then the overview of the officer's scope.
    page.goto(base_url + "/dang-nhap?next=/dan-cu")
    page.get_by_label("Tên đăng nhập").fill(q.base.username)
    page.get_by_label("Mật khẩu").fill(q.base.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/dan-cu$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Đối chiếu với Cơ sở dữ liệu quốc gia về dân cư"
    )
    expect(page.locator("#so-cho-duyet")).to_have_text("2")
    expect(
        page.locator(f'#bang-co-quan tr[data-agency="{q.agency}"] [data-k="people"]')
    ).to_have_text(str(q.people))
    assert unicodedata.is_normalized("NFC", page.locator("body").inner_text())
    _shot(page, "p01-dan-cu")

    # The queue: both results; open the potential match.
    page.get_by_role("link", name="Mở hàng chờ duyệt").click()
    expect(page).to_have_url(re.compile(r"/dan-cu/duyet"))
    rows = page.locator("#bang-hang-cho tbody tr")
    expect(rows).to_have_count(2)
    row = page.locator(f'#bang-hang-cho tr[data-person="{q.potential}"]')
    expect(row).to_contain_text("Có thể trùng khớp")
    expect(row).to_contain_text("2 ứng viên, cao nhất 94,0 %")
    _shot(page, "p02-hang-cho")
    row.locator("a.name").click()
    expect(page).to_have_url(re.compile(rf"/dan-cu/ho-so/{q.potential}$"))
    expect(page.locator("h1.person-name")).to_have_text(q.potential_name)
    expect(page.locator("#quyet-dinh")).to_have_text("Chờ duyệt")
    best = page.locator(f'[data-candidate="{q.best}"]')
    expect(best.locator('[data-k="probability"]')).to_have_text("94,0 %")
    expect(page.locator("article.pop-candidate")).to_have_count(2)
    second = page.locator("article.pop-candidate").nth(1)
    expect(second.locator('tr[data-field="date_of_birth"]')).to_have_class("is-diff")
    _shot(page, "p03-ung-vien")

    # Confirm the best candidate: the result becomes a confirmed match.
    best.get_by_role("button", name="Xác nhận là người này").click()
    expect(page.locator("#thong-bao")).to_contain_text("Đã xác nhận kết quả theo CSDLQG về dân cư")
    expect(page.locator("#quyet-dinh")).to_have_text("Đã xác nhận")
    expect(page.locator("#ket-qua")).to_have_text("Khớp")
    expect(page.locator("#so-dinh-danh-dan-cu")).to_have_text(q.best)
    expect(page.locator("article.pop-candidate")).to_have_count(0)
    expect(page.locator('#bang-doi-chieu tr[data-field="personal_id"]')).to_contain_text(q.best)
    _shot(page, "p04-da-xac-nhan")

    # Back in the queue only the conflict waits; the confirmed one is under its tab.
    page.goto(base_url + "/dan-cu/duyet")
    expect(page.locator("#bang-hang-cho tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Đã xác nhận").click()
    expect(page.locator(f'#bang-hang-cho tr[data-person="{q.potential}"]')).to_contain_text(
        "Đã xác nhận"
    )

    # The conflict: reject it with a reason, with the keyboard only.
    page.goto(base_url + f"/dan-cu/ho-so/{q.conflict}")
    expect(page.locator('#bang-doi-chieu tr[data-field="date_of_birth"]')).to_contain_text("Khác")
    reason = page.get_by_label("Lý do (bắt buộc khi từ chối)")
    reason.focus()
    page.keyboard.type("Giấy khai sinh bản gốc đúng với hồ sơ")
    page.keyboard.press("Tab")  # the "propose at once" box
    page.keyboard.press("Tab")  # confirm
    page.keyboard.press("Tab")  # reject
    expect(page.get_by_role("button", name="Từ chối: hồ sơ đúng")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#thong-bao")).to_contain_text("Đã từ chối kết quả đối chiếu")
    expect(page.locator("#quyet-dinh")).to_have_text("Đã từ chối")
    expect(page.locator("#ly-do-quyet-dinh")).to_have_text("Giấy khai sinh bản gốc đúng với hồ sơ")
    _shot(page, "p05-tu-choi")

    # Phone width: the side-by-side table still reads.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + f"/dan-cu/ho-so/{q.potential}")
    expect(page.locator("#bang-doi-chieu")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    _shot(page, "p06-dien-thoai")

    assert errors == [], errors
    assert external == [], external
