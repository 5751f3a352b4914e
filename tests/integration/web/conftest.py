"""Fixtures of the page tests: the same seed as the API tests, and a signed-in browser-like client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_seed import TestClient, World, seed_world

from hoso.main import create_app


@pytest.fixture
def world(session: Session) -> World:
    """The small tree, four users and four dossiers, in the test's transaction."""
    return seed_world(session)


@pytest.fixture
def anon(world: World) -> Iterator[TestClient]:
    """A client without a session cookie (redirects are not followed)."""
    with TestClient(create_app(), raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    """A client signed in as the Nghệ An HR officer through the cookie the sign-in page sets."""
    with TestClient(create_app(), raise_server_exceptions=False, follow_redirects=False) as c:
        c.cookies.set("hoso_session", world.tokens["hr.nghean"], domain="testserver.local")
        yield c
