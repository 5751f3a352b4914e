"""Fixtures of the simulator's tests: its own database on the run's backend.

``popsim_url`` is a brand-new empty database for the simulator: a temporary SQLite file on
SQLite runs, a new database in the harness's throwaway cluster on PostgreSQL runs (the
simulator never shares hoso's database).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hoso.config import get_settings
from hoso.popsim.models import open_engine

_names = itertools.count(1)


@pytest.fixture
def popsim_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty database for the simulator, deleted after the test."""
    if backend == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        name = f"popsim_{next(_names)}"
        yield cluster.create_database(name)
        cluster.drop_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'popsim.db'}"


@pytest.fixture
def popsim_engine(popsim_url: str) -> Iterator[Engine]:
    """Engine on ``popsim_url`` with the simulator's tables."""
    engine = open_engine(popsim_url)
    yield engine
    engine.dispose()


@pytest.fixture
def popsim_env(popsim_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``HOSO_POPSIM_DATABASE_URL`` of this process points at ``popsim_url`` (for the CLI)."""
    monkeypatch.setenv("HOSO_POPSIM_DATABASE_URL", popsim_url)
    get_settings.cache_clear()
    yield popsim_url
    get_settings.cache_clear()
