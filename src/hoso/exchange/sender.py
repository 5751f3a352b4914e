"""The sending side: outbox items → numbered messages → pushed, acked, applied.

``build_messages`` groups pending outbox items of one receiver into messages of at most
1,000 items, each with the stream's next sequence number, in one transaction per message
(the items are marked with the message id in the same transaction, so a crash never sends
an item twice under two numbers). ``send_next`` signs the oldest unacked message afresh
(a resend after an outage is not ``too_old``; the receiver recognises it by id and body),
posts it and applies the signed ack: each record version becomes ``SYNCED`` or
``REJECTED``. A ``sequence_gap`` ack makes the sender resend from the expected number.
Connection errors and 5xx answers are retried with exponential backoff and jitter.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.db.base import utcnow
from hoso.exchange import envelope as env_mod
from hoso.exchange import jws
from hoso.exchange.certificates import agency_codes, parse_time
from hoso.exchange.errors import ExchangeError
from hoso.exchange.messages import check_ack
from hoso.exchange.models import ExchangeStream, OutboxItem, OutboxMessage
from hoso.exchange.node import Node
from hoso.people.models import PERSON_VERSION_TABLE, Person, PersonVersion, VersionStatus

log = logging.getLogger(__name__)

TYPE_OF_KIND = {
    "record": "records.upsert",
    "retirement": "records.retire",
    "resolution": "corrections.resolve",
    "correction": "corrections.propose",
    "orgunit": "orgtree.upsert",
}
BODY_KEY = {
    "records.upsert": "records",
    "records.retire": "retirements",
    "corrections.resolve": "resolutions",
    "corrections.propose": "corrections",
    "orgtree.upsert": "units",
}
MAX_ITEMS = 1000
BACKOFF_BASE = 0.5
BACKOFF_CAP = 300.0
BUILD_AHEAD = 3

SessionFactory = Callable[[], AbstractContextManager[Session]]


def _next_sequence(session: Session, sender: str, receiver: str) -> int:
    stream = session.execute(
        select(ExchangeStream)
        .where(ExchangeStream.sender == sender, ExchangeStream.receiver == receiver)
        .with_for_update()
    ).scalar_one_or_none()
    if stream is None:
        stream = ExchangeStream(
            sender=sender, receiver=receiver, next_sequence=1, next_ack_sequence=1
        )
        session.add(stream)
        session.flush()
    seq = stream.next_sequence
    stream.next_sequence = seq + 1
    stream.updated_at = utcnow()
    return seq


def _record_bodies(session: Session, items: list[OutboxItem]) -> list[dict[str, Any]]:
    """RecordVersion objects for ``record`` items, read from ``person_version``."""
    pids = list({i.personal_id for i in items if i.personal_id})
    ids = dict(
        session.execute(
            select(Person.personal_id, Person.id).where(Person.personal_id.in_(pids))
        ).all()
    )
    wanted = {(ids[i.personal_id], i.version) for i in items if i.personal_id in ids}
    person_ids = list({p for p, _ in wanted})
    rows = session.execute(
        select(
            PersonVersion.person_id,
            PersonVersion.version,
            PersonVersion.approved_version,
            PersonVersion.managing_agency_code,
            PersonVersion.employing_unit_code,
            PersonVersion.content_hash,
            PersonVersion.approval,
        ).where(
            PersonVersion.person_id.in_(person_ids), PersonVersion.approved_version.is_not(None)
        )
    ).all()
    by_approved = {(r.person_id, r.approved_version): r for r in rows}
    meta = {(r.person_id, r.version): r for r in rows}
    data = dict(
        ((pid, v), d)
        for pid, v, d in session.execute(
            select(PersonVersion.person_id, PersonVersion.version, PersonVersion.data).where(
                PersonVersion.person_id.in_(person_ids)
            )
        ).all()
        if (pid, v) in wanted
    )
    out: list[dict[str, Any]] = []
    for item in items:
        key = (ids.get(item.personal_id or ""), item.version)
        row = meta.get(key)
        if row is None:
            raise RuntimeError(f"outbox item {item.id} points at no approved version")
        record: dict[str, Any] = {
            "personal_id": item.personal_id,
            "managing_agency": row.managing_agency_code,
            "version": row.approved_version,
            "content_hash": row.content_hash,
            "data": data[key],
            "approval": row.approval,
        }
        if row.employing_unit_code:
            record["employing_unit"] = row.employing_unit_code
        previous = by_approved.get((row.person_id, row.approved_version - 1))
        if previous is not None:
            record["previous_content_hash"] = previous.content_hash
        out.append(record)
    return out


def build_messages(session: Session, *, node: Node, receiver: str, limit: int = 100) -> int:
    """Turn pending outbox items for ``receiver`` into at most ``limit`` messages."""
    made = 0
    while made < limit:
        first = session.execute(
            select(OutboxItem)
            .where(OutboxItem.receiver == receiver, OutboxItem.message_id.is_(None))
            .order_by(OutboxItem.id)
            .limit(1)
        ).scalar_one_or_none()
        if first is None:
            break
        items = list(
            session.execute(
                select(OutboxItem)
                .where(
                    OutboxItem.receiver == receiver,
                    OutboxItem.message_id.is_(None),
                    OutboxItem.kind == first.kind,
                )
                .order_by(OutboxItem.id)
                .limit(min(MAX_ITEMS, node.message_size))
            ).scalars()
        )
        # Keep the outbox order: stop at the first item of another kind.
        other = session.execute(
            select(func.min(OutboxItem.id)).where(
                OutboxItem.receiver == receiver,
                OutboxItem.message_id.is_(None),
                OutboxItem.kind != first.kind,
            )
        ).scalar()
        if other is not None:
            items = [i for i in items if i.id < other]
        type_ = TYPE_OF_KIND[first.kind]
        if first.kind == "record":
            body_items = _record_bodies(session, items)
        else:
            body_items = [i.payload or {} for i in items]
        message_id = env_mod.new_id()
        sequence = _next_sequence(session, node.node_id, receiver)
        session.add(
            OutboxMessage(
                id=message_id,
                sender=node.node_id,
                receiver=receiver,
                sequence=sequence,
                type=type_,
                body=orjson.dumps({BODY_KEY[type_]: body_items}).decode(),
                item_count=len(items),
                status="pending",
                attempts=0,
                created_at=utcnow(),
            )
        )
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_([i.id for i in items]))
            .values(message_id=message_id)
        )
        audit_service.record(
            session,
            actor=node.node_id,
            action="exchange:message:build",
            subject_type="message",
            subject_id=message_id,
            data={"type": type_, "receiver": receiver, "sequence": sequence, "items": len(items)},
        )
        session.flush()
        made += 1
    return made


def signed_envelope(
    message: OutboxMessage, *, node: Node, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The message as a freshly signed envelope."""
    unsigned = env_mod.build(
        message.type,
        sender=message.sender,
        receiver=message.receiver,
        sequence=message.sequence,
        body=orjson.loads(message.body),
        created_at=now,
        id_=message.id,
    )
    return env_mod.sign(unsigned, node.signer)


def verify_ack(ack: Any, message: OutboxMessage, *, node: Node) -> dict[str, Any]:
    """Check a received ack: signed by the receiver node, about this message. Returns its body."""
    env_mod.check_shape(ack)
    if ack["type"] != "ack":
        raise ExchangeError.of(
            "schema_invalid", field="type", detail_vi="không phải ack", detail_en="not an ack"
        )
    unsigned = {k: v for k, v in ack.items() if k != "signature"}
    at = parse_time(ack["created_at"])
    assert at is not None
    verified = jws.verify_detached(
        ack["signature"], env_mod.canonical(unsigned), trust=node.trust, at=at
    )
    if ack["sender"] != message.receiver or env_mod.node_agency(
        message.receiver
    ) not in agency_codes(verified.leaf):
        raise ExchangeError.of(
            "sender_mismatch",
            field="sender",
            detail_vi="ack không do hệ thống nhận ký",
            detail_en="the ack is not signed by the receiving node",
        )
    body: dict[str, Any] = ack["body"]
    check_ack(body)
    if body["ack_of"] not in (message.id, ""):
        raise ExchangeError.of(
            "schema_invalid",
            field="body.ack_of",
            detail_vi="ack của thông điệp khác",
            detail_en="the ack is for another message",
        )
    return body


@dataclass(slots=True)
class AckOutcome:
    """What applying an ack did."""

    status: str
    stored: int = 0
    rejected: int = 0
    resend_from: int | None = None
    error: dict[str, Any] | None = None


def apply_ack(
    session: Session, message: OutboxMessage, ack: dict[str, Any], *, node: Node
) -> AckOutcome:
    """Apply a verified ack to the outbox and to the versions it answers."""
    body = ack["body"]
    error = body.get("error")
    if body["status"] == "rejected" and error is not None:
        outcome = AckOutcome(status="rejected", error=error)
        if error.get("code") == "sequence_gap":
            expected = int(body["expected_sequence"])
            outcome.resend_from = expected
            if expected < message.sequence:
                # The receiver is behind (e.g. restored from a backup): resend from there.
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.sender == message.sender,
                        OutboxMessage.receiver == message.receiver,
                        OutboxMessage.sequence >= expected,
                    )
                    .values(status="pending", next_attempt_at=None)
                )
        message.last_error = orjson.dumps(error).decode()
        return outcome
    results = body["results"]
    message.status = "acked"
    message.acked_at = utcnow()
    message.ack_status = body["status"]
    message.ack = orjson.dumps(ack).decode()
    message.last_error = None
    outcome = AckOutcome(status=body["status"])
    if message.type == "records.upsert":
        outcome.stored, outcome.rejected = _apply_record_results(session, message, results)
    audit_service.record(
        session,
        actor=node.node_id,
        action="exchange:message:ack",
        subject_type="message",
        subject_id=message.id,
        data={"status": body["status"], "stored": outcome.stored, "rejected": outcome.rejected},
    )
    return outcome


def _apply_record_results(
    session: Session, message: OutboxMessage, results: list[Any]
) -> tuple[int, int]:
    records = orjson.loads(message.body)["records"]
    by_key = {(r.get("personal_id"), r.get("version")): r for r in results if isinstance(r, dict)}
    pids = list({r["personal_id"] for r in records})
    ids = dict(
        session.execute(
            select(Person.personal_id, Person.id).where(Person.personal_id.in_(pids))
        ).all()
    )
    synced: list[tuple[int, int]] = []
    rejected: list[tuple[int, int, list[Any]]] = []
    for rec in records:
        res = by_key.get((rec["personal_id"], rec["version"]))
        person_id = ids.get(rec["personal_id"])
        if person_id is None:
            continue
        if res is not None and res.get("status") in ("stored", "duplicate"):
            synced.append((person_id, rec["version"]))
        else:
            rejected.append((person_id, rec["version"], (res or {}).get("errors", [])))
    now = utcnow()
    table = PERSON_VERSION_TABLE
    stmt = (
        table.update()
        .where(
            table.c.person_id == bindparam("b_person"),
            table.c.approved_version == bindparam("b_version"),
        )
        .values(
            status=bindparam("b_status"),
            status_changed_at=bindparam("b_at"),
            status_changed_by=bindparam("b_by"),
            sync_errors=bindparam("b_errors"),
        )
    )
    params = [
        {
            "b_person": p,
            "b_version": v,
            "b_status": VersionStatus.SYNCED,
            "b_at": now,
            "b_by": message.receiver,
            "b_errors": None,
        }
        for p, v in synced
    ] + [
        {
            "b_person": p,
            "b_version": v,
            "b_status": VersionStatus.REJECTED,
            "b_at": now,
            "b_by": message.receiver,
            "b_errors": errors,
        }
        for p, v, errors in rejected
    ]
    if params:
        session.execute(stmt, params)
    touched = list({p for p, _ in synced} | {p for p, _, _ in rejected})
    if touched:
        # The dossier's status follows its current version.
        current = (
            select(PersonVersion.status)
            .where(
                PersonVersion.person_id == Person.id,
                PersonVersion.version == Person.current_version,
            )
            .scalar_subquery()
        )
        session.execute(update(Person).where(Person.id.in_(touched)).values(status=current))
    return len(synced), len(rejected)


# --------------------------------------------------------------------------- transports


class Transport:
    """Posts a signed envelope and returns the receiver's signed ack (raises on transport errors)."""

    def post(
        self, url: str, envelope: dict[str, Any]
    ) -> dict[str, Any]:  # pragma: no cover - protocol
        """Send and return the ack."""
        raise NotImplementedError


class TransportError(Exception):
    """The message may not have arrived: retry later."""


@dataclass
class HttpTransport(Transport):
    """``POST {url}/exchange/v1/messages`` (§6)."""

    timeout: float = 30.0
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, url: str, envelope: dict[str, Any]) -> dict[str, Any]:
        """See :class:`Transport`."""
        try:
            response = self.client.post(
                url.rstrip("/") + "/exchange/v1/messages",
                content=orjson.dumps(envelope),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise TransportError(f"HTTP {response.status_code}")
        try:
            ack: dict[str, Any] = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise TransportError(f"HTTP {response.status_code}: not JSON") from exc
        return ack


def backoff(attempts: int, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait before attempt ``attempts + 1``: exponential, capped, with jitter."""
    return float(min(cap, BACKOFF_BASE * 2 ** min(attempts, 20)) * random.uniform(0.5, 1.0))


def next_pending(session: Session, *, sender: str, receiver: str) -> OutboxMessage | None:
    """The oldest unacked message of a stream."""
    return session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.sender == sender,
            OutboxMessage.receiver == receiver,
            OutboxMessage.status == "pending",
        )
        .order_by(OutboxMessage.sequence)
        .limit(1)
    ).scalar_one_or_none()


def receivers_with_work(session: Session, *, sender: str) -> list[str]:
    """Receivers that have pending items or unacked messages."""
    a = session.execute(
        select(OutboxItem.receiver).where(OutboxItem.message_id.is_(None)).distinct()
    ).scalars()
    b = session.execute(
        select(OutboxMessage.receiver)
        .where(OutboxMessage.sender == sender, OutboxMessage.status == "pending")
        .distinct()
    ).scalars()
    return sorted(set(a) | set(b))


@dataclass(slots=True)
class SendStats:
    """What a sender run did."""

    sent: int = 0
    acked: int = 0
    records_synced: int = 0
    records_rejected: int = 0
    retries: int = 0
    gaps: int = 0
    last_error: str | None = None


def send_once(
    sessions: SessionFactory,
    *,
    node: Node,
    receiver: str,
    transport: Transport,
    now: Callable[[], dt.datetime] = env_mod.utc_now,
) -> tuple[bool, SendStats]:
    """Build pending messages and send the oldest unacked one. Returns (did work, stats)."""
    stats = SendStats()
    url = node.url_of(receiver)
    if url is None:
        stats.last_error = f"no URL for {receiver}"
        return False, stats
    with sessions() as session:
        # Build ahead a little, not the whole outbox, while earlier messages wait for acks.
        waiting = session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.sender == node.node_id,
                OutboxMessage.receiver == receiver,
                OutboxMessage.status == "pending",
            )
        ).scalar_one()
        if waiting < BUILD_AHEAD:
            build_messages(session, node=node, receiver=receiver, limit=1)
    with sessions() as session:
        message = next_pending(session, sender=node.node_id, receiver=receiver)
        if message is None:
            return False, stats
        if message.next_attempt_at is not None and message.next_attempt_at > now():
            return False, stats
        envelope = signed_envelope(message, node=node, now=now())
        message_id = message.id
    stats.sent += 1
    try:
        ack = transport.post(url, envelope)
    except TransportError as exc:
        with sessions() as session:
            msg = session.get(OutboxMessage, message_id)
            assert msg is not None
            msg.attempts += 1
            msg.last_error = str(exc)
            msg.next_attempt_at = now() + dt.timedelta(
                seconds=backoff(msg.attempts, node.backoff_cap)
            )
        stats.retries += 1
        stats.last_error = str(exc)
        return False, stats
    with sessions() as session:
        msg = session.get(OutboxMessage, message_id)
        assert msg is not None
        if msg.status != "pending":
            return True, stats
        try:
            verify_ack(ack, msg, node=node)
        except ExchangeError as exc:
            msg.attempts += 1
            msg.last_error = f"{exc.code}: {exc.message_en}"
            msg.next_attempt_at = now() + dt.timedelta(
                seconds=backoff(msg.attempts, node.backoff_cap)
            )
            stats.last_error = msg.last_error
            return False, stats
        outcome = apply_ack(session, msg, ack, node=node)
        if outcome.error is not None:
            msg.attempts += 1
            if outcome.resend_from is not None:
                stats.gaps += 1
                if outcome.resend_from > msg.sequence:
                    stats.last_error = "receiver ahead of sender"
                    msg.next_attempt_at = now() + dt.timedelta(
                        seconds=backoff(msg.attempts, node.backoff_cap)
                    )
                    return False, stats
                msg.next_attempt_at = None
                return True, stats
            msg.next_attempt_at = now() + dt.timedelta(
                seconds=backoff(msg.attempts, node.backoff_cap)
            )
            stats.last_error = str(outcome.error.get("code"))
            return False, stats
        stats.acked += 1
        stats.records_synced += outcome.stored
        stats.records_rejected += outcome.rejected
    return True, stats


def run(
    sessions: SessionFactory,
    *,
    node: Node,
    transport: Transport,
    stop: threading.Event,
    idle: float = 1.0,
    until_idle: bool = False,
) -> SendStats:
    """Send until ``stop`` is set (or, with ``until_idle``, until nothing is left to do)."""
    total = SendStats()
    while not stop.is_set():
        worked = False
        try:
            with sessions() as session:
                receivers = receivers_with_work(session, sender=node.node_id)
            for receiver in receivers:
                did, stats = send_once(sessions, node=node, receiver=receiver, transport=transport)
                worked = worked or did
                for f in ("sent", "acked", "records_synced", "records_rejected", "retries", "gaps"):
                    setattr(total, f, getattr(total, f) + getattr(stats, f))
                total.last_error = stats.last_error or total.last_error
        except Exception as exc:  # the worker must outlive a database hiccup
            log.exception("sender_loop_failed")
            total.last_error = f"{type(exc).__name__}: {exc}"
            if until_idle:
                raise
            stop.wait(idle * 5)
            continue
        if until_idle and not receivers:
            break
        if not worked:
            if until_idle and not _ready_soon(sessions, node):
                break
            stop.wait(idle)
    return total


def _ready_soon(sessions: SessionFactory, node: Node, horizon: float = 3600.0) -> bool:
    """True when some pending message will be tried within ``horizon`` seconds."""
    with sessions() as session:
        earliest = session.execute(
            select(
                func.min(func.coalesce(OutboxMessage.next_attempt_at, OutboxMessage.created_at))
            ).where(OutboxMessage.sender == node.node_id, OutboxMessage.status == "pending")
        ).scalar()
    if earliest is None:
        return True
    return bool(earliest <= env_mod.utc_now() + dt.timedelta(seconds=horizon))


def iter_pending_envelopes(
    session: Session, *, node: Node, receiver: str
) -> Iterator[dict[str, Any]]:
    """Every unacked message for ``receiver`` (after building pending items), signed now."""
    build_messages(session, node=node, receiver=receiver, limit=1_000_000)
    for message in session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.sender == node.node_id,
            OutboxMessage.receiver == receiver,
            OutboxMessage.status == "pending",
        )
        .order_by(OutboxMessage.sequence)
    ).scalars():
        yield signed_envelope(message, node=node)
