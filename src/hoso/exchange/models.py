"""ORM models of the exchange: streams, the outbox, the inbox, the national store, corrections.

An agency node writes an ``outbox_item`` in the same transaction as the approval that
produced it; the sender worker groups pending items into ``outbox_message`` rows (one signed
envelope each, with its sequence) and pushes them. A receiving node keeps an
``inbox_message`` (with the signed ack it returned) for every message it processed, so a
replay gets the same ack. The national database keeps every received record version in
``national_record`` and the current one per person in ``national_person``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hoso.db.base import Base, JSONDoc, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class ExchangeStream(Base):
    """One ordered stream ``(sender, receiver)``: the next sequence number to send or accept."""

    __tablename__ = "exchange_stream"
    __table_args__ = (PrimaryKeyConstraint("sender", "receiver"),)

    sender: Mapped[str] = mapped_column(String(100))
    receiver: Mapped[str] = mapped_column(String(100))
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=1)
    next_ack_sequence: Mapped[int] = mapped_column(BigInteger, default=1)
    """Acks are numbered apart from messages: they answer, they are not resent (docs/exchange.md)."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxItem(Base):
    """Something to send, written in the transaction that caused it (an approval, a decision)."""

    __tablename__ = "outbox_item"
    __table_args__ = (Index("ix_outbox_item_pending", "receiver", "message_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receiver: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    """``record`` | ``retirement`` | ``resolution`` | ``correction`` | ``orgunit``."""
    personal_id: Mapped[str | None] = mapped_column(String(12))
    version: Mapped[int | None] = mapped_column(Integer)
    """For ``record``: the internal ``person_version.version`` to send."""
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    """The body item for kinds that are not read from ``person_version`` at send time."""
    message_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A signed envelope built from outbox items, kept until its ack is stored."""

    __tablename__ = "outbox_message"
    __table_args__ = (UniqueConstraint("sender", "receiver", "sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(100))
    receiver: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    """The message body (JSON text). The envelope is signed afresh at each attempt, so a
    resend after a long outage is not refused as too old; the receiver knows a resend by its
    id and body hash."""
    item_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    """``pending`` (not yet acked) | ``acked``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ack_status: Mapped[str | None] = mapped_column(String(30))
    ack: Mapped[str | None] = mapped_column(Text)
    """The receiver's signed ack (JSON text): the sender's non-repudiable receipt."""


class InboxMessage(Base):
    """A message this node processed, with the signed ack it answered (§5 rules 3 and 7)."""

    __tablename__ = "inbox_message"
    __table_args__ = (UniqueConstraint("sender", "receiver", "sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(100))
    receiver: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    transport: Mapped[str] = mapped_column(String(10))
    body_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the body's JCS bytes: a resend has the same id and body."""
    signature: Mapped[str] = mapped_column(Text)
    """The sender's JWS (with the canonical hash above, proves what was received)."""
    status: Mapped[str] = mapped_column(String(30))
    ack: Mapped[str] = mapped_column(Text)


class NationalPerson(Base):
    """The national database's current approved record of one person."""

    __tablename__ = "national_person"

    personal_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    managing_agency_code: Mapped[str] = mapped_column(String(60), index=True)
    employing_unit_code: Mapped[str | None] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(80))
    birth_name: Mapped[str | None] = mapped_column(String(255))
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    retired: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    """``{reason_code, effective_date, version, approval}`` once a retirement was received."""
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class NationalRecord(Base):
    """Every record version the national database accepted, with its approval.

    Keyed like the exchange's record versions: ``(personal_id, managing_agency, version)``
    (§1), so a person who moves to another agency starts a new line of versions there.
    """

    __tablename__ = "national_record"
    __table_args__ = (PrimaryKeyConstraint("personal_id", "managing_agency_code", "version"),)

    personal_id: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer)
    managing_agency_code: Mapped[str] = mapped_column(String(60))
    employing_unit_code: Mapped[str | None] = mapped_column(String(60))
    content_hash: Mapped[str] = mapped_column(String(80))
    previous_content_hash: Mapped[str | None] = mapped_column(String(80))
    data: Mapped[str] = mapped_column(Text)
    """The canonical (JCS) text of the record's data, as hashed (``text`` with lz4 on
    PostgreSQL: stored as received, not parsed again; ``data::jsonb`` reads it in SQL)."""
    approval: Mapped[str] = mapped_column(Text)
    """The approval object as JSON text, without its ``signature``, which is split in two:"""
    approval_header: Mapped[str | None] = mapped_column(String(64))
    """The SHA-256 (hex) of the signature's protected header, kept once in ``jws_header``:
    the header holds the official's certificate chain (about 2.7 KB), the same in every
    approval that official signs."""
    approval_signature: Mapped[str | None] = mapped_column(Text)
    """The signature part of the approval's JWS (``header..signature``)."""
    message_id: Mapped[str] = mapped_column(String(36))
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def document(self) -> dict[str, Any]:
        """The record's data as a JSON object."""
        value: dict[str, Any] = orjson.loads(self.data)
        return value


class JwsHeader(Base):
    """A JWS protected header (base64url), stored once and referred to by its SHA-256."""

    __tablename__ = "jws_header"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    header: Mapped[str] = mapped_column(Text)


class Correction(Base):
    """A correction proposed by the national side (sync back), and its resolution."""

    __tablename__ = "correction"
    __table_args__ = (PrimaryKeyConstraint("correction_id", "side"),)

    correction_id: Mapped[str] = mapped_column(String(36))
    personal_id: Mapped[str] = mapped_column(String(12), index=True)
    managing_agency_code: Mapped[str] = mapped_column(String(60), index=True)
    field: Mapped[str] = mapped_column(String(200))
    current_value: Mapped[Any] = mapped_column(JSONDoc)
    proposed_value: Mapped[Any] = mapped_column(JSONDoc)
    source: Mapped[str] = mapped_column(String(40))
    reason_code: Mapped[str] = mapped_column(String(60))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    """``proposed`` | ``accepted`` | ``rejected``."""
    reason: Mapped[str | None] = mapped_column(Text)
    side: Mapped[str] = mapped_column(String(10))
    """``national`` (we proposed it) or ``agency`` (we received it); a node of role ``all``
    holds both rows of one correction."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
