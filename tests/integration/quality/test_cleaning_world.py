"""The small world of the cleaning tests, and a check that a real run finds its defects.

Hand-made dossiers stored through ``people_service.create`` in a small org tree, then one
real quality run (snapshot, engine, storage) so that cleaning starts from real findings:

- ``BINH`` (Nghệ An, Sở Nội vụ): birth name in title case (SACH-005), the mother's name in
  TCVN3 mojibake (SACH-003), a legacy home town that converts exactly (SACH-007);
- ``CHAU`` (Nghệ An, Sở Y tế): a legacy home town in a split commune (SACH-007, ambiguous);
- ``DUNG`` (Hà Tĩnh): birth name in title case (SACH-005);
- ``EM`` (Nghệ An): a birth name with a digit (SACH-006: a note, no automatic fix);
- ``GIANG`` (Nghệ An): clean.

Other modules import the fixtures from here (``from test_cleaning_world import ...``).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hoso.auth.principal import Principal, operator
from hoso.catalog import admin_units as catalog_units
from hoso.config import get_settings
from hoso.generate.encodings import to_tcvn3
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.schemas import PersonWrite
from hoso.quality import service
from hoso.quality.models import QualityFinding

ROOT = "VN"
NGHE_AN = "000.00.00.H41"
NGHE_AN_NOI_VU = "000.00.00.H41.S05"
NGHE_AN_Y_TE = "000.00.00.H41.S07"
HA_TINH = "000.00.00.H40"
HA_TINH_NOI_VU = "000.00.00.H40.S05"

TREE = [
    (ROOT, None, "Cả nước", "other"),
    (NGHE_AN, ROOT, "UBND tỉnh Nghệ An", "province"),
    (NGHE_AN_NOI_VU, NGHE_AN, "Sở Nội vụ tỉnh Nghệ An", "department"),
    (NGHE_AN_Y_TE, NGHE_AN, "Sở Y tế tỉnh Nghệ An", "department"),
    (HA_TINH, ROOT, "UBND tỉnh Hà Tĩnh", "province"),
    (HA_TINH_NOI_VU, HA_TINH, "Sở Nội vụ tỉnh Hà Tĩnh", "department"),
]

BINH = "040085000001"
CHAU = "040190000002"
DUNG = "042092000004"
EM = "040088000005"
GIANG = "040080000006"

MOTHER = "Nguyễn Thị Hoa"
EXACT_WARD = "16663"  # Phường Đông Vĩnh (thành phố Vinh, Nghệ An) -> 16681 Phường Thành Vinh
SPLIT_WARD = "18082"  # Phường Đại Nài (thành phố Hà Tĩnh) -> 18073 or 18652

NGHE_AN_HR = Principal(username="hr41", role="hr_officer", scope_code=NGHE_AN)
HA_TINH_HR = Principal(username="hr40", role="hr_officer", scope_code=HA_TINH)
APPROVER = Principal(username="ap41", role="approver", scope_code=NGHE_AN)
AS_OF = dt.date(2026, 11, 23)


def legacy_home(ward_code: str) -> dict[str, Any]:
    """Home-town fields in the legacy scheme for ``ward_code`` (its district and province)."""
    ward = catalog_units.wards_legacy()[ward_code]
    return {
        "hometown_unit_scheme": "legacy",
        "hometown_ward_code": ward.code,
        "hometown_district_legacy_code": ward.district_code,
        "hometown_province_code": ward.province_code,
    }


def body(
    pid: str, name: str, *, agency: str = NGHE_AN, unit: str = NGHE_AN_NOI_VU, **data: Any
) -> dict[str, Any]:
    """A bulk-line body with a small but real dossier."""
    doc: dict[str, Any] = {
        "birth_name": name,
        "date_of_birth": f"19{pid[4:6]}-03-14",
        "sex": "M" if pid[3] == "0" else "F",
        "ethnicity_code": "01",
        "religion_code": "00",
        "hometown_unit_scheme": "2025",
        "hometown_ward_code": "16681",
        "hometown_province_code": "40",
        "salary_step": 4,
        "salary_coefficient": "3.33",
        "work_history": [
            {"from": "2008-09", "to": "2012-12", "unit": "Sở Nội vụ", "title": "Chuyên viên"},
            {"from": "2013-01", "unit": "Sở Nội vụ", "title": "Trưởng phòng"},
        ],
        "family_own_side": [
            {"relationship_code": "CHA", "full_name": "NGUYỄN VĂN BA", "birth_year": 1955},
            {"relationship_code": "ME", "full_name": "LÊ THỊ TƯ", "birth_year": 1958},
        ],
    }
    doc.update(data)
    return {"personal_id": pid, "managing_agency": agency, "employing_unit": unit, "data": doc}


def people_bodies() -> dict[str, dict[str, Any]]:
    """The dossiers of the world, by personal ID."""
    binh = body(BINH, "Trần Văn Bình", **legacy_home(EXACT_WARD))
    binh["data"]["family_own_side"][1] = {
        "relationship_code": "ME",
        "full_name": to_tcvn3(MOTHER),
        "birth_year": 1958,
    }
    return {
        BINH: binh,
        CHAU: body(CHAU, "PHẠM THỊ CHÂU", unit=NGHE_AN_Y_TE, **legacy_home(SPLIT_WARD)),
        DUNG: body(DUNG, "Hoàng Văn Dũng", agency=HA_TINH, unit=HA_TINH_NOI_VU),
        EM: body(EM, "NGUYỄN VĂN EM2"),
        GIANG: body(GIANG, "ĐỖ VĂN GIANG"),
    }


def add_tree(session: Session) -> None:
    """Insert the tree (paths computed here)."""
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


def add_people(session: Session) -> None:
    """Store the world's dossiers (version 1 each)."""
    for line in people_bodies().values():
        people_service.create(
            session, PersonWrite.model_validate(line), principal=operator(), source="import"
        )
    session.flush()


def run_quality(session: Session) -> service.RunSummary:
    """A full quality run over everything (the findings cleaning starts from)."""
    return service.run(session, actor="tester", as_of=AS_OF, full=True)


@pytest.fixture
def quality_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private snapshot folder and no watermark margin."""
    folder = tmp_path / "quality"
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(folder))
    monkeypatch.setenv("HOSO_QUALITY_MARGIN_SECONDS", "0")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture
def world(session: Session, quality_dir: Path) -> Session:
    """The tree, the dossiers and the findings of one full run, in the test's transaction."""
    add_tree(session)
    add_people(session)
    run_quality(session)
    return session


def findings_of(session: Session, personal_id: str) -> set[tuple[str, str]]:
    """(rule id, field) of a person's current findings."""
    rows = session.execute(
        select(QualityFinding.rule_id, QualityFinding.field).where(
            QualityFinding.personal_id == personal_id
        )
    ).all()
    return {(r, f) for r, f in rows}


def test_the_run_finds_the_defects_cleaning_works_on(world: Session) -> None:
    binh = findings_of(world, BINH)
    assert ("SACH-005", "birth_name") in binh
    assert ("SACH-003", "family_own_side[1].full_name") in binh
    assert ("SACH-007", "hometown_unit_scheme") in binh
    assert ("SACH-007", "hometown_unit_scheme") in findings_of(world, CHAU)
    assert ("SACH-005", "birth_name") in findings_of(world, DUNG)
    assert ("SACH-006", "birth_name") in findings_of(world, EM)
    clean = {r for r, _ in findings_of(world, GIANG)}
    assert not clean & {"SACH-003", "SACH-004", "SACH-005", "SACH-006", "SACH-007", "SACH-012"}
