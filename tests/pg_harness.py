"""Throwaway PostgreSQL clusters and per-test transaction isolation for the test suite.

:class:`Cluster` runs ``initdb`` into a temporary folder and starts the server with
``pg_ctl`` on a unix socket inside that folder (no TCP, ``fsync=off``). When the process
runs as root, the server runs as the ``postgres`` OS user (``initdb`` refuses root), through
``runuser``. The server binaries are looked up in ``/usr/lib/postgresql/*/bin`` (newest
first), then on ``PATH``; when absent, ``apt-get install -y postgresql`` installs them.

A cluster is stopped and deleted by :meth:`Cluster.stop` (the session fixture's finaliser,
which pytest also runs on Ctrl-C or failure) and, as a fallback, at interpreter exit. A
cluster left behind by a killed run is cleaned up by the next run (:func:`reap_stale`).

:func:`isolated_session` implements the "join a session into an external transaction"
recipe, and makes :func:`hoso.db.engine.unit_of_work` join the same outer transaction.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import hoso.db.engine

PREFIX = "hoso-pg-"
OWNER_FILE = "owner.pid"
PG_USER = "postgres"


class HarnessError(RuntimeError):
    """The test database could not be provided."""


def _version_key(bindir: str) -> tuple[int, ...]:
    name = Path(bindir).parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)


def _find_bindir() -> Path | None:
    candidates = sorted(
        (str(Path(p).parent) for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=_version_key,
        reverse=True,
    )
    for bindir in candidates:
        if (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    initdb = shutil.which("initdb")
    if initdb:
        bindir_path = Path(initdb).resolve().parent
        if (bindir_path / "pg_ctl").exists():
            return bindir_path
    return None


def _apt_install_postgresql() -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        [*sudo, "apt-get", "update"],
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise HarnessError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``, installing PostgreSQL when missing."""
    bindir = _find_bindir()
    if bindir is None:
        _apt_install_postgresql()
        bindir = _find_bindir()
    if bindir is None:
        raise HarnessError("initdb/pg_ctl not found, even after apt-get install postgresql")
    return bindir


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale(tmp_root: Path) -> list[Path]:
    """Stop and delete clusters whose owning test process is gone (a killed earlier run)."""
    reaped: list[Path] = []
    for folder in tmp_root.glob(f"{PREFIX}*"):
        owner = folder / OWNER_FILE
        try:
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        postmaster = folder / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            server_pid = int(postmaster.read_text().splitlines()[0])
            cmdline = Path(f"/proc/{server_pid}/cmdline").read_bytes()
            if b"postgres" in cmdline and str(folder).encode() in cmdline:
                os.kill(server_pid, signal.SIGQUIT)  # immediate shutdown
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder)
    return reaped


def _tmp_root() -> Path:
    # A unix socket path is limited to ~107 bytes: prefer a short temporary folder.
    base = Path(tempfile.gettempdir())
    return base if len(str(base)) < 40 else Path("/tmp")


class Cluster:
    """A throwaway PostgreSQL cluster on a unix socket in a temporary folder."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.as_root = os.geteuid() == 0
        tmp_root = _tmp_root()
        reap_stale(tmp_root)
        self.root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=tmp_root))
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # The port only names the socket file (no TCP); distinct ports avoid any clash of
        # shared-memory keys between parallel clusters.
        self.port = 20000 + os.getpid() % 20000
        self.started = False
        self.start_seconds = 0.0
        if self.as_root:
            _ensure_os_user()
            shutil.chown(self.root, user=PG_USER)
            os.chmod(self.root, 0o755)
        atexit.register(self.stop)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        return subprocess.run(
            cmd, cwd=self.root, capture_output=True, text=True, check=False, timeout=120
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise HarnessError(
                f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )

    def start(self) -> None:
        """initdb and start the server; waits until it accepts connections."""
        t0 = time.perf_counter()
        proc = self._run(
            "initdb",
            "-D", str(self.data),
            "-U", PG_USER,
            "--auth=trust",
            "-E", "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        self._check(proc, "initdb")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' "
            f"-p {self.port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        proc = self._run(
            "pg_ctl", "start", "-w", "-t", "60",
            "-D", str(self.data), "-l", str(self.log), "-o", options,
        )  # fmt: skip
        self._check(proc, "pg_ctl start")
        self.started = True
        self.start_seconds = time.perf_counter() - t0

    def stop(self) -> None:
        """Stop the server (immediately: the data is thrown away) and delete the folder."""
        if self.started:
            self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.data))
            self.started = False
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.stop)

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3) of database ``dbname`` in this cluster."""
        return f"postgresql+psycopg://{PG_USER}@/{dbname}?host={self.root}&port={self.port}"

    def execute(self, sql: str) -> None:
        """Run one statement in autocommit mode on the ``postgres`` maintenance database."""
        with psycopg.connect(
            host=str(self.root), port=self.port, user=PG_USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    @functools.cached_property
    def server_version(self) -> int:
        """``server_version_num`` of the running server (e.g. 150018)."""
        with psycopg.connect(
            host=str(self.root), port=self.port, user=PG_USER, dbname="postgres"
        ) as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None
        return int(row[0])

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given) and return its URL."""
        tmpl = f' TEMPLATE "{template}"' if template else ""
        if template and self.server_version >= 150000:
            tmpl += " STRATEGY FILE_COPY"  # faster than WAL_LOG for small databases
        self.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting whoever is still connected."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy an SQLite database file consistently (WAL included) with the backup API."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def delete_sqlite(path: Path) -> None:
    """Delete an SQLite database file and its WAL/shared-memory companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def isolated_session(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back at the end.

    ``hoso.db.engine.get_sessionmaker`` is patched to return a factory bound to the same
    connection with ``join_transaction_mode="create_savepoint"``: every ``unit_of_work()``
    in the code under test commits or rolls back a SAVEPOINT, never the outer transaction.
    """
    with engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )

        def get_sessionmaker() -> sessionmaker[Session]:
            return factory

        # ``hoso.db.engine.reset()`` calls ``get_sessionmaker.cache_clear()``.
        get_sessionmaker.cache_clear = lambda: None  # type: ignore[attr-defined]
        monkeypatch.setattr(hoso.db.engine, "get_sessionmaker", get_sessionmaker)
        session = factory()
        try:
            yield session
        finally:
            session.close()
            if outer.is_active:
                outer.rollback()
