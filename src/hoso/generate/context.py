"""Precomputed context of a generation run: geography pools and the employing units.

Built once per run (a few hundred milliseconds), then read by the per-person code.

- :class:`Geography` holds the 2025 and legacy provinces and communes from the catalogue and
  ``hoso.catalog.admin_units``, the legacy → 2025 province map and the personal-ID prefixes.
- :func:`employing_units` turns an org tree (``OrgUnit`` dicts, from :func:`generate_orgs` or
  a user's ``orgtree`` file) into :class:`UnitInfo` records: the managing agency (root of the
  unit's tree), the unit's *profile* (what kind of staff it employs, inferred from kind and
  name so that foreign trees work too), its province and its weight (own staffing quota).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hoso.catalog.admin_units import districts_legacy, wards_2025, wards_legacy
from hoso.catalog.loader import get_catalog
from hoso.generate.names import Pool

WardRow = tuple[str, str]
"""(code, name) of a 2025 commune."""
LegacyWardRow = tuple[str, str, str, str]
"""(code, name, district code, district name) of a legacy commune."""

#: Northern mountain provinces (2025 codes), where minorities make up a large share.
NORTH_MOUNTAIN = frozenset({"04", "08", "11", "12", "14", "15", "19", "20"})
HIGHLANDS = frozenset({"51", "52", "66", "68"})
KHMER_DELTA = frozenset({"86", "91", "92", "96"})
#: 2025 provinces from Quảng Nam southwards (Huỳnh/Võ rather than Hoàng/Vũ).
SOUTH = frozenset(
    {"48", "51", "52", "56", "66", "68", "75", "79", "80", "82", "86", "91", "92", "96"}
)
BIG_CITIES = frozenset({"01", "79"})


@dataclass(frozen=True, slots=True)
class Geography:
    """Provinces and communes of both schemes, and the maps between them."""

    province_labels: dict[str, str]
    legacy_labels: dict[str, str]
    merged_into: dict[str, str]
    formed_from: dict[str, tuple[str, ...]]
    prefix: dict[str, str]
    wards: dict[str, tuple[WardRow, ...]]
    """2025 province → its communes."""
    legacy_wards: dict[str, tuple[LegacyWardRow, ...]]
    """Legacy province → its communes."""
    legacy_only: dict[str, tuple[LegacyWardRow, ...]]
    """2025 province → legacy communes of its legacy provinces whose code is not a 2025 code."""
    birth_pool: Pool[str]
    """Legacy provinces weighted by their number of communes (a population proxy)."""
    ward_province: dict[str, str]
    """2025 commune → 2025 province."""
    legacy_pools: dict[str, Pool[str]]
    """2025 province → the legacy provinces that formed it, weighted by communes."""


@lru_cache
def geography() -> Geography:
    """The process-wide geography (loads the administrative-unit libraries once)."""
    cat = get_catalog()
    p25 = cat.codelist("province_2025").codes
    pl = cat.codelist("province_legacy").codes
    w25 = wards_2025()
    wl = wards_legacy()
    dl = districts_legacy()
    wards: dict[str, list[WardRow]] = {c: [] for c in p25}
    for w in sorted(w25.values(), key=lambda u: u.code):
        wards[w.province_code].append((w.code, w.name))
    legacy: dict[str, list[LegacyWardRow]] = {c: [] for c in pl}
    for w in sorted(wl.values(), key=lambda u: u.code):
        if w.province_code in legacy and w.district_code in dl:
            legacy[w.province_code].append(
                (w.code, w.name, w.district_code or "", dl[w.district_code].name)
            )
    merged_into = {c: e.extra["merged_into_2025_code"] for c, e in pl.items()}
    formed = {c: tuple(e.extra["formed_from_legacy_codes"].split(";")) for c, e in p25.items()}
    legacy_only = {
        new: tuple(row for old in olds for row in legacy[old] if row[0] not in w25)
        for new, olds in formed.items()
    }
    return Geography(
        province_labels={c: e.label_vi for c, e in p25.items()},
        legacy_labels={c: e.label_vi for c, e in pl.items()},
        merged_into=merged_into,
        formed_from=formed,
        prefix={c: e.extra["personal_id_prefix"] for c, e in pl.items()},
        wards={c: tuple(v) for c, v in wards.items()},
        legacy_wards={c: tuple(v) for c, v in legacy.items()},
        legacy_only=legacy_only,
        birth_pool=Pool([(c, len(v)) for c, v in legacy.items() if v]),
        ward_province={w.code: w.province_code for w in w25.values()},
        legacy_pools={
            new: Pool([(c, max(len(legacy[c]), 1)) for c in olds]) for new, olds in formed.items()
        },
    )


# --- units --------------------------------------------------------------------------------

PROFILES = (
    "central_admin",
    "province_admin",
    "commune_admin",
    "finance",
    "inspectorate",
    "school_mn",
    "school_th",
    "school_thcs",
    "school_thpt",
    "university",
    "hospital",
    "cdc",
    "health_station",
    "institute",
)

#: Default own staff when a user's tree gives no staffing quota, by unit kind.
_DEFAULT_OWN = {
    "ministry": 0,
    "central_agency": 0,
    "province": 0,
    "department": 25,
    "division": 10,
    "public_service_unit": 60,
    "commune": 10,
    "other": 10,
}


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """An active unit that employs people, with what the people generator needs to know."""

    code: str
    name: str
    display: str
    """Name as printed in a CV, with the parent for divisions (``Phòng X, Sở Y tỉnh Z``)."""
    kind: str
    profile: str
    level: str
    """``central``, ``province`` or ``commune``."""
    agency: str
    agency_name: str
    province: str
    """2025 province where the unit sits (Hà Nội for central bodies without one)."""
    head: str
    """Which leadership posts the unit has (see ``careers.POSITIONS``)."""
    weight: int


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _classify_psu(name: str) -> str:
    n = _fold(name)
    table = (
        ("trường mầm non", "school_mn"),
        ("trường tiểu học", "school_th"),
        ("trường trung học cơ sở", "school_thcs"),
        ("trường trung học phổ thông", "school_thpt"),
        ("trường phổ thông", "school_thpt"),
        ("trung tâm kiểm soát bệnh tật", "cdc"),
        ("viện vệ sinh dịch tễ", "cdc"),
        ("trạm y tế", "health_station"),
        ("bệnh viện", "hospital"),
        ("trung tâm y tế", "hospital"),
        ("trường đại học", "university"),
        ("học viện", "university"),
        ("trường cao đẳng", "university"),
        ("trường bồi dưỡng", "university"),
        ("trường cán bộ", "university"),
        ("đại học", "university"),
    )
    for prefix, profile in table:
        if n.startswith(prefix):
            return profile
    return "institute"


def _head(kind: str, name: str, profile: str, level: str, parent_kind: str | None) -> str:
    n = _fold(name)
    if profile.startswith("school_"):
        return "school"
    if profile == "university":
        return "university" if n.startswith("trường") else "psu"
    if profile in ("hospital", "cdc", "institute"):
        return "hospital" if profile != "institute" else "psu"
    if profile == "health_station":
        return "none"
    if kind == "commune":
        return "commune"
    if level == "commune":
        return "commune_division"
    if kind == "division":
        return "division_central" if level == "central" else "division_province"
    if level == "central":
        if n.startswith(("cục", "kho bạc", "ban ")):
            return "cuc"
        return "vu"
    if kind in ("department", "other", "central_agency"):
        return "so"
    return "none"


def employing_units(units: list[dict[str, Any]], as_of: str) -> list[UnitInfo]:
    """Active units with a positive weight, in tree order.

    A unit is active when ``as_of`` (ISO date) lies within its ``valid_from``/``valid_to``
    (missing bounds are open), and so are all its ancestors. The weight is the unit's own staff: its staffing quota
    minus its children's quotas (a default by kind when the tree gives none).
    """
    by_code = {u["code"]: u for u in units}
    children: dict[str, list[dict[str, Any]]] = {}
    for u in units:
        if u.get("parent_code"):
            children.setdefault(u["parent_code"], []).append(u)
    geo = geography()

    def active(u: dict[str, Any]) -> bool:
        vf, vt = u.get("valid_from"), u.get("valid_to")
        return (vt is None or vt >= as_of) and (vf is None or vf <= as_of)

    out: list[UnitInfo] = []
    displays: dict[str, str] = {}
    for u in units:
        chain = [u]
        while chain[-1].get("parent_code") in by_code:
            chain.append(by_code[chain[-1]["parent_code"]])
        root = chain[-1]
        if not all(active(x) for x in chain):
            continue
        parent = chain[1] if len(chain) > 1 else None
        kind = u["kind"]
        name = u["name"]
        if parent is not None and (
            kind == "division"
            or (kind == "department" and parent["kind"] in ("ministry", "central_agency"))
        ):
            display = f"{name}, {displays.get(parent['code'], parent['name'])}"
        else:
            display = name
        displays[u["code"]] = display
        if parent is None:
            continue  # the managing agency itself employs nobody here (its staff sit in its office)
        level = "central" if root["kind"] in ("ministry", "central_agency") else "province"
        if any(x["kind"] == "commune" for x in chain[:-1]):
            level = "commune"
        province = _province_of(chain, geo)
        if kind == "public_service_unit":
            profile = _classify_psu(name)
        elif level == "commune":
            profile = "commune_admin"
        else:
            names = " ".join(_fold(x["name"]) for x in chain[:-1])
            if "thanh tra" in names:
                profile = "inspectorate"
            elif any(w in names for w in ("tài chính", "kho bạc", "thuế", "ngân sách", "kế hoạch")):
                profile = "finance"
            else:
                profile = "central_admin" if level == "central" else "province_admin"
        quota = u.get("staffing_quota")
        if isinstance(quota, int):
            kids = sum(
                c.get("staffing_quota") or 0
                for c in children.get(u["code"], [])
                if isinstance(c.get("staffing_quota"), int)
            )
            weight = max(quota - kids, 0)
        else:
            weight = _DEFAULT_OWN.get(kind, 10)
        if weight <= 0:
            continue
        out.append(
            UnitInfo(
                code=u["code"],
                name=name,
                display=display,
                kind=kind,
                profile=profile,
                level=level,
                agency=root["code"],
                agency_name=root["name"],
                province=province,
                head=_head(kind, name, profile, level, parent["kind"]),
                weight=weight,
            )
        )
    return out


def _province_of(chain: list[dict[str, Any]], geo: Geography) -> str:
    for x in chain:
        admin = x.get("admin_unit")
        if not admin or admin.get("scheme") != "2025":
            continue
        code = str(admin.get("code", ""))
        if code in geo.province_labels:
            return code
        if code in geo.ward_province:
            return geo.ward_province[code]
    return "01"
