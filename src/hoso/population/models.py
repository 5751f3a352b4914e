"""ORM models of population-registry matching: runs, results per person, review decisions.

``population_run`` is one verification job (``hoso population match``); it is resumable:
people are processed in ``person.id`` order in batches and each batch's results and the
run's ``cursor`` are committed together, so a rerun after a crash starts after the last
finished batch and never repeats finished work.

``population_match`` is the *current* result per person (one row per ``person_id``,
replaced by each run that re-checks the person): the outcome, the registry's values of the
registry-mastered fields at that time (what the quality rules SACH-009/010/011 and SONG-009
compare with), the differing fields with both values, and the review decision.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hoso.db.base import Base, JSONDoc, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class Outcome:
    """Outcomes of matching one dossier with the registry (issue 5 §2)."""

    MATCHED = "matched"
    """Found by personal ID; birth name, date of birth and sex agree (other fields may differ)."""
    POTENTIAL = "potential_match"
    """Not found by ID (or no usable ID); probabilistic candidates await a person's decision."""
    CONFLICT = "conflict"
    """Found by ID but an identity field (birth name, date of birth, sex) differs, or the
    registry lists the person as deceased."""
    NOT_FOUND = "not_found"
    """Neither the ID nor a probabilistic candidate was found."""
    ALL = (MATCHED, POTENTIAL, CONFLICT, NOT_FOUND)


class Decision:
    """Review decisions of an officer on a result (issue 5 §3)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    """The officer confirms the registry's identity (a potential match accepted, a conflict
    resolved in the registry's favour: corrections are proposed)."""
    REJECTED = "rejected"
    """Not the same person / the dossier is right; nothing is proposed."""
    ALL = (PENDING, CONFIRMED, REJECTED)


class PopulationRun(Base):
    """One verification run against the registry (resumable, see the module docstring)."""

    __tablename__ = "population_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_code: Mapped[str | None] = mapped_column(String(60))
    """The scope asked for (None: every agency)."""
    actor: Mapped[str] = mapped_column(String(100))
    registry_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="running")
    """``running`` | ``completed`` | ``failed`` (a failed run is resumed by the next one)."""
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cursor: Mapped[int] = mapped_column(BigId, default=0)
    """The last ``person.id`` whose batch is committed."""
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSONDoc, default=dict)
    """Results by outcome."""
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    """The last registry errors (kept short): ``{"at", "kind", "detail"}``."""


class PopulationMatch(Base):
    """The current registry result of one person."""

    __tablename__ = "population_match"
    __table_args__ = (
        Index("ix_population_match_agency_outcome", "managing_agency_code", "outcome"),
        Index("ix_population_match_decision", "decision"),
    )

    person_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(40), index=True)
    managing_agency_code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    """The dossier version that was compared."""
    content_hash: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))
    """One of :class:`Outcome`."""
    matched_by: Mapped[str | None] = mapped_column(String(20))
    """``personal_id`` | ``legacy_id_no`` | ``probabilistic`` | None."""
    registry_personal_id: Mapped[str | None] = mapped_column(String(12))
    """The registry's number of the person (differs when found by the old CMND)."""
    registry_status: Mapped[str | None] = mapped_column(String(20))
    """``alive`` | ``deceased`` | None (not found)."""
    registry_values: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    """The registry's values of the registry-mastered fields (catalogue codes)."""
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    """``[{"field", "ours", "registry", "kind": "identity"|"mastered", "note_vi", "note_en"}]``
    after Vietnamese-aware normalisation (equal-after-normalisation values are not listed)."""
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    """Probabilistic candidates: ``[{"personal_id", "probability", "comparison": {...},
    "citizen": {...}}]``, best first."""
    probability: Mapped[float | None] = mapped_column(Float)
    matched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    run_id: Mapped[int | None] = mapped_column(BigId)
    decision: Mapped[str] = mapped_column(String(20), default=Decision.PENDING)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    corrections_proposed: Mapped[int] = mapped_column(Integer, default=0)
    """How many ``corrections.propose`` items were made from this result."""
