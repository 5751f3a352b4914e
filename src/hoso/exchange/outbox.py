"""The transactional outbox: what a node must send, written with the change that caused it.

``enqueue`` only adds a row in the caller's transaction; nothing leaves the node until that
transaction commits. :mod:`hoso.exchange.sender` later groups pending items into signed
messages and pushes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hoso.db.base import utcnow
from hoso.exchange.models import OutboxItem

KINDS = ("record", "retirement", "resolution", "correction", "orgunit")


def enqueue(
    session: Session,
    *,
    receiver: str,
    kind: str,
    personal_id: str | None = None,
    version: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Add one item for ``receiver`` (a node id) in the caller's transaction."""
    enqueue_many(session, receiver=receiver, kind=kind, items=[(personal_id, version, payload)])


def enqueue_many(
    session: Session,
    *,
    receiver: str,
    kind: str,
    items: Iterable[tuple[str | None, int | None, dict[str, Any] | None]],
) -> int:
    """Add many items of one kind (``(personal_id, version, payload)`` each); return the count."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    now = utcnow()
    rows = [
        {
            "receiver": receiver,
            "kind": kind,
            "personal_id": pid,
            "version": version,
            "payload": payload,
            "created_at": now,
        }
        for pid, version, payload in items
    ]
    if rows:
        session.execute(insert(OutboxItem), rows)
    return len(rows)
