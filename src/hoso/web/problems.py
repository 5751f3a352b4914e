"""The one exception-to-HTTP table: RFC 9457 problem+json for the API, an error page for the web.

Everything an HTTP client can see when something goes wrong passes through here:

=========================================  ======  =====================================
raised                                     status  rendered as
=========================================  ======  =====================================
``HosoError`` and subclasses               its own problem+json (``/api/``, ``/exchange/``), else HTML page
(``NotFound`` 404, ``PermissionDenied``
403, ``NotAuthenticated`` 401,
``Conflict`` 409, ``InvalidInput`` 422)
``RequestValidationError`` (FastAPI)       422     ``invalid_input`` with one issue per field
``StarletteHTTPException`` (404 route,     its own ``not_found`` / ``method_not_allowed`` / …
405 method, …)
anything else                              500     ``internal_error``; nothing internal leaks,
                                                   an incident id is logged and returned
=========================================  ======  =====================================

A problem body is ``{"type", "title", "status", "detail", "code", "title_en", "detail_en",
"errors": [{"field", "value", "code", "message_vi", "message_en"}]}``: Vietnamese in the RFC's
own members, English beside them. ``type`` is the relative URI ``/problems/<code>``, which
this application serves as a short page describing the code.

On web pages an unauthenticated ``GET`` is redirected to the sign-in page instead of being
shown an error.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hoso.errors import HosoError, Issue

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Short titles by HTTP status (Vietnamese, English): the RFC's ``title`` does not vary with
#: the occurrence, ``detail`` does.
STATUS_TITLES: dict[int, tuple[str, str]] = {
    400: ("Yêu cầu không hợp lệ", "Bad request"),
    401: ("Chưa đăng nhập", "Not authenticated"),
    403: ("Không có quyền", "Forbidden"),
    404: ("Không tìm thấy", "Not found"),
    405: ("Phương thức không được hỗ trợ", "Method not allowed"),
    406: ("Không thể trả về định dạng yêu cầu", "Not acceptable"),
    409: ("Xung đột dữ liệu", "Conflict"),
    412: ("Điều kiện không thỏa mãn", "Precondition failed"),
    413: ("Dữ liệu gửi lên quá lớn", "Content too large"),
    415: ("Định dạng dữ liệu không được hỗ trợ", "Unsupported media type"),
    422: ("Dữ liệu không hợp lệ", "Invalid input"),
    428: ("Thiếu điều kiện phiên bản", "Precondition required"),
    429: ("Quá nhiều yêu cầu", "Too many requests"),
    500: ("Lỗi hệ thống", "Internal error"),
    503: ("Dịch vụ tạm thời không sẵn sàng", "Service unavailable"),
}

#: Codes this application emits, for the ``/problems/<code>`` pages (status, vi, en).
PROBLEM_CODES: dict[str, tuple[int, str, str]] = {
    "not_found": (
        404,
        "Không tìm thấy đối tượng được yêu cầu (hoặc đối tượng nằm ngoài phạm vi quản lý của bạn).",
        "The thing asked for does not exist (or lies outside your scope).",
    ),
    "forbidden": (
        403,
        "Vai trò của bạn không được phép thực hiện thao tác này.",
        "Your role may not do this.",
    ),
    "out_of_scope": (
        403,
        "Đối tượng nằm ngoài phạm vi quản lý của bạn.",
        "The object lies outside your scope.",
    ),
    "not_authenticated": (
        401,
        "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn. Gửi mã truy cập "
        "trong tiêu đề Authorization: Bearer hoặc đăng nhập lại.",
        "Not signed in or the session expired. Send a token in the "
        "Authorization: Bearer header or sign in again.",
    ),
    "conflict": (
        409,
        "Yêu cầu xung đột với dữ liệu đang lưu.",
        "The request conflicts with the stored data.",
    ),
    "version_conflict": (
        409,
        "Phiên bản gửi kèm (If-Match hoặc expected_version) không còn là "
        "phiên bản hiện tại: hãy đọc lại hồ sơ rồi gửi lại thay đổi.",
        "The version sent (If-Match or expected_version) is no longer current: "
        "read the dossier again and resend the change.",
    ),
    "invalid_input": (
        422,
        "Dữ liệu không hợp lệ về cấu trúc; 'errors' nêu từng trường và lý do.",
        "The input is structurally wrong; 'errors' names each field and why.",
    ),
    "method_not_allowed": (
        405,
        "Phương thức HTTP không được hỗ trợ tại địa chỉ này.",
        "The HTTP method is not supported at this address.",
    ),
    "bad_request": (400, "Yêu cầu không hợp lệ.", "Bad request."),
    "internal_error": (
        500,
        "Lỗi hệ thống không mong muốn; không có dữ liệu nào được lưu. Báo "
        "mã sự cố cho quản trị viên.",
        "Unexpected internal error; nothing was stored. Give the incident id to the administrator.",
    ),
}

_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_input",
}

#: Vietnamese wording of pydantic's error types (the English is pydantic's own message).
_PYDANTIC_VI: dict[str, str] = {
    "missing": "Thiếu trường bắt buộc",
    "extra_forbidden": "Trường không được phép",
    "int_parsing": "Phải là số nguyên",
    "int_type": "Phải là số nguyên",
    "float_parsing": "Phải là số",
    "string_type": "Phải là chuỗi ký tự",
    "dict_type": "Phải là một đối tượng JSON",
    "model_type": "Phải là một đối tượng JSON",
    "list_type": "Phải là một mảng",
    "bool_parsing": "Phải là true hoặc false",
    "date_parsing": "Phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "Phải là ngày dạng YYYY-MM-DD",
    "json_invalid": "Nội dung không phải JSON hợp lệ",
    "greater_than_equal": "Giá trị quá nhỏ",
    "greater_than": "Giá trị quá nhỏ",
    "less_than_equal": "Giá trị quá lớn",
    "less_than": "Giá trị quá lớn",
    "string_pattern_mismatch": "Không đúng định dạng",
    "string_too_short": "Chuỗi quá ngắn",
    "string_too_long": "Chuỗi quá dài",
    "literal_error": "Giá trị không nằm trong danh sách cho phép",
    "enum": "Giá trị không nằm trong danh sách cho phép",
}


class ProblemIssue(BaseModel):
    """One field-level problem inside a problem document."""

    field: str = Field(examples=["work_history[2].from"])
    value: Any = None
    code: str = Field(examples=["invalid_date"])
    message_vi: str
    message_en: str


class Problem(BaseModel):
    """RFC 9457 problem details, Vietnamese first, with English members beside."""

    type: str = Field(examples=["/problems/not_found"])
    title: str = Field(examples=["Không tìm thấy"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["Không tìm thấy hồ sơ 001085012345"])
    code: str = Field(examples=["not_found"])
    title_en: str = Field(examples=["Not found"])
    detail_en: str = Field(examples=["Dossier 001085012345 not found"])
    errors: list[ProblemIssue] = Field(default_factory=list)
    instance: str | None = Field(default=None, description="Mã sự cố / incident id (500 only)")


#: OpenAPI ``responses=`` entries for the problem statuses a route can return.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of problem+json responses for ``statuses``."""
    return {
        status: {
            "model": Problem,
            "description": f"{STATUS_TITLES[status][0]} / {STATUS_TITLES[status][1]}",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def problem_body(
    *,
    status: int,
    code: str,
    detail_vi: str,
    detail_en: str,
    issues: Sequence[Issue] = (),
    instance: str | None = None,
) -> dict[str, Any]:
    """The problem document as a dict (also used by tests and the HTML page)."""
    title_vi, title_en = STATUS_TITLES.get(status, STATUS_TITLES[500 if status >= 500 else 400])
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title_vi,
        "status": status,
        "detail": detail_vi,
        "code": code,
        "title_en": title_en,
        "detail_en": detail_en,
        "errors": [issue.as_dict() for issue in issues],
    }
    if instance is not None:
        body["instance"] = instance
    return body


def _dumps(body: dict[str, Any]) -> bytes:
    # default=str: an issue's offending value may be any JSON-ish thing (a date, a Decimal).
    return orjson.dumps(body, default=str)


def is_api_request(request: Request) -> bool:
    """True when the client expects JSON: the API, the OpenAPI document, the health check."""
    path = request.url.path
    if path.startswith(("/api/", "/exchange/", "/openapi.json", "/healthz")) or path == "/api":
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def _render(
    request: Request,
    *,
    status: int,
    code: str,
    detail_vi: str,
    detail_en: str,
    issues: Sequence[Issue] = (),
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(
        status=status,
        code=code,
        detail_vi=detail_vi,
        detail_en=detail_en,
        issues=issues,
        instance=instance,
    )
    if is_api_request(request):
        return Response(
            content=_dumps(body),
            status_code=status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=headers,
        )
    if status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        sign_in = f"/dang-nhap?next={quote(target, safe='/')}"
        if request.headers.get("HX-Request") == "true":
            # An HTMX swap would put the sign-in page inside the results; send the whole
            # window there instead.
            return Response(status_code=401, headers={"HX-Redirect": sign_in})
        return RedirectResponse(sign_in, status_code=303)
    from hoso.web.templating import PAGE_HEADERS

    return HTMLResponse(
        error_page(request, body), status_code=status, headers={**PAGE_HEADERS, **(headers or {})}
    )


def error_page(request: Request, body: dict[str, Any]) -> str:
    """The HTML error page: Vietnamese first, English beside, the same content as the JSON."""
    # Rendered through the site's templates when they load; a bare page otherwise, so that an
    # error in the templating itself still yields a readable answer.
    try:
        from hoso.web.templating import render_error

        return render_error(request, body)
    except Exception:
        logger.exception("error page template failed")
        esc = html.escape
        return (
            "<!doctype html><html lang='vi'><meta charset='utf-8'>"
            f"<title>{esc(body['title'])}</title><h1>{esc(body['title'])}</h1>"
            f"<p>{esc(body['detail'])}</p><p lang='en'>{esc(body['detail_en'])}</p>"
            "<p><a href='/'>Trang chủ / Home</a></p></html>"
        )


def _loc_to_path(loc: Sequence[str | int]) -> str:
    """``("body", "data", "work_history", 2, "from")`` → ``data.work_history[2].from``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_issues(errors: Sequence[Any]) -> list[Issue]:
    """FastAPI/pydantic validation errors as hoso issues with field paths."""
    issues: list[Issue] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        path = _loc_to_path(loc) or str(loc[0] if loc else "")
        kind = str(err.get("type", "invalid"))
        msg_en = str(err.get("msg", "Invalid value"))
        vi = _PYDANTIC_VI.get(kind, "Giá trị không hợp lệ")
        value = err.get("input") if kind != "missing" else None
        if isinstance(value, dict | list):
            value = None  # do not echo whole bodies back
        issues.append(
            Issue(
                field=path,
                code=kind,
                message_vi=f"{vi}: '{path}'",
                message_en=f"{msg_en}: '{path}'",
                value=value,
            )
        )
    return issues


async def _hoso_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HosoError)
    if exc.status >= 500:
        route = request.scope.get("route")
        logger.error(
            "hoso error",
            exc_info=exc,
            extra={"code": exc.code, "route": getattr(route, "path", None)},
        )
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return _render(
        request,
        status=exc.status,
        code=exc.code,
        detail_vi=exc.message_vi,
        detail_en=exc.message_en,
        issues=exc.issues,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = validation_issues(exc.errors())
    fields = ", ".join(i.field for i in issues[:5])
    return _render(
        request,
        status=422,
        code="invalid_input",
        detail_vi=f"Dữ liệu gửi lên không hợp lệ ({fields})",
        detail_en=f"The request is invalid ({fields})",
        issues=issues,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
    title_vi, title_en = STATUS_TITLES.get(status, STATUS_TITLES[500 if status >= 500 else 400])
    if status == 404:
        detail_vi, detail_en = "Không tìm thấy địa chỉ này", "No such address"
    else:
        detail_vi, detail_en = title_vi, title_en
    headers = dict(exc.headers) if exc.headers else None
    return _render(
        request,
        status=status,
        code=code,
        detail_vi=detail_vi,
        detail_en=detail_en,
        headers=headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    route = request.scope.get("route")
    # The route template, never the URL: a URL may hold a personal ID.
    logger.error(
        "unexpected error",
        exc_info=exc,
        extra={
            "incident": incident,
            "method": request.method,
            "route": getattr(route, "path", None),
        },
    )
    return _render(
        request,
        status=500,
        code="internal_error",
        detail_vi=f"Đã xảy ra lỗi hệ thống; không có dữ liệu nào được lưu. Mã sự cố: {incident}",
        detail_en=f"An internal error occurred; nothing was stored. Incident id: {incident}",
        instance=f"urn:hoso:incident:{incident}",
    )


def install(app: FastAPI) -> None:
    """Register the handlers of the table above on ``app``."""
    app.add_exception_handler(HosoError, _hoso_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def problem_code_page(code: str) -> tuple[int, str, str] | None:
    """``(status, description_vi, description_en)`` of a problem code, for ``/problems/<code>``."""
    return PROBLEM_CODES.get(code)


def json_problem(body: dict[str, Any]) -> Response:
    """A problem+json response from a body built by :func:`problem_body`."""
    return Response(
        content=_dumps(body), status_code=int(body["status"]), media_type=PROBLEM_MEDIA_TYPE
    )
