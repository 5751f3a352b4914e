"""Fixtures of the HTTP tests: the app under ``TestClient``, a small tree, users and dossiers.

Everything is written through the real services (orgs, users, people) inside the test's
rolled-back ``session``; requests made with ``client`` run in SAVEPOINTs of that same
transaction (see ``tests/conftest.py``), so nothing outlives a test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_seed import TestClient, World, seed_world

from hoso.main import create_app


@pytest.fixture
def world(session: Session) -> World:
    """The small tree, four users and four dossiers, in the test's transaction."""
    return seed_world(session)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """A client of the whole app; 500s come back as responses, not exceptions."""
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c
