"""A real browser against a real server: sign in, search, read a dossier, its history, a diff.

Screenshots of every page go to ``/tmp/hoso_shots`` (``HOSO_SHOTS_DIR``) for a human to look
at; the assertions are what the test checks.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from e2e_support import SHOTS, LiveServer
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_sign_in_search_dossier_history_diff(live_server: LiveServer, page: Page) -> None:
    s = live_server.seeded
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP violations and failed loads show up as console errors (the refused sign-in below
    # is a 400 on purpose: Chromium logs it as a failed load).
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "status of 400" not in msg.text
            else None
        ),
    )
    external: list[str] = []
    page.on(
        "request",
        lambda req: None if req.url.startswith(live_server.base_url) else external.append(req.url),
    )

    # Not signed in: the home page leads to the sign-in form.
    page.goto(live_server.url("/"))
    expect(page).to_have_url(re.compile(r"/dang-nhap"))
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    _shot(page, "01-dang-nhap")

    # A wrong password is refused in Vietnamese.
    page.get_by_label("Tên đăng nhập").fill(s.username)
    page.get_by_label("Mật khẩu").fill("khong-dung-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#loi-dang-nhap")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")
    _shot(page, "02-dang-nhap-sai")

    # Signing in leads to the people list; the header names the user, role and unit.
    page.get_by_label("Mật khẩu").fill(s.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/ho-so$"))
    header = page.locator("header")
    expect(header).to_contain_text(s.full_name)
    expect(header).to_contain_text("Cán bộ tổ chức cán bộ")
    expect(header).to_contain_text(s.unit_name)
    expect(page.locator(".count")).to_contain_text("hồ sơ")
    _shot(page, "03-danh-sach")

    # Search as you type, without diacritics: HTMX swaps the results in place.
    page.get_by_label(re.compile("Tìm theo tên")).press_sequentially(s.search, delay=20)
    row_link = page.locator("table.people a.name", has_text=s.birth_name)
    expect(row_link.first).to_be_visible()
    expect(page).to_have_url(re.compile(r"q="))  # the search is in the address bar
    _shot(page, "04-tim-kiem")

    # The dossier, in form order with Vietnamese labels and values.
    row_link.first.click()
    expect(page).to_have_url(re.compile(rf"/ho-so/{s.personal_id}$"))
    expect(page.locator("h1.person-name")).to_have_text(s.birth_name)
    cv = page.locator("article.cv")
    expect(cv).to_contain_text("Họ và tên khai sinh (viết chữ in hoa)")
    expect(cv).to_contain_text("Giới tính")
    expect(cv).to_contain_text("Tóm tắt quá trình công tác")
    expect(page.locator("#f-sex .item-value")).to_have_text(re.compile(r"^(Nam|Nữ) [MF]$"))
    ethnicity = page.locator("#f-ethnicity_code .item-value").inner_text()
    assert ethnicity != "—" and unicodedata.is_normalized("NFC", ethnicity)
    expect(page.locator(".version-box")).to_contain_text("v2")
    expect(page.locator(".version-box")).to_contain_text("Đang kê khai")
    body_text = page.locator("body").inner_text()
    assert unicodedata.is_normalized("NFC", body_text)
    _shot(page, "05-ho-so")

    # The history lists both versions; "so sánh" shows what changed, labelled.
    page.get_by_role("link", name=re.compile("Lịch sử phiên bản")).click()
    expect(page).to_have_url(re.compile(r"/lich-su$"))
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("v2")
    expect(rows.nth(1)).to_contain_text("Nhập từ tệp")
    _shot(page, "06-lich-su")
    page.get_by_role("link", name="so sánh với bản trước").click()
    expect(page).to_have_url(re.compile(r"/so-sanh\?tu=1&den=2$"))
    diff = page.locator("table.diff tbody tr")
    expect(diff).to_have_count(1)
    expect(diff.first).to_contain_text(s.changed_label)
    expect(diff.first.locator(".old")).to_have_text(str(s.old_step))
    expect(diff.first.locator(".new")).to_have_text(str(s.new_step))
    _shot(page, "07-so-sanh")

    # Version 1 can be viewed and is flagged as not current.
    page.goto(live_server.url(f"/ho-so/{s.personal_id}/phien-ban/1"))
    expect(page.locator(".alert-info")).to_contain_text("không phải phiên bản hiện tại")

    # English on request, remembered by a cookie.
    page.get_by_role("link", name="English").click()
    expect(page.locator("h2").first).to_be_visible()
    expect(page.locator("header")).to_contain_text("HR officer")
    page.goto(live_server.url(f"/ho-so/{s.personal_id}/lich-su"))
    expect(page.get_by_role("heading", name="Version history")).to_be_visible()
    _shot(page, "08-english")

    # Signing out ends the session.
    page.get_by_role("link", name="Tiếng Việt").click()
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/dang-nhap$"))
    page.goto(live_server.url("/ho-so"))
    expect(page).to_have_url(re.compile(r"/dang-nhap\?next=/ho-so$"))

    assert errors == [], errors
    assert external == [], external


def test_small_screen_layout(live_server: LiveServer, page: Page) -> None:
    """The list and the dossier stay usable on a phone-sized screen."""
    s = live_server.seeded
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url("/dang-nhap"))
    page.get_by_label("Tên đăng nhập").fill(s.username)
    page.get_by_label("Mật khẩu").fill(s.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/ho-so$"))
    page.goto(live_server.url(f"/ho-so/{s.personal_id}"))
    expect(page.locator("h1.person-name")).to_have_text(s.birth_name)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways ({width}px)"
    _shot(page, "09-dien-thoai")
