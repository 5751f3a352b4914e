"""ORM models of dossiers.

A dossier (``person``) is keyed by the 12-digit personal ID and points at its current
version. Every change appends an immutable ``person_version`` holding the whole validated
JSON document; the fields that lists, filters and scopes query are copied into indexed
columns of ``person`` (see README, "Storage design").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hoso.db.base import Base, JSONDoc, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class VersionStatus:
    """Where a version is in the approval workflow (issue 3).

    ``DRAFT → SUBMITTED → VERIFIED → APPROVED → QUEUED → SYNCED``. A version that never
    reached ``APPROVED`` becomes ``SUPERSEDED`` when a newer version is made; a queued
    version the national database refused becomes ``REJECTED`` (the ack says why).
    """

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    VERIFIED = "VERIFIED"
    APPROVED = "APPROVED"
    QUEUED = "QUEUED"
    SYNCED = "SYNCED"
    SUPERSEDED = "SUPERSEDED"
    REJECTED = "REJECTED"

    ALL = (DRAFT, SUBMITTED, VERIFIED, APPROVED, QUEUED, SYNCED, SUPERSEDED, REJECTED)
    OPEN = (DRAFT, SUBMITTED, VERIFIED)
    """Not yet approved: superseded by a newer version."""
    APPROVED_STATES = (APPROVED, QUEUED, SYNCED, REJECTED)
    """Carry an approval signature."""


class Person(Base):
    """One person's dossier at its managing agency; the current version's key fields."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    managing_agency_code: Mapped[str] = mapped_column(String(60), index=True)
    employing_unit_code: Mapped[str | None] = mapped_column(String(60), index=True)
    current_version: Mapped[int] = mapped_column(Integer)
    current_content_hash: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    birth_name: Mapped[str | None] = mapped_column(String(255))
    name_search: Mapped[str | None] = mapped_column(String(255), index=True)
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(2))
    employee_type_code: Mapped[str | None] = mapped_column(String(10))
    rank_code: Mapped[str | None] = mapped_column(String(30))
    position_code: Mapped[str | None] = mapped_column(String(60))
    employment_status_code: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    """Last change of the data (the quality engine's incremental runs start from it)."""


class PersonVersion(Base):
    """An immutable version of a dossier: the whole document, its hash and the chain link."""

    __tablename__ = "person_version"
    __table_args__ = (PrimaryKeyConstraint("person_id", "version"),)

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    managing_agency_code: Mapped[str] = mapped_column(String(60))
    employing_unit_code: Mapped[str | None] = mapped_column(String(60))
    # JSON, not JSONB, on PostgreSQL: a version is written once and read whole, its text is
    # the canonical (JCS) form, and JSON input costs a third less than JSONB on bulk import
    # (README, "Storage design"). Queries go to the indexed columns of ``person``.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(80))
    previous_content_hash: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    """``{approved_by: {personal_id, name, title}, approved_at, signature}`` (exchange §4)."""
    approved_version: Mapped[int | None] = mapped_column(Integer)
    """The exchange version number: 1, 2, ... over this person's approved versions (§1)."""
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    """When ``status`` last changed (the audit trail has every step)."""
    status_changed_by: Mapped[str | None] = mapped_column(String(100))
    """Who made the last status change."""
    sync_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDoc)
    """The national database's errors when it refused this version (status ``REJECTED``)."""


class PersonPost(Base):
    """A post a person holds in a unit: the primary post and any concurrent posts (kiêm nhiệm)."""

    __tablename__ = "person_post"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("person.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    position_code: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(255))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class ImportRun(Base):
    """A bulk import of one file (by SHA-256) in one scope; the checkpoint that makes reruns safe."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(500))
    scope_code: Mapped[str | None] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(100))
    lines_done: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ImportIssue(Base):
    """A refused line or row of an import run, kept so that the error file is complete on rerun."""

    __tablename__ = "import_issue"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("import_run.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    sheet: Mapped[str | None] = mapped_column(String(60))
    personal_id: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(60))
    message_vi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    details: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    """Every structural issue of the line (the columns above repeat the first one)."""


PERSON_TABLE = Base.metadata.tables["person"]
PERSON_VERSION_TABLE = Base.metadata.tables["person_version"]
PERSON_POST_TABLE = Base.metadata.tables["person_post"]
IMPORT_ISSUE_TABLE = Base.metadata.tables["import_issue"]
