"""Errors of the exchange: the codes of ``exchange/README.md`` §7, in Vietnamese and English.

::

    HosoError
     └── ExchangeError            (code = one of CODES; status by code)

An ``ExchangeError`` names what was refused (``field``: ``signature``,
``body.records[3].approval`` ...) and why, so that acks, the CLI and the API say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hoso.errors import HosoError

#: §7 codes with their default messages (Vietnamese, English) and HTTP status.
CODES: dict[str, tuple[str, str, int]] = {
    "signature_invalid": (
        "Chữ ký số của thông điệp không hợp lệ",
        "The message signature is invalid",
        401,
    ),
    "certificate_untrusted": (
        "Chứng thư số không do tổ chức chứng thực được tin cậy cấp hoặc đã bị thu hồi",
        "The certificate does not chain to a trusted authority or has been revoked",
        401,
    ),
    "certificate_expired": (
        "Chứng thư số hết hạn hoặc chưa có hiệu lực tại thời điểm ký",
        "The certificate was not valid at the signing time",
        401,
    ),
    "sender_mismatch": (
        "Chứng thư số không thuộc cơ quan gửi",
        "The certificate does not name the sending agency",
        403,
    ),
    "replayed": ("Thông điệp đã được nhận trước đó", "The message was received before", 409),
    "too_old": (
        "Thời điểm tạo thông điệp nằm ngoài khoảng thời gian cho phép",
        "The message creation time is outside the accepted window",
        400,
    ),
    "sequence_gap": ("Số thứ tự thông điệp không liên tục", "The message sequence has a gap", 409),
    "schema_invalid": ("Thông điệp sai cấu trúc", "The message does not follow the format", 422),
    "content_hash_mismatch": (
        "Mã băm nội dung không khớp với dữ liệu",
        "The content hash does not match the data",
        422,
    ),
    "approval_invalid": ("Chữ ký phê duyệt không hợp lệ", "The approval signature is invalid", 422),
    "version_conflict": (
        "Phiên bản đã được lưu với nội dung khác",
        "This version was stored before with different content",
        409,
    ),
    "unknown_agency": ("Cơ quan không có trong danh mục", "Unknown agency", 422),
    "not_authorised": (
        "Cơ quan gửi không quản lý hồ sơ này",
        "The sending agency does not manage this record",
        403,
    ),
    "field_invalid": ("Giá trị trường không hợp lệ", "A field value is invalid", 422),
}


@dataclass(eq=False)
class ExchangeError(HosoError):
    """A refusal with a §7 code; ``field`` locates it in the message."""

    field: str = ""
    value: Any = None

    @classmethod
    def of(
        cls,
        code: str,
        *,
        field: str = "",
        detail_vi: str = "",
        detail_en: str = "",
        value: Any = None,
    ) -> ExchangeError:
        """Build an error for ``code`` with an optional detail appended to both messages."""
        vi, en, status = CODES[code]
        if detail_vi:
            vi = f"{vi}: {detail_vi}"
        if detail_en:
            en = f"{en}: {detail_en}"
        return cls(message_vi=vi, message_en=en, code=code, status=status, field=field, value=value)

    def as_dict(self) -> dict[str, Any]:
        """The ``errors[]`` item of an ack."""
        out: dict[str, Any] = {
            "code": self.code,
            "field": self.field,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }
        return out
