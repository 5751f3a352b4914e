"""The receiver rules of §5: one message in, one signed ack out, in the caller's transaction.

1. The envelope's signature and certificate are verified before the body is read.
2. ``created_at`` must be at most 10 minutes ahead and within the transport's window.
3. A message id seen before gets its stored ack again; nothing is applied twice.
4. A sequence other than the stream's next one is refused with ``sequence_gap`` and the
   expected sequence; the sender resends from there.
5. Items are checked one by one; a bad one never blocks the others.
6. Versions already stored: same hash → ``duplicate``, other hash → ``version_conflict``.
7. What a message changes, its inbox row and its ack are written in the caller's
   transaction; the caller commits (``unit_of_work``), so a crash before the commit stores
   nothing and the resend is accepted.

Messages refused before rule 3 (bad signature, wrong time, gap) are answered with a signed
``rejected`` ack but leave no trace in the store: a forger cannot burn a message id.
Acks carry their own sequence numbers (one counter per reverse stream), because they answer
messages and are never resent on their own (docs/exchange.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.db.base import utcnow
from hoso.exchange import envelope as env_mod
from hoso.exchange import handlers
from hoso.exchange.errors import ExchangeError
from hoso.exchange.models import ExchangeStream, InboxMessage
from hoso.exchange.node import Node


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of receiving one message: the signed ack and the HTTP status to answer."""

    ack: dict[str, Any]
    http_status: int
    replayed: bool = False

    @property
    def status(self) -> str:
        """``accepted`` | ``partially_accepted`` | ``rejected``."""
        return str(self.ack["body"]["status"])


def _ack(
    node: Node,
    *,
    to: str,
    ack_sequence: int,
    ack_of: str,
    status: str,
    expected_sequence: int,
    results: list[dict[str, Any]],
    error: ExchangeError | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ack_of": ack_of,
        "status": status,
        "expected_sequence": expected_sequence,
        "results": results,
    }
    if error is not None:
        body["error"] = error.as_dict()
    unsigned = env_mod.build(
        "ack", sender=node.node_id, receiver=to, sequence=ack_sequence, body=body
    )
    return env_mod.sign(unsigned, node.signer)


def _lock_stream(session: Session, sender: str, receiver: str) -> ExchangeStream:
    stream = session.execute(
        select(ExchangeStream)
        .where(ExchangeStream.sender == sender, ExchangeStream.receiver == receiver)
        .with_for_update()
    ).scalar_one_or_none()
    if stream is None:
        dialect = session.connection().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            session.execute(
                pg_insert(ExchangeStream)
                .values(sender=sender, receiver=receiver, next_sequence=1, next_ack_sequence=1)
                .on_conflict_do_nothing()
            )
        else:
            session.execute(
                insert(ExchangeStream).values(
                    sender=sender, receiver=receiver, next_sequence=1, next_ack_sequence=1
                )
            )
        stream = session.execute(
            select(ExchangeStream)
            .where(ExchangeStream.sender == sender, ExchangeStream.receiver == receiver)
            .with_for_update()
        ).scalar_one()
    return stream


def _peek(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, dict) else None


def receive(
    session: Session,
    raw: bytes | dict[str, Any],
    *,
    node: Node,
    transport: str = "http",
    now: dt.datetime | None = None,
) -> Receipt:
    """Apply one message under the §5 rules; return the signed ack. Never commits."""
    now = now or env_mod.utc_now()
    window = node.http_window if transport == "http" else node.file_window
    message: Any = raw
    if isinstance(raw, bytes | bytearray):
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            err = ExchangeError.of(
                "schema_invalid",
                detail_vi="không phải JSON hợp lệ",
                detail_en=f"not valid JSON ({exc})",
            )
            return _refusal(node, message=None, error=err)
    try:
        verified = env_mod.verify(message, trust=node.trust, now=now, window=window)
        if verified.receiver != node.node_id:
            raise ExchangeError.of(
                "schema_invalid",
                field="receiver",
                detail_vi=f"thông điệp gửi cho '{verified.receiver}', không phải '{node.node_id}'",
                detail_en=f"the message is for '{verified.receiver}', not '{node.node_id}'",
                value=verified.receiver,
            )
        if verified.type == "ack":
            raise ExchangeError.of(
                "schema_invalid",
                field="type",
                detail_vi="ack là câu trả lời, không gửi như một thông điệp",
                detail_en="an ack is an answer, not a message to send",
            )
        handler = handlers.for_type(verified.type, node)
    except ExchangeError as exc:
        return _refusal(node, message=message, error=exc)

    body_sha256 = verified.body_sha256
    stream = _lock_stream(session, verified.sender, verified.receiver)
    seen = session.get(InboxMessage, verified.id)
    if seen is not None:
        if seen.sender != verified.sender or seen.body_sha256 != body_sha256:
            err = ExchangeError.of(
                "replayed",
                field="id",
                detail_vi="id đã dùng cho một thông điệp khác",
                detail_en="the id was used for another message",
                value=verified.id,
            )
            return _refusal(node, message=message, error=err, expected=stream.next_sequence)
        return Receipt(ack=orjson.loads(seen.ack), http_status=200, replayed=True)
    if verified.sequence != stream.next_sequence:
        err = ExchangeError.of(
            "sequence_gap",
            field="sequence",
            detail_vi=f"cần số {stream.next_sequence}, nhận được {verified.sequence}",
            detail_en=f"expected {stream.next_sequence}, got {verified.sequence}",
            value=verified.sequence,
        )
        return _refusal(node, message=message, error=err, expected=stream.next_sequence)

    try:
        items = handlers.check_body(verified)
        results = handler(session, verified, items, node=node, now=now)
    except ExchangeError as exc:
        # A malformed body: the message is consumed (its sequence is used) and refused whole.
        results = [{"status": "rejected", "errors": [exc.as_dict()]}]
    statuses = {r["status"] for r in results}
    if statuses <= {"stored", "duplicate", "applied"}:
        status = "accepted"
    elif statuses & {"stored", "duplicate", "applied"}:
        status = "partially_accepted"
    else:
        status = "rejected"
    ack = _ack(
        node,
        to=verified.sender,
        ack_sequence=stream.next_ack_sequence,
        ack_of=verified.id,
        status=status,
        expected_sequence=verified.sequence + 1,
        results=results,
    )
    ack_text = orjson.dumps(ack).decode()
    session.execute(
        insert(InboxMessage).values(
            id=verified.id,
            sender=verified.sender,
            receiver=verified.receiver,
            sequence=verified.sequence,
            type=verified.type,
            created_at=verified.created_at,
            received_at=utcnow(),
            transport=transport,
            body_sha256=body_sha256,
            signature=verified.envelope["signature"],
            status=status,
            ack=ack_text,
        )
    )
    session.execute(
        update(ExchangeStream)
        .where(
            ExchangeStream.sender == verified.sender, ExchangeStream.receiver == verified.receiver
        )
        .values(
            next_sequence=verified.sequence + 1,
            next_ack_sequence=stream.next_ack_sequence + 1,
            updated_at=utcnow(),
        )
    )
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    audit_service.record(
        session,
        actor=verified.sender,
        action="exchange:message:receive",
        subject_type="message",
        subject_id=verified.id,
        data={
            "type": verified.type,
            "sequence": verified.sequence,
            "transport": transport,
            "status": status,
            "counts": counts,
        },
    )
    return Receipt(ack=ack, http_status=200)


def _refusal(
    node: Node,
    *,
    message: Any,
    error: ExchangeError,
    expected: int | None = None,
) -> Receipt:
    """A signed ``rejected`` ack for a message that is not applied (and not recorded)."""
    sender = _peek(message, "sender")
    mid = _peek(message, "id")
    seq = _peek(message, "sequence")
    to = sender if isinstance(sender, str) and env_mod.NODE_RE.match(sender) else node.node_id
    ack = _ack(
        node,
        to=to,
        # Refusals are not numbered in the ack stream: they are not stored, so they reuse 1.
        ack_sequence=1,
        ack_of=mid if isinstance(mid, str) and env_mod.UUID_RE.match(mid) else "",
        status="rejected",
        expected_sequence=expected
        if expected is not None
        else (seq if isinstance(seq, int) and seq > 0 else 1),
        results=[],
        error=error,
    )
    return Receipt(ack=ack, http_status=error.status)
