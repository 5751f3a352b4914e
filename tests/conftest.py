"""Test harness: one database backend per run, chosen by ``HOSO_TEST_DB``.

``HOSO_TEST_DB=sqlite`` (the default) uses temporary SQLite files; ``HOSO_TEST_DB=postgresql``
starts a throwaway PostgreSQL cluster (initdb + pg_ctl on a unix socket in a temporary
folder, see ``tests/pg_harness.py``) the first time a test needs a database, and stops and
deletes it at the end of the session. ``make test`` runs the suite once with each.

Fixtures
--------
``backend`` (session)
    ``"sqlite"`` or ``"postgresql"``.
``db_url`` (session)
    URL of a migrated database shared by the whole session. Requesting it also sets
    ``HOSO_DATABASE_URL`` (with ``get_settings.cache_clear()`` and
    ``hoso.db.engine.reset()``), so ``unit_of_work()`` in the code under test uses it.
    Data committed through it stays for the rest of the session: use ``session`` instead.
``db_engine`` (session)
    SQLAlchemy engine on ``db_url`` (on SQLite with working SAVEPOINTs).
``session`` (function)
    A ``Session`` inside an outer transaction that is rolled back after the test. While it
    is active, ``hoso.db.engine.get_sessionmaker()`` returns a factory bound to the same
    connection with ``join_transaction_mode="create_savepoint"``, so every
    ``unit_of_work()`` of the code under test (services, CLI commands run in-process with
    ``typer.testing.CliRunner``, API routes under ``TestClient``) commits or rolls back a
    SAVEPOINT and nothing outlives the test. Code must reach the factory through the module
    (``unit_of_work()`` or ``hoso.db.engine.get_sessionmaker()``); ``get_engine()`` used
    directly bypasses the isolation.
``fresh_db_url`` (function)
    URL of a brand-new, migrated, empty database, deleted after the test. For tests that
    run subprocesses (a CLI run, killing a process, a real uvicorn server): pass it as
    ``HOSO_DATABASE_URL`` in the child's environment. Cheap: a copy of a template database
    migrated once per session (``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a file copy on
    SQLite). It does not change this process's settings; see ``use_database``.
``empty_db_url`` (function)
    URL of a brand-new database with no tables at all (for migration tests).
``use_database`` (function)
    ``use_database(url)`` points this process's settings and engine at ``url`` for the rest
    of the test (``HOSO_DATABASE_URL``, caches cleared), e.g. to inspect with
    ``unit_of_work()`` what a subprocess wrote into a ``fresh_db_url`` database.
``pg_cluster`` (session, PostgreSQL runs only)
    The :class:`pg_harness.Cluster` (``.url(name)``, ``.create_database(name)``,
    ``.execute(sql)``), for tests that need more than one database at once. Prefer the
    fixtures above: a test must run on both backends.

Every test also runs with ``HOSO_ENV=test`` and, until it asks for a database fixture,
``HOSO_DATABASE_URL`` pointing at an unmigrated scratch file, so a test that reaches the
database without a fixture fails on a missing table instead of touching ``var/hoso.db``.

With pytest-xdist (``-n 2``) each worker has its own temporary files and its own cluster.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:  # the "importlib" import mode does not add it
    sys.path.insert(0, _TESTS_DIR)

import hoso.db.engine  # noqa: E402
import pg_harness  # noqa: E402
from hoso.config import get_settings  # noqa: E402
from hoso.db import migrate  # noqa: E402

BACKENDS = ("sqlite", "postgresql")
TEMPLATE_DB = "hoso_template"
_TIMINGS: dict[str, float] = {}


def _backend_name() -> str:
    return os.environ.get("HOSO_TEST_DB", "sqlite").strip().lower() or "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    """Refuse an unknown ``HOSO_TEST_DB`` before collecting anything."""
    if _backend_name() not in BACKENDS:
        raise pytest.UsageError(
            f"HOSO_TEST_DB must be one of {', '.join(BACKENDS)}, not {_backend_name()!r}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    """Say which backend this run tests."""
    return f"hoso test database: {_backend_name()} (HOSO_TEST_DB)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long the database set-up took (not shown by xdist workers)."""
    if _TIMINGS:
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in _TIMINGS.items())
        terminalreporter.write_line(f"hoso test database ({_backend_name()}): {parts}")


def _configure(url: str) -> None:
    get_settings.cache_clear()
    hoso.db.engine.reset()
    assert get_settings().database_url == url


class _Provider(Protocol):
    def new(self, *, migrated: bool) -> tuple[str, Callable[[], None]]: ...

    def close(self) -> None: ...


class _SQLiteProvider:
    """Temporary SQLite files; migrated ones are copies of a template migrated once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)
        self.template: Path | None = None

    def _template(self) -> Path:
        if self.template is None:
            path = self.folder / "template.db"
            t0 = time.perf_counter()
            migrate.upgrade(f"sqlite:///{path}")
            _TIMINGS["template migration"] = time.perf_counter() - t0
            self.template = path
        return self.template

    def new(self, *, migrated: bool) -> tuple[str, Callable[[], None]]:
        path = self.folder / f"db{next(self.counter)}.db"
        if migrated:
            pg_harness.copy_sqlite(self._template(), path)
        return f"sqlite:///{path}", lambda: pg_harness.delete_sqlite(path)

    def close(self) -> None:
        if self.template is not None:
            pg_harness.delete_sqlite(self.template)


class _PostgresProvider:
    """Databases in one throwaway cluster; migrated ones are copies of a template database."""

    def __init__(self) -> None:
        self.cluster = pg_harness.Cluster()
        self.counter = itertools.count(1)
        self.template_ready = False
        try:
            self.cluster.start()
        except BaseException:
            self.cluster.stop()
            raise
        _TIMINGS["cluster start (initdb + pg_ctl)"] = self.cluster.start_seconds

    def new(self, *, migrated: bool) -> tuple[str, Callable[[], None]]:
        if migrated and not self.template_ready:
            t0 = time.perf_counter()
            migrate.upgrade(self.cluster.create_database(TEMPLATE_DB))
            _TIMINGS["template migration"] = time.perf_counter() - t0
            self.template_ready = True
        name = f"hoso_{next(self.counter)}"
        url = self.cluster.create_database(name, TEMPLATE_DB if migrated else None)
        return url, lambda: self.cluster.drop_database(name)

    def close(self) -> None:
        self.cluster.stop()


@pytest.fixture(scope="session")
def backend() -> str:
    """The database backend of this run: ``"sqlite"`` or ``"postgresql"``."""
    return _backend_name()


@pytest.fixture(scope="session", autouse=True)
def _test_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Test settings for every test; the default database is an unmigrated scratch file.

    A test that reaches the database without asking for a database fixture fails on
    missing tables instead of writing into ``var/hoso.db``.
    """
    guard = tmp_path_factory.mktemp("unconfigured") / "no-database-fixture-requested.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOSO_ENV", "test")
        mp.setenv("HOSO_DATABASE_URL", f"sqlite:///{guard}")
        _configure(f"sqlite:///{guard}")
        yield
    get_settings.cache_clear()
    hoso.db.engine.reset()


@pytest.fixture(scope="session")
def _db_provider(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Provider]:
    provider: _Provider
    if backend == "postgresql":
        provider = _PostgresProvider()
    else:
        provider = _SQLiteProvider(tmp_path_factory.mktemp("sqlite"))
    try:
        yield provider
    finally:
        hoso.db.engine.reset()
        provider.close()


@pytest.fixture(scope="session")
def pg_cluster(_db_provider: _Provider) -> pg_harness.Cluster:
    """The throwaway PostgreSQL cluster (PostgreSQL runs only)."""
    if not isinstance(_db_provider, _PostgresProvider):
        pytest.fail("pg_cluster needs HOSO_TEST_DB=postgresql")
    return _db_provider.cluster


@pytest.fixture(scope="session")
def db_url(_db_provider: _Provider) -> Iterator[str]:
    """URL of the session's migrated database; also ``HOSO_DATABASE_URL`` of this process."""
    url, drop = _db_provider.new(migrated=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOSO_DATABASE_URL", url)
        _configure(url)
        yield url
    get_settings.cache_clear()
    hoso.db.engine.reset()
    drop()


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    """Engine on ``db_url`` (``make_engine`` makes SQLite SAVEPOINTs nest properly)."""
    engine = hoso.db.engine.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A Session whose work, and that of every ``unit_of_work()``, is rolled back after."""
    with pg_harness.isolated_session(db_engine, monkeypatch) as s:
        yield s


@pytest.fixture
def fresh_db_url(_db_provider: _Provider) -> Iterator[str]:
    """URL of a brand-new migrated database, deleted after the test."""
    url, drop = _db_provider.new(migrated=True)
    yield url
    hoso.db.engine.reset()
    drop()


@pytest.fixture
def empty_db_url(_db_provider: _Provider) -> Iterator[str]:
    """URL of a brand-new database without any table, deleted after the test."""
    url, drop = _db_provider.new(migrated=False)
    yield url
    hoso.db.engine.reset()
    drop()


@pytest.fixture
def use_database() -> Iterator[Callable[[str], None]]:
    """``use_database(url)``: this process's settings and engine use ``url`` until the end."""
    with pytest.MonkeyPatch.context() as mp:

        def use(url: str) -> None:
            mp.setenv("HOSO_DATABASE_URL", url)
            _configure(url)

        yield use
    get_settings.cache_clear()
    hoso.db.engine.reset()
