"""Server-rendered pages: sign-in, the people list, the dossier, its history and diffs."""

from __future__ import annotations

import re
import unicodedata

import pytest
from api_seed import PASSWORD, TestClient, World
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent


def _text(html: str) -> str:
    """Visible text, tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_home_redirects_by_sign_in_state(anon: TestClient, browser: TestClient) -> None:
    assert anon.get("/").headers["location"] == "/dang-nhap"
    assert browser.get("/").headers["location"] == "/ho-so"


def test_pages_redirect_to_sign_in_with_next(anon: TestClient, world: World) -> None:
    r = anon.get(f"/ho-so/{world.people['an']}/lich-su")
    assert r.status_code == 303
    assert r.headers["location"] == f"/dang-nhap?next=/ho-so/{world.people['an']}/lich-su"


def test_sign_in_sets_an_httponly_lax_cookie(anon: TestClient, session: Session) -> None:
    form = anon.get("/dang-nhap")
    assert form.status_code == 200
    assert "Đăng nhập" in form.text and 'name="password"' in form.text
    r = anon.post(
        "/dang-nhap",
        data={"username": "hr.nghean", "password": PASSWORD, "next": "/ho-so?q=an"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/ho-so?q=an"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("hoso_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    listing = anon.get("/ho-so")
    assert listing.status_code == 200
    assert "Trần Thị Bích Ngọc" in listing.text  # the header names the user
    assert "Cán bộ tổ chức cán bộ" in listing.text  # and the role, in Vietnamese
    assert "UBND tỉnh Nghệ An" in listing.text  # and the unit
    actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "auth:session:login" in actions


def test_sign_in_failure_is_explained_in_vietnamese(anon: TestClient, session: Session) -> None:
    r = anon.post("/dang-nhap", data={"username": "hr.nghean", "password": "sai-mat-khau-1"})
    assert r.status_code == 400
    assert "set-cookie" not in r.headers or "hoso_session=" not in r.headers["set-cookie"]
    text = _text(r.text)
    assert "Đăng nhập không thành công" in text
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in text
    assert 'value="hr.nghean"' in r.text  # the name is kept, the password is not
    actions = session.execute(select(AuditEvent.action)).scalars().all()
    assert "auth:session:login_failed" in actions  # kept: the request committed
    empty = anon.post("/dang-nhap", data={"username": "", "password": ""})
    assert empty.status_code == 400 and "Nhập tên đăng nhập và mật khẩu" in empty.text
    english = anon.post(
        "/dang-nhap?lang=en", data={"username": "hr.nghean", "password": "wrong-password-1"}
    )
    assert "Wrong username or password" in english.text


def test_next_never_leaves_the_site(anon: TestClient) -> None:
    for target in ("https://example.org/", "//example.org/", "/\\example.org"):
        r = anon.post(
            "/dang-nhap", data={"username": "hr.nghean", "password": PASSWORD, "next": target}
        )
        assert r.headers["location"] == "/ho-so", target


def test_sign_out_forgets_the_cookie(browser: TestClient) -> None:
    r = browser.post("/dang-xuat")
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap"
    assert 'hoso_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    assert browser.get("/ho-so").status_code == 303


def test_people_list_search_filters_and_count(browser: TestClient, world: World) -> None:
    page = browser.get("/ho-so")
    assert page.status_code == 200
    text = _text(page.text)
    assert "3 hồ sơ" in text  # the Nghệ An officer's scope
    assert "NGUYỄN VĂN AN" in text and "TRẦN THỊ BÌNH" in text
    assert "HOÀNG THỊ DUNG" not in text  # Hà Tĩnh: out of scope
    assert "Chuyên viên" in text  # rank code shown with its label
    assert "Sở Y tế tỉnh Nghệ An" in text  # unit code shown with its name
    assert f'href="/ho-so/{world.people["an"]}"' in page.text
    found = _text(browser.get("/ho-so", params={"q": "tran thi binh"}).text)
    assert "1 hồ sơ" in found and "TRẦN THỊ BÌNH" in found and "NGUYỄN VĂN AN" not in found
    women = _text(browser.get("/ho-so", params={"sex": "F"}).text)
    assert "1 hồ sơ" in women
    none = _text(browser.get("/ho-so", params={"q": "khong co ai"}).text)
    assert "Không có hồ sơ nào khớp" in none


def test_people_list_htmx_returns_only_the_results(browser: TestClient) -> None:
    r = browser.get("/ho-so", params={"q": "cuong"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="ket-qua"')
    assert "<html" not in r.text
    assert "LÊ VĂN CƯỜNG" in r.text
    assert 'hx-swap-oob="true"' in r.text  # the unit picker follows the agency choice


def test_people_list_paging(browser: TestClient, session: Session, world: World) -> None:
    from api_seed import dossier

    from hoso.auth.principal import operator
    from hoso.people import service as people_service
    from hoso.people.schemas import PersonWrite

    for i in range(30):
        body = dossier(f"0401950001{i:02d}", birth_name=f"VŨ THỊ MAI {i:02d}", sex="F")
        people_service.create(session, PersonWrite.model_validate(body), principal=operator())
    first = _text(browser.get("/ho-so").text)
    assert "33 hồ sơ" in first and "hiển thị 1–25" in first and "Trang 1 / 2" in first
    second = _text(browser.get("/ho-so", params={"trang": 2}).text)
    assert "hiển thị 26–33" in second and "Trang 2 / 2" in second


def test_dossier_in_form_order_with_labels(browser: TestClient, world: World) -> None:
    r = browser.get(f"/ho-so/{world.people['an']}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    html = r.text
    assert unicodedata.is_normalized("NFC", html)
    text = _text(html)
    assert "Họ và tên khai sinh (viết chữ in hoa)" in text and "NGUYỄN VĂN AN" in text
    assert "Sinh ngày … tháng … năm 14/03/1985" in text
    assert "Giới tính Nam" in text  # code M shown with its label
    assert "Dân tộc Kinh" in text and "Tôn giáo Không" in text
    assert "Hệ số 3,66" in text  # a decimal, Vietnamese style
    assert "v2" in text and "Đang kê khai" in text  # version badge and status label
    # Items in the order of the printed form (after the table of contents).
    cv = _text(html[html.index('<article class="cv">') :])
    order = [
        cv.index(s)
        for s in (
            "Họ và tên khai sinh",
            "Các tên gọi khác",
            "Dân tộc",
            "Tóm tắt quá trình công tác",
            "Quan hệ gia đình",
            "Nhận xét, đánh giá",
        )
    ]
    assert order == sorted(order)
    # A table with the catalogue's column labels and its rows.
    table = html[html.index('id="f-work_history"') :]
    table = table[: table.index("</table>")]
    assert "Từ (tháng/năm)" in table and "Chức danh/ chức vụ" in table
    assert "09/2008" in table and "Trưởng phòng" in table and "06/2020" in table
    # The content hash and the link to the history.
    versions_link = f'href="/ho-so/{world.people["an"]}/lich-su"'
    assert versions_link in html
    assert re.search(r"<code[^>]*>[0-9a-z:]{20,}</code>", html)


def test_dossier_in_english(browser: TestClient, world: World) -> None:
    r = browser.get(f"/ho-so/{world.people['an']}?lang=en")
    assert "hoso_lang=en" in r.headers["set-cookie"]
    text = _text(r.text)
    assert "Full birth name (upper case) NGUYỄN VĂN AN" in text
    assert "Sex Male" in text
    assert "Salary coefficient 3.66" in text  # decimal point in English
    # The choice sticks (cookie) until changed back.
    again = _text(browser.get(f"/ho-so/{world.people['an']}").text)
    assert "Male" in again
    back = browser.get(f"/ho-so/{world.people['an']}?lang=vi")
    assert "Giới tính Nam" in _text(back.text)


def test_history_and_versions(browser: TestClient, world: World) -> None:
    pid = world.people["an"]
    history = browser.get(f"/ho-so/{pid}/lich-su")
    assert history.status_code == 200
    text = _text(history.text)
    assert "Lịch sử phiên bản" in text
    assert text.count("v2") >= 1 and "v1" in text
    assert "Nhập từ tệp" in text and "API" in text  # sources, with labels
    assert "operator" in text  # the author
    assert f'href="/ho-so/{pid}/phien-ban/1"' in history.text
    assert f'href="/ho-so/{pid}/so-sanh?tu=1&amp;den=2"' in history.text
    old = _text(browser.get(f"/ho-so/{pid}/phien-ban/1").text)
    assert "Bạn đang xem phiên bản 1" in old and "Hệ số 3,33" in old


def test_diff_is_readable(browser: TestClient, world: World) -> None:
    r = browser.get(f"/ho-so/{world.people['an']}/so-sanh", params={"tu": 1, "den": 2})
    assert r.status_code == 200
    text = _text(r.text)
    assert "3 thay đổi" in text
    assert "30.1. Bậc lương" in text and "Sửa" in text
    assert "3,33 → 3,66" in text
    assert "33. Tóm tắt quá trình công tác › dòng 2 › Đến (tháng/năm)" in text
    assert "Thêm" in text and "06/2020" in text
    default = _text(browser.get(f"/ho-so/{world.people['an']}/so-sanh").text)
    assert "3 thay đổi" in default  # default: the last change


def test_as_of_page(browser: TestClient, world: World) -> None:
    pid = world.people["an"]
    bad = browser.get(f"/ho-so/{pid}", params={"ngay": "2024-02-30"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    early = browser.get(f"/ho-so/{pid}", params={"ngay": "2001-01-01"})
    assert early.status_code == 404 and "chưa tồn tại vào ngày 01/01/2001" in early.text


def test_error_pages_are_html_in_vietnamese_then_english(browser: TestClient, world: World) -> None:
    hidden = browser.get(f"/ho-so/{world.people['dung']}")  # Hà Tĩnh, out of scope
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("text/html")
    text = _text(hidden.text)
    assert "Không tìm thấy" in text and "Not found" in text
    assert text.index("Không tìm thấy") < text.index("Not found")
    missing = browser.get("/khong-co-trang-nay")
    assert missing.status_code == 404 and "Không tìm thấy địa chỉ này" in missing.text
    bad_id = browser.get("/ho-so/123")
    assert bad_id.status_code == 422 and "personal_id" in bad_id.text


def test_static_files_and_no_external_hosts(browser: TestClient) -> None:
    page = browser.get("/ho-so").text
    assert re.search(r"(src|href)=\"https?://", page) is None
    for path in ("/static/hoso.css", "/static/htmx.min.js", "/static/favicon.svg"):
        assert browser.get(path).status_code == 200, path


def test_expired_session_during_htmx_search_redirects_the_window(anon: TestClient) -> None:
    r = anon.get("/ho-so", params={"q": "an"}, headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["hx-redirect"] == "/dang-nhap?next=/ho-so%3Fq%3Dan"


def test_security_headers_on_pages(browser: TestClient, anon: TestClient, world: World) -> None:
    pages = [browser.get(p) for p in ("/ho-so", f"/ho-so/{world.people['an']}", "/khong-co")]
    for r in [*pages, anon.get("/dang-nhap")]:
        path = r.url.path
        headers = r.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["cache-control"] == "no-store", path


def test_unexpected_error_on_a_page_is_an_html_500(
    browser: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoso.people import service as people_service

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(people_service, "list_", boom)
    r = browser.get("/ho-so")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    text = _text(r.text)
    assert "Lỗi hệ thống" in text and "Mã sự cố" in text and "Internal error" in text
    assert "secret internals" not in r.text
