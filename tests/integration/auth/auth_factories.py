"""Factories of the auth tests: a small tree (national root, two provinces) and users."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.testclient import TestClient as TestClient  # re-exported for the tests

from hoso.auth import api as auth_api
from hoso.auth import service as auth_service
from hoso.auth.models import User
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.errors import HosoError
from hoso.orgs import api as orgs_api
from hoso.orgs import service as orgs_service
from hoso.orgs.schemas import OrgUnitIn

H41 = "000.00.00.H41"
H40 = "000.00.00.H40"
PASSWORD = "mat-khau-du-dai-1"

TREE: list[dict[str, Any]] = [
    {"code": "VN", "name": "Hệ thống cơ quan nhà nước", "kind": "other"},
    {
        "code": H41,
        "name": "UBND tỉnh Nghệ An",
        "parent_code": "VN",
        "kind": "province",
        "staffing_quota": 100,
    },
    {
        "code": f"{H41}.S05",
        "name": "Sở Nội vụ tỉnh Nghệ An",
        "parent_code": H41,
        "kind": "department",
        "staffing_quota": 30,
    },
    {
        "code": H40,
        "name": "UBND tỉnh Hà Tĩnh",
        "parent_code": "VN",
        "kind": "province",
        "staffing_quota": 80,
    },
    {
        "code": f"{H40}.S05",
        "name": "Sở Nội vụ tỉnh Hà Tĩnh",
        "parent_code": H40,
        "kind": "department",
        "staffing_quota": 20,
    },
]


def add_tree(session: Session) -> None:
    """Upsert :data:`TREE` as the national operator."""
    units = [OrgUnitIn.model_validate(r) for r in TREE]
    orgs_service.upsert_units(session, units, principal=operator())


def add_user(
    session: Session, username: str, role: str, org: str, password: str = PASSWORD
) -> User:
    """Create a user as the national operator."""
    user_in = UserCreate(
        username=username,
        full_name=f"Người dùng {username}",
        role=role,  # type: ignore[arg-type]
        org_unit_code=org,
        password=password,
    )
    return auth_service.create(session, user_in, principal=operator())


@pytest.fixture
def tree(session: Session) -> Session:
    """The shared test session with :data:`TREE` loaded."""
    add_tree(session)
    return session


def make_app() -> FastAPI:
    """A tiny app with the auth and orgs routers and a minimal HosoError handler."""
    app = FastAPI()
    app.include_router(auth_api.router)
    app.include_router(orgs_api.router)

    @app.exception_handler(HosoError)
    def _problem(_request: Request, exc: HosoError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status,
            media_type="application/problem+json",
            content={
                "status": exc.status,
                "code": exc.code,
                "title": f"{exc.message_vi} / {exc.message_en}",
                "issues": [i.as_dict() for i in exc.issues],
            },
        )

    return app


def bearer(user: User) -> dict[str, str]:
    """Authorization header for ``user``."""
    return {"Authorization": f"Bearer {auth_service.issue_token(user)}"}
