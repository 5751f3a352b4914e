"""Administrative units from maintained libraries, never hand-typed.

Both schemes come from ``vietnamadminunits`` 1.0.4 (MIT), read from its bundled SQLite
dataset without importing its address parser (which pulls in shapely):

- 2025 scheme (34 provinces, 3,321 communes from 1/7/2025), table ``admin_units``;
- legacy scheme (63 provinces, 696 districts and about 10,000 communes before 1/7/2025),
  table ``admin_units_legacy``.

``vietnam-provinces`` (the library the spec names) was considered: its 2026.x releases need
Python 3.12, and the newest release for 3.11 (2025.10.1) has 114 ward codes that differ
from the statistics office's list (e.g. Phường Cửa Nam 00073 instead of 00082), which its
later releases corrected; it is also GPL-3.0.

Province codes themselves are also in the spec's code lists (``province_2025``,
``province_legacy``); a test checks that the libraries agree with them.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """A commune/ward or district with its province and scheme."""

    code: str
    name: str
    province_code: str
    scheme: str
    district_code: str | None = None


@lru_cache
def _dataset() -> Path:
    """The library's bundled SQLite file, located without importing the package (its
    ``__init__`` imports the address parser: shapely and ~1 s of regex compilation)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("vietnamadminunits")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"


def _query(sql: str) -> list[tuple[str, ...]]:
    conn = sqlite3.connect(f"file:{_dataset()}?mode=ro", uri=True)
    try:
        rows = conn.execute(sql).fetchall()
    finally:
        conn.close()
    return [tuple(str(v) for v in row) for row in rows]


@lru_cache
def provinces_2025() -> dict[str, str]:
    """The 34 provinces of 1/7/2025 as the library names them, by 2-digit code."""
    return dict(_query("SELECT DISTINCT provinceCode, province FROM admin_units"))  # type: ignore[arg-type]


@lru_cache
def wards_2025() -> dict[str, AdminUnit]:
    """The 3,321 communes, wards and special zones of 1/7/2025, by 5-digit code."""
    rows = _query(
        "SELECT DISTINCT wardCode, ward, provinceCode FROM admin_units WHERE wardCode IS NOT NULL"
    )
    return {w: AdminUnit(code=w, name=n, province_code=p, scheme="2025") for w, n, p in rows}


def _legacy_rows() -> list[tuple[str, ...]]:
    # Five island districts have no commune level (NULL ward code); they are districts only.
    return _query(
        "SELECT DISTINCT wardCode, ward, provinceCode, districtCode, district "
        "FROM admin_units_legacy"
    )


@lru_cache
def wards_legacy() -> dict[str, AdminUnit]:
    """Communes and wards before 1/7/2025 (about 10,000), by 5-digit code."""
    return {
        w: AdminUnit(code=w, name=n, province_code=p, scheme="legacy", district_code=d)
        for w, n, p, d, _ in _legacy_rows()
        if w != "None"
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
