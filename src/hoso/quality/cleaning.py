"""Cleaning reviewed by a person: proposals built from findings, accepted or rejected by an officer.

Nothing is rewritten silently. :func:`propose` turns the current findings of the cleaning
rules into **one** :class:`~hoso.quality.models.QualityFix` per person, holding every change
with its old and new value and a bilingual note; :func:`accept` applies a fix to the
version it was made from and stores the result through :func:`hoso.people.service.update`
(validated, a new DRAFT version that still needs approval, audited like any edit);
:func:`reject` closes it with a reason. Services never commit.

What each rule proposes
-----------------------
=========  ==================================================================================
SACH-003   legacy encoding (TCVN3/ABC, VNI) converted to NFC Unicode
           (:func:`hoso.quality.text.repair_legacy`); a text that reads as well in both
           encodings is *ambiguous*: both readings are candidates and the officer picks one
SACH-004   NFC, control and zero-width characters removed (:func:`~hoso.quality.text.clean_unicode`)
SACH-012   spaces trimmed; an empty string removed (absent); separators removed from
           identifiers; ``+84``/``0084`` phones in the national ``0…`` form; a code in the
           wrong case replaced by the code of its list (upper case for external lists)
SACH-006   runs of spaces collapsed (:func:`~hoso.quality.text.normalise_name`); a name that
           is still invalid (digits, other symbols, a one-word birth name) gets no automatic
           change, only a note: letters are never invented or dropped
SACH-005   the birth name in upper case
SACH-007   a legacy address converted to the 2025 units (:func:`~hoso.quality.admin_units.
           convert_address`): ``exact`` sets scheme ``2025``, the new commune and province
           codes, removes the abolished district and keeps the old wording in
           ``*_legacy_text`` when that is empty; ``ambiguous`` (a split commune) leaves the
           commune's ``new`` empty with every successor as a candidate for the officer;
           ``not_found`` is a note only
=========  ==================================================================================

Several rules on one field give one change (pipeline order SACH-003, SACH-004, SACH-012,
SACH-006, SACH-005): ``rule_id`` is the first rule, ``rule_ids`` lists all of them. A
change is a dict ``{field, old, new, rule_id, rule_ids, kind, ambiguous, candidates,
note_vi, note_en}``; ``new`` None removes the field; ``kind`` is ``legacy_encoding``,
``unicode``, ``normalisation``, ``name_format``, ``admin_unit``, or ``note`` (nothing is
changed, the officer is told why). A finding whose value no longer matches the dossier
is stale and ignored (the next run re-checks). A person with notes only gets no fix
(counted as ``manual``).

Scope: a principal sees and decides the fixes of the managing agencies in its org subtree
(``quality:review``; accepting also needs ``person:write``); a fix outside the scope is
reported as not found. Every action writes one audit event per call
(``quality:fix:propose``, ``quality:fix:accept``, ``quality:fix:reject``).

Paths are finding paths (``birth_name``, ``work_history[2].unit``,
``concurrent_position_codes[1]``, ``table[i].column[j]``): :func:`get_path`,
:func:`set_path`, :func:`delete_path` read and write them in a dossier document.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import Catalog, FieldDef, get_catalog
from hoso.db.base import utcnow
from hoso.errors import Conflict, HosoError, InvalidInput, Issue, NotFound
from hoso.orgs import service as orgs_service
from hoso.people import service as people_service
from hoso.people.models import Person, PersonPost, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.quality import admin_units, text
from hoso.quality.models import FixStatus, QualityFinding, QualityFix
from hoso.quality.rules_dung import normalise_contact

__all__ = [
    "FIX_RULES",
    "NOTE",
    "SOURCE",
    "STATUSES",
    "FixOutcome",
    "PathError",
    "ProposeReport",
    "accept",
    "address_changes",
    "apply_changes",
    "build_changes",
    "count_fixes",
    "delete_path",
    "get_fix",
    "get_path",
    "leaf_path",
    "list_fixes",
    "normalise_value",
    "parse_path",
    "propose",
    "reject",
    "set_path",
    "text_change",
]

FIX_RULES: Final = ("SACH-003", "SACH-004", "SACH-005", "SACH-006", "SACH-007", "SACH-012")
"""The rules whose findings cleaning can turn into proposals."""

_TEXT_ORDER: Final = ("SACH-003", "SACH-004", "SACH-012", "SACH-006", "SACH-005")
_KIND: Final = {
    "SACH-003": "legacy_encoding",
    "SACH-004": "unicode",
    "SACH-012": "normalisation",
    "SACH-006": "name_format",
    "SACH-005": "name_format",
    "SACH-007": "admin_unit",
}
NOTE = "note"
STATUSES: Final = (
    FixStatus.PROPOSED,
    FixStatus.ACCEPTED,
    FixStatus.REJECTED,
    FixStatus.SUPERSEDED,
)
SOURCE = "cleaning"
"""``source`` of the versions that accepted fixes create."""
_CHUNK = 500


# --- paths ------------------------------------------------------------------------------------

Token = str | int
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


class PathError(ValueError):
    """A path that is malformed or does not lead to a value of the document."""


def parse_path(path: str) -> tuple[Token, ...]:
    """``work_history[2].unit`` → ``("work_history", 2, "unit")``; PathError when malformed."""
    tokens: list[Token] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            raise PathError(f"invalid path {path!r}")
        tokens.append(m[1])
        tokens.extend(int(i) for i in _INDEX.findall(m[2]))
    return tuple(tokens)


def leaf_path(path: str) -> str:
    """The catalogue path of a finding path: ``work_history[2].unit`` → ``work_history.unit``."""
    return ".".join(t for t in parse_path(path) if isinstance(t, str))


def _step(node: Any, token: Token) -> Any:
    if isinstance(token, int):
        if isinstance(node, list) and 0 <= token < len(node):
            return node[token]
        raise PathError(f"no element [{token}]")
    if isinstance(node, dict) and token in node:
        return node[token]
    raise PathError(f"no key {token!r}")


def get_path(doc: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at ``path`` in ``doc``, or ``default`` when some part of it is absent."""
    node: Any = doc
    try:
        for token in parse_path(path):
            node = _step(node, token)
    except PathError:
        return default
    return node


def _parent(doc: Any, path: str) -> tuple[Any, Token]:
    tokens = parse_path(path)
    node = doc
    for token in tokens[:-1]:
        node = _step(node, token)
    return node, tokens[-1]


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at ``path``: the last key of an object may be new, every other part
    (rows, list elements) must exist (PathError otherwise)."""
    node, last = _parent(doc, path)
    if isinstance(last, int):
        if not isinstance(node, list) or not 0 <= last < len(node):
            raise PathError(f"no element [{last}] in {path!r}")
        node[last] = value
        return
    if not isinstance(node, dict):
        raise PathError(f"{path!r} does not lead to an object")
    node[last] = value


def delete_path(doc: dict[str, Any], path: str) -> bool:
    """Remove the key or list element at ``path``; False when it was already absent."""
    try:
        node, last = _parent(doc, path)
        _step(node, last)
    except PathError:
        return False
    if isinstance(last, int):
        node.pop(last)
    else:
        del node[last]
    return True


# --- building changes (pure) -------------------------------------------------------------------


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _change(
    field_path: str,
    old: Any,
    new: Any,
    rules: Sequence[str],
    note_vi: str,
    note_en: str,
    *,
    kind: str | None = None,
    ambiguous: bool = False,
    candidates: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "field": field_path,
        "old": old,
        "new": new,
        "rule_id": rules[0],
        "rule_ids": list(rules),
        "kind": kind or _KIND[rules[0]],
        "ambiguous": ambiguous,
        "candidates": list(candidates),
        "note_vi": _nfc(note_vi),
        "note_en": note_en,
    }


def _note(field_path: str, old: Any, rules: Sequence[str], vi: str, en: str) -> dict[str, Any]:
    """A change that changes nothing: why no automatic fix is proposed."""
    return _change(field_path, old, old, rules, vi, en, kind=NOTE)


def _is_identifier(leaf: FieldDef) -> bool:
    return leaf.type in ("personal_id", "phone") or (
        leaf.type == "string" and leaf.pattern is not None
    )


def _code_in_lists(value: str, leaf: FieldDef, catalog: Catalog) -> str | None:
    """The code of the leaf's lists equal to ``value`` ignoring case (upper case for an
    external list); None when no list has it."""
    lists = [leaf.codelist] if leaf.codelist else []
    lists.extend((leaf.codelist_by_scheme or {}).values())
    for list_id in dict.fromkeys(lists):
        codelist = catalog.codelists.get(list_id)
        if codelist is None:  # external list (agencies, units, jobs): codes in upper case
            return value.upper()
        for code in codelist.codes:
            if code.upper() == value.upper():
                return code
    return None


def normalise_value(
    value: str, leaf: FieldDef, catalog: Catalog
) -> tuple[str | None, list[tuple[str, str]]]:
    """SACH-012 for one value: the normalised value (None: remove it) and what was done.

    Trims; an empty string becomes absent; identifiers lose their separators; a phone in
    ``+84`` form gets the national ``0`` form; a code in the wrong case becomes its list's
    code (left as it is, with a note, when no list has it).
    """
    notes: list[tuple[str, str]] = []
    if value.strip() == "":
        return None, [("chuỗi rỗng thay bằng bỏ trống", "empty string removed (absent)")]
    out = value.strip()
    if out != value:
        notes.append(("bỏ khoảng trắng đầu/cuối", "leading/trailing spaces trimmed"))
    if _is_identifier(leaf):
        fixed = normalise_contact(out, phone=leaf.type == "phone")
        if fixed != out:
            if leaf.type == "phone" and re.match(r"^\(?(\+|00)84", out):
                notes.append(("số điện thoại +84 đổi sang dạng 0…", "+84 phone in the 0… form"))
            if re.search(r"[\s.\-()]", out):
                notes.append(("bỏ dấu phân cách trong số", "separators removed from the number"))
            out = fixed
    if leaf.type == "code":
        code = _code_in_lists(out, leaf, catalog)
        if code is None:
            notes.append(
                (
                    f"mã '{out}' không có trong danh mục, giữ nguyên",
                    f"code '{out}' is in no list, left as it is",
                )
            )
        elif code != out:
            notes.append((f"mã viết lại đúng danh mục: '{code}'", f"code as listed: '{code}'"))
            out = code
    return out, notes


_ENCODING_NAMES: Final = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows"}


def _name_problem(value: str, *, birth_name: bool) -> tuple[str, str] | None:
    """Why a name is still invalid after collapsing spaces (None: it is valid)."""
    if any(ch.isdigit() for ch in value):
        return "tên có chữ số", "the name contains digits"
    if not text.is_valid_name(value):
        return (
            "tên có ký tự không phải chữ cái, khoảng trắng, dấu nháy, gạch nối",
            "the name has characters other than letters, spaces, apostrophes and hyphens",
        )
    if birth_name and " " not in value:
        return "họ tên khai sinh chỉ có một từ", "the birth name has a single word"
    return None


def text_change(
    field_path: str,
    value: str,
    rules: Iterable[str],
    leaf: FieldDef,
    catalog: Catalog,
) -> dict[str, Any] | None:
    """One change for a text value flagged by the cleaning ``rules`` (SACH-003/004/005/006/012),
    or a note when nothing can be changed automatically; None when nothing is to say."""
    flagged = [r for r in _TEXT_ORDER if r in set(rules)]
    if not flagged:
        return None
    birth_name = leaf.code == "birth_name" and leaf.table is None
    # Readings: one value, or two when the legacy encoding is ambiguous (label, value).
    readings: list[tuple[str, str | None]] = [("", value)]
    applied: list[str] = []
    notes_vi: list[str] = []
    notes_en: list[str] = []
    case_guess = False

    def note(rule_id: str, vi: str, en: str) -> None:
        if rule_id not in applied:
            applied.append(rule_id)
        notes_vi.append(vi)
        notes_en.append(en)

    for rule_id in flagged:
        if rule_id == "SACH-003":
            repair = text.repair_legacy(value)
            if repair is None:
                continue
            name = _ENCODING_NAMES[repair.encoding]
            readings = [(name, repair.fixed)]
            if repair.ambiguous and repair.encoding == "vni":
                other = text.repair_tcvn3(value, force=True)
                if other != repair.fixed:
                    readings.append((_ENCODING_NAMES["tcvn3"], other))
            elif repair.ambiguous:
                case_guess = True
            source_vi, source_en = f"bảng mã {name}", name
            if len(readings) > 1:
                source_vi, source_en = "bảng mã cũ (TCVN3 hoặc VNI)", "a legacy encoding"
            note(
                rule_id,
                f"chuyển từ {source_vi} sang Unicode NFC",
                f"converted from {source_en} to Unicode NFC",
            )
        elif rule_id == "SACH-004":
            new = [(label, v if v is None else text.clean_unicode(v)) for label, v in readings]
            if new != readings:
                note(
                    rule_id,
                    "chuẩn hóa Unicode NFC, bỏ ký tự điều khiển/ký tự độ rộng 0",
                    "Unicode NFC, control and zero-width characters removed",
                )
                readings = new
        elif rule_id == "SACH-012":
            new = []
            for label, v in readings:
                if v is None:
                    new.append((label, v))
                    continue
                fixed, what = normalise_value(v, leaf, catalog)
                new.append((label, fixed))
                for vi, en in what:
                    if vi not in notes_vi:
                        note(rule_id, vi, en)
            readings = new
        elif rule_id == "SACH-006":
            new = []
            problem: tuple[str, str] | None = None
            for label, v in readings:
                collapsed = v if v is None else text.normalise_name(v)
                if collapsed is not None:
                    problem = problem or _name_problem(collapsed, birth_name=birth_name)
                new.append((label, collapsed))
            if problem is not None:
                vi, en = problem
                notes_vi.append(f"{vi}: cần sửa tay, không tự động sửa")
                notes_en.append(f"{en}: to be corrected by hand, no automatic fix")
                if rule_id not in applied:
                    applied.append(rule_id)
            elif new != readings:
                note(rule_id, "bỏ khoảng trắng thừa", "extra spaces removed")
                readings = new
        elif rule_id == "SACH-005" and birth_name:
            new = [(label, v if v is None else _nfc(v.upper())) for label, v in readings]
            if new != readings:
                note(rule_id, "họ tên khai sinh viết chữ in hoa", "birth name in upper case")
                readings = new
    finals: list[tuple[str, str | None]] = []
    for label, v in readings:
        if all(v != seen for _, seen in finals):
            finals.append((label, v))
    if case_guess and any(v is not None and v != v.upper() for _, v in finals):
        notes_vi.append("chưa chắc chữ hoa/chữ thường của một số chữ có dấu, cần kiểm tra")
        notes_en.append("the case of some toned letters is a guess, please check")
    if not applied:
        return None
    rules_done = applied
    note_vi = "; ".join(notes_vi)
    note_en = "; ".join(notes_en)
    note_vi = note_vi[:1].upper() + note_vi[1:]
    note_en = note_en[:1].upper() + note_en[1:]
    if len(finals) > 1:
        listed = ", ".join(f"{label}: '{v}'" for label, v in finals)
        return _change(
            field_path,
            value,
            None,
            rules_done,
            f"{note_vi}; đọc được theo hai bảng mã ({listed}), người duyệt chọn",
            f"{note_en}; it reads in two encodings ({listed}), the reviewer chooses",
            ambiguous=True,
            candidates=[{"value": v, "label": label} for label, v in finals],
        )
    final = finals[0][1]
    if final == value:
        return _note(field_path, value, rules_done, note_vi, note_en)
    return _change(field_path, value, final, rules_done, note_vi, note_en)


# --- addresses (SACH-007) ----------------------------------------------------------------------

_UNIT_TYPES: Final = (
    "Thành phố",
    "Thị trấn",
    "Thị xã",
    "Đặc khu",
    "Phường",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Xã",
)


def _in_sentence(name: str) -> str:
    """``Huyện Gia Lâm`` → ``huyện Gia Lâm`` (names that are numbers keep it: ``Quận 1``)."""
    for unit_type in _UNIT_TYPES:
        if name.startswith(unit_type + " ") and not name[len(unit_type) + 1 :][:1].isdigit():
            return unit_type.lower() + name[len(unit_type) :]
    return name


def _legacy_wording(
    ward_code: str | None, district_code: str | None, province_code: str | None
) -> str | None:
    """``Xã A, huyện B, tỉnh C``: the legacy place as it was written before 1 July 2025."""
    ward = catalog_units.wards_legacy().get(ward_code or "")
    if ward is not None:
        district_code, province_code = ward.district_code, ward.province_code
    district = catalog_units.districts_legacy().get(district_code or "")
    if district is not None:
        province_code = district.province_code
    names = [ward.name] if ward is not None else []
    if district is not None:
        names.append(district.name)
    provinces = get_catalog().codelists["province_legacy"]
    if province_code and province_code in provinces.codes:
        names.append(provinces.label(province_code))
    if not names:
        return None
    return _nfc(", ".join([names[0], *(_in_sentence(n) for n in names[1:])]))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def _str_or_none(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class _Address:
    scheme: str
    ward: str | None
    province: str | None
    district: str | None
    legacy_text: str | None


def _address_fields(scheme_field: str, catalog: Catalog) -> _Address:
    prefix = scheme_field.removesuffix("unit_scheme")
    ward = province = None
    for leaf in catalog.scalars:
        if leaf.scheme_field != scheme_field:
            continue
        target = (leaf.codelist_by_scheme or {}).get(admin_units.SCHEME_2025, "")
        if target.startswith("ward"):
            ward = leaf.code
        elif target.startswith("province"):
            province = leaf.code
    district = next(
        (
            leaf.code
            for leaf in catalog.scalars
            if leaf.codelist == "district_legacy" and leaf.code.startswith(prefix)
        ),
        None,
    )
    legacy_text = prefix + "legacy_text"
    return _Address(
        scheme=scheme_field,
        ward=ward,
        province=province,
        district=district,
        legacy_text=legacy_text if legacy_text in catalog.by_code else None,
    )


def address_changes(
    doc: Mapping[str, Any], scheme_field: str, catalog: Catalog
) -> list[dict[str, Any]]:
    """SACH-007: the changes converting the legacy address of ``scheme_field``
    (``hometown_unit_scheme``) to the 2025 units, or a note when it cannot be converted."""
    rules = ["SACH-007"]
    fields = _address_fields(scheme_field, catalog)
    scheme = doc.get(scheme_field)
    ward = _str_or_none(doc.get(fields.ward)) if fields.ward else None
    province = _str_or_none(doc.get(fields.province)) if fields.province else None
    district = _str_or_none(doc.get(fields.district)) if fields.district else None
    legacy_text = doc.get(fields.legacy_text) if fields.legacy_text else None
    conv = admin_units.convert_address(
        scheme.strip().lower() if isinstance(scheme, str) else None,
        ward,
        district,
        province,
        legacy_text if isinstance(legacy_text, str) else None,
    )
    vi, en = conv.explanation_vi, conv.explanation_en
    if conv.status not in ("exact", "ambiguous") or conv.province_code is None:
        return [
            _note(
                scheme_field,
                scheme,
                rules,
                f"{vi}: không tự động chuyển được, cần sửa tay",
                f"{en}: cannot be converted automatically, to be corrected by hand",
            )
        ]
    out = [_change(scheme_field, scheme, admin_units.SCHEME_2025, rules, vi, en)]
    if fields.ward is not None:
        if conv.status == "ambiguous":
            out.append(
                _change(
                    fields.ward,
                    doc.get(fields.ward),
                    None,
                    rules,
                    vi,
                    en,
                    ambiguous=True,
                    candidates=[
                        {
                            "value": c.ward_code,
                            "label": f"{c.ward_name}, {c.province_name}",
                            "province_code": c.province_code,
                            "library_default": c.library_default,
                        }
                        for c in conv.candidates
                    ],
                )
            )
        elif conv.ward_code is not None and conv.ward_code != doc.get(fields.ward):
            out.append(_change(fields.ward, doc.get(fields.ward), conv.ward_code, rules, vi, en))
    if fields.province is not None and conv.province_code != doc.get(fields.province):
        out.append(
            _change(fields.province, doc.get(fields.province), conv.province_code, rules, vi, en)
        )
    wording = _legacy_wording(ward, district, province)
    if fields.district is not None and not _blank(doc.get(fields.district)):
        kept_vi = f", tên cũ giữ ở {fields.legacy_text}" if fields.legacy_text else ""
        kept_en = f", the old wording is kept in {fields.legacy_text}" if fields.legacy_text else ""
        out.append(
            _change(
                fields.district,
                doc.get(fields.district),
                None,
                rules,
                f"Bỏ mã huyện: cấp huyện không còn từ 01/7/2025{kept_vi}",
                f"District code removed: districts were abolished on 1 July 2025{kept_en}",
            )
        )
    if fields.legacy_text is not None and _blank(legacy_text) and wording is not None:
        out.append(
            _change(
                fields.legacy_text,
                legacy_text,
                wording,
                rules,
                "Giữ địa danh cũ (trước 01/7/2025) khi chuyển sang đơn vị hành chính mới",
                "The pre-2025 wording is kept after the conversion to the new units",
            )
        )
    return out


# --- all the changes of one person ----------------------------------------------------------


def build_changes(
    doc: Mapping[str, Any],
    findings: Iterable[tuple[str, str, Any]],
    catalog: Catalog | None = None,
) -> list[dict[str, Any]]:
    """The changes for one dossier document from its findings ``(rule_id, field, value)``
    (value decoded from JSON). Findings of other rules, or whose value is no longer the
    document's, are ignored. Ordered by field; notes included (``kind`` ``note``)."""
    catalog = catalog or get_catalog()
    by_field: dict[str, set[str]] = {}
    for rule_id, field_path, value in findings:
        if rule_id not in FIX_RULES:
            continue
        try:
            current = get_path(doc, field_path)
        except PathError:
            continue
        if current != value:
            continue  # stale finding: the dossier changed after the run
        by_field.setdefault(field_path, set()).add(rule_id)
    changes: dict[str, dict[str, Any]] = {}
    for field_path, rules in sorted(by_field.items()):
        text_rules = rules - {"SACH-007"}
        if not text_rules:
            continue
        leaf = catalog.leaf_by_path.get(leaf_path(field_path))
        value = get_path(doc, field_path)
        if leaf is None or not isinstance(value, str):
            continue
        change = text_change(field_path, value, text_rules, leaf, catalog)
        if change is not None:
            changes[field_path] = change
    for field_path, rules in sorted(by_field.items()):
        if "SACH-007" in rules and "[" not in field_path and "." not in field_path:
            for change in address_changes(doc, field_path, catalog):
                changes[change["field"]] = change
    return [changes[k] for k in sorted(changes)]


def _choice_issue(change: Mapping[str, Any], code: str, value: Any, vi: str, en: str) -> Issue:
    return Issue(field=change["field"], code=code, message_vi=vi, message_en=en, value=value)


def apply_changes(
    doc: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    choices: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A copy of ``doc`` with ``changes`` applied (``choices`` ``{field: value}`` for the
    ambiguous ones, each one of the change's candidates).

    InvalidInput (every problem listed) when a choice is missing, is not a candidate, or
    names a field without an ambiguous change; Conflict when a field no longer holds the
    change's old value.
    """
    choices = dict(choices or {})
    issues: list[Issue] = []
    ambiguous_fields = {c["field"] for c in changes if c.get("ambiguous")}
    for name, value in choices.items():
        if name not in ambiguous_fields:
            issues.append(
                Issue(
                    field=name,
                    code="unexpected_choice",
                    message_vi=f"Trường '{name}' không có thay đổi cần chọn (giá trị chọn '{value}')",
                    message_en=f"Field '{name}' has no change to choose for (chosen '{value}')",
                    value=value,
                )
            )
    out = copy.deepcopy(dict(doc))
    sets: list[tuple[str, Any]] = []
    deletes: list[str] = []
    for change in changes:
        if change.get("kind") == NOTE:
            continue
        name = change["field"]
        new = change.get("new")
        if change.get("ambiguous"):
            allowed = [c.get("value") for c in change.get("candidates") or []]
            listed = ", ".join(f"'{v}'" for v in allowed)
            if name not in choices:
                issues.append(
                    _choice_issue(
                        change,
                        "choice_required",
                        None,
                        f"Trường '{name}' cần người duyệt chọn một trong: {listed}",
                        f"Field '{name}' needs the reviewer to choose one of: {listed}",
                    )
                )
                continue
            new = choices[name]
            if new not in allowed:
                issues.append(
                    _choice_issue(
                        change,
                        "invalid_choice",
                        new,
                        f"Giá trị '{new}' không phải là lựa chọn của trường '{name}' ({listed})",
                        f"Value '{new}' is not a choice for field '{name}' ({listed})",
                    )
                )
                continue
        current = get_path(out, name)
        if current != change.get("old"):
            raise Conflict(
                code="fix_stale",
                message_vi=(
                    f"Trường '{name}' đã thay đổi ('{current}', đề xuất dựa trên "
                    f"'{change.get('old')}')"
                ),
                message_en=(
                    f"Field '{name}' has changed ('{current}', the fix was made for "
                    f"'{change.get('old')}')"
                ),
            )
        if new is None:
            deletes.append(name)
        else:
            sets.append((name, new))
    if issues:
        raise InvalidInput(
            message_vi="Chưa áp dụng được đề xuất: " + "; ".join(i.message_vi for i in issues),
            message_en="The fix cannot be applied: " + "; ".join(i.message_en for i in issues),
            issues=issues,
        )
    for name, value in sets:
        set_path(out, name, value)
    # Highest indices first, so removing a list element does not shift the next one.
    for name in sorted(deletes, key=parse_path, reverse=True):
        delete_path(out, name)
    return out


# --- results --------------------------------------------------------------------------------


@dataclass(slots=True)
class ProposeReport:
    """What :func:`propose` did."""

    created: int = 0
    """New proposals (one per person)."""
    skipped: int = 0
    """Persons who already have a proposal for their current version."""
    superseded: int = 0
    """Older proposals closed because their dossier changed since."""
    manual: int = 0
    """Persons whose findings need a person to correct by hand (notes only, no fix)."""
    fix_ids: list[int] = field(default_factory=list)
    """Ids of the new proposals."""


@dataclass(frozen=True, slots=True)
class FixOutcome:
    """What accepting one fix did: ``accepted``, ``superseded``, ``refused``, ``not_found``."""

    fix_id: int
    status: str
    new_version: int | None
    message_vi: str
    message_en: str


# --- scope ----------------------------------------------------------------------------------


def _scope_condition(
    session: Session,
    principal: Principal,
    agency: str | None,
    column: InstrumentedAttribute[str],
) -> ColumnElement[bool] | None:
    """``column`` (a managing-agency code) in the subtree of ``agency`` or of the principal's
    scope; None for everything. An ``agency`` outside the scope is refused."""
    if agency is not None:
        if principal.scope_code is not None:
            orgs_service.require_in_scope(session, principal, agency)
        path: str | None = orgs_service.scope_path(session, agency)
    else:
        path = orgs_service.principal_prefix(session, principal)
    if path is None:
        return None
    return column.in_(orgs_service.codes_in_subtree_select(path))


def _fix_not_found(fix_id: int) -> NotFound:
    return NotFound(
        message_vi=f"Không tìm thấy đề xuất làm sạch số {fix_id}",
        message_en=f"Cleaning proposal {fix_id} not found",
    )


def _no_ids() -> InvalidInput:
    return InvalidInput(
        message_vi="Chưa chọn đề xuất nào (cần ít nhất một số đề xuất)",
        message_en="No fix given (at least one fix id is needed)",
        issues=[
            Issue(
                field="ids",
                code="ids_required",
                message_vi="Danh sách số đề xuất đang trống",
                message_en="The list of fix ids is empty",
                value=[],
            )
        ],
    )


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            issues=[
                Issue(
                    field="status",
                    code="invalid_status",
                    message_vi=f"Trạng thái '{status}' không hợp lệ ({', '.join(STATUSES)})",
                    message_en=f"Status '{status}' is invalid ({', '.join(STATUSES)})",
                    value=status,
                )
            ]
        )


def _fixes_query(
    session: Session, principal: Principal, agency: str | None, status: str | None
) -> list[ColumnElement[bool]]:
    principal.require("quality:review")
    _check_status(status)
    where: list[ColumnElement[bool]] = []
    scope = _scope_condition(session, principal, agency, QualityFix.managing_agency_code)
    if scope is not None:
        where.append(scope)
    if status is not None:
        where.append(QualityFix.status == status)
    return where


def list_fixes(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    status: str | None = FixStatus.PROPOSED,
    limit: int = 50,
    offset: int = 0,
) -> list[QualityFix]:
    """Fixes in the principal's scope (``agency``'s subtree), oldest first; ``status`` None
    for every status."""
    where = _fixes_query(session, principal, agency, status)
    stmt = (
        select(QualityFix)
        .where(*where)
        .order_by(QualityFix.id)
        .limit(max(1, limit))
        .offset(max(0, offset))
    )
    return list(session.execute(stmt).scalars())


def count_fixes(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    status: str | None = FixStatus.PROPOSED,
) -> int:
    """How many fixes :func:`list_fixes` would page through."""
    where = _fixes_query(session, principal, agency, status)
    return int(
        session.execute(select(func.count()).select_from(QualityFix).where(*where)).scalar_one()
    )


def _scoped_fix(session: Session, fix_id: int, principal: Principal, *, lock: bool) -> QualityFix:
    stmt = select(QualityFix).where(QualityFix.id == fix_id)
    scope = _scope_condition(session, principal, None, QualityFix.managing_agency_code)
    if scope is not None:
        stmt = stmt.where(scope)
    if lock:
        stmt = stmt.with_for_update()
    fix = session.execute(stmt).scalar_one_or_none()
    if fix is None:
        raise _fix_not_found(fix_id)
    return fix


def get_fix(session: Session, fix_id: int, *, principal: Principal) -> QualityFix:
    """One fix (NotFound when it does not exist or lies outside the principal's scope)."""
    principal.require("quality:review")
    return _scoped_fix(session, fix_id, principal, lock=False)


# --- propose --------------------------------------------------------------------------------


def _wanted_rules(rules: Iterable[str] | None) -> list[str]:
    if rules is None:
        return list(FIX_RULES)
    wanted = [r.strip().upper() for r in rules]
    bad = [r for r in wanted if r not in FIX_RULES]
    if bad:
        raise InvalidInput(
            message_vi=f"Không có đề xuất làm sạch cho quy tắc {', '.join(bad)} (chỉ {', '.join(FIX_RULES)})",
            message_en=f"No cleaning proposals for rule {', '.join(bad)} (only {', '.join(FIX_RULES)})",
            issues=[
                Issue(
                    field="rules",
                    code="unsupported_rule",
                    message_vi=f"Quy tắc '{r}' không có đề xuất làm sạch",
                    message_en=f"Rule '{r}' has no cleaning proposals",
                    value=r,
                )
                for r in bad
            ],
        )
    return sorted(set(wanted))


def _supersede_stale(
    session: Session, scope: ColumnElement[bool] | None, *, actor: str, now: dt.datetime
) -> list[int]:
    """Close the proposals in scope whose dossier changed since (another current version)."""
    stmt = (
        select(QualityFix)
        .join(Person, Person.id == QualityFix.person_id)
        .where(
            QualityFix.status == FixStatus.PROPOSED,
            or_(
                Person.current_version != QualityFix.base_version,
                Person.current_content_hash != QualityFix.base_content_hash,
            ),
        )
    )
    if scope is not None:
        stmt = stmt.where(scope)
    out: list[int] = []
    for fix in session.execute(stmt).scalars():
        _mark_superseded(fix, actor=actor, now=now)
        out.append(fix.id)
    return out


def _mark_superseded(fix: QualityFix, *, actor: str, now: dt.datetime) -> None:
    fix.status = FixStatus.SUPERSEDED
    fix.decided_at = now
    fix.decided_by = actor
    fix.reason = "Hồ sơ đã thay đổi sau khi đề xuất / the dossier changed after the proposal"


def _decode(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def propose(
    session: Session,
    *,
    principal: Principal,
    agency: str | None = None,
    rules: Iterable[str] | None = None,
) -> ProposeReport:
    """Turn the current findings of the cleaning rules into one proposal per person.

    A person who already has a proposal for their current version is skipped; proposals
    made for an older version are superseded. One audit event for the call."""
    principal.require("quality:review")
    wanted = _wanted_rules(rules)
    catalog = get_catalog()
    now = utcnow()
    scope = _scope_condition(session, principal, agency, QualityFinding.managing_agency_code)
    fix_scope = _scope_condition(session, principal, agency, QualityFix.managing_agency_code)
    report = ProposeReport()
    superseded = _supersede_stale(session, fix_scope, actor=principal.username, now=now)
    report.superseded = len(superseded)
    session.flush()
    id_stmt = (
        select(QualityFinding.person_id)
        .where(QualityFinding.rule_id.in_(wanted))
        .distinct()
        .order_by(QualityFinding.person_id)
    )
    if scope is not None:
        id_stmt = id_stmt.where(scope)
    person_ids = list(session.execute(id_stmt).scalars())
    for start in range(0, len(person_ids), _CHUNK):
        chunk = person_ids[start : start + _CHUNK]
        found: dict[int, list[tuple[str, str, Any]]] = {}
        for pid, rule_id, field_path, value in session.execute(
            select(
                QualityFinding.person_id,
                QualityFinding.rule_id,
                QualityFinding.field,
                QualityFinding.value,
            ).where(QualityFinding.person_id.in_(chunk), QualityFinding.rule_id.in_(wanted))
        ):
            found.setdefault(pid, []).append((rule_id, field_path, _decode(value)))
        current = session.execute(
            select(Person, PersonVersion)
            .join(
                PersonVersion,
                and_(
                    PersonVersion.person_id == Person.id,
                    PersonVersion.version == Person.current_version,
                ),
            )
            .where(Person.id.in_(chunk))
            .order_by(Person.id)
        ).all()
        open_fixes: dict[int, list[QualityFix]] = {}
        for fix in session.execute(
            select(QualityFix).where(
                QualityFix.person_id.in_(chunk), QualityFix.status == FixStatus.PROPOSED
            )
        ).scalars():
            open_fixes.setdefault(fix.person_id, []).append(fix)
        made: list[QualityFix] = []
        for person, version in current:
            existing = open_fixes.get(person.id, [])
            if any(
                f.base_version == version.version and f.base_content_hash == version.content_hash
                for f in existing
            ):
                report.skipped += 1
                continue
            for stale in existing:
                _mark_superseded(stale, actor=principal.username, now=now)
                superseded.append(stale.id)
                report.superseded += 1
            changes = build_changes(version.data, found.get(person.id, []), catalog)
            if not any(c["kind"] != NOTE for c in changes):
                if changes:
                    report.manual += 1
                continue
            made.append(
                QualityFix(
                    person_id=person.id,
                    personal_id=person.personal_id,
                    managing_agency_code=person.managing_agency_code,
                    base_version=version.version,
                    base_content_hash=version.content_hash,
                    status=FixStatus.PROPOSED,
                    changes=changes,
                    created_at=now,
                    created_by=principal.username,
                )
            )
        session.add_all(made)
        session.flush()  # one multi-row INSERT per chunk
        report.fix_ids.extend(f.id for f in made)
        report.created += len(made)
    audit_service.record(
        session,
        actor=principal.username,
        action="quality:fix:propose",
        subject_type="quality_fix",
        subject_id=agency or principal.scope_code or "*",
        data={
            "agency": agency,
            "rules": wanted,
            "created": report.fix_ids,
            "skipped": report.skipped,
            "superseded": sorted(superseded),
            "manual": report.manual,
        },
    )
    session.flush()
    return report


# --- accept and reject -----------------------------------------------------------------------


def _posts(session: Session, person_id: int) -> list[dict[str, Any]]:
    """The person's concurrent posts in the write form (an update replaces them)."""
    out = []
    for p in session.execute(
        select(PersonPost).where(PersonPost.person_id == person_id).order_by(PersonPost.id)
    ).scalars():
        post = {
            "unit_code": p.unit_code,
            "position_code": p.position_code,
            "title": p.title,
            "start_date": p.start_date.isoformat() if p.start_date else None,
            "end_date": p.end_date.isoformat() if p.end_date else None,
        }
        out.append({k: v for k, v in post.items() if v is not None})
    return out


def _accept_one(
    session: Session,
    fix_id: int,
    principal: Principal,
    choices: Mapping[str, Any],
    now: dt.datetime,
) -> FixOutcome:
    try:
        fix = _scoped_fix(session, fix_id, principal, lock=True)
    except NotFound as exc:
        return FixOutcome(fix_id, "not_found", None, exc.message_vi, exc.message_en)
    if fix.status != FixStatus.PROPOSED:
        return FixOutcome(
            fix_id,
            "refused",
            fix.new_version,
            f"Đề xuất {fix_id} đã ở trạng thái '{fix.status}', không chấp nhận được nữa",
            f"Fix {fix_id} is already '{fix.status}' and cannot be accepted",
        )
    pid = fix.personal_id
    try:
        dossier = people_service.get_by_personal_id(session, pid, principal=principal)
    except NotFound as exc:
        return FixOutcome(fix_id, "not_found", None, exc.message_vi, exc.message_en)
    if dossier.version != fix.base_version or dossier.content_hash != fix.base_content_hash:
        _mark_superseded(fix, actor=principal.username, now=now)
        session.flush()
        return FixOutcome(
            fix_id,
            "superseded",
            None,
            f"Hồ sơ {pid} đã có phiên bản {dossier.version} sau phiên bản {fix.base_version} "
            f"của đề xuất {fix_id}: đề xuất hết hiệu lực, hãy đề xuất lại",
            f"Dossier {pid} has version {dossier.version} after the fix's version "
            f"{fix.base_version}: fix {fix_id} is superseded, propose again",
        )
    changes = list(fix.changes)
    base_version = fix.base_version
    try:
        new_doc = apply_changes(dossier.data, changes, choices)
        body = PersonWrite(
            personal_id=pid,
            managing_agency=new_doc.get("managing_agency_code") or dossier.managing_agency,
            employing_unit=new_doc.get("employing_unit_code") or dossier.employing_unit,
            data=new_doc,
            concurrent_posts=_posts(session, fix.person_id) or None,
        )
        with session.begin_nested():
            stored = people_service.update(
                session,
                pid,
                body,
                principal=principal,
                expected_version=base_version,
                source=SOURCE,
            )
    except HosoError as exc:
        return FixOutcome(fix_id, "refused", None, exc.message_vi, exc.message_en)
    # The update expired every loaded object: read the fix again before changing it.
    fix = _scoped_fix(session, fix_id, principal, lock=False)
    fix.status = FixStatus.ACCEPTED
    fix.decided_at = now
    fix.decided_by = principal.username
    if stored.version == base_version:
        session.flush()
        return FixOutcome(
            fix_id,
            "accepted",
            None,
            f"Đề xuất {fix_id} được chấp nhận; hồ sơ {pid} đã có sẵn các giá trị này, không tạo phiên bản mới",
            f"Fix {fix_id} accepted; dossier {pid} already held these values, no new version",
        )
    fix.new_version = stored.version
    session.flush()
    return FixOutcome(
        fix_id,
        "accepted",
        stored.version,
        f"Đề xuất {fix_id} được chấp nhận: hồ sơ {pid} có phiên bản nháp {stored.version}, cần phê duyệt",
        f"Fix {fix_id} accepted: dossier {pid} has draft version {stored.version}, to be approved",
    )


def accept(
    session: Session,
    fix_ids: Sequence[int],
    *,
    principal: Principal,
    choices: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[FixOutcome]:
    """Apply fixes: each becomes a new DRAFT version of its dossier (validated, audited).

    ``choices`` ``{fix_id: {field: value}}`` answers the ambiguous changes. A fix that
    cannot be accepted (not found, already decided, a missing or wrong choice, refused by
    validation) is reported in its outcome and does not stop the others; a fix whose
    dossier changed since is marked superseded. One audit event for the call."""
    principal.require("quality:review")
    principal.require("person:write")
    if not fix_ids:
        raise _no_ids()
    choices = choices or {}
    now = utcnow()
    outcomes = [
        _accept_one(session, fix_id, principal, choices.get(fix_id) or {}, now)
        for fix_id in dict.fromkeys(fix_ids)
    ]
    audit_service.record(
        session,
        actor=principal.username,
        action="quality:fix:accept",
        subject_type="quality_fix",
        subject_id=str(outcomes[0].fix_id) if len(outcomes) == 1 else None,
        data={
            "outcomes": [
                {"fix_id": o.fix_id, "status": o.status, "new_version": o.new_version}
                for o in outcomes
            ]
        },
    )
    session.flush()
    return outcomes


def reject(session: Session, fix_ids: Sequence[int], *, principal: Principal, reason: str) -> int:
    """Reject proposed fixes with a reason; returns how many. All or nothing: an id that is
    not found (or outside the scope) or not proposed any more refuses the whole call."""
    principal.require("quality:review")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            message_vi="Cần ghi lý do từ chối đề xuất làm sạch",
            message_en="A reason is required to reject a cleaning proposal",
            issues=[
                Issue(
                    field="reason",
                    code="reason_required",
                    message_vi="Lý do từ chối không được để trống",
                    message_en="The reason must not be empty",
                    value=reason,
                )
            ],
        )
    ids = list(dict.fromkeys(fix_ids))
    if not ids:
        raise _no_ids()
    fixes = [_scoped_fix(session, fix_id, principal, lock=True) for fix_id in ids]
    decided = [f for f in fixes if f.status != FixStatus.PROPOSED]
    if decided:
        raise Conflict(
            code="fix_decided",
            message_vi="Đề xuất đã được quyết định trước đó: "
            + ", ".join(f"{f.id} ({f.status})" for f in decided),
            message_en="Already decided: " + ", ".join(f"{f.id} ({f.status})" for f in decided),
        )
    now = utcnow()
    for fix in fixes:
        fix.status = FixStatus.REJECTED
        fix.decided_at = now
        fix.decided_by = principal.username
        fix.reason = reason
    audit_service.record(
        session,
        actor=principal.username,
        action="quality:fix:reject",
        subject_type="quality_fix",
        subject_id=str(ids[0]) if len(ids) == 1 else None,
        data={"fix_ids": ids, "reason": reason},
    )
    session.flush()
    return len(fixes)
