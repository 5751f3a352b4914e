"""Seed data of the HTTP and page tests, written through the real services.

Tree (QĐ 20/2020-style codes)::

    VN                      Cả nước (root, kind other)
    ├── 000.00.00.H41       UBND tỉnh Nghệ An
    │   ├── 000.00.00.H41.S05   Sở Nội vụ tỉnh Nghệ An
    │   └── 000.00.00.H41.S07   Sở Y tế tỉnh Nghệ An
    └── 000.00.00.H40       UBND tỉnh Hà Tĩnh
        └── 000.00.00.H40.S05   Sở Nội vụ tỉnh Hà Tĩnh
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from hoso.auth import service as auth_service
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import service as people_service
from hoso.people.schemas import PersonWrite

__all__ = ["PASSWORD", "TestClient", "World", "dossier", "seed_world"]

ROOT = "VN"
NGHE_AN = "000.00.00.H41"
NGHE_AN_NOI_VU = "000.00.00.H41.S05"
NGHE_AN_Y_TE = "000.00.00.H41.S07"
HA_TINH = "000.00.00.H40"
HA_TINH_NOI_VU = "000.00.00.H40.S05"
PASSWORD = "mat-khau-thu-nghiem-1"

UNITS = [
    (ROOT, None, "Cả nước", "other"),
    (NGHE_AN, ROOT, "UBND tỉnh Nghệ An", "province"),
    (NGHE_AN_NOI_VU, NGHE_AN, "Sở Nội vụ tỉnh Nghệ An", "department"),
    (NGHE_AN_Y_TE, NGHE_AN, "Sở Y tế tỉnh Nghệ An", "department"),
    (HA_TINH, ROOT, "UBND tỉnh Hà Tĩnh", "province"),
    (HA_TINH_NOI_VU, HA_TINH, "Sở Nội vụ tỉnh Hà Tĩnh", "department"),
]

#: (username, full name, role, unit)
USERS = [
    ("admin", "Quản trị Quốc gia", "national_admin", ROOT),
    ("hr.nghean", "Trần Thị Bích Ngọc", "hr_officer", NGHE_AN),
    ("hr.hatinh", "Lê Văn Hùng", "hr_officer", HA_TINH),
    ("analyst.nghean", "Phạm Minh Đức", "national_analyst", NGHE_AN),
]

BASE_DATA: dict[str, Any] = {
    "birth_name": "NGUYỄN VĂN AN",
    "date_of_birth": "1985-03-14",
    "sex": "M",
    "ethnicity_code": "01",
    "religion_code": "00",
    "employee_type_code": "CC",
    "rank_code": "01.003",
    "salary_step": 4,
    "salary_coefficient": "3.33",
    "work_history": [
        {
            "from": "2008-09",
            "to": "2012-12",
            "unit": "Sở Nội vụ tỉnh Nghệ An",
            "title": "Chuyên viên",
        },
        {"from": "2013-01", "unit": "Sở Nội vụ tỉnh Nghệ An", "title": "Trưởng phòng"},
    ],
}


def dossier(
    pid: str, agency: str = NGHE_AN, unit: str | None = NGHE_AN_NOI_VU, **data: Any
) -> dict[str, Any]:
    """A bulk-line body (exchange README §8) with a small but real dossier."""
    doc = copy.deepcopy(BASE_DATA)
    doc.update(data)
    body: dict[str, Any] = {"personal_id": pid, "managing_agency": agency, "data": doc}
    if unit is not None:
        body["employing_unit"] = unit
    return body


@dataclass
class World:
    """What :func:`seed_world` stored: tokens by username and the dossiers' personal IDs."""

    tokens: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        """``Authorization`` header of ``username``."""
        return {"Authorization": f"Bearer {self.tokens[username]}"}


_REAL_HASH = auth_service.hash_password


@lru_cache
def _password_hash() -> str:
    return _REAL_HASH(PASSWORD)


@contextmanager
def _one_hash() -> Iterator[None]:
    """Hash the shared test password once per process (argon2id costs ~0.35 s a time)."""
    real = auth_service.hash_password
    auth_service.hash_password = lambda password: (  # type: ignore[assignment]
        _password_hash() if password == PASSWORD else real(password)
    )
    try:
        yield
    finally:
        auth_service.hash_password = real  # type: ignore[assignment]


def seed_world(session: Session) -> World:
    """Store the tree, the users and four dossiers (one of them with two versions)."""
    op = operator()
    orgs_service.upsert_units(
        session,
        [OrgUnitIn(code=c, name=n, parent_code=p, kind=k) for c, p, n, k in UNITS],  # type: ignore[arg-type]
        principal=op,
    )
    world = World()
    with _one_hash():
        for username, full_name, role, unit in USERS:
            user_in = UserCreate(
                username=username,
                full_name=full_name,
                role=role,  # type: ignore[arg-type]
                org_unit_code=unit,
                password=PASSWORD,
            )
            user = auth_service.create(session, user_in, principal=op)
            world.tokens[username] = auth_service.issue_token(user)
    people = {
        "an": dossier("040085000001"),
        "binh": dossier(
            "040190000002",
            unit=NGHE_AN_Y_TE,
            birth_name="TRẦN THỊ BÌNH",
            sex="F",
            date_of_birth="1990-07-02",
            employee_type_code="VC",
            rank_code="V.08.01.03",
        ),
        "cuong": dossier("040078000003", birth_name="LÊ VĂN CƯỜNG", date_of_birth="1978-11-30"),
        "dung": dossier(
            "042092000004",
            agency=HA_TINH,
            unit=HA_TINH_NOI_VU,
            birth_name="HOÀNG THỊ DUNG",
            sex="F",
            date_of_birth="1992-01-20",
        ),
    }
    for key, body in people.items():
        people_service.create(
            session, PersonWrite.model_validate(body), principal=op, source="import"
        )
        world.people[key] = body["personal_id"]
    changed = dossier("040085000001", salary_step=5, salary_coefficient="3.66")
    changed["data"]["work_history"][1]["to"] = "2020-06"
    people_service.update(
        session,
        "040085000001",
        PersonWrite.model_validate(changed),
        principal=op,
        expected_version=1,
        source="api",
    )
    session.flush()
    return world
