"""The one error tree of hoso. Every error a user can see has a stable ``code``.

::

    HosoError                      (500 internal_error)
     ├── NotFound                  (404 not_found)
     ├── PermissionDenied          (403 forbidden / out_of_scope)
     ├── NotAuthenticated          (401 not_authenticated)
     ├── Conflict                  (409 conflict / version_conflict)
     └── InvalidInput              (422 invalid_input; carries a list of Issue)

Messages are Vietnamese first, with English beside them. ``Issue`` names the field path
(``work_history[2].from``) and the offending value, so that the API (RFC 9457 problem+json),
the web pages and the bulk-import error file all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one value: where, what, and why (in Vietnamese and English)."""

    field: str
    code: str
    message_vi: str
    message_en: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form used by the API and the import error file."""
        return {
            "field": self.field,
            "value": self.value,
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


@dataclass(eq=False)
class HosoError(Exception):
    """Base of every error hoso raises on purpose."""

    message_vi: str = "Lỗi hệ thống"
    message_en: str = "Internal error"
    code: str = "internal_error"
    status: int = 500
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        Exception.__init__(self, f"{self.code}: {self.message_vi} / {self.message_en}")


@dataclass(eq=False)
class NotFound(HosoError):
    """The thing asked for does not exist (or is outside the caller's scope and hidden)."""

    message_vi: str = "Không tìm thấy"
    message_en: str = "Not found"
    code: str = "not_found"
    status: int = 404


@dataclass(eq=False)
class PermissionDenied(HosoError):
    """The caller may not do this (role or organisation scope)."""

    message_vi: str = "Không có quyền thực hiện thao tác này"
    message_en: str = "Permission denied"
    code: str = "forbidden"
    status: int = 403


@dataclass(eq=False)
class NotAuthenticated(HosoError):
    """No valid sign-in."""

    message_vi: str = "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn"
    message_en: str = "Not signed in or the session has expired"
    code: str = "not_authenticated"
    status: int = 401


@dataclass(eq=False)
class Conflict(HosoError):
    """The request conflicts with the stored state (e.g. a stale version number)."""

    message_vi: str = "Xung đột dữ liệu"
    message_en: str = "Conflict with the stored data"
    code: str = "conflict"
    status: int = 409


@dataclass(eq=False)
class InvalidInput(HosoError):
    """The input is structurally wrong; ``issues`` says where and why."""

    message_vi: str = "Dữ liệu không hợp lệ"
    message_en: str = "Invalid input"
    code: str = "invalid_input"
    status: int = 422
