"""Administrative units from maintained libraries, never hand-typed.

- 2025 scheme (34 provinces, 3,321 communes from 1/7/2025): ``vietnam-provinces``
  2025.10.1 (the newest release that supports Python 3.11; 2026.x needs 3.12).
- Legacy scheme (63 provinces, districts and communes before 1/7/2025):
  ``vietnamadminunits`` 1.0.4 (MIT), read from its bundled SQLite dataset without importing
  its address parser (which pulls in shapely).

Province codes themselves are also in the spec's code lists (``province_2025``,
``province_legacy``); a test checks that the libraries agree with them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """A commune/ward or district with its province and scheme."""

    code: str
    name: str
    province_code: str
    scheme: str
    district_code: str | None = None


@lru_cache
def wards_2025() -> dict[str, AdminUnit]:
    """The 3,321 communes, wards and special zones of 1/7/2025, by 5-digit code."""
    from vietnam_provinces import Ward

    out: dict[str, AdminUnit] = {}
    for w in Ward.iter_all():
        code = f"{int(w.code):05d}"
        out[code] = AdminUnit(
            code=code, name=w.name, province_code=f"{int(w.province_code):02d}", scheme="2025"
        )
    return out


def _legacy_rows() -> list[tuple[str, str, str, str, str]]:
    path = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with resources.as_file(path) as db_path:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT DISTINCT wardCode, ward, provinceCode, districtCode, district "
                "FROM admin_units_legacy"
            ).fetchall()
        finally:
            conn.close()
    return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]


@lru_cache
def wards_legacy() -> dict[str, AdminUnit]:
    """Communes and wards before 1/7/2025 (about 10,000), by 5-digit code."""
    return {
        w: AdminUnit(code=w, name=n, province_code=p, scheme="legacy", district_code=d)
        for w, n, p, d, _ in _legacy_rows()
    }


@lru_cache
def districts_legacy() -> dict[str, AdminUnit]:
    """Districts before 1/7/2025 (abolished on that date), by 3-digit code."""
    return {
        d: AdminUnit(code=d, name=dn, province_code=p, scheme="legacy")
        for _, _, p, d, dn in _legacy_rows()
    }


def external_codes(list_id: str) -> dict[str, AdminUnit] | None:
    """Codes of an external administrative-unit list, or None when the list is not one."""
    if list_id == "ward_2025":
        return wards_2025()
    if list_id == "ward_legacy":
        return wards_legacy()
    if list_id == "district_legacy":
        return districts_legacy()
    return None
