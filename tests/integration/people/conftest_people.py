"""Fixtures of the people integration tests: a small org tree and dossier lines."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from hoso.orgs.models import OrgUnit

TREE = [
    ("000.00.00.H41", None, "UBND tỉnh Nghệ An", "province"),
    ("000.00.00.H41.S05", "000.00.00.H41", "Sở Nội vụ tỉnh Nghệ An", "department"),
    ("000.00.00.H41.S07", "000.00.00.H41", "Sở Y tế tỉnh Nghệ An", "department"),
    ("000.00.00.H40", None, "UBND tỉnh Hà Tĩnh", "province"),
    ("000.00.00.H40.S05", "000.00.00.H40", "Sở Nội vụ tỉnh Hà Tĩnh", "department"),
]


def add_tree(session: Session) -> None:
    """Insert the small tree (paths computed here, not by the orgs service)."""
    paths: dict[str, str] = {}
    for code, parent, name, kind in TREE:
        path = (paths[parent] if parent else "/") + code + "/"
        paths[code] = path
        session.add(
            OrgUnit(code=code, name=name, parent_code=parent, path=path, kind=kind, successor_codes=[])
        )
    session.flush()


@pytest.fixture
def orgs(session: Session) -> Session:
    """The shared test session with the small tree loaded."""
    add_tree(session)
    return session


def dossier_line(
    pid: str = "040085000001",
    agency: str = "000.00.00.H41",
    unit: str | None = "000.00.00.H41.S05",
    **data: Any,
) -> dict[str, Any]:
    """A bulk line with a small but real dossier."""
    doc: dict[str, Any] = {
        "birth_name": "NGUYỄN VĂN AN",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "ethnicity_code": "01",
        "religion_code": "00",
        "salary_step": 4,
        "salary_coefficient": "3.33",
        "work_history": [
            {"from": "2008-09", "to": "2012-12", "unit": "Sở Nội vụ", "title": "Chuyên viên"},
            {"from": "2013-01", "unit": "Sở Nội vụ", "title": "Trưởng phòng"},
        ],
    }
    doc.update(data)
    line: dict[str, Any] = {"personal_id": pid, "managing_agency": agency, "data": doc}
    if unit:
        line["employing_unit"] = unit
    return line
