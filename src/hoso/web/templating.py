"""Jinja2 set-up and the one ``render`` every page goes through.

``render`` picks the language (:mod:`hoso.web.i18n`), passes the signed-in user for the
header, stores a ``?lang=`` choice in its cookie, and marks every page ``no-store`` (they
show personal data, which must not stay in shared caches or the browser's disk cache), with
a strict Content-Security-Policy (every script and style is served by this application).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hoso.web.dossier import EMPTY
from hoso.web.i18n import LANG_COOKIE, Locale, lang_of, requested_lang

WEB_DIR = Path(str(resources.files("hoso.web")))
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.globals["EMPTY"] = EMPTY


#: Headers of every HTML page: no framing, no sniffing, nothing loaded from other hosts.
#: (``/docs`` is FastAPI's Swagger page with an inline script and does not get them.)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class PageUser:
    """Who is signed in, as the page header shows it."""

    username: str
    full_name: str
    role: str
    role_vi: str
    role_en: str
    unit_code: str | None
    unit_name: str | None


def url_with(request: Request, **changes: Any) -> str:
    """The current path with query parameters changed (None removes one)."""
    params = dict(request.query_params)
    params.pop("lang", None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def lang_toggle_url(request: Request, lang: str) -> str:
    """The current page in ``lang``."""
    params = dict(request.query_params)
    params["lang"] = lang
    return request.url.path + "?" + urlencode(params)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: PageUser | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render template ``name`` for ``request`` in the page language."""
    locale = Locale(lang_of(request))
    ctx: dict[str, Any] = {
        "request": request,
        "L": locale,
        "t": locale.t,
        "lang": locale.lang,
        "user": user,
        "url_with": lambda **kw: url_with(request, **kw),
        "lang_url": lambda lang: lang_toggle_url(request, lang),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers
    )
    for key, value in PAGE_HEADERS.items():
        response.headers.setdefault(key, value)
    chosen = requested_lang(request)
    if chosen is not None and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
    return response


def render_error(request: Request, problem: dict[str, Any]) -> str:
    """HTML of the error page for a problem body (see :mod:`hoso.web.problems`)."""
    locale = Locale(lang_of(request))
    template = templates.get_template("error.html")
    return template.render(
        request=request,
        L=locale,
        t=locale.t,
        lang=locale.lang,
        user=None,
        problem=problem,
        url_with=lambda **kw: url_with(request, **kw),
        lang_url=lambda lang: lang_toggle_url(request, lang),
    )
