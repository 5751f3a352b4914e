"""Administrative units across the reform of 1 July 2025: conversion, consistency, lookups.

Used by the quality rules that look at addresses (SACH-002's home-town key, SACH-007,
SACH-008, DUNG-030) and by cleaning proposals that convert legacy addresses.

Every function has a plain-Python face for one address and, where the engine scans millions
of rows, a vectorised face (a ``polars.DataFrame`` to join):

=============================  =============================================================
``convert_address``            one address, any scheme -> a :class:`Conversion` (status,
                               2025 codes, candidates, a bilingual explanation)
``legacy_province_to_2025``    legacy province code -> 2025 province code (code list
                               ``province_legacy.merged_into_2025_code``)
``province_merge_map``         the same as a dict, for ``polars.Expr.replace_strict``
``ward_in_province``           DUNG-030: is the commune in the declared province?
``legacy_only_2025_label``     SACH-008: a code labelled 2025 that exists only in the legacy list
``legacy_only_codes``          the same as a set, for ``polars.Expr.is_in``
``ward_province_frame``        (ward_code, province_code) of one scheme
``conversion_frame``           one row per legacy commune: its status and successors
``conversion_stats``           how many legacy communes convert exactly / ambiguously / not
``consistency_problems``       disagreements between the library's data and the code lists
=============================  =============================================================

Conversion data
---------------
``vietnamadminunits`` 1.0.4 ships ``data/converter_2025.json``, read here as data (its
converter module imports the address parser, which pulls in shapely). It is keyed by
*name keys* (unaccented lower-case names; accented where two names would collide), not by
codes:

- ``DICT_PROVINCE``: new province key -> the legacy province keys merged into it;
- ``DICT_PROVINCE_WARD_NO_DIVIDED``: new province key -> new ward key -> the legacy
  ``"province_district_ward"`` keys wholly inside that new ward (an island district
  without communes has an empty ward part: ``"tinhquangngai_huyenlyson_"``);
- ``DICT_PROVINCE_WARD_DIVIDED``: new province key -> legacy ``"province_district_ward"``
  key of a commune split among several new wards -> a list of
  ``{newWardKey, isDefaultNewWard, newWardLat, newWardLon, newWardAreaKm2}``. The library
  picks the default when it has no street, else geocodes the street (network) and takes the
  new ward whose area contains it, or the nearest.

The keys are resolved to codes through the same library's ``dataset.db`` (columns
``provinceKey``, ``districtKey``, ``wardKey``, ``wardCode``), the dataset that
:mod:`hoso.catalog.admin_units` reads. A split commune is **ambiguous** here: every successor
is a candidate and a person chooses (the library's default is only marked, never applied).
Disambiguating by the village or street in the legacy wording is left for later.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import polars as pl

from hoso.catalog import admin_units as catalog_units
from hoso.catalog.loader import Code, get_catalog

Status = Literal["exact", "ambiguous", "not_found", "already_2025"]
"""Outcome of a conversion: ``exact`` (one 2025 unit), ``ambiguous`` (several candidate
communes, a person decides), ``not_found`` (unknown code or scheme), ``already_2025``."""

Level = Literal["ward", "province"]
"""Level of a unit code: commune/ward (5 digits) or province (2 digits)."""

SCHEME_2025 = "2025"
"""The scheme of the units in force from 1 July 2025 (code list ``admin_unit_scheme``)."""

SCHEME_LEGACY = "legacy"
"""The scheme of the units before 1 July 2025."""

_LIBRARY = "vietnamadminunits"
# Unit types as they open the library's names, longest first so "Thành phố" wins over none.
_UNIT_TYPES = (
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A 2025 commune/ward that a legacy address may now belong to."""

    ward_code: str
    ward_name: str
    province_code: str
    province_name: str
    library_default: bool
    """True for the successor the library would pick without a street (a hint only)."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """Result of converting one address to the 2025 units.

    ``ward_code`` is set only when it is certain (``exact``, or ``already_2025``);
    ``province_code`` whenever the 2025 province is known (also for ``ambiguous``, since no
    legacy commune was split across provinces, and for ``not_found`` when only the commune
    code is unknown). ``candidates`` lists the successors of a legacy commune: one for
    ``exact``, two or more for ``ambiguous``, none otherwise.
    """

    status: Status
    ward_code: str | None
    province_code: str | None
    candidates: tuple[Candidate, ...]
    explanation_vi: str
    explanation_en: str
    scheme: str = SCHEME_2025

    @property
    def explanation(self) -> str:
        """The explanation, Vietnamese first: ``"<vi> / <en>"`` (NFC)."""
        return f"{self.explanation_vi} / {self.explanation_en}"


@dataclass(frozen=True, slots=True)
class ConversionStats:
    """How the legacy communes of ``wards_legacy()`` convert with the library's data."""

    legacy_wards: int
    exact: int
    ambiguous: int
    not_found: int
    island_districts: int
    """Legacy districts without communes (converted by district code)."""
    candidate_counts: tuple[tuple[int, int], ...]
    """(number of candidates, number of ambiguous communes), ascending."""


@dataclass(frozen=True, slots=True)
class _Successor:
    ward_code: str
    library_default: bool


@dataclass(frozen=True, slots=True)
class _Data:
    by_ward: dict[str, tuple[_Successor, ...]]
    by_island_district: dict[str, tuple[_Successor, ...]]
    province_map: dict[str, frozenset[str]]  # legacy province code -> library's new codes
    problems: tuple[str, ...]


def _library_rows(sql: str) -> list[tuple[Any, ...]]:
    path = resources.files(_LIBRARY) / "data" / "dataset.db"
    with resources.as_file(path) as db_path:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()


def _converter_json() -> dict[str, Any]:
    text = (resources.files(_LIBRARY) / "data" / "converter_2025.json").read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("converter_2025.json: expected an object")
    return data


def _ordered(successors: list[_Successor]) -> tuple[_Successor, ...]:
    # Default first, then by code; a successor named twice keeps its default mark.
    best: dict[str, bool] = {}
    for s in successors:
        best[s.ward_code] = best.get(s.ward_code, False) or s.library_default
    return tuple(
        _Successor(code, default)
        for code, default in sorted(best.items(), key=lambda kv: (not kv[1], kv[0]))
    )


@lru_cache(maxsize=1)
def _data() -> _Data:
    legacy_keys: dict[str, tuple[str | None, str, str]] = {}  # key -> (ward, district, prov)
    legacy_province_keys: dict[str, str] = {}
    for pk, dk, wk, ward, district, province in _library_rows(
        "SELECT provinceKey, districtKey, wardKey, wardCode, districtCode, provinceCode "
        "FROM admin_units_legacy"
    ):
        legacy_keys[f"{pk}_{dk}_{wk or ''}"] = (ward, str(district), str(province))
        legacy_province_keys[str(pk)] = str(province)
    new_keys: dict[tuple[str, str], str] = {}
    new_province_keys: dict[str, str] = {}
    for pk, wk, ward, province in _library_rows(
        "SELECT provinceKey, wardKey, wardCode, provinceCode FROM admin_units"
    ):
        new_keys[(str(pk), str(wk))] = str(ward)
        new_province_keys[str(pk)] = str(province)

    raw = _converter_json()
    problems: list[str] = []
    found: dict[str, list[_Successor]] = {}

    def add(source: str, new_province: str, new_ward: str, default: bool) -> None:
        target = new_keys.get((new_province, new_ward))
        if target is None:
            problems.append(
                f"Thư viện: không giải được khóa xã mới '{new_province}/{new_ward}' thành mã"
                f" / library: new ward key '{new_province}/{new_ward}' has no code"
            )
            return
        found.setdefault(source, []).append(_Successor(target, default))

    for new_province, wards in raw["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, sources in wards.items():
            for source in sources:
                add(str(source), str(new_province), str(new_ward), True)
    for new_province, sources in raw["DICT_PROVINCE_WARD_DIVIDED"].items():
        for source, options in sources.items():
            for option in options:
                add(
                    str(source),
                    str(new_province),
                    str(option["newWardKey"]),
                    bool(option["isDefaultNewWard"]),
                )

    by_ward: dict[str, tuple[_Successor, ...]] = {}
    by_island: dict[str, tuple[_Successor, ...]] = {}
    for source, successors in found.items():
        codes = legacy_keys.get(source)
        if codes is None:
            problems.append(
                f"Thư viện: không giải được khóa xã cũ '{source}' thành mã"
                f" / library: legacy ward key '{source}' has no code"
            )
            continue
        ward, district, _ = codes
        if ward is None:
            by_island[district] = _ordered(successors)
        else:
            by_ward[str(ward)] = _ordered(successors)

    province_map: dict[str, set[str]] = {}
    for new_key, old_keys in raw["DICT_PROVINCE"].items():
        for old_key in old_keys:
            old = legacy_province_keys.get(str(old_key))
            new = new_province_keys.get(str(new_key))
            if old is None or new is None:
                problems.append(
                    f"Thư viện: không giải được khóa tỉnh '{old_key}' -> '{new_key}'"
                    f" / library: province keys '{old_key}' -> '{new_key}' have no code"
                )
                continue
            province_map.setdefault(old, set()).add(new)
    return _Data(
        by_ward=by_ward,
        by_island_district=by_island,
        province_map={k: frozenset(v) for k, v in province_map.items()},
        problems=tuple(problems),
    )


@lru_cache(maxsize=1)
def _successors() -> dict[str, tuple[_Successor, ...]]:
    # Successors whose code is in the 2025 list; the others are reported as problems.
    wards = catalog_units.wards_2025()
    return {
        code: kept
        for code, succ in _data().by_ward.items()
        if (kept := tuple(s for s in succ if s.ward_code in wards))
    }


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _in_sentence(name: str) -> str:
    """The unit type in lower case inside a Vietnamese sentence ("huyện Gia Lâm").

    Names that are numbers keep the capital (NĐ 30/2020/NĐ-CP: "Phường 4", "Quận 1").
    """
    for unit_type in _UNIT_TYPES:
        if name.startswith(unit_type + " "):
            rest = name[len(unit_type) + 1 :]
            if rest[:1].isdigit():
                return name
            return f"{unit_type.lower()} {rest}"
    return name


def _province_label(code: str, scheme: str) -> str:
    list_id = "province_2025" if scheme == SCHEME_2025 else "province_legacy"
    return get_catalog().codelists[list_id].label(code)


def _legacy_province_codes() -> Mapping[str, Code]:
    return get_catalog().codelists["province_legacy"].codes


def _province_2025_codes() -> Mapping[str, Code]:
    return get_catalog().codelists["province_2025"].codes


def _candidate(successor: _Successor) -> Candidate:
    ward = catalog_units.wards_2025()[successor.ward_code]
    return Candidate(
        ward_code=ward.code,
        ward_name=ward.name,
        province_code=ward.province_code,
        province_name=_province_label(ward.province_code, SCHEME_2025),
        library_default=successor.library_default,
    )


def _legacy_place(
    ward: catalog_units.AdminUnit | None,
    district_code: str | None,
    province_code: str | None,
    *,
    nested: bool = False,
) -> tuple[str, str]:
    """Vietnamese and English wording of a legacy place, largest unit last.

    ``"Xã A (huyện B, tỉnh C)"``, or ``"Xã A, huyện B, tỉnh C"`` when ``nested`` (inside
    parentheses already). The first name keeps its capital (it may open a sentence).
    """
    if ward is not None:
        district_code, province_code = ward.district_code, ward.province_code
    district = catalog_units.districts_legacy().get(district_code or "")
    names = [ward.name] if ward is not None else []
    if district is not None:
        names.append(district.name)
    if province_code is not None and province_code in _legacy_province_codes():
        names.append(_province_label(province_code, SCHEME_LEGACY))
    if not names:
        return "", ""
    head, rest = names[0], names[1:]
    rest_vi = ", ".join(_in_sentence(x) for x in rest)
    rest_en = ", ".join(rest)
    if not rest:
        return head, head
    if nested:
        return f"{head}, {rest_vi}", f"{head}, {rest_en}"
    return f"{head} ({rest_vi})", f"{head} ({rest_en})"


def _result(
    status: Status,
    ward_code: str | None,
    province_code: str | None,
    vi: str,
    en: str,
    candidates: tuple[Candidate, ...] = (),
) -> Conversion:
    return Conversion(
        status=status,
        ward_code=ward_code,
        province_code=province_code,
        candidates=candidates,
        explanation_vi=_nfc(vi),
        explanation_en=_nfc(en),
    )


def convert_address(
    scheme: str | None,
    ward_code: str | None,
    district_code: str | None,
    province_code: str | None,
    legacy_text: str | None = None,
) -> Conversion:
    """Convert one address (its unit codes and their scheme) to the 2025 units.

    The commune code decides; declared district and province codes that disagree with it are
    noted in the explanation (DUNG-030 reports them). Without a commune code, only the
    province converts (a district is kept only in the legacy wording), except for the island
    districts without communes, which became special zones. A split commune is
    ``ambiguous``: ``legacy_text`` (village, street) is not yet used to choose, which the
    explanation says.
    """
    scheme, ward_code = _clean(scheme), _clean(ward_code)
    district_code, province_code = _clean(district_code), _clean(province_code)
    if scheme == SCHEME_2025:
        return _convert_2025(ward_code, district_code, province_code)
    if scheme == SCHEME_LEGACY:
        return _convert_legacy(ward_code, district_code, province_code, _clean(legacy_text))
    if scheme is None:
        return _result(
            "not_found",
            None,
            None,
            "Chưa khai hệ mã đơn vị hành chính (2025 hoặc legacy)",
            "No administrative-unit scheme given (2025 or legacy)",
        )
    return _result(
        "not_found",
        None,
        None,
        f"Hệ mã đơn vị hành chính '{scheme}' không hợp lệ (phải là 2025 hoặc legacy)",
        f"Administrative-unit scheme '{scheme}' is invalid (must be 2025 or legacy)",
    )


def _convert_2025(
    ward_code: str | None, district_code: str | None, province_code: str | None
) -> Conversion:
    notes_vi: list[str] = []
    notes_en: list[str] = []
    if district_code is not None:
        notes_vi.append(f"mã huyện '{district_code}' bị bỏ qua: hệ 2025 không có cấp huyện")
        notes_en.append(
            f"district code '{district_code}' ignored: the 2025 scheme has no districts"
        )
    if ward_code is not None:
        ward = catalog_units.wards_2025().get(ward_code)
        if ward is None:
            vi = f"Không tìm thấy mã xã, phường '{ward_code}' trong danh mục 2025"
            en = f"Commune/ward code '{ward_code}' not found in the 2025 list"
            legacy = catalog_units.wards_legacy().get(ward_code)
            if legacy is not None:
                place_vi, place_en = _legacy_place(legacy, None, None, nested=True)
                vi += f"; mã này chỉ có trong danh mục cũ ({place_vi}): cần khai hệ mã legacy rồi chuyển đổi"
                en += f"; the code exists only in the legacy list ({place_en}): declare scheme legacy and convert"
            known = province_code if province_code in _province_2025_codes() else None
            return _result("not_found", None, known, vi, en)
        province = _province_label(ward.province_code, SCHEME_2025)
        if province_code is not None and province_code != ward.province_code:
            notes_vi.append(f"mã tỉnh đã khai '{province_code}' khác tỉnh của xã, phường")
            notes_en.append(f"the declared province code '{province_code}' is not the ward's")
        vi = (
            f"Địa chỉ đã theo đơn vị hành chính từ 01/7/2025: {ward.name}, {_in_sentence(province)}"
        )
        en = (
            f"The address already uses the units in force from 1 July 2025: {ward.name}, {province}"
        )
        return _result(
            "already_2025", ward.code, ward.province_code, *_noted(vi, en, notes_vi, notes_en)
        )
    if province_code is not None and province_code in _province_2025_codes():
        province = _province_label(province_code, SCHEME_2025)
        vi = f"Địa chỉ đã theo đơn vị hành chính từ 01/7/2025 (chỉ có cấp tỉnh): {province}"
        en = f"The address already uses the units in force from 1 July 2025 (province only): {province}"
        return _result("already_2025", None, province_code, *_noted(vi, en, notes_vi, notes_en))
    if province_code is None:
        return _result(
            "not_found",
            None,
            None,
            "Địa chỉ không có mã đơn vị hành chính nào",
            "The address has no administrative-unit code",
        )
    vi = f"Không tìm thấy mã tỉnh '{province_code}' trong danh mục 34 tỉnh, thành phố từ 01/7/2025"
    en = f"Province code '{province_code}' not found in the 34 provinces in force from 1 July 2025"
    if province_code in _legacy_province_codes():
        old = _province_label(province_code, SCHEME_LEGACY)
        vi += f"; trong hệ cũ đây là mã của {_in_sentence(old)}"
        en += f"; in the legacy scheme it is the code of {old}"
    return _result("not_found", None, None, vi, en)


def _noted(vi: str, en: str, notes_vi: list[str], notes_en: list[str]) -> tuple[str, str]:
    if notes_vi:
        vi += f" (lưu ý: {'; '.join(notes_vi)})"
        en += f" (note: {'; '.join(notes_en)})"
    return vi, en


def _convert_legacy(
    ward_code: str | None,
    district_code: str | None,
    province_code: str | None,
    legacy_text: str | None,
) -> Conversion:
    if ward_code is None:
        return _convert_legacy_without_ward(district_code, province_code)
    ward = catalog_units.wards_legacy().get(ward_code)
    if ward is None:
        vi = f"Không tìm thấy mã xã, phường '{ward_code}' trong danh mục đơn vị hành chính cũ"
        en = f"Commune/ward code '{ward_code}' not found in the legacy list"
        new = catalog_units.wards_2025().get(ward_code)
        if new is not None:
            vi += f"; mã này có trong danh mục 2025 ({new.name}): kiểm tra lại hệ mã"
            en += f"; the code exists in the 2025 list ({new.name}): check the scheme"
        return _result("not_found", None, legacy_province_to_2025(province_code or ""), vi, en)
    notes_vi: list[str] = []
    notes_en: list[str] = []
    if province_code is not None and province_code != ward.province_code:
        notes_vi.append(f"mã tỉnh đã khai '{province_code}' khác tỉnh của xã, phường")
        notes_en.append(f"the declared province code '{province_code}' is not the ward's")
    if district_code is not None and district_code != ward.district_code:
        notes_vi.append(f"mã huyện đã khai '{district_code}' khác huyện của xã, phường")
        notes_en.append(f"the declared district code '{district_code}' is not the ward's")
    place_vi, place_en = _legacy_place(ward, None, None)
    successors = _successors().get(ward.code, ())
    if not successors:
        vi = f"{place_vi}: không có dữ liệu chuyển đổi sang đơn vị hành chính 2025"
        en = f"{place_en}: no conversion data to the 2025 units"
        return _result(
            "not_found",
            None,
            legacy_province_to_2025(ward.province_code),
            *_noted(vi, en, notes_vi, notes_en),
        )
    candidates = tuple(_candidate(s) for s in successors)
    provinces = {c.province_code for c in candidates}
    new_province = provinces.pop() if len(provinces) == 1 else None
    if len(candidates) == 1:
        only = candidates[0]
        vi = f"{place_vi} nay thuộc {_in_sentence(only.ward_name)}, {_in_sentence(only.province_name)}"
        en = f"{place_en} is now part of {only.ward_name}, {only.province_name}"
        return _result(
            "exact", only.ward_code, new_province, *_noted(vi, en, notes_vi, notes_en), candidates
        )
    listed_vi = ", ".join(f"{_in_sentence(c.ward_name)} ({c.ward_code})" for c in candidates)
    listed_en = ", ".join(f"{c.ward_name} ({c.ward_code})" for c in candidates)
    where_vi = f" của {_in_sentence(candidates[0].province_name)}" if new_province else ""
    where_en = f" of {candidates[0].province_name}" if new_province else ""
    vi = (
        f"{place_vi} đã được chia cho {len(candidates)} đơn vị cấp xã mới{where_vi}: "
        f"{listed_vi}; cần người duyệt chọn đơn vị đúng"
    )
    en = (
        f"{place_en} was divided among {len(candidates)} new communes/wards{where_en}: "
        f"{listed_en}; a reviewer must choose"
    )
    if legacy_text is not None:
        vi += f"; địa danh cũ '{legacy_text}' (thôn, tổ dân phố, đường) chưa được dùng để tự động chọn"
        en += f"; the legacy wording '{legacy_text}' (village, street) is not yet used to choose"
    return _result("ambiguous", None, new_province, *_noted(vi, en, notes_vi, notes_en), candidates)


def _convert_legacy_without_ward(
    district_code: str | None, province_code: str | None
) -> Conversion:
    district = catalog_units.districts_legacy().get(district_code or "")
    if district_code is not None and district is None:
        vi = f"Không tìm thấy mã huyện '{district_code}' trong danh mục đơn vị hành chính cũ"
        en = f"District code '{district_code}' not found in the legacy list"
        return _result("not_found", None, legacy_province_to_2025(province_code or ""), vi, en)
    if district is not None:
        if province_code is not None and province_code != district.province_code:
            vi = (
                f"Mã huyện '{district.code}' ({district.name}) không thuộc tỉnh có mã "
                f"'{province_code}' trong hệ cũ"
            )
            en = (
                f"District code '{district.code}' ({district.name}) is not in legacy province "
                f"'{province_code}'"
            )
            return _result("not_found", None, None, vi, en)
        province_code = district.province_code
        island = _data().by_island_district.get(district.code, ())
        wards = catalog_units.wards_2025()
        kept = [s for s in island if s.ward_code in wards]
        if len(kept) == 1:
            only = _candidate(kept[0])
            place_vi, place_en = _legacy_place(None, district.code, province_code)
            vi = f"{place_vi} nay thuộc {_in_sentence(only.ward_name)}, {_in_sentence(only.province_name)}"
            en = f"{place_en} is now part of {only.ward_name}, {only.province_name}"
            return _result("exact", only.ward_code, only.province_code, vi, en, (only,))
    if province_code is None:
        return _result(
            "not_found",
            None,
            None,
            "Địa chỉ không có mã đơn vị hành chính nào",
            "The address has no administrative-unit code",
        )
    new_province = legacy_province_to_2025(province_code)
    if new_province is None:
        vi = f"Không tìm thấy mã tỉnh '{province_code}' trong danh mục 63 tỉnh, thành phố cũ"
        en = f"Province code '{province_code}' not found in the 63 legacy provinces"
        return _result("not_found", None, None, vi, en)
    place_vi, place_en = _legacy_place(None, district_code, province_code)
    new_name = _province_label(new_province, SCHEME_2025)
    vi = (
        f"{place_vi} nay thuộc {_in_sentence(new_name)}; chưa khai xã, phường nên chỉ chuyển "
        "được cấp tỉnh"
    )
    en = f"{place_en} is now part of {new_name}; no commune/ward was given, so only the province converts"
    if district is not None:
        vi += " (cấp huyện không còn từ 01/7/2025)"
        en += " (districts were abolished on 1 July 2025)"
    return _result("exact", None, new_province, vi, en)


@lru_cache(maxsize=1)
def province_merge_map() -> dict[str, str]:
    """Legacy province code -> 2025 province code, from ``province_legacy.merged_into_2025_code``.

    For vectorised use (``pl.col(...).replace_strict(province_merge_map(), default=None)``);
    do not mutate the returned dict.
    """
    return {
        code: entry.extra["merged_into_2025_code"]
        for code, entry in get_catalog().codelists["province_legacy"].codes.items()
    }


def legacy_province_to_2025(code: str) -> str | None:
    """The 2025 province a legacy province was merged into (SACH-002's home-town key).

    None when ``code`` is not one of the 63 legacy province codes.
    """
    return province_merge_map().get(code.strip())


def _wards(scheme: str) -> Mapping[str, catalog_units.AdminUnit] | None:
    if scheme == SCHEME_2025:
        return catalog_units.wards_2025()
    if scheme == SCHEME_LEGACY:
        return catalog_units.wards_legacy()
    return None


def ward_in_province(scheme: str, ward_code: str, province_code: str) -> bool | None:
    """DUNG-030: whether the commune ``ward_code`` lies in ``province_code`` (same scheme).

    None when the scheme is not ``2025``/``legacy`` or the commune is not in that scheme's
    list (an unknown code is DUNG-009's or SACH-008's finding, not this rule's).
    """
    wards = _wards(scheme)
    ward = wards.get(ward_code) if wards is not None else None
    if ward is None:
        return None
    return ward.province_code == province_code


@lru_cache(maxsize=2)
def legacy_only_codes(level: Level = "ward") -> frozenset[str]:
    """Codes that exist in the legacy list but not in the 2025 list (for ``Expr.is_in``)."""
    if level == "ward":
        return frozenset(catalog_units.wards_legacy()) - frozenset(catalog_units.wards_2025())
    if level == "province":
        return frozenset(_legacy_province_codes()) - frozenset(_province_2025_codes())
    raise ValueError(f"unknown level {level!r}")


def legacy_only_2025_label(ward_code: str, *, level: Level = "ward") -> bool:
    """SACH-008: a code labelled scheme 2025 that exists only in the legacy list.

    A dissolved or merged commune (``level="ward"``) or province (``level="province"``,
    e.g. ``02`` Hà Giang). A code in neither list is False here (DUNG-009 reports it); a code
    reused by the 2025 list is False, since it is a valid 2025 code.
    """
    return ward_code in legacy_only_codes(level)


@lru_cache(maxsize=2)
def ward_province_frame(scheme: str) -> pl.DataFrame:
    """The communes of one scheme as columns ``ward_code``, ``province_code`` (both strings).

    Join it on (ward code, province code) for DUNG-030. Cached: do not mutate it.
    """
    wards = _wards(scheme)
    if wards is None:
        raise ValueError(f"unknown administrative-unit scheme {scheme!r}")
    codes = sorted(wards)
    return pl.DataFrame(
        {"ward_code": codes, "province_code": [wards[c].province_code for c in codes]},
        schema={"ward_code": pl.String, "province_code": pl.String},
    )


@lru_cache(maxsize=1)
def conversion_frame() -> pl.DataFrame:
    """One row per legacy commune with conversion data, for a left join on its code.

    Columns: ``legacy_ward_code``, ``status`` (``exact`` or ``ambiguous``),
    ``new_ward_code`` (null when ambiguous), ``new_province_code``, ``n_candidates`` and
    ``candidate_ward_codes`` (list, library default first). A legacy code without a row is
    ``not_found``. One row per commune, so the join never multiplies rows. The island
    districts without communes are not here (they have no commune code; see
    :func:`convert_address`). Cached: do not mutate it.
    """
    wards = catalog_units.wards_2025()
    rows = sorted(_successors().items())
    provinces = [{wards[s.ward_code].province_code for s in succ} for _, succ in rows]
    return pl.DataFrame(
        {
            "legacy_ward_code": [code for code, _ in rows],
            "status": ["exact" if len(succ) == 1 else "ambiguous" for _, succ in rows],
            "new_ward_code": [succ[0].ward_code if len(succ) == 1 else None for _, succ in rows],
            "new_province_code": [p.pop() if len(p) == 1 else None for p in provinces],
            "n_candidates": [len(succ) for _, succ in rows],
            "candidate_ward_codes": [[s.ward_code for s in succ] for _, succ in rows],
        },
        schema={
            "legacy_ward_code": pl.String,
            "status": pl.String,
            "new_ward_code": pl.String,
            "new_province_code": pl.String,
            "n_candidates": pl.Int32,
            "candidate_ward_codes": pl.List(pl.String),
        },
    )


def conversion_stats() -> ConversionStats:
    """Counts of exact, ambiguous and not-found conversions over ``wards_legacy()``."""
    successors = _successors()
    counts: Counter[int] = Counter(
        len(successors.get(code, ())) for code in catalog_units.wards_legacy()
    )
    return ConversionStats(
        legacy_wards=sum(counts.values()),
        exact=counts[1],
        ambiguous=sum(n for k, n in counts.items() if k > 1),
        not_found=counts[0],
        island_districts=len(_data().by_island_district),
        candidate_counts=tuple(sorted((k, n) for k, n in counts.items() if k > 1)),
    )


def consistency_problems() -> tuple[str, ...]:
    """Disagreements between the library's conversion data and the code lists, bilingual.

    Checks: every library key resolves to a code; every target is in ``wards_2025()``; every
    commune of ``wards_legacy()`` has conversion data and every commune with data is in
    ``wards_legacy()``; every split commune has exactly one library default; the 2025
    province of each conversion is the one of ``province_legacy.merged_into_2025_code``;
    the library's province merges equal that column; a 2025 code reused from a legacy commune
    is one of that commune's successors; every 2025 commune has a predecessor.
    """
    data = _data()
    problems = list(data.problems)
    wards_2025 = catalog_units.wards_2025()
    legacy = catalog_units.wards_legacy()
    merged = province_merge_map()
    predecessors: set[str] = set()
    for code, succ in sorted(data.by_ward.items()):
        for s in succ:
            predecessors.add(s.ward_code)
            if s.ward_code not in wards_2025:
                problems.append(
                    f"Xã cũ '{code}' chuyển sang mã '{s.ward_code}' không có trong danh mục 2025"
                    f" / legacy ward '{code}' converts to '{s.ward_code}', not in the 2025 list"
                )
        if code not in legacy:
            problems.append(
                f"Mã xã cũ '{code}' có dữ liệu chuyển đổi nhưng không có trong danh mục cũ"
                f" / legacy ward '{code}' has conversion data but is not in the legacy list"
            )
            continue
        if len(succ) > 1 and sum(s.library_default for s in succ) != 1:
            problems.append(
                f"Xã cũ '{code}' bị chia nhưng thư viện không có đúng một đơn vị mặc định"
                f" / split legacy ward '{code}' has not exactly one library default"
            )
        expected = merged.get(legacy[code].province_code)
        for s in succ:
            got = wards_2025[s.ward_code].province_code if s.ward_code in wards_2025 else None
            if got is not None and got != expected:
                problems.append(
                    f"Xã cũ '{code}' chuyển sang tỉnh '{got}', danh mục tỉnh ghi '{expected}'"
                    f" / legacy ward '{code}' converts to province '{got}', code list says '{expected}'"
                )
    for succ in data.by_island_district.values():
        predecessors.update(s.ward_code for s in succ)
    for code in sorted(set(legacy) - set(data.by_ward)):
        problems.append(
            f"Xã cũ '{code}' không có dữ liệu chuyển đổi"
            f" / legacy ward '{code}' has no conversion data"
        )
    for old, news in sorted(data.province_map.items()):
        if news != {merged.get(old)}:
            problems.append(
                f"Thư viện gộp tỉnh '{old}' vào {sorted(news)}, danh mục ghi '{merged.get(old)}'"
                f" / library merges province '{old}' into {sorted(news)}, code list says '{merged.get(old)}'"
            )
    for code in sorted(wards_2025):
        if code not in predecessors:
            problems.append(
                f"Xã mới '{code}' không có đơn vị cũ nào chuyển sang"
                f" / 2025 ward '{code}' has no predecessor"
            )
        reused = code in legacy and code in data.by_ward
        if reused and code not in {s.ward_code for s in data.by_ward[code]}:
            problems.append(
                f"Mã 2025 '{code}' lấy lại mã của xã cũ cùng mã nhưng xã cũ không chuyển sang"
                f" / 2025 code '{code}' reuses a legacy code whose ward does not convert to it"
            )
    return tuple(_nfc(p) for p in problems)
