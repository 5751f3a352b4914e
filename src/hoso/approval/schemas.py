"""Pydantic schemas of the approval workflow (API bodies and service results)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ContentHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
PersonalIdStr = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]


class ApprovalIn(BaseModel):
    """One approval: a version, the hash the official saw, and their detached JWS over it.

    ``signature`` is a compact JWS with a detached payload (the ASCII bytes of
    ``content_hash``), made with the official's personal certificate — in production by
    the official's USB token on their own machine (exchange README §4).
    """

    model_config = ConfigDict(extra="forbid")

    personal_id: PersonalIdStr = Field(description="Số định danh cá nhân / personal ID")
    version: int = Field(ge=1, description="Phiên bản nội bộ / internal version number")
    content_hash: ContentHash = Field(description="Mã băm nội dung đã ký / the signed content hash")
    signature: Annotated[str, StringConstraints(min_length=1, max_length=65536)] = Field(
        description="JWS rút gọn, nội dung tách rời / compact JWS, detached payload"
    )
    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="Chức vụ người phê duyệt / the approver's title")


class ReturnIn(BaseModel):
    """Why a submitted or verified version goes back to its author."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class VersionState(BaseModel):
    """Where one version stands after a workflow step."""

    personal_id: str
    version: int
    status: str
    content_hash: str
    status_changed_at: dt.datetime | None
    status_changed_by: str | None
    approved_version: int | None = None


class PendingItem(BaseModel):
    """One row of an approval queue (the current version of a dossier in a given status)."""

    personal_id: str
    version: int
    content_hash: str
    managing_agency: str
    employing_unit: str | None
    birth_name: str | None
    author: str
    """Who made the version (``created_by``)."""
    status: str
    changed_at: dt.datetime
    """When the version reached ``status`` (its creation time for a draft)."""
    changed_by: str | None


class PendingPage(BaseModel):
    """A page of an approval queue."""

    items: list[PendingItem]
    total: int
    limit: int | None
    offset: int


class ItemError(BaseModel):
    """Why one approval of a bulk request was refused."""

    code: str
    status: int
    field: str | None = None
    message_vi: str
    message_en: str


class ApprovalResult(BaseModel):
    """The outcome of one item of a bulk approval."""

    personal_id: str
    version: int
    outcome: Literal["approved", "refused"]
    status: str | None = None
    """The version's new status (``QUEUED`` or ``APPROVED``) when approved."""
    approved_version: int | None = None
    error: ItemError | None = None


class ApprovalReport(BaseModel):
    """The outcome of a bulk approval, item by item, in request order."""

    approved: int
    refused: int
    results: list[ApprovalResult]
