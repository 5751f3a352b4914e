"""The registry's fields (from the catalogue) and the validation of one citizen.

The fields are the catalogue's ``master: population_registry`` fields (``record_id`` aside:
it equals ``personal_id``), plus the registry's own ``status`` (``alive`` / ``deceased``).
:func:`validate_citizen` checks one JSON object against them and returns the normalised
citizen (NFC text, trimmed; empty values and ``null`` left out) or the problems found, each
naming the field and the value, in Vietnamese and English.

Required: ``personal_id``, ``birth_name``, ``date_of_birth``, ``sex``. Everything else is
checked when present: codes against their code list (commune codes against the list of the
scheme named by the field's scheme field, ``2025`` when absent), dates as ``YYYY-MM-DD``,
text for length and control characters, ``legacy_id_no`` as 9 or 12 digits (a 12-digit
old number equal to the personal ID is dropped: identifiers.md §2).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hoso.catalog.admin_units import districts_legacy, wards_2025, wards_legacy
from hoso.catalog.loader import get_catalog
from hoso.errors import Issue
from hoso.popsim.models import ALIVE, COLUMN_FIELDS, STATUSES

REQUIRED = ("personal_id", "birth_name", "date_of_birth", "sex")
"""Fields every citizen has."""

_PERSONAL_ID = re.compile(r"[0-9]{12}")
_LEGACY_ID = re.compile(r"[0-9]{9}|[0-9]{12}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The search key of a name: NFC, upper case, single spaces (``NGUYỄN VĂN AN``)."""
    upper = unicodedata.normalize("NFC", name).upper()
    return _SPACES.sub(" ", unicodedata.normalize("NFC", upper)).strip()


def is_personal_id(value: str) -> bool:
    """True for 12 ASCII digits."""
    return _PERSONAL_ID.fullmatch(value) is not None


def is_legacy_id(value: str) -> bool:
    """True for an old CMND number: 9 or 12 ASCII digits."""
    return _LEGACY_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one registry field is checked."""

    code: str
    kind: str
    """``personal_id`` | ``legacy_id`` | ``string`` | ``date`` | ``code`` | ``status``."""
    label_vi: str
    label_en: str
    max_length: int | None = None
    codelist: str | None = None
    codes: frozenset[str] | None = None
    by_scheme: tuple[tuple[str, str, frozenset[str]], ...] = ()
    """(scheme, code list id, codes) for fields whose list depends on a scheme field."""
    scheme_field: str | None = None


def _codes(list_id: str) -> frozenset[str]:
    if list_id == "ward_2025":
        return frozenset(wards_2025())
    if list_id == "ward_legacy":
        return frozenset(wards_legacy())
    if list_id == "district_legacy":
        return frozenset(districts_legacy())
    return frozenset(get_catalog().codelist(list_id).codes)


@lru_cache
def field_specs() -> dict[str, FieldSpec]:
    """The registry's fields in catalogue order (``status`` last), by code."""
    specs: dict[str, FieldSpec] = {}
    for f in get_catalog().fields:
        if f.master != "population_registry" or f.code == "record_id":
            continue
        if f.code == "personal_id":
            kind = "personal_id"
        elif f.code == "legacy_id_no":
            kind = "legacy_id"
        elif f.type in ("date", "code"):
            kind = f.type
        else:
            kind = "string"
        by_scheme = tuple(
            (scheme, list_id, _codes(list_id))
            for scheme, list_id in (f.codelist_by_scheme or {}).items()
        )
        specs[f.code] = FieldSpec(
            code=f.code,
            kind=kind,
            label_vi=f.label_vi,
            label_en=f.label_en,
            max_length=f.effective_max_length if kind == "string" else None,
            codelist=f.codelist,
            codes=_codes(f.codelist) if kind == "code" and f.codelist and not by_scheme else None,
            by_scheme=by_scheme,
            scheme_field=f.scheme_field,
        )
    specs["status"] = FieldSpec(
        code="status", kind="status", label_vi="Trạng thái", label_en="Status"
    )
    return specs


@lru_cache
def extra_fields() -> tuple[str, ...]:
    """Registry fields stored in the ``extra`` JSON column (not in a column of their own)."""
    return tuple(code for code in field_specs() if code not in COLUMN_FIELDS)


def _issue(field: str, code: str, vi: str, en: str, value: Any) -> Issue:
    return Issue(field=field, code=code, message_vi=vi, message_en=en, value=value)


def _check(spec: FieldSpec, value: str, doc: dict[str, str]) -> Issue | None:
    kind = spec.kind
    if kind == "personal_id":
        if not is_personal_id(value):
            return _issue(
                spec.code,
                "invalid_personal_id",
                "Số định danh cá nhân phải gồm đúng 12 chữ số",
                "The personal ID must be exactly 12 digits",
                value,
            )
    elif kind == "legacy_id":
        if not is_legacy_id(value):
            return _issue(
                spec.code,
                "invalid_legacy_id",
                "Số CMND cũ phải gồm 9 hoặc 12 chữ số",
                "The old ID card (CMND) number must have 9 or 12 digits",
                value,
            )
    elif kind == "date":
        try:
            ok = _ISO_DATE.fullmatch(value) is not None and bool(dt.date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            return _issue(
                spec.code,
                "invalid_date",
                "Ngày không hợp lệ (phải là YYYY-MM-DD)",
                "Invalid date (must be YYYY-MM-DD)",
                value,
            )
    elif kind == "code":
        list_id, codes = spec.codelist, spec.codes
        if spec.by_scheme:
            scheme = doc.get(spec.scheme_field or "", "2025")
            match = next((e for e in spec.by_scheme if e[0] == scheme), None)
            if match is None:
                return None  # the scheme field itself is reported
            _, list_id, codes = match
        if codes is not None and value not in codes:
            return _issue(
                spec.code,
                "unknown_code",
                f"Mã không có trong danh mục '{list_id}'",
                f"Code not in code list '{list_id}'",
                value,
            )
    elif kind == "status":
        if value not in STATUSES:
            return _issue(
                spec.code,
                "invalid_status",
                "Trạng thái phải là 'alive' (còn sống) hoặc 'deceased' (đã chết)",
                "Status must be 'alive' or 'deceased'",
                value,
            )
    else:
        if _CONTROL.search(value):
            return _issue(
                spec.code,
                "control_character",
                "Chứa ký tự điều khiển (tab, xuống dòng…)",
                "Contains a control character (tab, newline, ...)",
                value,
            )
        if spec.max_length is not None and len(value) > spec.max_length:
            return _issue(
                spec.code,
                "too_long",
                f"Dài quá {spec.max_length} ký tự",
                f"Longer than {spec.max_length} characters",
                value,
            )
    return None


def validate_citizen(raw: Any) -> tuple[dict[str, str] | None, list[Issue]]:
    """Check one citizen object; return ``(citizen, [])`` or ``(None, issues)``.

    The citizen has NFC, trimmed string values, no empty ones, and ``status`` (``alive``
    when not given).
    """
    if not isinstance(raw, dict):
        return None, [
            _issue(
                "",
                "not_an_object",
                "Dòng không phải là một đối tượng JSON {…}",
                "The line is not a JSON object {...}",
                None,
            )
        ]
    specs = field_specs()
    issues: list[Issue] = []
    doc: dict[str, str] = {}
    record_id: Any = None
    for key, value in raw.items():
        if key == "record_id":
            record_id = value
            continue
        if key not in specs:
            issues.append(
                _issue(
                    str(key),
                    "unknown_field",
                    "Trường không thuộc dữ liệu do CSDL dân cư quản lý",
                    "Not a field mastered by the population registry",
                    value,
                )
            )
            continue
        if value is None:
            continue
        if not isinstance(value, str):
            issues.append(
                _issue(
                    key,
                    "not_a_string",
                    'Giá trị phải là chuỗi ký tự (mã viết trong dấu nháy: "01")',
                    'The value must be a JSON string (codes in quotes: "01")',
                    value,
                )
            )
            continue
        text = unicodedata.normalize("NFC", value).strip()
        if text:
            doc[key] = text
    for key in REQUIRED:
        if key not in doc and not any(i.field == key for i in issues):
            issues.append(
                _issue(
                    key,
                    "missing",
                    "Thiếu trường bắt buộc",
                    "Required field missing",
                    None,
                )
            )
    for key, text in doc.items():
        problem = _check(specs[key], text, doc)
        if problem is not None:
            issues.append(problem)
    if record_id is not None and record_id != doc.get("personal_id"):
        issues.append(
            _issue(
                "record_id",
                "record_id_mismatch",
                "Mã số định danh (record_id) phải trùng số định danh cá nhân",
                "record_id must equal personal_id",
                record_id,
            )
        )
    if issues:
        return None, issues
    doc.setdefault("status", ALIVE)
    if doc.get("legacy_id_no") == doc["personal_id"]:
        del doc["legacy_id_no"]
    return doc, []
