"""Review of registry results and the sync back, on a real database (SQLite and PostgreSQL).

Each decision kind, the scope, stale results, the audit trail, no duplicate proposals, and
the round trip of a correction: proposed by the national side, accepted (a new DRAFT version
with the registry's value) or rejected (the reason stored) by the agency, the status seen
by both sides.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_review_world import (  # type: ignore[import-not-found]
    APPROVER,
    BEST,
    HA_TINH,
    HR,
    HR_HA_TINH,
    MATCHED_AT,
    NGHE_AN,
    RESIDENCE,
    SECOND,
    ReviewWorld,
    deliver_proposals,
    deliver_resolutions,
    events,
    review_world,
    to_national,
)

from hoso.auth.principal import operator
from hoso.config import get_settings
from hoso.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hoso.exchange import corrections
from hoso.exchange.models import Correction, OutboxItem
from hoso.people import service as people_service
from hoso.people.models import Person, PersonVersion
from hoso.people.schemas import PersonWrite
from hoso.population import review
from hoso.population.models import Decision, Outcome, PopulationMatch, PopulationRun

__all__ = ["review_world"]  # fixture used by name


def _pids(matches: list[PopulationMatch]) -> list[str]:
    return [m.personal_id for m in matches]


def _edit(session: Session, personal_id: str, **data: object) -> None:
    """Change the dossier (a new version), as an officer would."""
    dossier = people_service.get_by_personal_id(session, personal_id, principal=operator())
    doc = copy.deepcopy(dossier.data)
    doc.update(data)
    people_service.update(
        session,
        personal_id,
        PersonWrite.model_validate(
            {
                "personal_id": personal_id,
                "managing_agency": dossier.managing_agency,
                "employing_unit": dossier.employing_unit,
                "data": doc,
            }
        ),
        principal=operator(),
    )


# --- the queue ----------------------------------------------------------------------------------


def test_queue_by_kind_and_scope(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    mine = review.list_review(session, principal=HR)
    in_order = sorted(("an", "binh", "cuong"), key=w.person_id)
    assert _pids(mine) == [w.pids[k] for k in in_order]
    assert review.count_review(session, principal=HR) == 3
    assert _pids(review.list_review(session, principal=HR, kind="potential_match")) == [
        w.pids["binh"]
    ]
    assert _pids(review.list_review(session, principal=HR, kind="conflict")) == [w.pids["cuong"]]
    assert _pids(review.list_review(session, principal=HR, kind="differences")) == [w.pids["an"]]
    assert _pids(review.list_review(session, principal=HR_HA_TINH)) == [w.pids["dung"]]
    assert review.count_review(session, principal=operator()) == 4
    assert review.count_review(session, principal=operator(), agency=HA_TINH) == 1
    # a not-found result is not in the queue, a decided one leaves it
    w.matches["cuong"].outcome = Outcome.NOT_FOUND
    session.flush()
    assert review.count_review(session, principal=HR) == 2
    assert review.count_review(session, principal=HR, kind="conflict") == 0
    w.matches["cuong"].outcome = Outcome.CONFLICT
    review.decide(session, w.person_id("cuong"), principal=HR, decision="confirmed")
    assert review.count_review(session, principal=HR) == 2
    assert review.count_review(session, principal=HR, decision=None) == 3
    assert _pids(review.list_review(session, principal=HR, decision="confirmed")) == [
        w.pids["cuong"]
    ]
    mine = review.list_review(session, principal=HR, decision=None)
    with pytest.raises(PermissionDenied):
        review.list_review(session, principal=HR, agency=HA_TINH)
    with pytest.raises(InvalidInput) as bad:
        review.list_review(session, principal=HR, kind="everything")
    assert bad.value.issues[0].field == "kind"
    # paging
    first = review.list_review(session, principal=HR, decision=None, limit=2)
    rest = review.list_review(session, principal=HR, decision=None, limit=2, offset=2)
    assert _pids(first) + _pids(rest) == _pids(mine)


def test_results_filter_by_outcome_and_counts(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    person = session.execute(select(Person).where(Person.personal_id == w.pids["an"])).scalar_one()
    w.matches["an"].differences = []  # now a clean match: nothing to review
    session.flush()
    assert review.count_review(session, principal=HR) == 2
    assert review.count_results(session, principal=HR) == 3
    assert _pids(review.list_results(session, principal=HR, outcome="matched")) == [w.pids["an"]]
    assert review.count_results(session, principal=HR, outcome="not_found") == 0
    counts = {c.agency_code: c for c in review.outcome_counts(session, principal=operator())}
    assert set(counts) == {NGHE_AN, HA_TINH}
    nghe_an = counts[NGHE_AN]
    assert nghe_an.people == 3 and nghe_an.checked == 3 and nghe_an.to_review == 2
    assert nghe_an.outcomes == {"matched": 1, "potential_match": 1, "conflict": 1, "not_found": 0}
    assert nghe_an.verified_share == pytest.approx(1 / 3)
    assert counts[HA_TINH].outcomes["conflict"] == 1
    assert [c.agency_code for c in review.outcome_counts(session, principal=HR_HA_TINH)] == [
        HA_TINH
    ]
    assert person.id == w.person_id("an")


def test_a_result_outside_the_scope_is_not_found(
    review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    assert review.get_result(session, w.person_id("an"), principal=HR).personal_id == w.pids["an"]
    with pytest.raises(NotFound) as hidden:
        review.get_result(session, w.person_id("an"), principal=HR_HA_TINH)
    assert "Không có kết quả đối chiếu" in hidden.value.message_vi
    with pytest.raises(NotFound):
        review.get_by_personal_id(session, w.pids["dung"], principal=HR)
    with pytest.raises(NotFound):
        review.decide(session, w.person_id("an"), principal=HR_HA_TINH, decision=Decision.CONFIRMED)
    with pytest.raises(PermissionDenied):  # an approver reads, does not decide
        review.decide(session, w.person_id("an"), principal=APPROVER, decision=Decision.CONFIRMED)
    assert review.get_result(session, w.person_id("an"), principal=APPROVER).decision == "pending"
    assert events(session, "population:match:confirm") == []
    session.refresh(w.matches["an"])
    assert w.matches["an"].decision == Decision.PENDING


# --- decisions ----------------------------------------------------------------------------------


def test_confirming_a_candidate_makes_it_the_match(
    review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    pid = w.person_id("binh")
    with pytest.raises(InvalidInput) as which:  # two candidates: one must be named
        review.decide(session, pid, principal=HR, decision=Decision.CONFIRMED)
    assert which.value.issues[0].field == "candidate_personal_id"
    with pytest.raises(InvalidInput) as stranger:
        review.decide(
            session,
            pid,
            principal=HR,
            decision=Decision.CONFIRMED,
            candidate_personal_id="040190000555",
        )
    assert stranger.value.issues[0].code == "not_a_candidate"
    match = review.decide(
        session, pid, principal=HR, decision=Decision.CONFIRMED, candidate_personal_id=SECOND
    )
    assert match.outcome == Outcome.MATCHED and match.decision == Decision.CONFIRMED
    assert match.registry_personal_id == SECOND and match.probability == pytest.approx(0.61)
    assert match.registry_status == "alive"
    assert match.registry_values is not None
    assert match.registry_values["date_of_birth"] == "1990-01-01"
    assert "status" not in match.registry_values  # only registry-mastered fields
    fields = {d["field"]: d for d in match.differences}
    assert set(fields) == {"personal_id", "date_of_birth"}  # religion 00 agrees with SECOND
    assert fields["date_of_birth"]["ours"] == "1990-07-02"
    assert fields["date_of_birth"]["registry"] == "1990-01-01"
    assert match.decided_by == "hr.nghean" and match.decided_at is not None
    [event] = events(session, "population:match:confirm")
    assert event.actor == "hr.nghean" and event.subject_id == w.pids["binh"]
    assert event.data["candidate_personal_id"] == SECOND
    assert event.data["kind"] == "potential_match"
    assert review.count_review(session, principal=HR, kind="potential_match") == 0
    # the identifier difference is never proposed as a correction
    assert [name for name, _v in review.proposable_values(match)] == ["date_of_birth"]


def test_rejecting_needs_a_reason_and_stores_it(
    review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    for blank in (None, "", "   "):
        with pytest.raises(InvalidInput) as no_reason:
            review.decide(
                session, w.person_id("binh"), principal=HR, decision="rejected", reason=blank
            )
        assert no_reason.value.issues[0].field == "reason"
        assert "lý do" in no_reason.value.message_vi
    with pytest.raises(InvalidInput) as bad:
        review.decide(session, w.person_id("binh"), principal=HR, decision="maybe")
    assert bad.value.issues[0].field == "decision"
    match = review.decide(
        session,
        w.person_id("binh"),
        principal=HR,
        decision=Decision.REJECTED,
        reason="  Khác quê quán, không phải cùng một người ",
    )
    assert match.decision == Decision.REJECTED
    assert match.decision_reason == "Khác quê quán, không phải cùng một người"
    assert match.outcome == Outcome.POTENTIAL and match.registry_personal_id is None
    [event] = events(session, "population:match:reject")
    assert event.data == {
        "kind": "potential_match",
        "decision": "rejected",
        "outcome": "potential_match",
        "version": match.version,
        "reason_given": True,
    }
    # decided once: a second decision is refused
    with pytest.raises(Conflict) as again:
        review.decide(
            session,
            w.person_id("binh"),
            principal=HR,
            decision=Decision.CONFIRMED,
            candidate_personal_id=BEST,
        )
    assert again.value.code == "already_decided"
    assert "đã được quyết định" in again.value.message_vi
    assert "already decided" in again.value.message_en


def test_conflict_confirm_and_reject(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    confirmed = review.decide(session, w.person_id("cuong"), principal=HR, decision="confirmed")
    assert confirmed.decision == Decision.CONFIRMED and confirmed.outcome == Outcome.CONFLICT
    rejected = review.decide(
        session,
        w.person_id("dung"),
        principal=HR_HA_TINH,
        decision="rejected",
        reason="CSDLQG về dân cư ghi sai dấu: đã báo Công an xã",
    )
    assert rejected.decision_reason == "CSDLQG về dân cư ghi sai dấu: đã báo Công an xã"
    assert len(events(session, "population:match:confirm")) == 1
    assert len(events(session, "population:match:reject")) == 1
    # nothing to decide on a not-found result
    w.matches["an"].outcome = Outcome.NOT_FOUND
    w.matches["an"].differences = []
    session.flush()
    with pytest.raises(Conflict) as nothing:
        review.decide(session, w.person_id("an"), principal=HR, decision="confirmed")
    assert nothing.value.code == "nothing_to_review"


def test_a_stale_result_is_refused(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    _edit(session, w.pids["cuong"], salary_step=5, salary_coefficient="3.66")
    with pytest.raises(Conflict) as stale:
        review.decide(session, w.person_id("cuong"), principal=HR, decision="confirmed")
    assert stale.value.code == "stale_result" and stale.value.status == 409
    assert "đã thay đổi sau lần đối chiếu" in stale.value.message_vi
    assert "changed after it was matched" in stale.value.message_en
    assert "phiên bản 1, hiện tại 2" in stale.value.message_vi
    session.refresh(w.matches["cuong"])
    assert w.matches["cuong"].decision == Decision.PENDING
    assert events(session, "population:match:confirm") == []
    person = session.get(Person, w.person_id("cuong"))
    assert review.is_stale(w.matches["cuong"], person)


def test_bulk_decisions_stand_alone(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    _edit(session, w.pids["cuong"], salary_step=5, salary_coefficient="3.66")
    outcomes = review.decide_many(
        session,
        [w.person_id("binh"), w.person_id("cuong"), w.person_id("an"), w.person_id("dung")],
        principal=HR,
        decision=Decision.CONFIRMED,
    )
    assert [(o.personal_id, o.status) for o in outcomes] == [
        (w.pids["binh"], "confirmed"),
        (w.pids["cuong"], "refused"),
        (w.pids["an"], "confirmed"),
        (str(w.person_id("dung")), "refused"),  # outside the scope: not found
    ]
    assert "đã thay đổi" in outcomes[1].message_vi
    assert "Không có kết quả" in outcomes[3].message_vi
    session.expire_all()
    binh = session.get(PopulationMatch, w.person_id("binh"))
    assert binh is not None and binh.registry_personal_id == BEST  # the best candidate
    assert session.get(PopulationMatch, w.person_id("cuong")).decision == "pending"  # type: ignore[union-attr]
    assert len(events(session, "population:match:confirm")) == 2
    with pytest.raises(InvalidInput):
        review.decide_many(session, [], principal=HR, decision="confirmed")
    with pytest.raises(InvalidInput) as no_reason:
        review.decide_many(session, [w.person_id("cuong")], principal=HR, decision="rejected")
    assert no_reason.value.issues[0].field == "reason"


# --- sync back ----------------------------------------------------------------------------------


def test_propose_corrections_once_with_evidence(
    review_world: ReviewWorld, session: Session
) -> None:
    w = review_world
    an = w.pids["an"]
    for key in ("an", "cuong"):
        to_national(session, w.pids[key])
    report = review.propose_corrections_report(session, principal=HR)
    # an (matched) is proposed; cuong's conflict awaits a decision; binh is a potential match
    assert (report.proposed, report.people, report.skipped_unsynced) == (2, 1, 0)
    rows = {
        c.field: c
        for c in session.execute(
            select(Correction).where(Correction.personal_id == an, Correction.side == "national")
        ).scalars()
    }
    assert set(rows) == {"religion_code", "residence_address_line"}
    religion = rows["religion_code"]
    assert (religion.current_value, religion.proposed_value) == ("00", "01")
    assert religion.source == "population_registry"
    assert religion.reason_code == "population_mismatch"
    assert religion.status == "proposed" and religion.managing_agency_code == NGHE_AN
    assert religion.evidence == {
        "registry_value": "01",
        "registry_personal_id": an,
        "matched_at": MATCHED_AT.isoformat().replace("+00:00", "Z"),
        "matched_by": "personal_id",
        "run_id": None,
    }
    assert rows["residence_address_line"].proposed_value == RESIDENCE
    assert sorted(report.correction_ids) == sorted(c.correction_id for c in rows.values())
    session.refresh(w.matches["an"])
    assert w.matches["an"].corrections_proposed == 2
    queued = (
        session.execute(
            select(OutboxItem).where(OutboxItem.kind == "correction").order_by(OutboxItem.id)
        )
        .scalars()
        .all()
    )
    assert [q.receiver for q in queued] == ["000.00.00.H41:hrm"] * 2
    [event] = events(session, "population:correction:propose")
    assert event.subject_id == an and sorted(event.data["fields"]) == sorted(rows)
    assert len(events(session, "national:correction:propose")) == 2
    # never the same (person, field, value) twice
    again = review.propose_corrections_report(session, principal=HR)
    assert (again.proposed, again.skipped_duplicate) == (0, 2)
    assert review.propose_corrections(session, principal=HR, person_ids=[w.person_id("an")]) == 0
    assert session.execute(select(func.count()).select_from(Correction)).scalar_one() == 2
    # a confirmed conflict is proposed; its value then is not proposed again either
    review.decide(session, w.person_id("cuong"), principal=HR, decision="confirmed", propose=True)
    dob = session.execute(
        select(Correction).where(Correction.personal_id == w.pids["cuong"])
    ).scalar_one()
    assert (dob.field, dob.current_value, dob.proposed_value) == (
        "date_of_birth",
        "1978-11-30",
        "1978-11-03",
    )
    assert review.propose_corrections(session, principal=operator()) == 0


def test_what_is_not_proposed(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    # without the approved record at the national side: skipped and counted
    report = review.propose_corrections_report(session, principal=HR)
    assert (report.proposed, report.skipped_unsynced) == (0, 1)
    # a rejected result proposes nothing
    to_national(session, w.pids["an"])
    review.decide(
        session, w.person_id("an"), principal=HR, decision="rejected", reason="Hồ sơ gốc đúng"
    )
    assert review.propose_corrections(session, principal=HR) == 0
    # a result whose dossier changed since the match is skipped
    to_national(session, w.pids["cuong"])
    review.decide(session, w.person_id("cuong"), principal=HR, decision="confirmed")
    _edit(session, w.pids["cuong"], salary_step=5, salary_coefficient="3.66")
    stale = review.propose_corrections_report(session, principal=HR)
    assert (stale.proposed, stale.skipped_stale) == (0, 1)
    # another province's officer proposes nothing of Nghệ An, and may not name it
    with pytest.raises(PermissionDenied):
        review.propose_corrections(session, principal=HR_HA_TINH, agency=NGHE_AN)
    with pytest.raises(PermissionDenied):
        review.propose_corrections(session, principal=APPROVER)
    assert session.execute(select(func.count()).select_from(Correction)).scalar_one() == 0


def test_round_trip_accept_and_reject(review_world: ReviewWorld, session: Session) -> None:
    w = review_world
    an = w.pids["an"]
    national = get_settings().national_node
    to_national(session, an)
    assert review.propose_corrections(session, principal=HR) == 2
    stored = deliver_proposals(session)
    assert [r["status"] for r in stored] == ["stored", "stored"]
    received = {c["field"]: c for c in corrections.list_(session, principal=HR, side="agency")}
    assert set(received) == {"religion_code", "residence_address_line"}
    version = session.execute(select(Person.current_version).where(Person.personal_id == an))
    before = version.scalar_one()
    corrections.resolve(
        session,
        received["religion_code"]["correction_id"],
        decision="accepted",
        reason=None,
        principal=HR,
        national_node=national,
    )
    corrections.resolve(
        session,
        received["residence_address_line"]["correction_id"],
        decision="rejected",
        reason="Đã chuyển nơi ở, chờ CSDLQG về dân cư cập nhật",
        principal=HR,
        national_node=national,
    )
    person = session.execute(select(Person).where(Person.personal_id == an)).scalar_one()
    assert person.current_version == before + 1
    draft = session.get(PersonVersion, (person.id, person.current_version))
    assert draft is not None and draft.status == "DRAFT"
    assert draft.data["religion_code"] == "01"  # the registry's value
    assert "residence_address_line" not in draft.data
    # the agency's statuses are visible at once; the national ones once the answers arrive
    statuses = {c.field: c for c in review.corrections_of(session, w.matches["an"], principal=HR)}
    assert statuses["religion_code"].agency_status == "accepted"
    assert statuses["religion_code"].national_status == "proposed"
    assert statuses["religion_code"].status == "accepted"
    assert [r["status"] for r in deliver_resolutions(session)] == ["applied", "applied"]
    statuses = {c.field: c for c in review.corrections_of(session, w.matches["an"], principal=HR)}
    assert {f: (c.national_status, c.agency_status) for f, c in statuses.items()} == {
        "religion_code": ("accepted", "accepted"),
        "residence_address_line": ("rejected", "rejected"),
    }
    assert statuses["residence_address_line"].reason == (
        "Đã chuyển nơi ở, chờ CSDLQG về dân cư cập nhật"
    )
    nat = {
        c["field"]: (c["status"], c["reason"])
        for c in corrections.list_(session, principal=HR, side="national")
    }
    assert nat == {
        "religion_code": ("accepted", None),
        "residence_address_line": ("rejected", "Đã chuyển nơi ở, chờ CSDLQG về dân cư cập nhật"),
    }
    # the accepted draft made the result stale: nothing proposed until matched again
    report = review.propose_corrections_report(session, principal=HR)
    assert report.proposed == 0 and report.skipped_stale == 1
    # matched again (the residence still differs): the rejected value is not proposed again
    match = w.matches["an"]
    match.version, match.content_hash = person.current_version, person.current_content_hash
    match.differences = [d for d in match.differences if d["field"] == "residence_address_line"]
    session.flush()
    again = review.propose_corrections_report(session, principal=HR)
    assert (again.proposed, again.skipped_duplicate) == (0, 1)


def test_the_latest_run_of_the_scope(review_world: ReviewWorld, session: Session) -> None:
    early = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    national = PopulationRun(agency_code=None, actor="operator", registry_url="http://r",
                             status="completed", started_at=early)  # fmt: skip
    ha_tinh = PopulationRun(agency_code=HA_TINH, actor="operator", registry_url="http://r",
                            status="running", started_at=early + dt.timedelta(hours=1))  # fmt: skip
    session.add_all([national, ha_tinh])
    session.flush()
    assert review.latest_run(session, principal=operator()) is ha_tinh
    assert review.latest_run(session, principal=HR_HA_TINH) is ha_tinh
    assert review.latest_run(session, principal=HR) is national  # Hà Tĩnh's is not Nghệ An's
    assert review.latest_run(session, principal=operator(), agency=NGHE_AN) is national
