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
            OrgUnit(
                code=code, name=name, parent_code=parent, path=path, kind=kind, successor_codes=[]
            )
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


STRUCTURAL_KINDS = (
    "wrong_type",
    "impossible_date",
    "unknown_field",
    "not_an_array",
    "not_an_object",
    "invalid_personal_id",
    "unknown_agency",
    "mismatch",
    "invalid_json",
    "wrong_line_type",
)


def corrupt(line: dict[str, Any], kind: str) -> Any:
    """A structurally bad version of ``line`` (returns bytes for unparsable lines)."""
    data = line["data"]
    if kind == "wrong_type":
        data["salary_step"] = "bốn"
    elif kind == "impossible_date":
        data["date_of_birth"] = "1985-02-30"
    elif kind == "unknown_field":
        data["so_thich"] = "đọc sách"
    elif kind == "not_an_array":
        data["work_history"] = {"from": "2008-09"}
    elif kind == "not_an_object":
        data["work_history"] = ["2008-09 Sở Nội vụ"]
    elif kind == "invalid_personal_id":
        line["personal_id"] = line["personal_id"][:9]
    elif kind == "unknown_agency":
        line["managing_agency"] = "000.00.00.H99"
    elif kind == "mismatch":
        data["personal_id"] = "001085999999"
    elif kind == "invalid_json":
        return b'{"personal_id": "0400850", "data": {'
    elif kind == "wrong_line_type":
        return b'["not", "an", "object"]'
    return line


def make_lines(n: int, bad_every: int = 100) -> tuple[list[bytes], dict[int, str]]:
    """``n`` JSON lines; every ``bad_every``-th is corrupted, cycling through every kind.

    Returns the lines and {line number (1-based): kind} of the bad ones. Some people appear
    twice with different data (a second version), as in real exports of changes.
    """
    import orjson

    out: list[bytes] = []
    bad: dict[int, str] = {}
    kinds = iter(STRUCTURAL_KINDS * (n // bad_every // len(STRUCTURAL_KINDS) + 2))
    for i in range(n):
        pid = f"0400{85 + i % 10:02d}{i:06d}" if i % 10 else f"040{i % 2}90{i:06d}"
        agency, unit = (
            ("000.00.00.H41", "000.00.00.H41.S05")
            if i % 3
            else ("000.00.00.H40", "000.00.00.H40.S05")
        )
        line = dossier_line(
            pid=pid,
            agency=agency,
            unit=unit,
            serial_no=f"NV-{i}",
            birth_name=["NGUYỄN VĂN AN", "TRẦN THỊ HƯƠNG", "LÊ ĐỨC THỌ"][i % 3],
        )
        if (i + 1) % bad_every == 0:
            kind = next(kinds)
            bad[i + 1] = kind
            result = corrupt(line, kind)
            out.append(result if isinstance(result, bytes) else orjson.dumps(result))
        else:
            out.append(orjson.dumps(line))
    # A later change of an earlier person: a second version in the same file.
    again = dossier_line(
        pid="040086000001",
        serial_no="NV-1",
        birth_name="TRẦN THỊ HƯƠNG",
        salary_step=5,
        salary_coefficient="3.66",
    )
    out.append(orjson.dumps(again))
    return out, bad
