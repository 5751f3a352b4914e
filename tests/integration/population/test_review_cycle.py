"""The whole cycle: match → link → review → correction → rerun → quality, on a real simulator.

The generated world (``conftest_population.world``) is served by the registry simulator
over real HTTP (``popsim``). Two changes to the simulator's data make the cases of the
cycle (everything else is as generated):

- ``differ``, a dossier the registry knows under its number, gets another religion in the
  registry: the verification run finds it ``matched`` with one mastered difference;
- ``subject``, a dossier the registry does not know by number, gets two registry records
  with its identity under other numbers (a duplicate registration): the probabilistic pass
  (Splink) over an extract of the simulator's whole database cannot choose between them
  and makes a ``potential_match`` with both as candidates. One of them has another
  religion.

Then an officer confirms that candidate and proposes its religion as a correction; the
registry's religion of ``differ`` is proposed too; the agency accepts both (two new DRAFT
versions, now current). A rerun of the verification by ID must keep the officer's
confirmation (the link, the decision) although the dossier changed, and neither dossier
shows the corrected religion as a difference any more. A quality run then reflects the
results: SACH-009 for an identity conflict, SACH-011 for a number the registry does not
know (the confirmed probabilistic match included), nothing for the corrected ``differ``,
SONG-009 (and no SACH-011) for a dossier added after the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import polars as pl
import pytest
from conftest_population import (  # type: ignore[import-not-found]
    FakeRegistry,
    PopsimServer,
    World,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_review_world import to_national  # type: ignore[import-not-found]

from hoso.audit.models import AuditEvent
from hoso.auth.principal import Principal, operator
from hoso.config import get_settings
from hoso.db.base import utcnow
from hoso.exchange import corrections, handlers
from hoso.exchange.models import OutboxItem
from hoso.generate.people import iter_people
from hoso.people import bulk
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.popsim.load import load as load_citizens
from hoso.population import linking, review, service
from hoso.population.models import Decision, Outcome, PopulationMatch
from hoso.quality import service as quality_service
from hoso.quality.models import QualityFinding, QualityRun

OFFICER = Principal("canbo.quocgia", "hr_officer", None)
"""Decides and proposes (national scope) and, for the agency, accepts the corrections."""
REGISTRY_RULES = ("SACH-009", "SACH-010", "SACH-011", "SONG-009")


@pytest.fixture
def quality_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private snapshot folder for the quality engine."""
    monkeypatch.setenv("HOSO_QUALITY_DIR", str(tmp_path / "quality"))
    monkeypatch.setenv("HOSO_QUALITY_MARGIN_SECONDS", "0")
    get_settings.cache_clear()
    yield tmp_path / "quality"
    get_settings.cache_clear()


# --- helpers ---------------------------------------------------------------------------------


def _person(session: Session, personal_id: str) -> Person:
    return session.execute(select(Person).where(Person.personal_id == personal_id)).scalar_one()


def _data(session: Session, personal_id: str) -> dict[str, Any]:
    person = _person(session, personal_id)
    version = session.get(PersonVersion, (person.id, person.current_version))
    assert version is not None
    return dict(version.data)


def _match(session: Session, personal_id: str) -> PopulationMatch:
    row = session.execute(
        select(PopulationMatch).where(PopulationMatch.personal_id == personal_id)
    ).scalar_one()
    session.refresh(row)
    return row


def _verify(popsim: PopsimServer) -> service.JobReport:
    with popsim.client() as client:
        return service.run_job(client, actor="tester", registry_url=popsim.url, batch_size=40)


def _upsert(popsim: PopsimServer, folder: Path, citizens: list[dict[str, Any]]) -> None:
    src = folder / "changes.jsonl"
    src.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in citizens))
    report = load_citizens(popsim.engine, src)
    assert report.rejected == 0, [e.message for e in report.errors]


def _node(agency: str) -> str:
    return f"{agency}:hrm"


def _deliver(session: Session, kind: str, sender: str, handler: Any) -> list[dict[str, Any]]:
    """Carry the queued outbox items of ``kind`` through the receiver's real handler."""
    items = session.execute(
        select(OutboxItem)
        .where(OutboxItem.kind == kind, OutboxItem.message_id.is_(None))
        .order_by(OutboxItem.id)
    ).scalars()
    node = SimpleNamespace(national_node=get_settings().national_node)
    results: list[dict[str, Any]] = []
    for item in list(items):
        verified = SimpleNamespace(sender=sender)
        results += handler(session, verified, [item.payload], node=node, now=utcnow())
        item.message_id = "delivered"
    session.flush()
    return results


def _findings(session: Session, personal_id: str) -> set[tuple[str, str]]:
    return {
        (r, f)
        for r, f in session.execute(
            select(QualityFinding.rule_id, QualityFinding.field).where(
                QualityFinding.personal_id == personal_id,
                QualityFinding.rule_id.in_(REGISTRY_RULES),
            )
        )
    }


def _edit(session: Session, personal_id: str, **data: object) -> None:
    """Change the dossier (a new version), as an officer would."""
    dossier = people_service.get_by_personal_id(session, personal_id, principal=operator())
    people_service.update(
        session,
        personal_id,
        PersonWrite.model_validate(
            {
                "personal_id": personal_id,
                "managing_agency": dossier.managing_agency,
                "employing_unit": dossier.employing_unit,
                "data": {**dossier.data, **data},
            }
        ),
        principal=operator(),
    )


def _other_religion(code: str | None) -> str:
    return "02" if code == "01" else "01"


# --- the cycle -------------------------------------------------------------------------------


def test_review_rerun_and_quality_cycle(
    session: Session,
    world: World,
    popsim: PopsimServer,
    quality_dir: Path,
    tmp_path: Path,
) -> None:
    citizens = {c["personal_id"]: c for c in popsim.citizens()}
    labelled = {lab["personal_id"] for lab in world.labels}
    clean = [
        line["personal_id"]
        for line in world.lines
        if line["personal_id"] in citizens and line["personal_id"] not in labelled
    ]
    differ = clean[0]
    registry_religion = _other_religion(_data(session, differ).get("religion_code"))
    _upsert(popsim, tmp_path, [{**citizens[differ], "religion_code": registry_religion}])

    # 1. Verification by ID over HTTP.
    first = _verify(popsim)
    assert (first.status, first.done) == ("completed", len(world.lines))
    found = _match(session, differ)
    assert (found.outcome, found.matched_by) == (Outcome.MATCHED, "personal_id")
    assert [(d["field"], d["registry"]) for d in found.differences] == [
        ("religion_code", registry_religion)
    ]
    not_found = [
        m.personal_id
        for m in session.execute(
            select(PopulationMatch)
            .where(PopulationMatch.outcome == Outcome.NOT_FOUND)
            .order_by(PopulationMatch.person_id)
        ).scalars()
    ]
    assert len(not_found) >= 2  # the subject below, and one that stays not found
    subject, absent = not_found[0], not_found[-1]

    # 2. The registry lists the subject twice under other numbers; link with an extract of
    # the simulator's database.
    ours = _data(session, subject)
    head = subject[:6]
    twins = [f"{head}{n:06d}" for n in (990001, 990002)]
    assert not set(twins) & set(citizens)
    template = next(iter(citizens.values()))
    identity = {
        k: ours[k]
        for k in linking.probabilistic.INPUT_FIELDS
        if ours.get(k) is not None
        and k != "hometown_district_legacy_code"
        and not k.startswith("residence_")  # the template's residence (loadable codes)
    }
    base = {
        **{k: template[k] for k in ("residence_ward_code", "residence_unit_scheme")},
        "status": "alive",
        **identity,
    }
    chosen_religion = _other_religion(ours.get("religion_code"))
    _upsert(
        popsim,
        tmp_path,
        [
            {**base, "personal_id": twins[0], "religion_code": chosen_religion},
            {**base, "personal_id": twins[1], "religion_code": ours.get("religion_code", "00")},
        ],
    )
    extract = pl.DataFrame(popsim.citizens(), infer_schema_length=None)
    linked = linking.link_not_found(session, extract, actor="tester")
    assert linked.records == len(not_found) and linked.potential >= 1
    potential = _match(session, subject)
    assert (potential.outcome, potential.matched_by) == (Outcome.POTENTIAL, "probabilistic")
    assert sorted(c["personal_id"] for c in potential.candidates) == twins
    assert review.review_kind(potential) == "potential_match"
    assert _match(session, absent).outcome == Outcome.NOT_FOUND

    # 3. The officer confirms the twin with the other religion and proposes its value; the
    # registry's religion of `differ` is proposed too.
    for pid in (subject, differ):
        to_national(session, pid, sender=_node(_person(session, pid).managing_agency_code))
    subject_id = potential.person_id
    decided = review.decide(
        session,
        subject_id,
        principal=OFFICER,
        decision=Decision.CONFIRMED,
        candidate_personal_id=twins[0],
        propose=True,
    )
    assert (decided.outcome, decided.registry_personal_id) == (Outcome.MATCHED, twins[0])
    proposed = dict(review.proposable_values(decided))  # the religion, the residence…
    assert proposed["religion_code"] == chosen_religion
    assert decided.corrections_proposed == len(proposed)
    other = review.propose_corrections_report(
        session, principal=OFFICER, person_ids=[found.person_id]
    )
    assert (other.proposed, other.people) == (1, 1)

    # 4. The agency accepts both: a new DRAFT version each, now current.
    national = get_settings().national_node
    stored = _deliver(session, "correction", national, handlers.corrections_propose)
    assert [r["status"] for r in stored] == ["stored"] * (len(proposed) + 1)
    received = corrections.list_(session, principal=OFFICER, side="agency")
    assert {(c["personal_id"], c["field"]) for c in received} == {
        *((subject, name) for name in proposed),
        (differ, "religion_code"),
    }
    versions = {pid: _person(session, pid).current_version for pid in (subject, differ)}
    for item in received:
        corrections.resolve(
            session,
            item["correction_id"],
            decision="accepted",
            reason=None,
            principal=OFFICER,
            national_node=national,
        )
    for pid, religion in ((subject, chosen_religion), (differ, registry_religion)):
        person = _person(session, pid)
        assert person.current_version > versions[pid]  # one version per accepted correction
        draft = session.get(PersonVersion, (person.id, person.current_version))
        assert draft is not None and draft.status == "DRAFT"
        assert draft.data["religion_code"] == religion
        _deliver(session, "resolution", _node(person.managing_agency_code),
                 handlers.corrections_resolve)  # fmt: skip
    statuses = {c.status for c in review.corrections_of(session, decided, principal=OFFICER)}
    assert statuses == {"accepted"}

    # 5. Rerun the verification by ID.
    second = _verify(popsim)
    assert second.run_id != first.run_id and second.status == "completed"
    kept = _match(session, subject)
    subject_person = _person(session, subject)
    assert (kept.version, kept.content_hash) == (
        subject_person.current_version,
        subject_person.current_content_hash,
    )  # the new version was compared
    assert kept.run_id == second.run_id
    assert (kept.outcome, kept.matched_by) == (Outcome.MATCHED, "probabilistic")
    assert kept.registry_personal_id == twins[0]
    assert (kept.decision, kept.decided_by) == (Decision.CONFIRMED, OFFICER.username)
    assert kept.corrections_proposed == len(proposed)
    # the accepted values agree now: only the number differs (never a correction)
    assert [d["field"] for d in kept.differences] == ["personal_id"]
    queue = review.list_review(session, principal=OFFICER, limit=1000)
    assert subject not in {m.personal_id for m in queue}  # decided: not asked again
    rematched = _match(session, differ)
    differ_person = _person(session, differ)
    assert (rematched.version, rematched.outcome, rematched.differences) == (
        differ_person.current_version,
        Outcome.MATCHED,
        [],
    )
    assert rematched.decision == Decision.PENDING
    assert differ not in {m.personal_id for m in queue}  # nothing differs: nothing to review
    assert service.status_code(rematched.outcome, rematched.matched_by, 0) == "MATCHED"
    assert service.status_code(kept.outcome, kept.matched_by, kept.differences) == "NOT_FOUND"
    again = review.propose_corrections_report(session, principal=OFFICER)
    assert again.proposed == 0  # nothing new to propose

    # 6. A dossier added after the run: never matched.
    extra_line = list(iter_people(len(world.lines) + 1, 11, orgs=world.orgs, defect_rate=0.0))
    newcomer = extra_line[-1][0]
    src = tmp_path / "newcomer.jsonl"
    src.write_bytes(orjson.dumps(newcomer) + b"\n")
    assert bulk.import_file(src, principal=operator(), workers=0).rejected == 0

    # 7. The quality run reflects the results.
    summary = quality_service.run(session, actor="tester", full=True)
    run = session.get(QualityRun, summary.run_id)
    assert run is not None
    assert not {ne["rule_id"] for ne in run.not_evaluated} & set(REGISTRY_RULES)
    assert _findings(session, differ) == set()
    assert ("SACH-011", "personal_id") in _findings(session, subject)
    assert not {r for r, f in _findings(session, subject) if f == "religion_code"}
    assert ("SACH-011", "personal_id") in _findings(session, absent)
    conflicts = [
        m
        for m in session.execute(select(PopulationMatch)).scalars()
        if m.outcome == Outcome.CONFLICT
        and m.matched_by == "personal_id"
        and any(d["field"] == "birth_name" for d in m.differences)
    ]
    assert conflicts, "the world has a birth-name conflict (a population_mismatch defect)"
    for m in conflicts:
        assert ("SACH-009", "birth_name") in _findings(session, m.personal_id)
    assert _findings(session, newcomer["personal_id"]) == {
        ("SONG-009", "meta.population_matched_at")
    }
    confirmations = session.execute(
        select(AuditEvent.subject_id).where(AuditEvent.action == "population:match:confirm")
    ).scalars()
    assert list(confirmations) == [subject]


def test_a_changed_dossier_keeps_its_accepted_link_while_the_identity_agrees(
    session: Session, world: World
) -> None:
    """The rules of a rerun for probabilistic results of changed dossiers (no HTTP)."""
    labelled = {lab["personal_id"] for lab in world.labels}
    dropped = [line["personal_id"] for line in world.lines if line["personal_id"] not in labelled]
    dropped = dropped[:2]  # two clean dossiers the registry does not know by number
    registry = FakeRegistry([c for c in world.registry if c["personal_id"] not in dropped])
    first = service.run_job(registry, actor="tester", registry_url="http://fake")
    assert first.status == "completed"
    linked, potential = (_match(session, pid) for pid in dropped)
    assert linked.outcome == potential.outcome == Outcome.NOT_FOUND
    ours = _data(session, linked.personal_id)
    citizen = {k: ours[k] for k in ("birth_name", "date_of_birth", "sex") if k in ours}
    number = f"{linked.personal_id[:6]}990001"
    linked.outcome, linked.matched_by, linked.probability = Outcome.MATCHED, "probabilistic", 0.9999
    linked.registry_personal_id, linked.registry_status = number, "alive"
    linked.registry_values = {**citizen, "personal_id": number}
    linked.decision, linked.decided_by = Decision.CONFIRMED, OFFICER.username
    potential.outcome, potential.matched_by, potential.probability = (
        Outcome.POTENTIAL,
        "probabilistic",
        0.8,
    )
    potential.candidates = [{"personal_id": number, "probability": 0.8, "comparison": {}}]
    session.flush()
    _edit(session, linked.personal_id, birth_name="TÊN KHÁC HẲN")
    _edit(session, potential.personal_id, religion_code="01")

    second = service.run_job(registry, actor="tester", registry_url="http://fake")
    assert second.status == "completed"
    kept = _match(session, linked.personal_id)
    # the link stays, compared with the stored registry values: the name now conflicts,
    # so the officer's confirmation no longer holds
    assert (kept.outcome, kept.matched_by, kept.registry_personal_id) == (
        Outcome.CONFLICT,
        "probabilistic",
        number,
    )
    assert kept.decision == Decision.PENDING and kept.decided_by is None
    assert "birth_name" in {d["field"] for d in kept.differences}
    # an undecided potential match of a changed dossier waits for the next link pass
    again = _match(session, potential.personal_id)
    assert (again.outcome, again.matched_by, again.candidates) == (Outcome.NOT_FOUND, None, [])
