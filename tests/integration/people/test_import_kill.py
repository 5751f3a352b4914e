"""A real kill: the import process is SIGKILLed half-way, rerun, and ends where a clean run ends."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest_people import add_tree, make_lines  # type: ignore[import-not-found]
from sqlalchemy import func, select

from hoso.audit import service as audit_service
from hoso.auth.principal import operator
from hoso.db.engine import unit_of_work
from hoso.people import bulk
from hoso.people.models import ImportIssue, ImportRun, PersonVersion

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "hoso", "people", "import"]


def _prepare(use_database: Callable[[str], None], url: str) -> None:
    use_database(url)
    with unit_of_work() as session:
        add_tree(session)


def _state(use_database: Callable[[str], None], url: str) -> tuple[bytes, int, list[int], bool]:
    use_database(url)
    with unit_of_work() as session:
        buf = io.BytesIO()
        bulk.export_jsonl(bulk.export_records(session, principal=operator()), buf)
        versions = session.execute(select(func.count()).select_from(PersonVersion)).scalar_one()
        lines = sorted(session.execute(select(ImportIssue.line)).scalars())
        chain_ok, _ = audit_service.verify_chain(session)
    return buf.getvalue(), versions, lines, chain_ok


def _run(url: str, args: list[str], capture: bool = True) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOSO_DATABASE_URL": url}
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([*CLI, *args], env=env, stdout=pipe, stderr=pipe)


def _lines_done(url: str, use_database: Callable[[str], None]) -> int:
    use_database(url)
    with unit_of_work() as session:
        done = session.execute(select(func.max(ImportRun.lines_done))).scalar()
    return int(done or 0)


def test_killed_import_resumes_to_the_same_state(
    tmp_path: Path, fresh_db_url: str, use_database: Callable[[str], None], _db_provider: object
) -> None:
    lines, bad = make_lines(6000, bad_every=100)
    src = tmp_path / "people.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    args = [str(src), "--batch-size", "100", "--quiet", "--errors", str(tmp_path / "e.jsonl")]

    # Reference: an uninterrupted run in its own database.
    reference_url, drop_reference = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    try:
        _prepare(use_database, reference_url)
        done = _run(reference_url, args)
        out, errs = done.communicate(timeout=300)
        assert done.returncode == 0, errs.decode()
        expected = _state(use_database, reference_url)
    finally:
        drop_reference()

    _prepare(use_database, fresh_db_url)
    victim = _run(fresh_db_url, args, capture=False)
    deadline = time.monotonic() + 120
    while _lines_done(fresh_db_url, use_database) < 1500:
        assert victim.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    killed_at = _lines_done(fresh_db_url, use_database)
    assert 0 < killed_at < len(lines)

    rerun = _run(fresh_db_url, args)
    out, errs = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, errs.decode()
    assert "tiếp tục" in out.decode() and "resumed" in out.decode()

    got = _state(use_database, fresh_db_url)
    assert got == expected
    assert got[2] == sorted(bad)  # every bad line recorded exactly once across both runs
    errors_file = [line for line in (tmp_path / "e.jsonl").read_bytes().splitlines() if line]
    assert len(errors_file) == len(bad)
