"""Site-wide HTML routes: sign-in and sign-out, the home redirect, problem-type pages, health.

The session cookie ``hoso_session`` holds the same signed token the API accepts as a
bearer token; it is ``HttpOnly`` and ``SameSite=Lax`` (and ``Secure`` outside dev/test).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import text

from hoso.auth import service as auth_service
from hoso.config import get_settings
from hoso.errors import HosoError, NotFound
from hoso.web.deps import OptionalPrincipalDep, SessionDep
from hoso.web.i18n import Locale, lang_of
from hoso.web.problems import STATUS_TITLES, problem_code_page
from hoso.web.templating import render

router = APIRouter(include_in_schema=False)

SESSION_COOKIE = "hoso_session"


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/ho-so"
    if target.startswith(("/dang-nhap", "/dang-xuat")):
        return "/ho-so"
    return target


@router.get("/", response_class=RedirectResponse)
def home(principal: OptionalPrincipalDep) -> RedirectResponse:
    """To the people list when signed in, else to the sign-in page."""
    return RedirectResponse("/ho-so" if principal else "/dang-nhap", status_code=303)


@router.get("/dang-nhap", response_class=HTMLResponse)
def sign_in_form(
    request: Request, principal: OptionalPrincipalDep, next: str | None = None
) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "sign_in.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/dang-nhap", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/ho-so",
) -> Response:
    """Check the password; on success set the session cookie and go on."""
    locale = Locale(lang_of(request))
    error: dict[str, Any] | None = None
    if not username.strip() or not password:
        error = {
            "title": locale.t("Chưa nhập đủ thông tin", "Missing details"),
            "detail": locale.t(
                "Nhập tên đăng nhập và mật khẩu.", "Enter your username and password."
            ),
        }
    else:
        try:
            user = auth_service.authenticate(session, username.strip(), password)
        except HosoError as exc:
            error = {
                "title": locale.t("Đăng nhập không thành công", "Sign-in failed"),
                "detail": locale.t(exc.message_vi, exc.message_en),
            }
        else:
            token = auth_service.issue_token(user)
            settings = get_settings()
            response = RedirectResponse(safe_next(next), status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                token,
                max_age=settings.token_ttl_seconds,
                httponly=True,
                samesite="lax",
                secure=settings.env == "prod",
                path="/",
            )
            return response
    return render(
        request,
        "sign_in.html",
        {"next": safe_next(next), "username": username.strip(), "error": error},
        status_code=400,
    )


def _sign_out() -> RedirectResponse:
    response = RedirectResponse("/dang-nhap", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.post("/dang-xuat")
def sign_out() -> RedirectResponse:
    """Forget the session cookie."""
    return _sign_out()


@router.get("/dang-xuat")
def sign_out_link() -> RedirectResponse:
    """Sign-out by link (the header uses a form; a bookmarked link works too)."""
    return _sign_out()


@router.get("/problems/{code}", response_class=HTMLResponse)
def problem_type(request: Request, code: str) -> Response:
    """Human description of a problem ``type`` (RFC 9457 ``/problems/<code>``)."""
    described = problem_code_page(code)
    if described is None:
        raise NotFound(
            message_vi=f"Không có loại lỗi '{code}'", message_en=f"No problem type '{code}'"
        )
    status, vi, en = described
    title_vi, title_en = STATUS_TITLES.get(status, (code, code))
    problem = {
        "status": status,
        "title": title_vi,
        "title_en": title_en,
        "detail": vi,
        "detail_en": en,
        "code": code,
        "errors": [],
    }
    return render(request, "problem_type.html", {"problem": problem})


health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Kiểm tra hoạt động / Health check")
def healthz(session: SessionDep) -> dict[str, str]:
    """``{"status": "ok", "database": "ok"}`` when the database answers."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
