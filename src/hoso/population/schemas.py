"""Pydantic schemas of the population-registry API (``/api/v1/population``): results,
decisions, corrections."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AgencyCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
PersonalId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
MAX_BULK = 1000


class DifferenceRead(BaseModel):
    """One differing field: our value, the registry's, and why it counts."""

    field: str
    ours: Any = None
    registry: Any = None
    kind: str | None = Field(default=None, examples=["identity", "mastered"])
    note_vi: str | None = None
    note_en: str | None = None


class CandidateRead(BaseModel):
    """A probabilistic candidate of a potential match (best first)."""

    personal_id: str | None = None
    probability: float | None = None
    comparison: dict[str, Any] = Field(default_factory=dict)
    citizen: dict[str, Any] = Field(default_factory=dict)


class CorrectionStatusRead(BaseModel):
    """A correction proposed from the result, with its status on both sides."""

    correction_id: str
    field: str
    current_value: Any = None
    proposed_value: Any = None
    status: str = Field(examples=["proposed", "accepted", "rejected"])
    national_status: str | None = None
    agency_status: str | None = None
    reason: str | None = None
    created_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None


class ResultRead(BaseModel):
    """The current registry result of one person."""

    model_config = ConfigDict(from_attributes=True)

    personal_id: str
    managing_agency_code: str
    version: int
    outcome: str = Field(examples=["matched", "potential_match", "conflict", "not_found"])
    review_kind: str | None = Field(
        default=None, description="potential_match | conflict | differences | null"
    )
    stale: bool = Field(
        default=False, description="Hồ sơ đã thay đổi sau lần đối chiếu / changed since"
    )
    matched_by: str | None = None
    registry_personal_id: str | None = None
    registry_status: str | None = None
    registry_values: dict[str, Any] | None = None
    differences: list[DifferenceRead] = Field(default_factory=list)
    candidates: list[CandidateRead] = Field(default_factory=list)
    probability: float | None = None
    matched_at: dt.datetime
    run_id: int | None = None
    decision: str
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    corrections_proposed: int = 0
    corrections: list[CorrectionStatusRead] | None = Field(
        default=None, description="Chỉ khi đọc một kết quả / one result only"
    )


class ResultPage(BaseModel):
    """A page of results (in person order), with the total count."""

    items: list[ResultRead]
    total: int
    limit: int
    offset: int


class DecisionIn(BaseModel):
    """An officer's decision on one result."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirmed", "rejected"]
    reason: Reason | None = Field(default=None, description="Bắt buộc khi từ chối / to reject")
    candidate_personal_id: PersonalId | None = Field(
        default=None, description="Ứng viên được xác nhận / the candidate confirmed"
    )
    propose_corrections: bool = Field(
        default=False, description="Đề xuất đính chính ngay / propose the corrections at once"
    )


class BulkDecisionIn(BaseModel):
    """The same decision on many results (a potential match confirms its best candidate)."""

    model_config = ConfigDict(extra="forbid")

    personal_ids: list[PersonalId] = Field(min_length=1, max_length=MAX_BULK)
    decision: Literal["confirmed", "rejected"]
    reason: Reason | None = None
    propose_corrections: bool = False


class DecisionOutcomeRead(BaseModel):
    """What the decision did to one result."""

    personal_id: str
    status: str = Field(examples=["confirmed", "rejected", "refused", "not_found"])
    message_vi: str
    message_en: str
    corrections_proposed: int = 0


class BulkDecisionRead(BaseModel):
    """One outcome per personal ID, in the order sent."""

    decided: int
    outcomes: list[DecisionOutcomeRead]


class ProposeIn(BaseModel):
    """Which results to propose corrections for: the people named, else an agency's subtree,
    else the caller's scope."""

    model_config = ConfigDict(extra="forbid")

    personal_ids: list[PersonalId] | None = Field(default=None, max_length=10_000)
    agency: AgencyCode | None = None


class ProposeRead(BaseModel):
    """What proposing did."""

    proposed: int
    people: int
    skipped_stale: int
    skipped_unsynced: int
    skipped_duplicate: int
    correction_ids: list[str]
