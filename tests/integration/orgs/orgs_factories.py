"""Factories of the orgs tests: a small tree with a national root, two provinces, a merger."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient as TestClient  # re-exported for the tests

from hoso.auth.principal import operator
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn

H41 = "000.00.00.H41"
H40 = "000.00.00.H40"

#: The tree, children listed before their parents on purpose (parents may come later).
TREE: list[dict[str, Any]] = [
    {
        "code": f"{H41}.S05.P01",
        "name": "Phòng Công chức, viên chức",
        "parent_code": f"{H41}.S05",
        "kind": "division",
        "staffing_quota": 10,
    },
    {
        "code": f"{H41}.S05",
        "name": "Sở Nội vụ tỉnh Nghệ An",
        "parent_code": H41,
        "kind": "department",
        "staffing_quota": 30,
    },
    {
        "code": f"{H41}.S07",
        "name": "Sở Y tế tỉnh Nghệ An",
        "parent_code": H41,
        "kind": "department",
        "staffing_quota": 50,
    },
    {
        "code": H41,
        "name": "UBND tỉnh Nghệ An",
        "parent_code": "VN",
        "kind": "province",
        "admin_unit": {"scheme": "2025", "code": "40"},
        "staffing_quota": 100,
    },
    {
        "code": H40,
        "name": "UBND tỉnh Hà Tĩnh",
        "parent_code": "VN",
        "kind": "province",
        "admin_unit": {"scheme": "2025", "code": "42"},
        "staffing_quota": 80,
    },
    {
        "code": f"{H40}.S05",
        "name": "Sở Nội vụ tỉnh Hà Tĩnh",
        "parent_code": H40,
        "kind": "department",
        "staffing_quota": 20,
    },
    {"code": "000.00.00.G09", "name": "Bộ Nội vụ", "parent_code": "VN", "kind": "ministry"},
    # 2025 merger: Quảng Bình ended on 30/6/2025 and was taken over by Quảng Trị.
    {
        "code": "000.00.00.H44",
        "name": "UBND tỉnh Quảng Bình",
        "parent_code": "VN",
        "kind": "province",
        "valid_to": "2025-06-30",
        "successor_codes": ["000.00.00.H45"],
        "admin_unit": {"scheme": "legacy", "code": "44"},
        "staffing_quota": 90,
    },
    {
        "code": "000.00.00.H45",
        "name": "UBND tỉnh Quảng Trị",
        "parent_code": "VN",
        "kind": "province",
        "valid_from": "2025-07-01",
        "admin_unit": {"scheme": "2025", "code": "44"},
        "staffing_quota": 150,
    },
    {"code": "VN", "name": "Hệ thống cơ quan nhà nước", "kind": "other"},
]


def tree_units(rows: list[dict[str, Any]] | None = None) -> list[OrgUnitIn]:
    """The rows as validated ``OrgUnitIn`` objects."""
    return [OrgUnitIn.model_validate(r) for r in copy.deepcopy(rows if rows is not None else TREE)]


@pytest.fixture
def tree(session: Session) -> Session:
    """The shared test session with :data:`TREE` upserted by the national operator."""
    orgs_service.upsert_units(session, tree_units(), principal=operator())
    return session
