"""Pydantic schemas of the organisation tree: the exchange ``OrgUnit`` and what we read back.

``OrgUnitIn`` is the exchange spec's ``OrgUnit`` (``exchange/README.md`` §4) plus our
``staffing_quota`` (biên chế). ``OrgTreeIn`` is the ``orgtree.upsert`` body. Fields left out of
the input are "not known": on an existing unit they keep their stored value (see
:func:`hoso.orgs.service.upsert_units`). :func:`issues_from_validation_error` turns a Pydantic
error into :class:`hoso.errors.Issue` items with Vietnamese and English messages and the field
path (``units[3].parent_code``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from hoso.errors import Issue
from hoso.orgs.kinds import KINDS, OrgKind
from hoso.orgs.models import OrgUnit

#: QĐ 20/2020 character set, dot-separated groups (identifiers.md §3); tree codes ≤ 60 chars.
CODE_PATTERN = r"^[0-9A-Z]+(\.[0-9A-Z]+)*$"
CODE_MAX_LENGTH = 60
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _iso_date(value: Any) -> Any:
    """Accept a ``date`` or a ``YYYY-MM-DD`` string; refuse timestamps, numbers, bad days."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError(
            "date_format",
            "expected a date YYYY-MM-DD",
            {
                "message_vi": "Phải là ngày dạng YYYY-MM-DD",
                "message_en": "Must be a YYYY-MM-DD date",
            },
        )
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise PydanticCustomError(
            "date_format",
            "expected a date YYYY-MM-DD",
            {
                "message_vi": "Phải là ngày dạng YYYY-MM-DD",
                "message_en": "Must be a YYYY-MM-DD date",
            },
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "date_impossible",
            "impossible date",
            {"message_vi": "Ngày không tồn tại", "message_en": "Impossible date"},
        ) from None


OrgCode = Annotated[str, StringConstraints(pattern=CODE_PATTERN, max_length=CODE_MAX_LENGTH)]
"""An org unit code: ``[0-9A-Z]`` groups separated by dots, at most 60 characters."""

IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
"""A calendar date written ``YYYY-MM-DD``."""

UnitName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(_nfc),
]


class AdminUnitRef(BaseModel):
    """The administrative unit an org unit governs or sits in (province, commune)."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["2025", "legacy"]
    """``2025`` (34 provinces, 3,321 communes) or ``legacy`` (before 1/7/2025)."""
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,5}$")]
    """Province (2 digits), legacy district (3) or commune (5) code."""


class OrgUnitIn(BaseModel):
    """One unit of an ``orgtree.upsert`` body (exchange ``OrgUnit`` + ``staffing_quota``)."""

    model_config = ConfigDict(extra="forbid")

    code: OrgCode
    name: UnitName
    parent_code: OrgCode | None = None
    kind: OrgKind
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    successor_codes: list[OrgCode] = Field(default_factory=list)
    admin_unit: AdminUnitRef | None = None
    staffing_quota: Annotated[int, Field(ge=0, strict=True)] | None = None
    """Biên chế: the number of posts the unit is allotted (our extension of OrgUnit)."""

    @field_validator("parent_code")
    @classmethod
    def _not_own_parent(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("code"):
            raise PydanticCustomError(
                "own_parent",
                "a unit cannot be its own parent",
                {
                    "message_vi": f"Đơn vị '{value}' không thể là đơn vị cha của chính nó",
                    "message_en": f"Unit '{value}' cannot be its own parent",
                },
            )
        return value

    @field_validator("valid_to")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise PydanticCustomError(
                "valid_to_before_valid_from",
                "valid_to is before valid_from",
                {
                    "message_vi": f"Ngày hết hiệu lực {value} trước ngày có hiệu lực {start}",
                    "message_en": f"valid_to {value} is before valid_from {start}",
                },
            )
        return value

    @field_validator("successor_codes")
    @classmethod
    def _successors_distinct(cls, value: list[str], info: ValidationInfo) -> list[str]:
        code = info.data.get("code")
        if code is not None and code in value:
            raise PydanticCustomError(
                "own_successor",
                "a unit cannot succeed itself",
                {
                    "message_vi": f"Đơn vị '{code}' không thể là đơn vị kế thừa của chính nó",
                    "message_en": f"Unit '{code}' cannot be its own successor",
                },
            )
        return list(dict.fromkeys(value))

    def to_exchange(self) -> dict[str, Any]:
        """The JSON form of the exchange spec (dates as ``YYYY-MM-DD``)."""
        return self.model_dump(mode="json")


class OrgTreeIn(BaseModel):
    """The ``orgtree.upsert`` body: ``{"units": [OrgUnit, ...]}``."""

    model_config = ConfigDict(extra="forbid")

    units: list[OrgUnitIn]


class OrgUnitRead(BaseModel):
    """A stored unit: the exchange fields plus its place in the tree and timestamps."""

    code: str
    name: str
    parent_code: str | None
    kind: str
    kind_label: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    successor_codes: list[str]
    admin_unit: AdminUnitRef | None
    staffing_quota: int | None
    path: str
    """Materialised path ``/ROOT/.../CODE/``."""
    depth: int
    """0 for a root unit, 1 for its children, …"""
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, unit: OrgUnit) -> OrgUnitRead:
        """Build from the ORM row."""
        admin = (
            AdminUnitRef.model_validate(
                {"scheme": unit.admin_unit_scheme, "code": unit.admin_unit_code}
            )
            if unit.admin_unit_scheme and unit.admin_unit_code
            else None
        )
        vi, en = KINDS.get(unit.kind, (unit.kind, unit.kind))
        return cls(
            code=unit.code,
            name=unit.name,
            parent_code=unit.parent_code,
            kind=unit.kind,
            kind_label=f"{vi} / {en}",
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            successor_codes=list(unit.successor_codes or []),
            admin_unit=admin,
            staffing_quota=unit.staffing_quota,
            path=unit.path,
            depth=depth_of(unit.path),
            created_at=unit.created_at,
            updated_at=unit.updated_at,
        )


class OrgPage(BaseModel):
    """One page of a unit listing."""

    items: list[OrgUnitRead]
    total: int
    limit: int
    offset: int


class StaffingRead(BaseModel):
    """Staffing quota (biên chế) of a unit and of its whole subtree."""

    code: str
    quota: int | None
    """The unit's own quota (None when not set)."""
    subtree_quota: int
    """Sum of the quotas of the unit and every unit below it that is in force."""
    subtree_units: int
    """Number of units in force in the subtree (the unit included)."""
    units_without_quota: int
    """How many of those units have no quota set."""


class UpsertResultRead(BaseModel):
    """Counts of an ``orgtree.upsert``."""

    created: int
    updated: int
    unchanged: int


def depth_of(path: str) -> int:
    """Depth of a materialised path: ``/A/`` → 0, ``/A/B/`` → 1."""
    return path.count("/") - 2


# --- Pydantic errors → Issue -------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Thiếu trường bắt buộc", "Required field is missing"),
    "extra_forbidden": ("Trường không được phép", "Unknown field"),
    "string_type": ("Phải là chuỗi ký tự", "Must be a string"),
    "string_pattern_mismatch": (
        "Sai định dạng (mẫu {pattern})",
        "Wrong format (pattern {pattern})",
    ),
    "string_too_long": (
        "Dài quá {max_length} ký tự",
        "Longer than {max_length} characters",
    ),
    "string_too_short": (
        "Ngắn hơn {min_length} ký tự",
        "Shorter than {min_length} characters",
    ),
    "literal_error": (
        "Giá trị không thuộc danh sách cho phép ({expected})",
        "Value not among the allowed ones ({expected})",
    ),
    "enum": (
        "Giá trị không thuộc danh sách cho phép ({expected})",
        "Value not among the allowed ones ({expected})",
    ),
    "int_type": ("Phải là số nguyên", "Must be an integer"),
    "int_parsing": ("Phải là số nguyên", "Must be an integer"),
    "int_from_float": ("Phải là số nguyên", "Must be an integer"),
    "greater_than_equal": ("Phải lớn hơn hoặc bằng {ge}", "Must be at least {ge}"),
    "less_than_equal": ("Phải nhỏ hơn hoặc bằng {le}", "Must be at most {le}"),
    "list_type": ("Phải là một mảng", "Must be an array"),
    "dict_type": ("Phải là một đối tượng", "Must be an object"),
    "model_type": ("Phải là một đối tượng", "Must be an object"),
    "model_attributes_type": ("Phải là một đối tượng", "Must be an object"),
    "bool_type": ("Phải là true hoặc false", "Must be true or false"),
    "date_type": ("Phải là ngày dạng YYYY-MM-DD", "Must be a YYYY-MM-DD date"),
    "date_parsing": ("Phải là ngày dạng YYYY-MM-DD", "Must be a YYYY-MM-DD date"),
    "date_from_datetime_parsing": ("Phải là ngày dạng YYYY-MM-DD", "Must be a YYYY-MM-DD date"),
}


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``("units", 3, "parent_code")`` → ``units[3].parent_code``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def issues_from_validation_error(exc: ValidationError, *, prefix: str = "") -> list[Issue]:
    """Translate a Pydantic ``ValidationError`` into Issues (field path, code, vi/en, value)."""
    issues: list[Issue] = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        ctx = err.get("ctx") or {}
        path = field_path(tuple(err["loc"]), prefix)
        if "message_vi" in ctx and "message_en" in ctx:
            vi, en = str(ctx["message_vi"]), str(ctx["message_en"])
        elif kind in _MESSAGES:
            fmt = {k: str(v) for k, v in ctx.items()}
            vi_t, en_t = _MESSAGES[kind]
            try:
                vi, en = vi_t.format(**fmt), en_t.format(**fmt)
            except KeyError:
                vi, en = vi_t, en_t
        else:
            vi, en = "Giá trị không hợp lệ", str(err.get("msg", "Invalid value"))
        value = None if kind == "missing" else err.get("input")
        if isinstance(value, dt.date):
            value = value.isoformat()
        if not isinstance(value, str | int | float | bool | type(None)):
            value = None
        where = path if value is None else f"{path} = {value!r}"
        issues.append(
            Issue(
                field=path,
                code=kind,
                message_vi=f"{where}: {vi}",
                message_en=f"{where}: {en}",
                value=value,
            )
        )
    return issues
