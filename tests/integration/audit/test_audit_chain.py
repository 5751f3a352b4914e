"""The audit trail is an append-only hash chain: editing or removing an event is detected."""

from __future__ import annotations

import itertools

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.audit.models import AuditEvent


def _events(n: int) -> list[audit_service.EventIn]:
    return [
        audit_service.EventIn(
            action="org:unit:create",
            subject_type="org_unit",
            subject_id=f"U{i}",
            data={"i": i, "tên": "Sở Nội vụ"},
        )
        for i in range(n)
    ]


def test_single_and_batched_events_form_one_chain(session: Session) -> None:
    audit_service.record(
        session, actor="a", action="user:user:create", subject_type="user", subject_id="x", data={}
    )
    ids = audit_service.record_many(session, _events(5), actor="b")
    audit_service.record(session, actor="a", action="auth:session:login", subject_type="user")
    assert ids == [2, 3, 4, 5, 6]
    assert audit_service.verify_chain(session) == (True, None)
    events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [e.id for e in events] == list(range(1, 8))
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(events))


def test_an_edited_event_breaks_the_chain(session: Session) -> None:
    audit_service.record_many(session, _events(4), actor="b")
    event = session.get(AuditEvent, 3)
    assert event is not None
    event.actor = "someone-else"
    session.flush()
    assert audit_service.verify_chain(session) == (False, 3)


def test_a_removed_event_breaks_the_chain(session: Session) -> None:
    audit_service.record_many(session, _events(4), actor="b")
    session.execute(delete(AuditEvent).where(AuditEvent.id == 2))
    session.flush()
    ok, broken = audit_service.verify_chain(session)
    assert not ok and broken == 3


def test_a_removed_last_event_is_detected_by_the_head(session: Session) -> None:
    audit_service.record_many(session, _events(3), actor="b")
    session.execute(delete(AuditEvent).where(AuditEvent.id == 3))
    session.flush()
    assert audit_service.verify_chain(session) == (False, None)
