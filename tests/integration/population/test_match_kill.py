"""Real processes: ``hoso population match`` SIGKILLed half-way resumes without repeating
finished batches; a run waiting on a slow registry holds no lock anyone else waits for."""

from __future__ import annotations

import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest_population import (  # type: ignore[import-not-found]
    POPSIM_KEY,
    PopsimServer,
    World,
    cached_world,
    create_population_tables_at,
    store_world,
)
from sqlalchemy import func, select, update

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.db.engine import unit_of_work
from hoso.people.models import Person
from hoso.population import service
from hoso.population.models import PopulationMatch, PopulationRun

pytestmark = pytest.mark.slow

CLI = [
    sys.executable,
    "-c",
    "from hoso.population.cli import app; app(prog_name='hoso population')",
]
BATCH = 10


@pytest.fixture
def stored_world(fresh_db_url: str, use_database: Callable[[str], None], tmp_path: Path) -> World:
    """The generated world committed into a fresh database this process also uses."""
    use_database(fresh_db_url)
    create_population_tables_at(fresh_db_url)
    world = cached_world()
    store_world(world, tmp_path)
    return world


@pytest.fixture
def server(stored_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PopsimServer]:
    s = PopsimServer(tmp_path_factory.mktemp("popsim"), stored_world.registry).start()
    try:
        yield s
    finally:
        s.stop()


def run_cli(url: str, server: PopsimServer, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOSO_DATABASE_URL": url,
        "HOSO_POPULATION_API_KEY": POPSIM_KEY,
        "HOSO_POPULATION_RATE_PER_SECOND": "0",
        "HOSO_POPULATION_MAX_RETRIES": "3",
    }
    cmd = [*CLI, "match", "--url", server.url, "--batch-size", str(BATCH), "--quiet", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def state() -> tuple[PopulationRun | None, int, list[AuditEvent]]:
    with unit_of_work() as session:
        run = session.execute(select(PopulationRun)).scalars().first()
        rows = int(session.execute(select(func.count()).select_from(PopulationMatch)).scalar_one())
        events = list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "population:match:batch")
                .order_by(AuditEvent.id)
            ).scalars()
        )
        session.expunge_all()
    return run, rows, events


def test_a_killed_match_resumes_after_its_last_committed_batch(
    fresh_db_url: str, stored_world: World, server: PopsimServer
) -> None:
    n = len(stored_world.lines)
    server.faults(latency_ms=120)
    proc = run_cli(fresh_db_url, server)
    deadline = time.monotonic() + 120
    done = 0
    while done < 4 * BATCH:
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
        run, _, _ = state()
        done = run.done if run is not None else 0
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    run, rows, events = state()
    assert run is not None
    assert run.status == "running" and run.finished_at is None  # killed: nobody marked it
    assert 4 * BATCH <= run.done < n and run.done % BATCH == 0
    assert rows == run.done
    assert len(events) == run.done // BATCH
    killed_at = run.done

    server.faults(latency_ms=0)
    proc = run_cli(fresh_db_url, server)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "tiếp tục sau" in out.decode()

    run, rows, events = state()
    assert run is not None and run.status == "completed"
    assert run.done == rows == n and sum(run.counts.values()) == n
    assert len(events) == math.ceil(n / BATCH)
    for before, after in itertools.pairwise(events):
        assert before.data["last"] < after.data["first"]
    assert sum(e.data["people"] for e in events) == n
    assert sum(e.data["people"] for e in events[: killed_at // BATCH]) == killed_at
    with unit_of_work() as session:
        ids = sorted(session.execute(select(Person.id)).scalars())
        assert events[0].data["first"] == ids[0] and events[-1].data["last"] == ids[-1]
        assert audit_service.verify_chain(session)[0]
        resumes = session.execute(
            select(func.count()).where(AuditEvent.action == "population:run:resume")
        ).scalar_one()
        assert resumes == 1


def test_the_registry_exits_non_zero_when_it_stays_down(
    fresh_db_url: str, stored_world: World, server: PopsimServer
) -> None:
    server.faults(down=True)
    proc = run_cli(fresh_db_url, server)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3
    text = err.decode()
    assert "CSDLQG về dân cư không phản hồi" in text and "not answer" in text
    assert "tiếp tục" in text and out == b""
    run, rows, _ = state()
    assert run is not None and run.status == "failed" and rows == 0


def test_a_run_waiting_on_a_slow_registry_blocks_nobody(
    fresh_db_url: str, stored_world: World, server: PopsimServer
) -> None:
    server.faults(latency_ms=3000)
    errors: list[BaseException] = []
    reports: list[service.JobReport] = []

    def background() -> None:
        try:
            with server.client(timeout=10.0) as client:
                reports.append(service.run_job(client, actor="bg", registry_url=server.url,
                                               batch_size=1000))  # fmt: skip
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    time.sleep(0.8)  # the job now waits ~3 s for its first answer
    waits: list[float] = []
    for _ in range(3):
        t0 = time.monotonic()
        with unit_of_work() as session:
            # what other work touches while a run waits: its run row, results, audit chain
            session.execute(update(PopulationRun).values(errors=[]))
            session.execute(update(PopulationMatch).values(corrections_proposed=0))
            audit_service.record(session, actor="other", action="test:other:write",
                                 subject_type="test")  # fmt: skip
            session.execute(update(Person).where(Person.id == 1).values(status=Person.status))
        waits.append(time.monotonic() - t0)
        time.sleep(0.3)
    thread.join(timeout=120)
    assert not errors, errors
    assert reports and reports[0].status == "completed"
    assert reports[0].timings["registry"] >= 3.0  # the writes above ran during the wait
    assert max(waits) < 1.5, waits  # a lock held while waiting would have made them wait
