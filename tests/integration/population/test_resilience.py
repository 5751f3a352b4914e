"""Runs against the real simulator over real HTTP (uvicorn on a loopback port) while it is
down, slow, failing half the calls or rate limiting: nothing lost, nothing duplicated, and
the run completes when the registry recovers."""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest_population import FakeRegistry, PopsimServer, World  # type: ignore[import-not-found]
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.people.models import Person
from hoso.population import service
from hoso.population.client import RegistryUnavailable
from hoso.population.models import PopulationMatch, PopulationRun

pytestmark = pytest.mark.slow

BATCH = 25


def job(registry: Any, url: str = "http://popsim", **kw: Any) -> service.JobReport:
    kw.setdefault("batch_size", BATCH)
    return service.run_job(registry, actor="tester", registry_url=url, **kw)


def snapshot(session: Session) -> dict[str, tuple[Any, ...]]:
    """What a run decided per person (not when)."""
    session.expire_all()
    return {
        m.personal_id: (m.outcome, m.matched_by, m.registry_personal_id, m.registry_status,
                        sorted(d["field"] for d in m.differences))
        for m in session.execute(select(PopulationMatch)).scalars()
    }  # fmt: skip


def assert_complete_once(session: Session, world: World, run_id: int) -> None:
    """Every person stored once, the run's batches disjoint and covering every person."""
    n = len(world.lines)
    session.expire_all()
    run = session.get(PopulationRun, run_id)
    assert run is not None
    assert run.status == "completed" and run.done == n and sum(run.counts.values()) == n
    rows = session.execute(select(PopulationMatch.person_id)).scalars().all()
    assert len(rows) == len(set(rows)) == n
    events = session.execute(
        select(AuditEvent).where(
            AuditEvent.action == "population:match:batch", AuditEvent.subject_id == str(run_id)
        ).order_by(AuditEvent.id)
    ).scalars().all()  # fmt: skip
    assert len(events) == math.ceil(n / BATCH)
    assert sum(e.data["people"] for e in events) == n
    ids = sorted(session.execute(select(Person.id)).scalars())
    for before, after in itertools.pairwise(events):
        assert before.data["last"] < after.data["first"]  # in order, never repeated
    assert events[0].data["first"] == ids[0] and events[-1].data["last"] == ids[-1]
    assert audit_service.verify_chain(session)[0]


@pytest.fixture
def expected(session: Session, world: World, popsim: PopsimServer) -> dict[str, tuple[Any, ...]]:
    """The outcomes of an undisturbed in-process run on the simulator's citizens (its
    results are then deleted; the completed run stays)."""
    job(FakeRegistry(popsim.citizens()))
    out = snapshot(session)
    session.execute(delete(PopulationMatch))
    session.flush()
    return out


def test_over_http_the_results_are_those_of_the_registry(
    session: Session, world: World, popsim: PopsimServer, expected: dict[str, Any]
) -> None:
    with popsim.client() as client:
        assert client.health()["citizens"] == len(popsim.citizens())
        report = job(client, popsim.url)
        assert client.stats.retries == 0
    assert_complete_once(session, world, report.run_id)
    assert snapshot(session) == expected
    assert any(v[1] == "legacy_id_no" for v in expected.values())


def test_registry_down_recovers_during_the_retries(
    session: Session, world: World, popsim: PopsimServer, expected: dict[str, Any]
) -> None:
    popsim.faults(down=True)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            popsim.faults(down=False)  # the registry comes back while the client waits
        time.sleep(seconds)

    with popsim.client(max_retries=6, sleep=sleep) as client:
        report = job(client, popsim.url)
        assert client.stats.retries >= 3
        assert [e["kind"] for e in client.stats.errors][:3] == ["server_error"] * 3
    assert report.status == "completed"
    assert_complete_once(session, world, report.run_id)
    assert snapshot(session) == expected


def test_registry_down_for_good_keeps_finished_batches_and_the_rerun_completes(
    session: Session, world: World, popsim: PopsimServer, expected: dict[str, Any]
) -> None:
    def progress(report: service.JobReport) -> None:
        if report.batches == 2:
            popsim.faults(down=True)

    with popsim.client(max_retries=2) as client, pytest.raises(RegistryUnavailable):
        job(client, popsim.url, progress=progress)
    run = session.execute(select(PopulationRun).order_by(PopulationRun.id.desc())).scalars().first()
    assert run is not None and run.status == "failed" and run.finished_at is None
    assert 2 * BATCH <= run.done < len(world.lines) and run.done % BATCH == 0
    kept = {m.person_id: m.matched_at for m in session.execute(select(PopulationMatch)).scalars()}
    assert len(kept) == run.done
    assert {e["kind"] for e in run.errors} >= {"registry_unavailable"}

    popsim.faults(down=False)
    with popsim.client() as client:
        report = job(client, popsim.url)
    assert report.run_id == run.id and report.resumed_from == len(kept)
    assert_complete_once(session, world, run.id)
    # the batches finished before the outage were not redone
    session.expire_all()
    for m in session.execute(select(PopulationMatch)).scalars():
        if m.person_id in kept:
            assert m.matched_at == kept[m.person_id]
    assert snapshot(session) == expected


def test_slow_registry_calls_time_out_and_are_retried(
    session: Session, world: World, popsim: PopsimServer, expected: dict[str, Any]
) -> None:
    popsim.faults(
        timeout_rate=0.3, timeout_seconds=1.5, latency_ms=20, seed=3
    )  # seeded draws: same faults every run
    with popsim.client(timeout=0.4, max_retries=25) as client:
        report = job(client, popsim.url)
        kinds = {e["kind"] for e in client.stats.errors}
        assert client.stats.retries > 0 and kinds == {"timeout"}
    assert_complete_once(session, world, report.run_id)
    assert snapshot(session) == expected


def test_half_the_calls_failing_loses_and_duplicates_nothing(
    session: Session, world: World, popsim: PopsimServer, expected: dict[str, Any]
) -> None:
    # Seeded draws: the same calls fail on every run (unseeded, fewer than 3 of the ~9 calls
    # failing happens in 3 % of runs and made this test flaky).
    popsim.faults(error_rate=0.5, seed=2)
    with popsim.client(max_retries=25) as client:
        report = job(client, popsim.url)
        assert client.stats.retries >= 3
        assert client.stats.calls == client.stats.attempts - client.stats.retries
    assert_complete_once(session, world, report.run_id)
    assert snapshot(session) == expected


def test_the_registry_rate_limit_is_respected(
    session: Session, world: World, tmp_path_factory: pytest.TempPathFactory,
    expected: dict[str, Any], popsim: PopsimServer,
) -> None:  # fmt: skip
    server = PopsimServer(
        tmp_path_factory.mktemp("limited"), popsim.citizens(), rate_per_second=3
    ).start()
    try:
        numbers = sorted(expected)[:12]
        # no client-side limit and calls in parallel: the registry answers 429 +
        # Retry-After and the client waits that long
        with server.client(max_retries=30) as client, ThreadPoolExecutor(6) as pool:
            found = list(pool.map(client.lookup, numbers))
            assert client.stats.rate_limited > 0
            assert all(c is not None for c, pid in zip(found, numbers, strict=True)
                       if expected[pid][1] == "personal_id")  # fmt: skip
            report = job(client, server.url, batch_size=30)
        assert report.status == "completed"
        assert snapshot(session) == expected
        # a client-side rate below the registry's: no 429 at all
        time.sleep(1.5)  # let the registry's bucket refill
        with server.client(rate_per_second=2, batch_size=30) as client:
            t0 = time.monotonic()
            again = job(client, server.url, batch_size=30)
            elapsed = time.monotonic() - t0
            assert client.stats.rate_limited == 0
            calls = client.stats.calls
        assert again.status == "completed" and again.run_id != report.run_id
        assert elapsed >= (calls - 2) / 2 * 0.9  # 2 calls of burst, then 2 a second
        assert snapshot(session) == expected
    finally:
        server.stop()
