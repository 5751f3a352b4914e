"""Deterministic comparison of a dossier with the population registry's record of a citizen.

Pure functions, no I/O: the client fetches the citizen (by personal ID or, for a 9-digit
CMND number, by ``legacy_id_no``), the run calls :func:`compare` for each dossier, and the
result (:class:`Comparison`) fills a ``population_match`` row.

=====================  ==========================================================================
``MASTERED_FIELDS``    the catalogue fields mastered by the registry (``master:
                       population_registry``), ``record_id`` excepted
``IDENTITY_FIELDS``    birth name, date of birth, sex: a difference there is a conflict
``normalise``          one value of one field, in the form that is compared
``compare``            a dossier against the citizen -> :class:`Comparison`
=====================  ==========================================================================

Outcomes
--------
``compare(dossier, citizen, matched_by=...)`` applies, in order:

1. no citizen -> ``not_found``;
2. the registry lists the person as deceased -> ``conflict`` (a ``status`` difference);
3. an identity field differs -> ``conflict``;
4. found through the old CMND number (``matched_by="legacy_id_no"``) -> ``conflict`` with a
   ``personal_id`` difference (the registry's 12-digit number);
5. otherwise ``matched``; the other mastered fields that differ are listed, and become
   correction proposals.

A citizen found by probabilistic matching (``matched_by="probabilistic"``) is a
``potential_match`` (a person decides) unless ``accepted`` (auto-accepted above the
threshold): then rules 2-3 and 5 apply and the ``personal_id`` difference is a correction.

A difference is ``{"field", "ours", "registry", "kind", "note_vi", "note_en"}`` with the raw
values of both sides. ``kind`` is ``identity`` when the difference needs a person's decision
before anything is proposed (identity fields, ``status``, ``personal_id``) and ``mastered``
when it can become a correction proposal. Two cases are ``mastered`` although they concern
identity: a partial date of birth (``1985`` or ``1985-03``, kept from legacy systems) that
agrees with the registry's full date (the correction completes it; not a conflict), and the
``personal_id`` of an accepted probabilistic match.

Normalisation
-------------
Values equal after :func:`normalise` are not differences. A field missing on one side and
present on the other is a difference only when the registry has it (the registry does not
hold everything a dossier may declare).

- names (``birth_name``): legacy TCVN3/VNI mojibake repaired (:mod:`hoso.quality.text`),
  NFC, invisible characters removed, single spaces, upper case, and the tone mark of open
  ``oa``/``oe``/``uy`` placed on the second vowel (``HÒA`` and ``HOÀ``, old and new style,
  are the same name);
- free text (birth place, legacy home-town wording, street address): the same, case-folded,
  with spaces around ``, ; .`` made uniform;
- dates: ISO (``28/12/1987``, ``1987-12-28T00:00:00`` and ``datetime.date`` give
  ``1987-12-28``; partial dates ``1987-12`` and ``1987`` stay partial);
- identifiers: spaces, dots and dashes removed; codes: trimmed, upper case, unit codes
  zero-padded (``2392`` -> ``02392``, lost by spreadsheets);
- administrative units: each address (``birth_place``, ``hometown``, ``residence``) is
  compared as a group. When both sides use the same scheme the codes are compared. When one
  side is in the legacy (pre-2025) scheme and the other in the 2025 scheme, the legacy
  commune is converted with :func:`hoso.quality.admin_units.convert_address` and compared at
  commune level: equal when it converts exactly to the other side's commune, or when it was
  split and the other side's commune is among the candidates. A 2025-labelled code that
  exists only in the legacy list (SACH-008) is read as legacy. Such equalities are not
  differences; they are explained in :attr:`Comparison.notes`, as are names equal only after
  a legacy-encoding repair.

Speed: values that are equal as given skip normalisation, and normalisations are cached
(``lru_cache``), so a typical pair takes a few microseconds (``bench/match_probabilistic.py
--compare`` measures it).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Literal

from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import FieldDef, get_catalog
from hoso.population.models import Outcome
from hoso.quality import admin_units
from hoso.quality import text as qtext

__all__ = [
    "IDENTITY_FIELDS",
    "MASTERED_FIELDS",
    "Comparison",
    "compare",
    "normalise",
    "to_2025",
]

REGISTRY = "population_registry"
IDENTITY_FIELDS: Final = ("birth_name", "date_of_birth", "sex")
"""Fields whose difference makes the result a conflict."""

Kind = Literal["identifier", "name", "text", "code", "unit", "scheme", "date"]


def _mastered() -> tuple[FieldDef, ...]:
    return tuple(f for f in get_catalog().fields if f.master == REGISTRY and f.code != "record_id")


_DEFS: Final = {f.code: f for f in _mastered()}
MASTERED_FIELDS: Final[tuple[str, ...]] = tuple(_DEFS)
"""Catalogue fields with ``master: population_registry`` in form order, without ``record_id``
(the dossier's own identifier, equal to the personal ID under the nd27 profile)."""

_SHORT_LABELS: Final = {
    "birth_name": ("Họ và tên khai sinh", "Birth name"),
    "date_of_birth": ("Ngày sinh", "Date of birth"),
    "personal_id": ("Số định danh cá nhân", "Personal ID"),
    "status": ("Tình trạng", "Status"),
}


def _label(code: str) -> tuple[str, str]:
    if code in _SHORT_LABELS:
        return _SHORT_LABELS[code]
    f = _DEFS.get(code)
    return (f.label_vi, f.label_en) if f is not None else (code, code)


def _kind_of(f: FieldDef) -> Kind:
    if f.type == "personal_id" or (f.type == "string" and f.pattern and "[0-9]" in f.pattern):
        return "identifier"
    if f.code == "birth_name":
        return "name"
    if f.type == "date":
        return "date"
    if f.codelist == "admin_unit_scheme":
        return "scheme"
    if f.type == "code" and (f.scheme_field is not None or f.codelist == "district_legacy"):
        return "unit"
    if f.type == "code":
        return "code"
    return "text"


_KINDS: Final[dict[str, Kind]] = {code: _kind_of(f) for code, f in _DEFS.items()}


@dataclass(frozen=True, slots=True)
class _Group:
    """The fields of one address: commune, province, scheme and (home town) legacy district."""

    prefix: str
    ward: str
    province: str
    scheme: str
    district: str | None
    fields: tuple[str, ...]


def _groups() -> tuple[_Group, ...]:
    out: list[_Group] = []
    for code in _DEFS:
        if _KINDS[code] != "scheme":
            continue
        prefix = code.removesuffix("_unit_scheme")
        members = [c for c, g in _DEFS.items() if g.scheme_field == code]
        ward = next(c for c in members if c.endswith("_ward_code"))
        province = next(c for c in members if c.endswith("_province_code"))
        district = f"{prefix}_district_legacy_code"
        has_district = district in _DEFS
        members_all = (ward, province, *([district] if has_district else []), code)
        out.append(
            _Group(prefix, ward, province, code, district if has_district else None, members_all)
        )
    return tuple(out)


_GROUPS: Final = _groups()
_GROUP_OF: Final = {f: g for g in _GROUPS for f in g.fields}
_PAD: Final = {"ward": 5, "province": 2, "district": 3}


# --- normalisation -------------------------------------------------------------------------

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"
# Old-style tone placement in open oa/oe/uy (hòa, khỏe, thủy) -> new style (hoà, khoẻ, thuỷ),
# on NFD text. "qu" + y keeps its tone on y in both styles, so "quý" is untouched.
_OLD_OA = re.compile(rf"([oO])([{_TONE_MARKS}])([aAeE])(?![^\W\d_])")
_OLD_UY = re.compile(rf"(?<![qQ])([uU])([{_TONE_MARKS}])([yY])(?![^\W\d_])")
_PUNCT_SPACE = re.compile(r"\s*([,;.])\s*")
_ID_JUNK = re.compile(r"[\s.\-]")
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_DMY = re.compile(r"^(?:(\d{1,2})[/.\-])?(\d{1,2})[/.\-](\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _new_style_tones(s: str) -> str:
    if s.isascii():
        return s
    d = unicodedata.normalize("NFD", s)
    d = _OLD_UY.sub(r"\1\3\2", _OLD_OA.sub(r"\1\3\2", d))
    return unicodedata.normalize("NFC", d)


def _repaired(s: str) -> str:
    repair = qtext.repair_legacy(s)
    return repair.fixed if repair is not None else s


@lru_cache(maxsize=1 << 16)
def _norm_name(s: str) -> str | None:
    out = _new_style_tones(qtext.normalise_birth_name(_repaired(s)))
    return out or None


@lru_cache(maxsize=1 << 14)
def _norm_text(s: str) -> str | None:
    cleaned = qtext.normalise_name(_repaired(s))
    cleaned = _PUNCT_SPACE.sub(r"\1 ", cleaned).strip()
    out = _new_style_tones(unicodedata.normalize("NFC", cleaned.casefold()))
    return out or None


def _norm_date_text(s: str) -> str | None:
    s = s.strip()
    if not s:
        return None
    m = _ISO.match(s)
    if m:
        year, month, day = m.groups()
    elif m := _DMY.match(s):
        day, month, year = m.groups()
    elif m := _COMPACT.match(s):
        year, month, day = m.groups()
    else:
        return s
    if month is None:
        return year
    if day is None:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


_norm_date_cached = lru_cache(maxsize=1 << 15)(_norm_date_text)


@lru_cache(maxsize=1 << 14)
def _norm_code(s: str, pad: int) -> str | None:
    out = qtext.clean_unicode(s).strip().upper()
    if pad and out.isdigit() and len(out) < pad:
        out = out.zfill(pad)
    return out or None


def _pad_of(field_code: str) -> int:
    for part, width in _PAD.items():
        if f"_{part}" in field_code:
            return width
    return 0


def normalise(field: str, value: Any) -> str | None:
    """``value`` of catalogue field ``field`` in the form compared; None when empty.

    Names and free text are repaired from legacy encodings, NFC, without invisible
    characters, with single spaces (names upper case, text case-folded) and new-style tone
    placement; dates are ISO (partial dates stay partial); identifiers lose spaces, dots
    and dashes; codes are trimmed and upper case (unit codes zero-padded; a scheme is lower
    case). Administrative units across schemes are compared by :func:`compare`, not here.
    A field outside the catalogue's registry-mastered fields is treated as free text.
    """
    if value is None:
        return None
    kind = _KINDS.get(field, "text")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return _norm_date_cached(str(value))
    s = value if isinstance(value, str) else str(value)
    if kind == "name":
        return _norm_name(s)
    if kind == "text":
        return _norm_text(s)
    if kind == "identifier":
        return _ID_JUNK.sub("", s) or None
    if kind == "scheme":
        out = _norm_code(s, 0)
        return out.lower() if out is not None else None
    return _norm_code(s, _pad_of(field) if kind == "unit" else 0)


# --- result --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of comparing one dossier with the registry (a ``population_match`` row)."""

    outcome: str
    """One of :class:`hoso.population.models.Outcome`."""
    matched_by: str | None
    """``personal_id`` | ``legacy_id_no`` | ``probabilistic`` | None (not found)."""
    registry_personal_id: str | None
    """The registry's 12-digit number of the citizen."""
    registry_status: str | None
    """``alive`` | ``deceased`` | None (not found)."""
    registry_values: dict[str, Any] | None
    """The citizen's values of :data:`MASTERED_FIELDS` (as the registry gave them)."""
    differences: list[dict[str, Any]]
    """``{"field", "ours", "registry", "kind", "note_vi", "note_en"}``, in catalogue order."""
    probability: float | None = None
    """The match probability of a probabilistic match; None otherwise."""
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Values equal only after a conversion (legacy unit, legacy encoding), explained:
    ``{"field", "ours", "registry", "note_vi", "note_en"}``. Not differences."""

    def as_columns(self) -> dict[str, Any]:
        """The ``population_match`` columns this result fills (without ``notes``)."""
        return {
            "outcome": self.outcome,
            "matched_by": self.matched_by,
            "registry_personal_id": self.registry_personal_id,
            "registry_status": self.registry_status,
            "registry_values": self.registry_values,
            "differences": self.differences,
            "probability": self.probability,
        }


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _difference(
    code: str, ours: Any, registry: Any, kind: str, extra: tuple[str, str] | None = None
) -> dict[str, Any]:
    vi_label, en_label = _label(code)
    if ours is None or (isinstance(ours, str) and not ours.strip()):
        vi = f"{vi_label}: hồ sơ chưa khai, CSDLQG về dân cư ghi '{_shown(registry)}'"
        en = f"{en_label}: missing in the dossier, the population registry has '{_shown(registry)}'"
    else:
        vi = f"{vi_label}: hồ sơ ghi '{_shown(ours)}', CSDLQG về dân cư ghi '{_shown(registry)}'"
        en = f"{en_label}: the dossier has '{_shown(ours)}', the population registry has '{_shown(registry)}'"
    if extra is not None:
        vi, en = f"{vi} ({extra[0]})", f"{en} ({extra[1]})"
    return {
        "field": code,
        "ours": ours,
        "registry": registry,
        "kind": kind,
        "note_vi": _nfc(vi),
        "note_en": _nfc(en),
    }


def _note(code: str, ours: Any, registry: Any, vi: str, en: str) -> dict[str, Any]:
    return {
        "field": code,
        "ours": ours,
        "registry": registry,
        "note_vi": _nfc(vi),
        "note_en": _nfc(en),
    }


def _ascii(s: str) -> str:
    d = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in d if not unicodedata.combining(ch))


def _hint(kind: Kind, a: str | None, b: str | None) -> tuple[str, str] | None:
    """A short explanation of a difference, when it has a recognisable shape."""
    if a is None or b is None:
        return None
    if kind == "name" and _ascii(a) == _ascii(b):
        return "chỉ khác dấu", "differ only in diacritics"
    swapped = a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]
    if kind == "date" and len(a) == 10 and len(b) == 10 and swapped:
        return "có thể nhầm ngày với tháng", "day and month may be swapped"
    return None


def _partial_agrees(a: str | None, b: str | None) -> bool:
    """A partial date (``1985``, ``1985-03``) that agrees with a fuller one."""
    return a is not None and b is not None and len(a) < len(b) and b.startswith(a)


def _legacy_note(code: str, ours: Any, registry: Any) -> dict[str, Any] | None:
    for value in (ours, registry):
        if isinstance(value, str) and not value.isascii():
            repair = qtext.repair_legacy(value)
            if repair is not None:
                vi_label, en_label = _label(code)
                return _note(
                    code,
                    ours,
                    registry,
                    f"{vi_label}: trùng sau khi chuyển '{value}' sang Unicode ({repair.note_vi})",
                    f"{en_label}: equal once '{value}' is converted to Unicode ({repair.note_en})",
                )
    return None


# --- administrative units ------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def _convert(
    ward: str | None, district: str | None, province: str | None
) -> admin_units.Conversion:
    return admin_units.convert_address(admin_units.SCHEME_LEGACY, ward, district, province)


def _scheme_of(scheme: str | None, ward: str | None) -> str:
    """The scheme a side's codes are in: as declared, except a 2025 label on a legacy-only
    commune code (read as legacy); undeclared: the list the commune code is in."""
    if scheme == admin_units.SCHEME_2025 or scheme is None:
        if ward is not None and ward in admin_units.legacy_only_codes("ward"):
            return admin_units.SCHEME_LEGACY
        undeclared_legacy = (
            scheme is None
            and ward is not None
            and ward not in catalog_units.wards_2025()
            and ward in catalog_units.wards_legacy()
        )
        if undeclared_legacy:
            return admin_units.SCHEME_LEGACY
        return admin_units.SCHEME_2025
    return scheme


def _side(g: _Group, values: Mapping[str, Any]) -> dict[str, str | None]:
    return {f: normalise(f, values.get(f)) for f in g.fields}


def _compare_plain(
    fields: tuple[str, ...],
    ours: Mapping[str, Any],
    registry: Mapping[str, Any],
    a: Mapping[str, str | None],
    b: Mapping[str, str | None],
    out: list[dict[str, Any]],
) -> None:
    for f in fields:
        if b[f] is not None and a[f] != b[f]:
            out.append(_difference(f, ours.get(f), registry.get(f), "mastered"))


def _compare_group(
    g: _Group,
    ours: Mapping[str, Any],
    registry: Mapping[str, Any],
    differences: list[dict[str, Any]],
    notes: list[dict[str, Any]],
) -> None:
    a, b = _side(g, ours), _side(g, registry)
    scheme_a, scheme_b = _scheme_of(a[g.scheme], a[g.ward]), _scheme_of(b[g.scheme], b[g.ward])
    if scheme_a == scheme_b or admin_units.SCHEME_LEGACY not in (scheme_a, scheme_b):
        _compare_plain(g.fields, ours, registry, a, b, differences)
        return
    ours_legacy = scheme_a == admin_units.SCHEME_LEGACY
    old, new = (a, b) if ours_legacy else (b, a)
    district = old[g.district] if g.district else None
    conv = _convert(old[g.ward], district, old[g.province])
    new_ward, new_province = new[g.ward], new[g.province]
    ward_same: bool
    if old[g.ward] is None or new_ward is None:
        ward_same = b[g.ward] is None  # missing on the registry's side only is no difference
    elif conv.status == "exact":
        ward_same = conv.ward_code == new_ward
    elif conv.status == "ambiguous":
        ward_same = new_ward in {c.ward_code for c in conv.candidates}
    else:
        ward_same = False
    old_province = old[g.province]
    province_old = conv.province_code or (
        admin_units.legacy_province_to_2025(old_province) if old_province else None
    )
    if province_old is None or new_province is None:
        province_same = b[g.province] is None
    else:
        province_same = province_old == new_province
    vi_label, en_label = _label(g.ward)
    vi_label = vi_label.split(" (")[0]
    en_label = en_label.split(":")[0]
    side_vi = "hồ sơ" if ours_legacy else "CSDLQG về dân cư"
    side_en = "the dossier" if ours_legacy else "the population registry"
    other_vi = "CSDLQG về dân cư" if ours_legacy else "hồ sơ"
    other_en = "the population registry" if ours_legacy else "the dossier"
    if ward_same and province_same:
        if conv.status == "ambiguous":
            vi = (
                f"{vi_label}: {side_vi} ghi theo đơn vị hành chính cũ. {conv.explanation_vi}. "
                f"Đơn vị {new_ward} của {other_vi} là một trong các đơn vị đó nên được coi là trùng"
            )
            en = (
                f"{en_label}: {side_en} uses the legacy units. {conv.explanation_en}. "
                f"{other_en.capitalize()}'s unit {new_ward} is one of them, so they count as equal"
            )
        else:
            vi = (
                f"{vi_label}: {side_vi} ghi theo đơn vị hành chính cũ. {conv.explanation_vi}, "
                f"trùng với {other_vi}"
            )
            en = f"{en_label}: {side_en} uses the legacy units. {conv.explanation_en}, as in {other_en}"
        notes.append(_note(g.ward, ours.get(g.ward), registry.get(g.ward), vi, en))
        return
    extra = (f"đơn vị cũ: {conv.explanation_vi}", f"legacy unit: {conv.explanation_en}")
    if not ward_same:
        differences.append(
            _difference(g.ward, ours.get(g.ward), registry.get(g.ward), "mastered", extra)
        )
    if not province_same:
        differences.append(
            _difference(g.province, ours.get(g.province), registry.get(g.province), "mastered")
        )
    if g.district and b[g.district] is not None and a[g.district] != b[g.district]:
        differences.append(
            _difference(g.district, ours.get(g.district), registry.get(g.district), "mastered")
        )
    if b[g.scheme] is not None and a[g.scheme] != b[g.scheme]:
        differences.append(
            _difference(g.scheme, ours.get(g.scheme), registry.get(g.scheme), "mastered")
        )


def to_2025(
    scheme: str | None, ward: str | None, district: str | None, province: str | None
) -> tuple[str | None, str | None]:
    """The 2025 commune and province of an address given in either scheme.

    Codes are normalised as by :func:`normalise` (trimmed, zero-padded). A legacy address
    (or a legacy-only code labelled 2025) is converted: the commune only when it converts
    exactly (a split commune gives None), the province whenever it is known. A 2025 address
    without a province gets its commune's. Used by probabilistic matching to compare home
    towns at commune level.
    """
    ward_n = _norm_code(str(ward), 5) if ward is not None else None
    district_n = _norm_code(str(district), 3) if district is not None else None
    province_n = _norm_code(str(province), 2) if province is not None else None
    scheme_n = _norm_code(str(scheme), 0) if scheme is not None else None
    effective = _scheme_of(scheme_n.lower() if scheme_n else None, ward_n)
    if effective == admin_units.SCHEME_LEGACY:
        if ward_n is None and district_n is None and province_n is not None:
            return None, admin_units.legacy_province_to_2025(province_n)
        conv = _convert(ward_n, district_n, province_n)
        return (conv.ward_code if conv.status == "exact" else None), conv.province_code
    if effective != admin_units.SCHEME_2025:
        return None, None
    if province_n is None and ward_n is not None:
        unit = catalog_units.wards_2025().get(ward_n)
        province_n = unit.province_code if unit is not None else None
    return ward_n, province_n


# --- compare -------------------------------------------------------------------------------


def _personal_id_difference(
    dossier: Mapping[str, Any], citizen: Mapping[str, Any], matched_by: str | None, accepted: bool
) -> dict[str, Any] | None:
    ours, theirs = dossier.get("personal_id"), citizen.get("personal_id")
    if matched_by == "legacy_id_no":
        cmnd = citizen.get("legacy_id_no") or dossier.get("legacy_id_no") or ours
        return _difference(
            "personal_id",
            ours,
            theirs,
            "identity",
            (
                f"tìm thấy theo số chứng minh nhân dân cũ '{_shown(cmnd)}'; số định danh cá nhân là '{_shown(theirs)}'",
                f"found by the old identity-card number '{_shown(cmnd)}'; the personal ID is '{_shown(theirs)}'",
            ),
        )
    if ours == theirs or normalise("personal_id", ours) == normalise("personal_id", theirs):
        return None
    if matched_by == "probabilistic":
        kind = "mastered" if accepted else "identity"
        return _difference(
            "personal_id",
            ours,
            theirs,
            kind,
            ("tìm thấy bằng so khớp xác suất", "found by probabilistic matching"),
        )
    return _difference("personal_id", ours, theirs, "identity")


def compare(
    dossier: Mapping[str, Any],
    citizen: Mapping[str, Any] | None,
    *,
    matched_by: str | None,
    probability: float | None = None,
    accepted: bool = False,
) -> Comparison:
    """Compare a dossier's registry-mastered fields with the registry's ``citizen``.

    ``dossier`` maps catalogue field codes to values (a dossier's ``data``, with its
    ``personal_id``); ``citizen`` is the registry's record (the simulator's citizen JSON:
    the same codes plus ``status``) or None when not found. ``matched_by`` says how the
    citizen was found (``personal_id``, ``legacy_id_no``, ``probabilistic``).
    ``probability`` and ``accepted`` apply to probabilistic matches (``accepted``: above the
    auto-accept threshold). The rules are in the module docstring.
    """
    if citizen is None:
        return Comparison(Outcome.NOT_FOUND, None, None, None, None, [], probability)
    differences: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    status = normalise("status", citizen.get("status")) or "alive"
    if status == "deceased":
        differences.append(
            {
                "field": "status",
                "ours": None,
                "registry": citizen.get("status"),
                "kind": "identity",
                "note_vi": "CSDLQG về dân cư ghi nhận người này đã chết",
                "note_en": "The population registry lists this person as deceased",
            }
        )
    pid = _personal_id_difference(dossier, citizen, matched_by, accepted)
    if pid is not None:
        differences.append(pid)
    # One pass over the raw values: most are equal as given and need no normalisation.
    ours_of, theirs_of = dossier.get, citizen.get
    values: dict[str, Any] = {}
    differing: list[str] = []
    for code in MASTERED_FIELDS:
        theirs = theirs_of(code)
        if theirs is not None:
            values[code] = theirs
        if ours_of(code) != theirs:
            differing.append(code)
    identity_differs = False
    groups: list[_Group] = []
    for code in differing:
        if code in _GROUP_OF:
            if _GROUP_OF[code] not in groups:
                groups.append(_GROUP_OF[code])
            continue
        kind = _KINDS[code]
        if code == "personal_id":
            continue  # compared above, by how the citizen was found
        ours, theirs = ours_of(code), theirs_of(code)
        a, b = normalise(code, ours), normalise(code, theirs)
        if a == b:
            if kind in ("name", "text"):
                note = _legacy_note(code, ours, theirs)
                if note is not None:
                    notes.append(note)
            continue
        if b is None:
            continue
        identity = code in IDENTITY_FIELDS
        if identity and kind == "date" and _partial_agrees(a, b):
            extra = (
                "hồ sơ ghi ngày sinh chưa đầy đủ, khớp với CSDLQG về dân cư",
                "the dossier's date is partial and agrees with the registry",
            )
            differences.append(_difference(code, ours, theirs, "mastered", extra))
            continue
        identity_differs = identity_differs or identity
        differences.append(
            _difference(
                code, ours, theirs, "identity" if identity else "mastered", _hint(kind, a, b)
            )
        )
    for g in groups:
        _compare_group(g, dossier, citizen, differences, notes)
    if len(differences) > 1:
        order = {code: i for i, code in enumerate(("status", *MASTERED_FIELDS))}
        differences.sort(key=lambda d: order.get(d["field"], len(order)))
    if matched_by == "probabilistic" and not accepted:
        outcome = Outcome.POTENTIAL
    elif status == "deceased" or identity_differs or matched_by == "legacy_id_no":
        outcome = Outcome.CONFLICT
    elif pid is not None and matched_by != "probabilistic":
        outcome = Outcome.CONFLICT  # found by number, yet the numbers differ after normalisation
    else:
        outcome = Outcome.MATCHED
    registry_pid = citizen.get("personal_id")
    return Comparison(
        outcome=outcome,
        matched_by=matched_by,
        registry_personal_id=str(registry_pid) if registry_pid is not None else None,
        registry_status=status,
        registry_values=values,
        differences=differences,
        probability=probability,
        notes=notes,
    )
