"""ORM models of the quality engine: runs, current findings, current scores, agency trend.

``quality_finding`` and ``quality_score`` hold the *current* state (each run replaces what
it re-checked); ``quality_agency_score`` keeps one row per agency per run, which is the
trend. ``quality_run`` is also the watermark: the next incremental run re-checks what
changed at or after the last completed run's ``watermark``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hoso.db.base import Base, JSONDoc, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class QualityRun(Base):
    """One run of the rules (``full`` or ``incremental``)."""

    __tablename__ = "quality_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    profile: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[dt.date] = mapped_column(Date)
    agency_code: Mapped[str | None] = mapped_column(String(60))
    """The scope asked for (None: every agency)."""
    actor: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    watermark: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    """Changes at or after this time are left to the next run."""
    records_checked: Mapped[int] = mapped_column(Integer, default=0)
    records_rescored: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    rules_run: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    not_evaluated: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    fingerprints: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    """Per rule: a hash of its CSV row, parameters, code lists and (if time-dependent) as-of."""
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    """Configured parameter overrides and dimension weights (reported with the scores)."""
    timings: Mapped[dict[str, float]] = mapped_column(JSONDoc, default=dict)


class QualityFinding(Base):
    """A current finding (quality-rules.md §6)."""

    __tablename__ = "quality_finding"
    __table_args__ = (
        Index("ix_quality_finding_agency_rule", "managing_agency_code", "rule_id"),
        Index("ix_quality_finding_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId)
    personal_id: Mapped[str] = mapped_column(String(40))
    managing_agency_code: Mapped[str] = mapped_column(String(60))
    rule_id: Mapped[str] = mapped_column(String(12))
    dimension: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    field: Mapped[str] = mapped_column(String(300))
    value: Mapped[str | None] = mapped_column(Text)
    """The value as stored, as JSON text."""
    expected: Mapped[str | None] = mapped_column(Text)
    related: Mapped[str | None] = mapped_column(String(40))
    run_id: Mapped[int] = mapped_column(BigId)


class QualityScore(Base):
    """The current scores of one record (quality-rules.md §7)."""

    __tablename__ = "quality_score"

    person_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(40))
    managing_agency_code: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(80))
    dung: Mapped[float] = mapped_column(Float)
    du: Mapped[float] = mapped_column(Float)
    sach: Mapped[float] = mapped_column(Float)
    song: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    complete: Mapped[bool] = mapped_column(Boolean)
    errors: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[int] = mapped_column(Integer)
    checked: Mapped[dict[str, int]] = mapped_column(JSONDoc, default=dict)
    """What the ratio rules checked (``{"DU-001": 41}``), to rescore without re-checking."""
    digest: Mapped[int | None] = mapped_column(BigInteger)
    """A hash of the columns above (:func:`hoso.quality.service.score_digest`): a full run
    rewrites only the rows whose digest changed."""
    run_id: Mapped[int] = mapped_column(BigId)
    """The run that last wrote the row (its scores are current as of the latest run)."""
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityAgencyScore(Base):
    """An agency's report (§7) after one run: the rows over runs are the trend."""

    __tablename__ = "quality_agency_score"
    __table_args__ = (Index("ix_quality_agency_score_agency", "agency_code", "run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId, index=True)
    agency_code: Mapped[str] = mapped_column(String(60))
    """A managing agency's code, or ``*`` for every record."""
    profile: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[dt.date] = mapped_column(Date)
    records: Mapped[int] = mapped_column(Integer)
    records_passed: Mapped[int] = mapped_column(Integer)
    complete_records: Mapped[float] = mapped_column(Float)
    dung: Mapped[float] = mapped_column(Float)
    du: Mapped[float] = mapped_column(Float)
    sach: Mapped[float] = mapped_column(Float)
    song: Mapped[float] = mapped_column(Float)
    overall: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    """The whole §7 report (findings by category and rule, not evaluated)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FixStatus:
    """States of a proposed fix."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """The dossier changed after the proposal: it no longer applies (propose again)."""


class QualityFix(Base):
    """A cleaning proposal for one person: the changes to one version, decided by an officer.

    Accepting applies the changes to the version it was made from and stores the result as
    a new draft version (which then needs approval); nothing is rewritten without that."""

    __tablename__ = "quality_fix"
    __table_args__ = (Index("ix_quality_fix_agency_status", "managing_agency_code", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, index=True)
    personal_id: Mapped[str] = mapped_column(String(40))
    managing_agency_code: Mapped[str] = mapped_column(String(60))
    base_version: Mapped[int] = mapped_column(Integer)
    base_content_hash: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=FixStatus.PROPOSED)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    """``[{field, old, new, rule_id, kind, ambiguous, candidates, note_vi, note_en}]``;
    an ambiguous change has ``new`` None until the officer picks a candidate."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    new_version: Mapped[int | None] = mapped_column(Integer)
    """The draft version accepting it created."""
