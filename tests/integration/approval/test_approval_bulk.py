"""Bulk approval: many versions, each with its own signature; bad items do not block others."""

from __future__ import annotations

from approval_world import (  # type: ignore[import-not-found]
    World,
    force_verified,
    pid_of,
    signed,
    store,
)
from sqlalchemy import func, select

from hoso.approval import service as approval_service
from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent
from hoso.exchange.models import OutboxItem
from hoso.people.models import Person, PersonVersion, VersionStatus

N = 500


def test_bulk_approval_with_a_few_bad_items(world: World) -> None:
    s = world.session
    pids = [pid_of(i) for i in range(N)]
    store(world, pids)
    force_verified(s, [p for i, p in enumerate(pids) if i != 20])  # pids[20] stays a draft
    items = [signed(world, pid) for pid in pids]
    items[10] = signed(world, pids[10], content_hash="sha256:" + "ef" * 32)  # stale hash
    items[30] = signed(world, pids[30], signer="node41")  # a node never approves
    items[40] = signed(world, pids[40], signed_hash="sha256:" + "01" * 32)  # signed another hash
    items[60] = items[60].model_copy(update={"version": 2})  # no such version
    items.append(signed(world, pids[50]))  # the same version twice
    items.append(items[0].model_copy(update={"personal_id": "040085099999"}))  # unknown person
    events_before = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    report = approval_service.approve(
        s,
        items=items,
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )

    refused = {
        (r.personal_id, r.error.code)
        for r in report.results
        if r.outcome == "refused" and r.error is not None
    }
    assert refused == {
        (pids[10], "stale_content_hash"),
        (pids[20], "status_invalid"),
        (pids[30], "approval_invalid"),
        (pids[40], "approval_invalid"),
        (pids[60], "not_found"),
        (pids[50], "duplicate_item"),
        ("040085099999", "not_found"),
    }
    assert (report.approved, report.refused) == (N - 5, 7)
    assert [r.personal_id for r in report.results] == [i.personal_id for i in items]
    assert report.results[50].outcome == "approved"  # the first occurrence counts
    statuses = dict(
        s.execute(
            select(PersonVersion.status, func.count())
            .join(Person, Person.id == PersonVersion.person_id)
            .group_by(PersonVersion.status)
        ).all()
    )
    assert statuses == {
        VersionStatus.QUEUED: N - 5,
        VersionStatus.VERIFIED: 4,
        VersionStatus.DRAFT: 1,
    }
    person_statuses = dict(
        s.execute(select(Person.status, func.count()).group_by(Person.status)).all()
    )
    assert person_statuses == statuses
    assert (
        s.execute(
            select(func.count())
            .select_from(PersonVersion)
            .where(PersonVersion.approved_version == 1)
        ).scalar_one()
        == N - 5
    )
    queued = set(s.execute(select(OutboxItem.personal_id)).scalars())
    assert len(queued) == N - 5 and pids[10] not in queued and pids[0] in queued
    events = s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert events - events_before == len(items)
    assert audit_service.verify_chain(s) == (True, None)


def test_approve_with_signer_signs_each_hash(world: World) -> None:
    s = world.session
    pids = [pid_of(i) for i in range(20)]
    store(world, pids)
    force_verified(s, pids)
    queue = approval_service.list_pending(s, principal=world.principals["boss41"], limit=None)
    assert queue.total == 20 and queue.limit is None
    report = approval_service.approve_with_signer(
        s,
        refs=queue.items,
        signer=world.signers["boss41"],
        title="Giám đốc Sở Nội vụ",
        principal=world.principals["boss41"],
        trust=world.pki.trust(),
        settings=world.settings,
    )
    assert report.approved == 20
    approvals = [a for a in s.execute(select(PersonVersion.approval)).scalars() if a]
    assert len(approvals) == 20
    assert {a["approved_by"]["title"] for a in approvals} == {"Giám đốc Sở Nội vụ"}
    distinct = {a["signature"] for a in s.execute(select(PersonVersion.approval)).scalars() if a}
    assert len(distinct) == 20  # one signature per version, over its own hash
