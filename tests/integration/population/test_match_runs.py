"""Verification runs on the database with an in-process registry: batches, resume, scope.

The registry here is :class:`conftest.FakeRegistry` (the simulator's semantics without
HTTP); the HTTP paths are in ``test_resilience.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest_population import FakeRegistry, World  # type: ignore[import-not-found]
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.auth.principal import Principal, operator
from hoso.errors import InvalidInput, PermissionDenied
from hoso.orgs import service as orgs_service
from hoso.people.models import Person, PersonVersion
from hoso.population import service
from hoso.population.client import RegistryUnavailable
from hoso.population.models import Decision, Outcome, PopulationMatch, PopulationRun

BATCH = 40


def job(registry: Any, **kw: Any) -> service.JobReport:
    kw.setdefault("batch_size", BATCH)
    return service.run_job(registry, actor="tester", registry_url="http://fake", **kw)


def batch_events(session: Session, run_id: int | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == "population:match:batch")
    if run_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == str(run_id))
    return list(session.execute(stmt.order_by(AuditEvent.id)).scalars())


def matches(session: Session) -> dict[str, PopulationMatch]:
    rows = session.execute(select(PopulationMatch)).scalars().all()
    return {m.personal_id: m for m in rows}


def people_ids(session: Session) -> list[int]:
    return list(session.execute(select(Person.id).order_by(Person.id)).scalars())


def test_a_run_verifies_everyone_once(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    n = len(world.lines)
    report = job(registry)
    assert report.status == "completed"
    assert report.done == report.total == n
    assert report.batches == math.ceil(n / BATCH)
    assert sum(report.counts.values()) == n
    rows = matches(session)
    assert len(rows) == n == session.execute(select(func.count(PopulationMatch.person_id))).scalar()
    # counts in the run = counts stored
    stored: dict[str, int] = {}
    for m in rows.values():
        stored[m.outcome] = stored.get(m.outcome, 0) + 1
    assert stored == report.counts
    run = session.get(PopulationRun, report.run_id)
    assert run is not None and run.status == "completed" and run.finished_at is not None
    assert run.cursor == max(people_ids(session)) and run.counts == report.counts
    # every person asked once by number; calls never above the batch size
    first_calls = [c for c in registry.calls if len(c) and c[0].isdigit()]
    assert all(len(c) <= BATCH for c in first_calls)
    asked_by_id = [pid for pid in registry.asked if len(pid) == 12 and pid in rows]
    assert sorted(asked_by_id) == sorted(rows)
    assert len(batch_events(session, report.run_id)) == report.batches
    assert audit_service.verify_chain(session)[0]


def test_outcomes_follow_the_registry(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    job(registry)
    rows = matches(session)
    truth = {e["personal_id"]: e for e in world.registry}
    missing = world.labelled("not_in_population_registry")
    assert missing, "the world has people the registry lists under another number"
    by_legacy = 0
    for pid, m in rows.items():
        if pid in missing:
            line = next(x for x in world.lines if x["personal_id"] == pid)
            legacy = line["data"].get("legacy_id_no")
            known = {e.get("legacy_id_no"): e for e in world.registry if e.get("legacy_id_no")}
            if legacy and legacy in known:
                assert m.matched_by == "legacy_id_no", pid
                assert m.registry_personal_id == known[legacy]["personal_id"] != pid
                assert any(d["field"] == "personal_id" for d in m.differences)
                by_legacy += 1
            else:
                assert m.outcome == Outcome.NOT_FOUND and m.registry_values is None
        else:
            assert m.matched_by == "personal_id", pid
            assert m.registry_personal_id == pid
            assert m.outcome in (Outcome.MATCHED, Outcome.CONFLICT)
            assert m.registry_values is not None
            assert m.registry_values["birth_name"] == truth[pid]["birth_name"]
            assert m.registry_status == "alive"
        assert m.decision == Decision.PENDING
    assert by_legacy >= 1
    # people without any defect match without differences
    clean = {x["personal_id"] for x in world.lines} - {lab["personal_id"] for lab in world.labels}
    assert len(clean) > len(world.lines) // 2
    for pid in clean:
        assert rows[pid].outcome == Outcome.MATCHED, (pid, rows[pid].differences)
        assert rows[pid].differences == [], pid
    # a population_mismatch on a registry field is listed with both values
    mismatched = world.labelled("population_mismatch")
    assert mismatched
    for pid in mismatched:
        fields = {lab["field"] for lab in world.labels
                  if lab["personal_id"] == pid and lab["category"] == "population_mismatch"}  # fmt: skip
        listed = {d["field"]: d for d in rows[pid].differences}
        for f in fields:
            assert f in listed, (pid, f, rows[pid].differences)
            assert listed[f]["registry"] == truth[pid][f]


def test_a_crash_while_storing_resumes_without_repeating(
    session: Session, world: World, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = len(world.lines)
    real = service.apply_batch
    applied: list[int] = []

    def crashing(*args: Any, **kw: Any) -> dict[str, int]:
        if len(applied) == 2:
            raise RuntimeError("simulated crash while storing batch 3")
        out = real(*args, **kw)
        applied.append(len(args[2]))
        return out

    monkeypatch.setattr(service, "apply_batch", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        job(registry)
    run = session.execute(select(PopulationRun)).scalar_one()
    assert run.status == "failed" and run.finished_at is None
    assert run.done == 2 * BATCH and len(matches(session)) == 2 * BATCH
    ids = people_ids(session)
    assert run.cursor == ids[2 * BATCH - 1]
    assert run.errors[-1]["kind"] == "error"
    committed = set(matches(session))
    monkeypatch.setattr(service, "apply_batch", real)
    registry.calls.clear()
    report = job(registry)
    assert report.run_id == run.id and report.resumed_from == 2 * BATCH
    assert report.status == "completed" and report.done == n
    # nothing finished is asked again; everything else is asked once
    asked_12 = [pid for pid in registry.asked if pid in matches(session)]
    assert not committed & set(asked_12)
    assert len(asked_12) == len(set(asked_12)) == n - 2 * BATCH
    assert len(matches(session)) == n
    assert len(batch_events(session, run.id)) == math.ceil(n / BATCH)
    assert sum(report.counts.values()) == n


def test_registry_down_keeps_the_finished_batches_and_resumes(
    session: Session, world: World
) -> None:
    n = len(world.lines)
    down = FakeRegistry(world.registry, fail=lambda call: call >= 3)
    with pytest.raises(RegistryUnavailable):
        job(down)
    run = session.execute(select(PopulationRun)).scalar_one()
    assert run.status == "failed"
    kept = run.done
    assert kept > 0 and kept % BATCH == 0 and len(matches(session)) == kept
    assert run.errors[-1]["kind"] == "registry_unavailable"
    up = FakeRegistry(world.registry)
    report = job(up)
    assert report.status == "completed" and report.resumed_from == kept
    assert len(matches(session)) == n and report.done == n
    assert len(batch_events(session, run.id)) == math.ceil(n / BATCH)


def test_a_batch_holds_the_mastered_fields_of_the_current_version(
    session: Session, world: World
) -> None:
    run = service.start_or_resume(session, actor="t", registry_url="x")
    people = service.select_batch(session, run, 1000)
    assert [p.person_id for p in people] == people_ids(session)
    lines = {x["personal_id"]: x for x in world.lines}
    wanted = set(service.mastered_fields())
    assert {"birth_name", "date_of_birth", "sex", "legacy_id_no"} <= wanted
    for p in people:
        data = lines[p.personal_id]["data"]
        expected = {k: v for k, v in data.items() if k in wanted and v is not None}
        expected.setdefault("personal_id", p.personal_id)
        assert p.data == expected
        assert p.legacy_id_no == data.get("legacy_id_no")
        assert p.managing_agency_code == lines[p.personal_id]["managing_agency"]
    assert any(p.legacy_id_no for p in people)
    # limit and cursor
    few = service.select_batch(session, run, 7, after=people[9].person_id)
    assert [p.person_id for p in few] == [p.person_id for p in people[10:17]]


def test_a_batch_is_never_applied_twice(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    run = service.start_or_resume(session, actor="t", registry_url="x")
    people = service.select_batch(session, run, 10)
    results = service.fetch_results(registry, people)
    assert service.apply_batch(session, run, people, results)
    assert service.apply_batch(session, run, people, results) == {}
    assert run.done == 10 and len(batch_events(session, run.id)) == 1
    assert service.select_batch(session, run, 10)[0].person_id > people[-1].person_id


def test_completed_runs_are_not_resumed_and_restart_starts_over(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    first = job(registry)
    second = job(registry)
    assert second.run_id != first.run_id and second.resumed_from == 0
    assert second.done == len(world.lines)
    assert len(matches(session)) == len(world.lines)  # replaced, not added
    assert {m.run_id for m in matches(session).values()} == {second.run_id}
    # an unfinished run is resumed, unless --restart
    failing = FakeRegistry(world.registry, fail=lambda call: call >= 2)
    with pytest.raises(RegistryUnavailable):
        job(failing)
    third = (
        session.execute(select(PopulationRun).order_by(PopulationRun.id.desc())).scalars().first()
    )
    assert third is not None and third.status == "failed" and third.done == BATCH
    fourth = job(registry, restart=True)
    assert fourth.run_id != third.id and fourth.resumed_from == 0
    session.refresh(third)
    assert third.finished_at is not None and third.errors[-1]["kind"] == "restarted"


def test_a_decision_survives_a_rerun_only_while_the_dossier_is_unchanged(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    job(registry)
    pids = sorted(matches(session))[:2]
    session.execute(
        update(PopulationMatch)
        .where(PopulationMatch.personal_id.in_(pids))
        .values(decision=Decision.REJECTED, decided_by="officer", decision_reason="hồ sơ đúng")
    )
    # the second dossier gets a new version (its content hash changes)
    session.execute(
        update(Person).where(Person.personal_id == pids[1]).values(current_content_hash="new")
    )
    person = session.execute(select(Person).where(Person.personal_id == pids[1])).scalar_one()
    session.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id == person.id)
        .values(content_hash="sha256:changed")
    )
    session.flush()
    job(registry)
    session.expire_all()
    rows = matches(session)
    assert rows[pids[0]].decision == Decision.REJECTED
    assert rows[pids[0]].decided_by == "officer"
    assert rows[pids[1]].decision == Decision.PENDING
    assert rows[pids[1]].decided_by is None
    assert rows[pids[1]].content_hash == "sha256:changed"


def test_a_probabilistic_result_survives_a_rerun_that_still_does_not_find_the_number(
    session: Session, world: World
) -> None:
    gone = world.registry[0]["personal_id"]  # the registry forgets someone too
    registry = FakeRegistry([c for c in world.registry if c["personal_id"] != gone])
    job(registry)
    rows = matches(session)
    lost = sorted(pid for pid, m in rows.items() if m.outcome == Outcome.NOT_FOUND)
    assert len(lost) >= 2 and gone in lost
    candidate = [{"personal_id": "001190000001", "probability": 0.97, "comparison": {},
                  "citizen": {}}]  # fmt: skip
    session.execute(
        update(PopulationMatch)
        .where(PopulationMatch.personal_id.in_(lost[:2]))
        .values(outcome=Outcome.POTENTIAL, matched_by="probabilistic", candidates=candidate,
                probability=0.97, decision=Decision.CONFIRMED, decided_by="officer")
    )  # fmt: skip
    person = session.execute(select(Person).where(Person.personal_id == lost[1])).scalar_one()
    session.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id == person.id)
        .values(content_hash="sha256:edited")
    )
    session.flush()
    before = rows[lost[0]].matched_at
    second = job(registry)
    session.expire_all()
    rows = matches(session)
    kept = rows[lost[0]]
    assert kept.outcome == Outcome.POTENTIAL and kept.matched_by == "probabilistic"
    assert kept.candidates == candidate and kept.decision == Decision.CONFIRMED
    assert kept.run_id == second.run_id and kept.matched_at >= before
    assert second.counts[Outcome.POTENTIAL] == 1
    edited = rows[lost[1]]  # the dossier changed: compared afresh
    assert edited.outcome == Outcome.NOT_FOUND and edited.candidates == []
    assert edited.decision == Decision.PENDING


def _province_with_people(world: World) -> str:
    parents = {u["code"]: u.get("parent_code") for u in world.orgs}

    def root(code: str) -> str:
        while parents.get(code):
            code = parents[code]  # type: ignore[assignment]
        return code

    counts: dict[str, int] = {}
    for line in world.lines:
        top = root(line["managing_agency"])
        counts[top] = counts.get(top, 0) + 1
    return max(counts, key=lambda c: counts[c])


def test_a_run_of_one_agency_covers_its_subtree_only(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    top = _province_with_people(world)
    subtree = set(
        session.execute(
            orgs_service.codes_in_subtree_select(orgs_service.scope_path(session, top))
        ).scalars()
    )
    expected = {x["personal_id"] for x in world.lines if x["managing_agency"] in subtree}
    assert 0 < len(expected) < len(world.lines)
    report = job(registry, agency=top)
    assert report.total == report.done == len(expected)
    assert set(matches(session)) == expected
    # the national run is a different scope: a new run, not a resume of the agency's
    national = job(registry)
    assert national.run_id != report.run_id and national.done == len(world.lines)
    with pytest.raises(InvalidInput):
        job(registry, agency="NO.SUCH.UNIT")


def test_results_are_scoped_filtered_and_complete(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    job(registry)
    national = operator()
    rows = list(service.iter_results(session, principal=national))
    assert len(rows) == len(world.lines) == service.count_results(session, principal=national)
    assert [r["personal_id"] for r in rows] == sorted(r["personal_id"] for r in rows)
    names = {x["personal_id"]: x["data"]["birth_name"] for x in world.lines}
    for r in rows:
        assert r["name"] == names[r["personal_id"]]
        assert r["matched_at"].tzinfo is not None
        for d in r["differences"]:
            assert {"field", "ours", "registry"} <= set(d)
    counts = service.counts_by_outcome(session, principal=national)
    assert sum(counts.values()) == len(rows)
    for outcome, n in counts.items():
        got = list(service.iter_results(session, principal=national, outcome=outcome))
        assert len(got) == n and all(r["outcome"] == outcome for r in got)
    with pytest.raises(InvalidInput):
        list(service.iter_results(session, principal=national, outcome="maybe"))
    top = _province_with_people(world)
    local = Principal(username="hr", role="hr_officer", scope_code=top)
    mine = list(service.iter_results(session, principal=local))
    assert 0 < len(mine) < len(rows)
    assert service.count_results(session, principal=local) == len(mine)
    other = next(u["code"] for u in world.orgs if not u.get("parent_code") and u["code"] != top)
    with pytest.raises(PermissionDenied):
        list(service.iter_results(session, principal=local, agency=other))
    with pytest.raises(PermissionDenied):
        list(service.iter_results(session, principal=Principal("x", "nobody", None)))


def test_views_for_the_quality_engine(
    session: Session, world: World, registry: FakeRegistry
) -> None:
    assert service.registry_view(session) is None
    job(registry)
    view = service.registry_view(session)
    assert view is not None
    rows = matches(session)
    found = {m.registry_personal_id for m in rows.values() if m.registry_personal_id}
    assert view.height == len(found) and set(view["personal_id"].to_list()) == found
    assert "status" in view.columns and set(view["status"].to_list()) == {"alive"}
    assert all(dtype == pl.String for dtype in view.dtypes)
    truth = {e["personal_id"]: e for e in world.registry}
    for rec in view.head(20).to_dicts():
        assert rec["birth_name"] == truth[rec["personal_id"]]["birth_name"]
        assert rec["date_of_birth"] == truth[rec["personal_id"]]["date_of_birth"]
    meta = service.match_meta(session)
    assert meta.schema["_id"] == pl.Int64
    assert meta.schema["_population_matched_at"] == pl.Datetime("us", "UTC")
    assert meta.height == len(world.lines)
    by_id = {m.person_id: m for m in rows.values()}
    for rec in meta.to_dicts():
        m = by_id[rec["_id"]]
        assert rec["_population_outcome"] == m.outcome
        assert rec["_population_matched_at"] == m.matched_at
        if m.matched_by != "personal_id":
            expected = "NOT_FOUND"  # the dossier's number is not the registry's
        elif m.outcome == "matched" and not m.differences:
            expected = "MATCHED"
        else:
            expected = "MISMATCH"
        assert rec["_population_match_status"] == expected
    codes = set(meta["_population_match_status"].to_list())
    assert codes <= {"MATCHED", "MISMATCH", "NOT_FOUND"} and "NOT_FOUND" in codes


def test_the_quality_rules_read_the_stored_results(
    session: Session, world: World, registry: FakeRegistry, tmp_path: Path
) -> None:
    """SACH-009/010/011 and SONG-009 on the views find what the generator's labels say."""
    from hoso.catalog.loader import get_catalog
    from hoso.generate.people import DEFAULT_AS_OF
    from hoso.quality import engine, evaluate
    from hoso.quality.rules import ID, META, REGISTRY, Context
    from hoso.quality.snapshot import load_frame

    job(registry)
    frame = load_frame(session, workdir=tmp_path)
    meta = service.match_meta(session)
    frame = frame.join(meta.drop("_population_outcome"), on=ID, how="left")
    never = frame[ID][0]  # one dossier without a match: SONG-009 says so
    frame = frame.with_columns(
        pl.when(pl.col(ID) == never).then(None).otherwise(pl.col("_population_matched_at"))
        .alias("_population_matched_at")
    )  # fmt: skip
    ctx = Context(frame=frame, as_of=DEFAULT_AS_OF, profile="nd27", catalog=get_catalog(),
                  registry=service.registry_view(session))  # fmt: skip
    rules = {"SACH-009", "SACH-010", "SACH-011", "SONG-009"}
    result = engine.check(ctx, inputs={META, REGISTRY}, only=rules)
    assert set(result.rules_run) == rules and not result.not_evaluated
    comparison = evaluate.compare(result.findings, frame, world.labels,
                                  rules=["SACH-009", "SACH-010", "SACH-011"])  # fmt: skip
    for category in ("population_mismatch", "not_in_population_registry"):
        counts = comparison.by_category[category]
        assert counts.tp > 0, category
        assert counts.recall == 1.0, (category, comparison.false_negatives)
        assert counts.precision == 1.0, (category, comparison.false_positives)
    song = result.findings.filter(pl.col("rule_id") == "SONG-009")
    assert song[ID].to_list() == [never]
