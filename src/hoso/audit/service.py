"""Append audit events to the hash chain, in the caller's transaction.

Each event's ``hash`` is SHA-256 over the previous hash and the JCS form of the event, so
that removing or editing any event breaks the chain (:func:`verify_chain`). The single
``audit_head`` row is locked while appending, which serialises writers on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent, AuditHead
from hoso.db.base import utcnow

GENESIS = "sha256:" + "0" * 64


def _event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii") + b"\n" + rfc8785.dumps(body)).hexdigest()
    return "sha256:" + digest


def _body(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "data": event.data,
    }


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event (``source:subject:action``) to the chain; flushes, never commits."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        id=head.last_id + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data or {},
        prev_hash=head.last_hash,
    )
    event.hash = _event_hash(head.last_hash, _body(event))
    session.add(event)
    head.last_id = event.id
    head.last_hash = event.hash
    session.flush()
    return event


def verify_chain(session: Session) -> tuple[bool, int | None]:
    """Walk the chain; return (ok, id of the first broken event or None)."""
    prev = GENESIS
    expected_id = 1
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        if (
            event.id != expected_id
            or event.prev_hash != prev
            or _event_hash(prev, _body(event)) != event.hash
        ):
            return False, event.id
        prev = event.hash
        expected_id += 1
    head = session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return False, None
    return True, None
