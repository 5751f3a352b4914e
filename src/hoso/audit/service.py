"""Append audit events to the hash chain, in the caller's transaction.

Each event's ``hash`` is SHA-256 over the previous hash and the JCS form of the event, so
that removing or editing any event breaks the chain (:func:`verify_chain`). The single
``audit_head`` row is locked while appending, which serialises writers on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import rfc8785
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hoso.audit.models import AuditEvent, AuditHead
from hoso.db.base import utcnow

GENESIS = "sha256:" + "0" * 64
AUDIT_EVENT_TABLE = AuditEvent.metadata.tables["audit_event"]


_EXACT = 2**53


def _orjson_is_jcs(value: Any) -> bool:
    """True when orjson with sorted keys writes ``value`` exactly as RFC 8785 does: only
    strings, booleans, nulls, integers of at most 53 bits, lists, and objects with ASCII keys
    (no floats, whose JCS form orjson does not give; keys sort alike when ASCII)."""
    stack = [value]
    while stack:
        item = stack.pop()
        cls = item.__class__
        if cls is str or cls is bool or item is None:
            continue
        if cls is int:
            if -_EXACT < item < _EXACT:
                continue
            return False
        if cls is dict:
            for key, child in item.items():
                if key.__class__ is not str or not key.isascii():
                    return False
                stack.append(child)
        elif cls is list:
            stack.extend(item)
        else:
            return False
    return True


def canonical(body: Any) -> bytes:
    """RFC 8785 bytes of ``body``: orjson's for the plain values events hold (a thousand-item
    event of the exchange: 0.3 ms against 9 ms for the pure-Python ``rfc8785``), else
    ``rfc8785``'s."""
    if _orjson_is_jcs(body):
        try:
            return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # a lone surrogate: rfc8785 decides
            pass
    return bytes(rfc8785.dumps(body))


def _event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(body)).hexdigest()
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


@dataclass(frozen=True, slots=True)
class EventIn:
    """One event to append with :func:`record_many`."""

    action: str
    subject_type: str
    subject_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def record_many(session: Session, events: Sequence[EventIn], *, actor: str) -> list[int]:
    """Append many events at once: the head is locked once and the rows inserted together.

    Returns the ids of the new events. Flushes, never commits.
    """
    if not events:
        return []
    session.flush()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    now = utcnow()
    at_text = now.isoformat().replace("+00:00", "Z")
    prev = head.last_hash
    next_id = head.last_id
    rows: list[dict[str, Any]] = []
    for ev in events:
        next_id += 1
        body = {
            "id": next_id,
            "at": at_text,
            "actor": actor,
            "action": ev.action,
            "subject_type": ev.subject_type,
            "subject_id": ev.subject_id,
            "data": ev.data,
        }
        digest = _event_hash(prev, body)
        rows.append(
            {
                "id": next_id,
                "at": now,
                "actor": actor,
                "action": ev.action,
                "subject_type": ev.subject_type,
                "subject_id": ev.subject_id,
                "data": ev.data,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    session.execute(insert(AUDIT_EVENT_TABLE), rows)
    head.last_id = next_id
    head.last_hash = prev
    session.flush()
    return [r["id"] for r in rows]


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
