"""The bodies of ``hoso-exchange/1`` messages (§4): what each item must hold.

Each item is checked on its own (§5 rule 5): a function here returns the checked item or
raises an :class:`~hoso.exchange.errors.ExchangeError` naming the item's field. Checks that
need the receiver's store (authority over the person, stored versions) are the receiver's.

Order for a record: shape → data in normal form and structurally valid (``schema_invalid``,
``field_invalid``) → ``content_hash`` of the data (``content_hash_mismatch``) → the
approval signature over that hash (``approval_invalid``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hoso.errors import Issue
from hoso.exchange.certificates import check_approval, parse_time
from hoso.exchange.envelope import UUID_RE
from hoso.exchange.errors import ExchangeError
from hoso.exchange.trust import TrustStore
from hoso.people.canonical import canonical_bytes
from hoso.people.validation import PERSONAL_ID_RE, DossierValidator

MAX_ITEMS = 1000
HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RECORD_KEYS = frozenset(
    {
        "personal_id",
        "managing_agency",
        "employing_unit",
        "version",
        "previous_content_hash",
        "content_hash",
        "data",
        "approval",
    }
)
SCHEMA_ISSUES = frozenset({"wrong_type", "not_an_array", "not_an_object", "unknown_field"})
BODY_LISTS = {
    "records.upsert": "records",
    "records.retire": "retirements",
    "orgtree.upsert": "units",
    "corrections.propose": "corrections",
    "corrections.resolve": "resolutions",
}


def _schema(field: str, vi: str, en: str, value: Any = None) -> ExchangeError:
    return ExchangeError.of("schema_invalid", field=field, detail_vi=vi, detail_en=en, value=value)


def _check_personal_id(where: str, value: Any) -> str:
    """``value`` when it is a 12-digit personal ID, else ``schema_invalid``."""
    if not isinstance(value, str) or not PERSONAL_ID_RE.match(value):
        raise _schema(
            f"{where}.personal_id",
            "số định danh cá nhân phải có 12 chữ số",
            "personal_id must be 12 digits",
            value,
        )
    return value


def _check_version(where: str, value: Any) -> int:
    """``value`` when it is a positive integer, else ``schema_invalid``."""
    if value.__class__ is not int or value < 1:
        raise _schema(
            f"{where}.version",
            "'version' phải là số nguyên dương",
            "'version' must be a positive integer",
            value,
        )
    return int(value)


def check_body(type_: str, body: dict[str, Any]) -> list[Any]:
    """The body's item list (message-level shape); ``schema_invalid`` if the body is malformed."""
    if type_ == "ack":
        check_ack(body)
        return []
    key = BODY_LISTS[type_]
    if set(body) != {key}:
        raise _schema(
            "body", f"'body' phải có đúng một trường '{key}'", f"'body' must hold exactly '{key}'"
        )
    items = body[key]
    if not isinstance(items, list) or not items:
        raise _schema(
            f"body.{key}",
            f"'{key}' phải là một mảng không rỗng",
            f"'{key}' must be a non-empty array",
        )
    if len(items) > MAX_ITEMS:
        raise _schema(
            f"body.{key}",
            f"tối đa {MAX_ITEMS} phần tử mỗi thông điệp, có {len(items)}",
            f"at most {MAX_ITEMS} items per message, got {len(items)}",
        )
    return items


@dataclass(slots=True)
class RecordIn:
    """A record version that passed every check that needs no store."""

    personal_id: str
    managing_agency: str
    employing_unit: str | None
    version: int
    previous_content_hash: str | None
    content_hash: str
    data: dict[str, Any]
    canonical: bytes
    approval: dict[str, Any]


def _first_difference(path: str, a: Any, b: Any) -> str:
    """The path of the first place where ``a`` (received) and ``b`` (normal form) differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key not in b:
                return f"{path}.{key}"
            if a[key] != b[key]:
                return _first_difference(f"{path}.{key}", a[key], b[key])
        return path
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(f"{path}[{i}]", x, y)
        return f"{path}[{min(len(a), len(b))}]"
    return path


def _value_at(data: Any, path: str) -> Any:
    cur = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            cur = cur[int(part[1:-1])] if part.startswith("[") else cur[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return cur


def _issue_error(prefix: str, issue: Issue) -> ExchangeError:
    code = "schema_invalid" if issue.code in SCHEMA_ISSUES else "field_invalid"
    top = re.split(r"[.\[]", issue.field, maxsplit=1)[0]
    path = issue.field if top in RECORD_KEYS else f"data.{issue.field}"
    return ExchangeError.of(
        code,
        field=f"{prefix}.{path}" if issue.field else prefix,
        detail_vi=issue.message_vi,
        detail_en=issue.message_en,
        value=issue.value,
    )


def _already_normal(
    raw: dict[str, Any], data: dict[str, Any], validator: DossierValidator
) -> tuple[str, str, str | None] | None:
    """(personal_id, managing_agency, employing_unit) when the record is in normal form and
    its top-level keys repeat its data exactly, which is what a conforming sender sends; None
    sends the record through :meth:`DossierValidator.check_line`, which finds what is wrong
    (or accepts an unusual but valid form the same way as before)."""
    pid = raw["personal_id"]
    agency = raw["managing_agency"]
    if (
        agency.__class__ is not str
        or data.get("personal_id") != pid
        or data.get("managing_agency_code") != agency
    ):
        return None
    unit = data.get("employing_unit_code")
    if "employing_unit" in raw and raw["employing_unit"] != unit:
        return None
    if not validator.is_normal(data):
        return None
    return pid, agency, unit if unit.__class__ is str else None


def check_record(
    raw: Any,
    index: int,
    *,
    trust: TrustStore,
    validator: DossierValidator,
    canonical: bytes | None = None,
) -> RecordIn:
    """Check one ``RecordVersion`` of ``records.upsert``; raise the first problem found.

    ``canonical`` is the JCS bytes of ``raw["data"]`` when the caller has them already (the
    envelope's verification serialises each record's data once, see
    :func:`~hoso.exchange.envelope.canonical_with_data`).
    """
    where = f"body.records[{index}]"
    if not isinstance(raw, dict):
        raise _schema(where, "bản ghi phải là một đối tượng JSON", "a record must be a JSON object")
    extra = sorted(raw.keys() - RECORD_KEYS)
    if extra:
        raise _schema(
            f"{where}.{extra[0]}",
            f"trường không có trong định dạng '{extra[0]}'",
            f"unknown field '{extra[0]}'",
        )
    for key in ("personal_id", "managing_agency", "version", "content_hash", "data"):
        if key not in raw:
            raise _schema(f"{where}.{key}", f"thiếu trường '{key}'", f"missing field '{key}'")
    pid = raw["personal_id"]
    _check_personal_id(where, pid)
    version = raw["version"]
    _check_version(where, version)
    claimed = raw["content_hash"]
    if not isinstance(claimed, str) or not HASH_RE.match(claimed):
        raise _schema(
            f"{where}.content_hash",
            "'content_hash' phải có dạng sha256:<64 hex>",
            "'content_hash' must be sha256:<64 hex>",
            claimed,
        )
    previous = raw.get("previous_content_hash")
    if previous is not None and (not isinstance(previous, str) or not HASH_RE.match(previous)):
        raise _schema(
            f"{where}.previous_content_hash",
            "'previous_content_hash' phải có dạng sha256:<64 hex>",
            "'previous_content_hash' must be sha256:<64 hex>",
            previous,
        )
    data = raw["data"]
    if not isinstance(data, dict):
        raise _schema(
            f"{where}.data", "'data' phải là một đối tượng JSON", "'data' must be a JSON object"
        )
    fast = _already_normal(raw, data, validator)
    if fast is not None:
        pid, agency, unit = fast
    else:
        checked = validator.check_line(
            {
                k: raw[k]
                for k in ("personal_id", "managing_agency", "employing_unit", "data")
                if k in raw
            }
        )
        if checked.issues:
            raise _issue_error(where, checked.issues[0])
        if checked.data != data:
            path = _first_difference("data", data, checked.data)
            raise _schema(
                f"{where}.{path}",
                "giá trị chưa ở dạng chuẩn (Unicode NFC, không có khoảng trắng thừa, không có chuỗi rỗng)",
                "the value is not in normal form (Unicode NFC, trimmed, no empty strings)",
                _value_at(data, path),
            )
        assert checked.managing_agency is not None and checked.personal_id is not None
        pid, agency, unit = checked.personal_id, checked.managing_agency, checked.employing_unit
    # The data is in normal form here, so its JCS bytes are orjson's with sorted keys,
    # which is what the envelope's verification computed.
    canon = canonical if canonical is not None else canonical_bytes(data, trusted=True)
    actual = "sha256:" + hashlib.sha256(canon).hexdigest()
    if actual != claimed:
        raise ExchangeError.of(
            "content_hash_mismatch",
            field=f"{where}.content_hash",
            detail_vi=f"dữ liệu có mã băm {actual}",
            detail_en=f"the data hashes to {actual}",
            value=claimed,
        )
    if "approval" not in raw:
        raise ExchangeError.of(
            "approval_invalid",
            field=f"{where}.approval",
            detail_vi="thiếu phê duyệt",
            detail_en="the approval is missing",
        )
    check_approval(raw["approval"], claimed, agency, trust=trust, field=f"{where}.approval")
    return RecordIn(
        personal_id=pid,
        managing_agency=agency,
        employing_unit=unit,
        version=version,
        previous_content_hash=previous,
        content_hash=claimed,
        data=data,
        canonical=canon,
        approval=raw["approval"],
    )


@dataclass(slots=True)
class RetirementIn:
    """A checked retirement (the person left the service: retired, moved, deceased …)."""

    personal_id: str
    version: int
    reason_code: str
    effective_date: str
    approval: dict[str, Any]


def check_retirement(
    raw: Any,
    index: int,
    *,
    trust: TrustStore,
    stored: Callable[[str, int], tuple[str, str] | None],
) -> RetirementIn:
    """Check one retirement; ``stored(pid, version)`` gives ``(content_hash, managing_agency)``."""
    where = f"body.retirements[{index}]"
    keys = {"personal_id", "version", "reason_code", "effective_date", "approval"}
    if not isinstance(raw, dict) or set(raw) - keys:
        raise _schema(where, "phần tử không đúng định dạng", "malformed item")
    pid = _check_personal_id(where, raw.get("personal_id"))
    version = _check_version(where, raw.get("version"))
    reason = raw.get("reason_code")
    if not isinstance(reason, str) or not reason:
        raise _schema(f"{where}.reason_code", "thiếu lý do", "reason_code is missing", reason)
    eff = raw.get("effective_date")
    if not isinstance(eff, str) or not DATE_RE.match(eff):
        raise _schema(
            f"{where}.effective_date",
            "ngày phải có dạng YYYY-MM-DD",
            "the date must be YYYY-MM-DD",
            eff,
        )
    if "approval" not in raw:
        raise ExchangeError.of(
            "approval_invalid",
            field=f"{where}.approval",
            detail_vi="thiếu phê duyệt",
            detail_en="the approval is missing",
        )
    found = stored(pid, version)
    if found is None:
        raise ExchangeError.of(
            "version_conflict",
            field=f"{where}.version",
            detail_vi=f"chưa nhận phiên bản {version} của {pid}",
            detail_en=f"version {version} of {pid} was never received",
            value=version,
        )
    content_hash, agency = found
    check_approval(raw["approval"], content_hash, agency, trust=trust, field=f"{where}.approval")
    return RetirementIn(pid, version, reason, eff, raw["approval"])


CORRECTION_KEYS = frozenset(
    {
        "correction_id",
        "personal_id",
        "field",
        "current_value",
        "proposed_value",
        "source",
        "reason_code",
        "evidence",
    }
)


def check_correction(raw: Any, index: int) -> dict[str, Any]:
    """Check one ``Correction`` of ``corrections.propose``."""
    where = f"body.corrections[{index}]"
    if not isinstance(raw, dict):
        raise _schema(where, "phần tử phải là một đối tượng JSON", "an item must be a JSON object")
    missing = sorted((CORRECTION_KEYS - {"evidence", "current_value"}) - raw.keys())
    if missing:
        raise _schema(
            f"{where}.{missing[0]}", f"thiếu trường '{missing[0]}'", f"missing field '{missing[0]}'"
        )
    extra = sorted(raw.keys() - CORRECTION_KEYS)
    if extra:
        raise _schema(
            f"{where}.{extra[0]}",
            f"trường không có trong định dạng '{extra[0]}'",
            f"unknown field '{extra[0]}'",
        )
    if not isinstance(raw["correction_id"], str) or not UUID_RE.match(raw["correction_id"]):
        raise _schema(
            f"{where}.correction_id",
            "'correction_id' phải là UUIDv7",
            "'correction_id' must be a UUIDv7",
            raw["correction_id"],
        )
    _check_personal_id(where, raw["personal_id"])
    for key in ("field", "source", "reason_code"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise _schema(
                f"{where}.{key}",
                f"'{key}' phải là chuỗi không rỗng",
                f"'{key}' must be a non-empty string",
                raw[key],
            )
    if raw.get("evidence") is not None and not isinstance(raw["evidence"], dict):
        raise _schema(
            f"{where}.evidence",
            "'evidence' phải là một đối tượng JSON",
            "'evidence' must be a JSON object",
        )
    return raw


def check_resolution(raw: Any, index: int) -> dict[str, Any]:
    """Check one item of ``corrections.resolve``."""
    where = f"body.resolutions[{index}]"
    if not isinstance(raw, dict) or set(raw) - {"correction_id", "decision", "reason"}:
        raise _schema(where, "phần tử không đúng định dạng", "malformed item")
    if not isinstance(raw.get("correction_id"), str) or not UUID_RE.match(raw["correction_id"]):
        raise _schema(
            f"{where}.correction_id",
            "'correction_id' phải là UUIDv7",
            "'correction_id' must be a UUIDv7",
            raw.get("correction_id"),
        )
    if raw.get("decision") not in ("accepted", "rejected"):
        raise _schema(
            f"{where}.decision",
            "'decision' phải là accepted hoặc rejected",
            "'decision' must be accepted or rejected",
            raw.get("decision"),
        )
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise _schema(
            f"{where}.reason", "'reason' phải là chuỗi", "'reason' must be a string", reason
        )
    if raw["decision"] == "rejected" and not reason:
        raise _schema(f"{where}.reason", "từ chối phải nêu lý do", "a rejection needs a reason")
    return raw


ACK_STATUSES = ("accepted", "partially_accepted", "rejected")


def check_ack(body: dict[str, Any]) -> None:
    """Check an ``Ack`` body."""
    if set(body) - {"ack_of", "status", "expected_sequence", "results", "error"}:
        raise _schema(
            "body", "ack có trường không có trong định dạng", "the ack has unknown fields"
        )
    if not isinstance(body.get("ack_of"), str) or not (
        UUID_RE.match(body["ack_of"]) or body["ack_of"] == ""
    ):
        raise _schema(
            "body.ack_of",
            "'ack_of' phải là id thông điệp",
            "'ack_of' must be a message id",
            body.get("ack_of"),
        )
    if body.get("status") not in ACK_STATUSES:
        raise _schema(
            "body.status", "trạng thái ack không hợp lệ", "invalid ack status", body.get("status")
        )
    seq = body.get("expected_sequence")
    if seq.__class__ is not int or seq < 1:
        raise _schema(
            "body.expected_sequence",
            "'expected_sequence' phải là số nguyên dương",
            "'expected_sequence' must be a positive integer",
            seq,
        )
    if not isinstance(body.get("results"), list):
        raise _schema("body.results", "'results' phải là một mảng", "'results' must be an array")


def check_time(value: Any, field: str) -> None:
    """Refuse a timestamp that is not RFC 3339 UTC."""
    if parse_time(value) is None:
        raise _schema(
            field,
            "thời điểm phải theo RFC 3339 UTC (…Z)",
            "the time must be RFC 3339 UTC (…Z)",
            value,
        )
