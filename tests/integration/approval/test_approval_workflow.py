"""The approval workflow on a real database: steps, four eyes, signatures, outbox, audit."""

from __future__ import annotations

import base64
import re

import orjson
import pytest
from approval_world import (  # type: ignore[import-not-found]
    H40,
    H41,
    TITLE,
    World,
    current,
    dossier_line,
    pid_of,
    signed,
    store,
    to_verified,
)
from cryptography import x509
from jwcrypto import jwk
from jwcrypto import jws as jwcrypto_jws
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hoso.approval import service as approval_service
from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.db.engine import unit_of_work
from hoso.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hoso.exchange.certificates import check_approval
from hoso.exchange.models import OutboxItem
from hoso.people import service as people_service
from hoso.people.checking import prepare
from hoso.people.models import PersonVersion, VersionStatus
from hoso.people.schemas import PersonWrite
from hoso.people.validation import get_validator

PID = pid_of(1)


def outbox_rows(session: Session) -> list[tuple[str, str, str | None, int | None]]:
    return [
        (r.receiver, r.kind, r.personal_id, r.version)
        for r in session.execute(select(OutboxItem).order_by(OutboxItem.id)).scalars()
    ]


def status_of(session: Session, pid: str, version: int) -> str:
    person, _ = current(session, pid)
    found = session.get(PersonVersion, (person.id, version))
    assert found is not None
    return found.status


def actions(session: Session, pid: str) -> list[str]:
    return list(
        session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == pid).order_by(AuditEvent.id)
        ).scalars()
    )


def test_full_workflow_draft_to_queued(world: World) -> None:
    s = world.session
    store(world, [PID])
    person, pv = current(s, PID)
    assert (pv.status, person.status) == (VersionStatus.DRAFT, VersionStatus.DRAFT)

    state = approval_service.submit(s, personal_id=PID, principal=world.principals["hr41a"])
    assert state.status == VersionStatus.SUBMITTED and state.status_changed_by == "hr41a"
    assert current(s, PID)[0].status == VersionStatus.SUBMITTED

    # The submitter may not verify their own submission (four eyes).
    with pytest.raises(PermissionDenied) as info:
        approval_service.verify(
            s, personal_id=PID, principal=world.principals["hr41a"], settings=world.settings
        )
    assert info.value.code == "four_eyes"
    assert "không được tự thẩm định" in info.value.message_vi
    verified = approval_service.verify(
        s, personal_id=PID, principal=world.principals["hr41b"], settings=world.settings
    )
    assert verified.status == VersionStatus.VERIFIED

    queue = approval_service.list_pending(s, principal=world.principals["boss41"])
    assert [(i.personal_id, i.version, i.author, i.status) for i in queue.items] == [
        (PID, 1, "hr41a", VersionStatus.VERIFIED)
    ]
    assert queue.items[0].content_hash == pv.content_hash and queue.total == 1
    assert queue.items[0].managing_agency == H41 and queue.items[0].changed_by == "hr41b"

    report = approval_service.approve(
        s,
        items=[signed(world, PID)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    assert (report.approved, report.refused) == (1, 0)
    result = report.results[0]
    assert (result.outcome, result.status, result.approved_version) == (
        "approved",
        VersionStatus.QUEUED,
        1,
    )

    person, pv = current(s, PID)
    assert (pv.status, person.status, pv.approved_version) == (
        VersionStatus.QUEUED,
        VersionStatus.QUEUED,
        1,
    )
    assert pv.status_changed_by == "boss41" and pv.status_changed_at is not None
    approval = pv.approval
    assert approval is not None
    assert approval["approved_by"] == {
        "personal_id": "040180001234",
        "name": "Trần Thị Bình",
        "title": TITLE,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", approval["approved_at"])
    # The stored approval verifies as exchange §4 requires, with hoso's own checker ...
    verified_by = check_approval(approval, pv.content_hash, H41, trust=world.pki.trust())
    assert verified_by.alg == "ES256"
    # ... and the JWS is standard: jwcrypto verifies it over the ASCII content hash.
    header = orjson.loads(base64.urlsafe_b64decode(approval["signature"].split(".")[0] + "=="))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    token = jwcrypto_jws.JWS()
    token.deserialize(approval["signature"])
    token.verify(
        jwk.JWK.from_pyca(leaf.public_key()), detached_payload=pv.content_hash.encode("ascii")
    )
    tampered = jwcrypto_jws.JWS()
    tampered.deserialize(approval["signature"])
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        tampered.verify(
            jwk.JWK.from_pyca(leaf.public_key()), detached_payload=b"sha256:" + b"0" * 64
        )

    assert outbox_rows(s) == [(world.settings.national_node, "record", PID, 1)]
    assert actions(s, PID) == [
        "person:version:create",
        "person:version:submit",
        "person:version:verify",
        "person:version:approve",
    ]
    assert audit_service.verify_chain(s) == (True, None)
    # Nothing left in the approver's queue.
    assert approval_service.list_pending(s, principal=world.principals["boss41"]).total == 0


def test_approver_cannot_approve_own_version_unless_allowed(world: World) -> None:
    s = world.session
    store(world, [PID], as_user="chief")  # national_admin: may write and approve
    to_verified(world, PID)
    item = signed(world, PID, signer="chief")
    report = approval_service.approve(
        s,
        items=[item],
        principal=world.principals["chief"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    error = report.results[0].error
    assert report.refused == 1 and error is not None and error.code == "self_approval"
    assert "không được tự phê duyệt" in error.message_vi and "may not approve" in error.message_en
    assert current(s, PID)[1].status == VersionStatus.VERIFIED
    assert outbox_rows(s) == []

    allowed = approval_service.approve(
        s,
        items=[item],
        principal=world.principals["chief"],
        trust=world.pki.trust(),
        settings=world.with_settings(approval_allow_self=True),
    )
    assert allowed.approved == 1
    assert actions(s, PID)[-2:] == ["person:version:approve_refused", "person:version:approve"]


def test_self_verification_allowed_by_setting(world: World) -> None:
    store(world, [PID])
    approval_service.submit(world.session, personal_id=PID, principal=world.principals["hr41a"])
    state = approval_service.verify(
        world.session,
        personal_id=PID,
        principal=world.principals["hr41a"],
        settings=world.with_settings(approval_allow_self=True),
    )
    assert state.status == VersionStatus.VERIFIED


def test_stale_content_hash_is_a_conflict(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    other = "sha256:" + "ab" * 32
    report = approval_service.approve(
        world.session,
        items=[signed(world, PID, content_hash=other)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    error = report.results[0].error
    assert error is not None
    assert (error.code, error.status) == ("stale_content_hash", Conflict.status)
    assert other in error.message_vi and other in error.message_en
    assert current(world.session, PID)[1].approval is None


def test_signature_over_another_hash_is_invalid(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    report = approval_service.approve(
        world.session,
        items=[signed(world, PID, signed_hash="sha256:" + "cd" * 32)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    error = report.results[0].error
    assert error is not None and error.code == "approval_invalid"
    assert error.field == "approval.signature"


def test_node_certificate_never_approves(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    report = approval_service.approve(
        world.session,
        items=[signed(world, PID, signer="node41")],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    error = report.results[0].error
    assert error is not None and error.code == "approval_invalid"
    assert "chứng thư số cá nhân" in error.message_vi and "node certificate" in error.message_en
    assert current(world.session, PID)[1].status == VersionStatus.VERIFIED


def test_certificate_of_another_official_is_refused(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    # boss41 signs in, but the signature is made with deputy41's personal certificate.
    report = approval_service.approve(
        world.session,
        items=[signed(world, PID, signer="deputy41")],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    error = report.results[0].error
    assert error is not None and error.code == "approver_mismatch"
    assert "040180005678" in error.message_vi and "040180001234" in error.message_en
    # The deputy, signing with their own certificate, may.
    ok = approval_service.approve(
        world.session,
        items=[signed(world, PID, signer="deputy41")],
        principal=world.principals["deputy41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    assert ok.approved == 1
    assert current(world.session, PID)[1].approval["approved_by"]["personal_id"] == "040180005678"  # type: ignore[index]


def test_other_agencys_official_is_refused(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    trust = world.pki.trust()
    # Hà Tĩnh's approver cannot even see a Nghệ An dossier.
    outside = approval_service.approve(
        world.session,
        items=[signed(world, PID, signer="boss40")],
        principal=world.principals["boss40"],
        trust=trust,
        settings=world.settings,
    )
    assert outside.results[0].error is not None
    assert outside.results[0].error.code == NotFound.code
    # A certificate of the other province (same person) does not approve for Nghệ An.
    wrong_org = approval_service.approve(
        world.session,
        items=[signed(world, PID, signer="boss41_at_h40")],
        principal=world.principals["boss41"],
        trust=trust,
        settings=world.settings,
    )
    error = wrong_org.results[0].error
    assert error is not None and error.code == "approval_invalid" and H41 in error.message_vi
    assert current(world.session, PID)[1].status == VersionStatus.VERIFIED


def test_approver_needs_a_personal_id_and_the_permission(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    item = signed(world, PID)
    with pytest.raises(PermissionDenied) as info:
        approval_service.approve(
            world.session,
            items=[item],
            principal=world.principals["nopid41"],
            trust=world.pki.trust(),
            settings=world.settings,
        )
    assert info.value.code == "approver_without_personal_id"
    with pytest.raises(PermissionDenied):
        approval_service.approve(
            world.session,
            items=[item],
            principal=world.principals["hr41b"],
            trust=world.pki.trust(),
            settings=world.settings,
        )
    with pytest.raises(PermissionDenied):
        approval_service.submit(
            world.session, personal_id=PID, principal=world.principals["boss41"]
        )


def test_steps_respect_status_scope_and_current_version(world: World) -> None:
    s = world.session
    store(world, [PID])
    with pytest.raises(Conflict) as info:
        approval_service.verify(
            s, personal_id=PID, principal=world.principals["hr41b"], settings=world.settings
        )
    assert info.value.code == "status_invalid" and "bản nháp" in info.value.message_vi
    with pytest.raises(NotFound):
        approval_service.submit(s, personal_id=PID, principal=world.principals["hr40"])
    store(world, [PID], salary_step=5)  # version 2
    with pytest.raises(Conflict) as stale:
        approval_service.submit(s, personal_id=PID, version=1, principal=world.principals["hr41a"])
    assert stale.value.code == "not_current_version"
    with pytest.raises(NotFound):
        approval_service.submit(s, personal_id=PID, version=9, principal=world.principals["hr41a"])
    assert (
        approval_service.submit(s, personal_id=PID, principal=world.principals["hr41a"]).version
        == 2
    )


def test_return_to_draft_needs_a_reason(world: World) -> None:
    s = world.session
    store(world, [PID])
    to_verified(world, PID)
    with pytest.raises(InvalidInput):
        approval_service.return_to_draft(
            s, personal_id=PID, reason="  ", principal=world.principals["boss41"]
        )
    # The approver who will not sign returns it; the HR office may too.
    state = approval_service.return_to_draft(
        s, personal_id=PID, reason="Thiếu quá trình đào tạo", principal=world.principals["boss41"]
    )
    assert state.status == VersionStatus.DRAFT and current(s, PID)[0].status == VersionStatus.DRAFT
    event = s.execute(
        select(AuditEvent).where(AuditEvent.action == "person:version:return")
    ).scalar_one()
    assert event.data["reason"] == "Thiếu quá trình đào tạo" and event.actor == "boss41"
    with pytest.raises(Conflict):
        approval_service.return_to_draft(
            s, personal_id=PID, reason="x", principal=world.principals["hr41a"]
        )


def test_verify_rechecks_the_stored_document(world: World) -> None:
    s = world.session
    store(world, [PID])
    approval_service.submit(s, personal_id=PID, principal=world.principals["hr41a"])
    person, pv = current(s, PID)
    original = dict(pv.data)
    broken = dict(original)
    broken["so_thich"] = "đọc sách"  # not a catalogue field
    s.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id == person.id, PersonVersion.version == pv.version)
        .values(data=broken)
    )
    with pytest.raises(InvalidInput) as info:
        approval_service.verify(
            s, personal_id=PID, principal=world.principals["hr41b"], settings=world.settings
        )
    codes = {i.code for i in info.value.issues}
    fields = {i.field for i in info.value.issues}
    assert "unknown_field" in codes and "so_thich" in fields
    assert "lỗi cấu trúc" in info.value.message_vi
    # Data changed behind the hash is caught too.
    changed = dict(original, salary_step=9)
    s.execute(
        update(PersonVersion)
        .where(PersonVersion.person_id == person.id, PersonVersion.version == pv.version)
        .values(data=changed)
    )
    with pytest.raises(InvalidInput) as mismatch:
        approval_service.verify(
            s, personal_id=PID, principal=world.principals["hr41b"], settings=world.settings
        )
    assert [i.code for i in mismatch.value.issues] == ["content_hash_mismatch"]
    assert current(s, PID)[1].status == VersionStatus.SUBMITTED


def test_editing_makes_a_new_draft_and_supersedes_open_versions(world: World) -> None:
    s = world.session
    store(world, [PID])
    to_verified(world, PID)
    approval_service.approve(
        s,
        items=[signed(world, PID)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    # Edit the approved version: a new draft; the approved one keeps its approval.
    people_service.update(
        s,
        PID,
        PersonWrite.model_validate(dossier_line(PID, salary_step=5)),
        principal=world.principals["hr41a"],
    )
    person, v2 = current(s, PID)
    assert (v2.version, v2.status, person.status) == (2, VersionStatus.DRAFT, VersionStatus.DRAFT)
    v1 = s.get(PersonVersion, (person.id, 1))
    assert v1 is not None and v1.status == VersionStatus.QUEUED and v1.approval is not None
    approval_service.submit(s, personal_id=PID, principal=world.principals["hr41a"])
    # Edit again while v2 waits: v2 is superseded, v3 is the new draft.
    people_service.update(
        s,
        PID,
        PersonWrite.model_validate(dossier_line(PID, salary_step=6)),
        principal=world.principals["hr41b"],
    )
    s.expire_all()
    v2 = s.get(PersonVersion, (person.id, 2))
    assert v2 is not None and v2.status == VersionStatus.SUPERSEDED
    assert v2.status_changed_by == "hr41b" and v2.status_changed_at is not None
    v1 = s.get(PersonVersion, (person.id, 1))
    assert v1 is not None and v1.status == VersionStatus.QUEUED
    created = s.execute(
        select(AuditEvent)
        .where(AuditEvent.action == "person:version:create", AuditEvent.subject_id == PID)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one()
    assert created.data == {"version": 3, "source": "api", "superseded": [2]}
    # A new approval gives the next exchange version number.
    to_verified(world, PID)
    report = approval_service.approve(
        s,
        items=[signed(world, PID)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    assert report.results[0].approved_version == 2
    assert outbox_rows(s)[-1] == (world.settings.national_node, "record", PID, 3)
    assert audit_service.verify_chain(s) == (True, None)


def test_bulk_import_supersedes_in_its_batch_event(world: World) -> None:
    s = world.session
    pids = [pid_of(i) for i in range(1, 4)]
    store(world, pids)
    approval_service.submit(s, personal_id=pids[0], principal=world.principals["hr41a"])
    # One batch gives pids[1] two new versions and pids[0] one.
    validator = get_validator()
    items = []
    for pid, step in ((pids[0], 6), (pids[1], 6), (pids[1], 7)):
        checked = validator.check_line(dossier_line(pid, salary_step=step))
        digest = prepare(checked)
        assert digest is not None
        items.append((checked, digest))
    people_service.store_batch(
        s,
        items,
        principal=world.principals["hr41a"],
        source="import",
        audit_subject=("import_run", "7"),
    )
    event = s.execute(
        select(AuditEvent).where(AuditEvent.action == "person:version:import")
    ).scalar_one()
    assert sorted(map(tuple, event.data["superseded"])) == [
        (pids[0], 1),
        (pids[1], 1),
        (pids[1], 2),
    ]
    statuses = {
        (pid, v): status_of(s, pid, v)
        for pid, v in ((pids[0], 1), (pids[0], 2), (pids[1], 2), (pids[1], 3), (pids[2], 1))
    }
    assert statuses == {
        (pids[0], 1): VersionStatus.SUPERSEDED,
        (pids[0], 2): VersionStatus.DRAFT,
        (pids[1], 2): VersionStatus.SUPERSEDED,
        (pids[1], 3): VersionStatus.DRAFT,
        (pids[2], 1): VersionStatus.DRAFT,
    }


def test_outbox_rows_commit_and_roll_back_with_the_approval(world: World) -> None:
    s = world.session
    pids = [pid_of(1), pid_of(2)]
    store(world, pids)
    for pid in pids:
        to_verified(world, pid)
    items = [signed(world, pid) for pid in pids]

    class Boom(Exception):
        pass

    with pytest.raises(Boom), unit_of_work() as uow:
        report = approval_service.approve(
            uow,
            items=items[:1],
            principal=world.principals["boss41"],
            trust=world.pki.trust(),
            settings=world.settings,
        )
        assert report.approved == 1
        assert uow.execute(select(func.count()).select_from(OutboxItem)).scalar_one() == 1
        raise Boom
    s.expire_all()
    assert outbox_rows(s) == []
    assert current(s, pids[0])[1].status == VersionStatus.VERIFIED
    with unit_of_work() as uow:
        approval_service.approve(
            uow,
            items=items,
            principal=world.principals["boss41"],
            trust=world.pki.trust(),
            settings=world.settings,
        )
    assert sorted(r[2] for r in outbox_rows(s)) == pids
    assert audit_service.verify_chain(s) == (True, None)


def test_national_node_approves_without_queueing(world: World) -> None:
    store(world, [PID])
    to_verified(world, PID)
    report = approval_service.approve(
        world.session,
        items=[signed(world, PID)],
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.with_settings(node_role="national"),
    )
    assert report.results[0].status == VersionStatus.APPROVED
    assert current(world.session, PID)[0].status == VersionStatus.APPROVED
    assert outbox_rows(world.session) == []


def test_pending_filters_by_status_and_agency(world: World) -> None:
    s = world.session
    store(world, [pid_of(1), pid_of(2)])
    store(world, ["042085000001"], as_user="hr40", agency=H40)
    approval_service.submit(s, personal_id=pid_of(1), principal=world.principals["hr41a"])
    chief = world.principals["chief"]
    drafts = approval_service.list_pending(s, principal=chief, status=VersionStatus.DRAFT)
    assert [i.personal_id for i in drafts.items] == [pid_of(2), "042085000001"]
    only_h40 = approval_service.list_pending(
        s, principal=chief, status=VersionStatus.DRAFT, agency=H40
    )
    assert [i.personal_id for i in only_h40.items] == ["042085000001"]
    scoped = approval_service.list_pending(
        s, principal=world.principals["boss40"], status=VersionStatus.DRAFT
    )
    assert [i.personal_id for i in scoped.items] == ["042085000001"]
    submitted = approval_service.list_pending(s, principal=chief, status=VersionStatus.SUBMITTED)
    assert [i.personal_id for i in submitted.items] == [pid_of(1)]
    with pytest.raises(InvalidInput):
        approval_service.list_pending(s, principal=chief, status="PENDING")
