"""Cleaning service on a real database: propose from real findings, accept, reject, scope, audit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_cleaning_world import (  # type: ignore[import-not-found]
    APPROVER,
    BINH,
    CHAU,
    DUNG,
    EM,
    EXACT_WARD,
    HA_TINH,
    HA_TINH_HR,
    MOTHER,
    NGHE_AN,
    NGHE_AN_HR,
    SPLIT_WARD,
    people_bodies,
    quality_dir,
    world,
)

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.auth.principal import operator
from hoso.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hoso.generate.encodings import to_tcvn3
from hoso.people import service as people_service
from hoso.people.models import VersionStatus
from hoso.people.schemas import PersonWrite
from hoso.quality import admin_units, cleaning
from hoso.quality.models import FixStatus, QualityFix

__all__ = ["quality_dir", "world"]  # fixtures used by name


def fix_of(session: Session, personal_id: str, status: str = FixStatus.PROPOSED) -> QualityFix:
    return session.execute(
        select(QualityFix).where(QualityFix.personal_id == personal_id, QualityFix.status == status)
    ).scalar_one()


def by_field(fix: QualityFix) -> dict[str, dict[str, Any]]:
    return {c["field"]: c for c in fix.changes}


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).scalars()
    )


def test_propose_builds_one_fix_per_person_from_the_findings(world: Session) -> None:
    report = cleaning.propose(world, principal=operator())
    assert (report.created, report.skipped, report.superseded, report.manual) == (3, 0, 0, 1)
    assert sorted(report.fix_ids) == report.fix_ids and len(report.fix_ids) == 3
    binh = by_field(fix_of(world, BINH))
    assert binh["birth_name"]["old"] == "Trần Văn Bình"
    assert binh["birth_name"]["new"] == "TRẦN VĂN BÌNH"
    assert binh["birth_name"]["rule_id"] == "SACH-005"
    mother = binh["family_own_side[1].full_name"]
    assert (mother["old"], mother["new"], mother["rule_id"]) == (
        to_tcvn3(MOTHER),
        MOTHER,
        "SACH-003",
    )
    assert "TCVN3" in mother["note_vi"] and "TCVN3" in mother["note_en"]
    converted = admin_units.convert_address("legacy", EXACT_WARD, None, None)
    assert binh["hometown_unit_scheme"]["new"] == "2025"
    assert binh["hometown_ward_code"]["new"] == converted.ward_code
    assert binh["hometown_ward_code"]["old"] == EXACT_WARD
    assert binh["hometown_district_legacy_code"]["new"] is None
    assert binh["hometown_legacy_text"]["old"] is None
    assert binh["hometown_legacy_text"]["new"].startswith("Phường Đông Vĩnh, thành phố Vinh")
    assert not any(c["ambiguous"] for c in binh.values())
    chau = by_field(fix_of(world, CHAU))
    ward = chau["hometown_ward_code"]
    split = admin_units.convert_address("legacy", SPLIT_WARD, None, None)
    assert ward["ambiguous"] is True and ward["new"] is None
    assert [c["value"] for c in ward["candidates"]] == [c.ward_code for c in split.candidates]
    assert len(ward["candidates"]) >= 2
    # Hà Tĩnh keeps its code 42 in 2025: no province change is proposed
    assert split.province_code == people_bodies()[CHAU]["data"]["hometown_province_code"]
    assert "hometown_province_code" not in chau
    dung = by_field(fix_of(world, DUNG))
    assert set(dung) == {"birth_name"}
    # A birth name with a digit: no automatic fix, so no proposal at all.
    assert world.execute(select(QualityFix).where(QualityFix.personal_id == EM)).first() is None
    (event,) = events(world, "quality:fix:propose")
    assert event.data["created"] == report.fix_ids and event.data["manual"] == 1


def test_propose_again_skips_and_a_new_version_supersedes(world: Session) -> None:
    first = cleaning.propose(world, principal=operator())
    again = cleaning.propose(world, principal=operator())
    assert (again.created, again.skipped, again.superseded) == (0, 3, 0)
    old = fix_of(world, BINH)
    line = people_bodies()[BINH]
    line["data"]["salary_step"] = 5
    people_service.update(world, BINH, PersonWrite.model_validate(line), principal=operator())
    third = cleaning.propose(world, principal=operator())
    assert (third.created, third.skipped, third.superseded) == (1, 2, 1)
    world.refresh(old)
    assert old.status == FixStatus.SUPERSEDED and old.id in first.fix_ids
    assert fix_of(world, BINH).base_version == 2


def test_propose_filters_rules_and_refuses_unknown_ones(world: Session) -> None:
    report = cleaning.propose(world, principal=operator(), rules=["SACH-007"])
    assert report.created == 2
    fields = {c["field"] for c in fix_of(world, BINH).changes}
    assert "birth_name" not in fields and "hometown_unit_scheme" in fields
    with pytest.raises(InvalidInput) as info:
        cleaning.propose(world, principal=operator(), rules=["DUNG-001"])
    assert info.value.issues[0].field == "rules" and info.value.issues[0].value == "DUNG-001"
    assert "DUNG-001" in info.value.message_vi


def test_accept_stores_a_draft_with_exactly_the_proposed_diff(world: Session) -> None:
    cleaning.propose(world, principal=operator())
    fix = fix_of(world, BINH)
    proposed = {(c["field"], c["old"], c["new"]) for c in fix.changes if c["kind"] != "note"}
    (outcome,) = cleaning.accept(world, [fix.id], principal=NGHE_AN_HR)
    assert outcome.status == "accepted" and outcome.new_version == 2, outcome
    assert "phiên bản nháp 2" in outcome.message_vi
    v1 = people_service.get_version(world, BINH, 1, principal=NGHE_AN_HR)
    v2 = people_service.get_version(world, BINH, 2, principal=NGHE_AN_HR)
    assert v2.status == VersionStatus.DRAFT and v2.source == cleaning.SOURCE
    assert v2.created_by == NGHE_AN_HR.username
    diff = people_service.diff_documents(v1.data, v2.data)
    assert {(c.path, c.old, c.new) for c in diff} == proposed
    world.refresh(fix)
    assert (fix.status, fix.new_version, fix.decided_by) == (FixStatus.ACCEPTED, 2, "hr41")
    (event,) = events(world, "quality:fix:accept")
    assert event.data["outcomes"] == [{"fix_id": fix.id, "status": "accepted", "new_version": 2}]
    assert [
        e.data["version"] for e in events(world, "person:version:create") if e.subject_id == BINH
    ] == [1, 2]
    assert audit_service.verify_chain(world) == (True, None)
    # accepting twice is refused, not repeated
    (again,) = cleaning.accept(world, [fix.id], principal=NGHE_AN_HR)
    assert again.status == "refused" and "accepted" in again.message_en


def test_ambiguous_change_needs_a_candidate(world: Session) -> None:
    cleaning.propose(world, principal=operator())
    fix = fix_of(world, CHAU)
    candidates = [c["value"] for c in by_field(fix)["hometown_ward_code"]["candidates"]]
    (missing,) = cleaning.accept(world, [fix.id], principal=NGHE_AN_HR)
    assert missing.status == "refused" and missing.new_version is None
    assert "hometown_ward_code" in missing.message_vi and candidates[0] in missing.message_vi
    (wrong,) = cleaning.accept(
        world, [fix.id], principal=NGHE_AN_HR, choices={fix.id: {"hometown_ward_code": "99999"}}
    )
    assert wrong.status == "refused" and "'99999'" in wrong.message_vi
    (stray,) = cleaning.accept(
        world,
        [fix.id],
        principal=NGHE_AN_HR,
        choices={fix.id: {"hometown_ward_code": candidates[1], "birth_name": "X"}},
    )
    assert stray.status == "refused" and "birth_name" in stray.message_vi
    assert people_service.get_by_personal_id(world, CHAU, principal=NGHE_AN_HR).version == 1
    world.refresh(fix)
    assert fix.status == FixStatus.PROPOSED
    (ok,) = cleaning.accept(
        world,
        [fix.id],
        principal=NGHE_AN_HR,
        choices={fix.id: {"hometown_ward_code": candidates[1]}},
    )
    assert ok.status == "accepted" and ok.new_version == 2
    data = people_service.get_by_personal_id(world, CHAU, principal=NGHE_AN_HR).data
    assert data["hometown_ward_code"] == candidates[1]
    assert data["hometown_unit_scheme"] == "2025"
    assert "hometown_district_legacy_code" not in data
    assert data["hometown_legacy_text"].startswith("Phường Đại Nài")


def test_fix_is_superseded_when_the_dossier_changed(world: Session) -> None:
    cleaning.propose(world, principal=operator())
    fix = fix_of(world, DUNG)
    line = people_bodies()[DUNG]
    line["data"]["salary_step"] = 5
    people_service.update(world, DUNG, PersonWrite.model_validate(line), principal=operator())
    (outcome,) = cleaning.accept(world, [fix.id], principal=HA_TINH_HR)
    assert outcome.status == "superseded" and outcome.new_version is None
    assert "phiên bản 2" in outcome.message_vi
    world.refresh(fix)
    assert fix.status == FixStatus.SUPERSEDED
    dossier = people_service.get_by_personal_id(world, DUNG, principal=HA_TINH_HR)
    assert dossier.version == 2 and dossier.data["birth_name"] == "Hoàng Văn Dũng"


def test_reject_needs_a_reason(world: Session) -> None:
    cleaning.propose(world, principal=operator())
    fix = fix_of(world, BINH)
    for reason in ("", "   "):
        with pytest.raises(InvalidInput) as info:
            cleaning.reject(world, [fix.id], principal=NGHE_AN_HR, reason=reason)
        assert info.value.issues[0].field == "reason"
    assert (
        cleaning.reject(world, [fix.id], principal=NGHE_AN_HR, reason="  Tên mẹ đúng như cũ ") == 1
    )
    world.refresh(fix)
    assert (fix.status, fix.reason, fix.decided_by) == (
        FixStatus.REJECTED,
        "Tên mẹ đúng như cũ",
        "hr41",
    )
    (event,) = events(world, "quality:fix:reject")
    assert event.data == {"fix_ids": [fix.id], "reason": "Tên mẹ đúng như cũ"}
    with pytest.raises(Conflict) as conflict:
        cleaning.reject(world, [fix.id], principal=NGHE_AN_HR, reason="lại")
    assert str(fix.id) in conflict.value.message_vi
    assert people_service.get_by_personal_id(world, BINH, principal=NGHE_AN_HR).version == 1


def test_scope_hides_and_protects_other_provinces(world: Session) -> None:
    report = cleaning.propose(world, principal=operator())
    binh, dung = fix_of(world, BINH), fix_of(world, DUNG)
    ha_tinh = cleaning.list_fixes(world, principal=HA_TINH_HR)
    assert [f.personal_id for f in ha_tinh] == [DUNG]
    assert cleaning.count_fixes(world, principal=HA_TINH_HR) == 1
    assert {f.personal_id for f in cleaning.list_fixes(world, principal=NGHE_AN_HR)} == {BINH, CHAU}
    assert cleaning.count_fixes(world, principal=operator(), status=None) == len(report.fix_ids)
    with pytest.raises(NotFound):
        cleaning.get_fix(world, binh.id, principal=HA_TINH_HR)
    assert cleaning.get_fix(world, dung.id, principal=HA_TINH_HR).id == dung.id
    with pytest.raises(PermissionDenied):
        cleaning.list_fixes(world, principal=HA_TINH_HR, agency=NGHE_AN)
    (outcome,) = cleaning.accept(world, [binh.id], principal=HA_TINH_HR)
    assert outcome.status == "not_found"
    with pytest.raises(NotFound):
        cleaning.reject(world, [binh.id], principal=HA_TINH_HR, reason="không phải của tôi")
    world.refresh(binh)
    assert binh.status == FixStatus.PROPOSED
    assert people_service.get_by_personal_id(world, BINH, principal=operator()).version == 1
    # a Hà Tĩnh officer's proposal run touches Hà Tĩnh only
    assert cleaning.propose(world, principal=HA_TINH_HR).skipped == 1
    with pytest.raises(PermissionDenied):
        cleaning.list_fixes(world, principal=APPROVER)  # no quality:review
    with pytest.raises(PermissionDenied):
        cleaning.accept(world, [binh.id], principal=APPROVER)
    with pytest.raises(InvalidInput):
        cleaning.list_fixes(world, principal=operator(), status="done")
    assert cleaning.list_fixes(world, principal=operator(), agency=HA_TINH)[0].id == dung.id


def test_bulk_accept_reports_the_bad_id_and_accepts_the_others(world: Session) -> None:
    report = cleaning.propose(world, principal=operator())
    binh, dung = fix_of(world, BINH).id, fix_of(world, DUNG).id
    missing = max(report.fix_ids) + 1000
    outcomes = cleaning.accept(world, [binh, missing, dung, binh], principal=operator())
    assert [(o.fix_id, o.status) for o in outcomes] == [
        (binh, "accepted"),
        (missing, "not_found"),
        (dung, "accepted"),
    ]
    assert str(missing) in outcomes[1].message_vi
    (event,) = events(world, "quality:fix:accept")
    assert [o["status"] for o in event.data["outcomes"]] == ["accepted", "not_found", "accepted"]
    assert (
        people_service.get_by_personal_id(world, DUNG, principal=operator()).data["birth_name"]
        == "HOÀNG VĂN DŨNG"
    )
    with pytest.raises(InvalidInput):
        cleaning.accept(world, [], principal=operator())
