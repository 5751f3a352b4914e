"""Pydantic schemas of the quality domain (API bodies and responses): findings, scores, runs, fixes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AgencyCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
MAX_IDS = 10_000


class FindingRead(BaseModel):
    """One finding in the format of quality-rules.md §6, with the rule's message."""

    personal_id: str | None
    managing_agency_code: str
    rule_id: str
    dimension: str
    category: str
    severity: str
    field: str
    value: Any = None
    expected: Any = None
    related: str | None = None
    message: str


class FindingPage(BaseModel):
    """A page of findings (sorted by personal ID, rule id, field)."""

    items: list[FindingRead]
    total: int
    limit: int
    offset: int


class TrendPoint(BaseModel):
    """The scores of an agency (or of a subtree, or of everyone) after one run."""

    run_id: int
    profile: str
    as_of: dt.date
    records: int
    records_passed: int
    dung: float
    du: float
    sach: float
    song: float
    overall: float


class RecordScoreRead(BaseModel):
    """The current scores of one record."""

    model_config = ConfigDict(from_attributes=True)

    personal_id: str
    managing_agency_code: str
    version: int
    dung: float
    du: float
    sach: float
    song: float
    overall: float
    passed: bool
    complete: bool
    errors: int
    warnings: int


class ScoresRead(BaseModel):
    """The §7 report of an agency's subtree (or of everyone), its trend, and optionally the
    worst records."""

    run_id: int
    report: dict[str, Any]
    trend: list[TrendPoint]
    records: list[RecordScoreRead] | None = None


class RunIn(BaseModel):
    """What to check: profile, as-of date, full or incremental, an agency's subtree."""

    model_config = ConfigDict(extra="forbid")

    profile: str | None = Field(
        default=None,
        description="core | p109 | tt06 | nd27 (mặc định: cấu hình / default: setting)",
    )
    as_of: dt.date | None = Field(
        default=None, description="Ngày đánh giá (mặc định: hôm nay) / as-of date (default today)"
    )
    full: bool = Field(default=False, description="Kiểm tra lại toàn bộ / re-check everything")
    agency: AgencyCode | None = Field(
        default=None, description="Cơ quan (cả cây con) / agency subtree"
    )


class NotEvaluatedRead(BaseModel):
    """An applicable rule that could not run, and why."""

    rule_id: str
    reason: str
    reason_vi: str


class RunRead(BaseModel):
    """What a run did."""

    run_id: int
    kind: str
    profile: str
    as_of: dt.date
    records_checked: int
    records_rescored: int
    findings: int
    rules_rerun: list[str]
    not_evaluated: list[NotEvaluatedRead]
    timings: dict[str, float]


class FixChange(BaseModel):
    """One change of a fix: ``new`` None removes the field; an ambiguous change waits for
    the officer to choose one of ``candidates`` (``value`` of each)."""

    field: str
    old: Any = None
    new: Any = None
    rule_id: str
    rule_ids: list[str] = Field(default_factory=list)
    kind: str
    ambiguous: bool = False
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    note_vi: str
    note_en: str


class FixRead(BaseModel):
    """A cleaning proposal for one person."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    personal_id: str
    managing_agency_code: str
    base_version: int
    base_content_hash: str
    status: str
    changes: list[FixChange]
    created_at: dt.datetime
    created_by: str
    decided_at: dt.datetime | None
    decided_by: str | None
    reason: str | None
    new_version: int | None


class FixPage(BaseModel):
    """A page of fixes (oldest first)."""

    items: list[FixRead]
    total: int
    limit: int
    offset: int


class ProposeIn(BaseModel):
    """Which findings to turn into proposals."""

    model_config = ConfigDict(extra="forbid")

    agency: AgencyCode | None = Field(
        default=None, description="Cơ quan (cả cây con) / agency subtree"
    )
    rules: list[str] | None = Field(
        default=None,
        max_length=20,
        description="Các quy tắc (mặc định: mọi quy tắc làm sạch) / rules (default: all cleaning rules)",
    )


class ProposeRead(BaseModel):
    """What a proposal run did."""

    created: int
    skipped: int
    superseded: int
    manual: int
    fix_ids: list[int]


class AcceptIn(BaseModel):
    """Fixes to accept, with the officer's choices for ambiguous changes."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)
    choices: dict[int, dict[str, str]] = Field(
        default_factory=dict,
        description="{fix_id: {field: giá trị đã chọn / chosen value}} cho thay đổi cần chọn",
    )


class FixOutcomeRead(BaseModel):
    """What accepting one fix did: accepted, superseded, refused or not_found."""

    fix_id: int
    status: str
    new_version: int | None
    message_vi: str
    message_en: str


class AcceptRead(BaseModel):
    """One outcome per fix id (in the order given)."""

    accepted: int
    outcomes: list[FixOutcomeRead]


class RejectIn(BaseModel):
    """Fixes to reject and why (the reason is required)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)
    reason: str = Field(max_length=2000, description="Lý do từ chối / reason")


class RejectRead(BaseModel):
    """How many fixes were rejected."""

    rejected: int
