"""Pydantic schemas of the people domain (API bodies and service results)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PersonWrite(BaseModel):
    """A dossier to create or replace: the bulk-line shape of exchange README §8.

    ``data`` holds catalogue fields by code. It is checked against the catalogue by
    ``hoso.people.validation`` (structural errors are refused, doubtful values stored).
    """

    model_config = ConfigDict(extra="forbid")

    personal_id: str | None = Field(default=None, description="12 chữ số / 12 digits")
    managing_agency: str | None = None
    employing_unit: str | None = None
    data: dict[str, Any]
    concurrent_posts: list[dict[str, Any]] | None = Field(
        default=None,
        description="Chức vụ kiêm nhiệm tại đơn vị khác / concurrent posts in other units: "
        "{unit_code, position_code, title, start_date, end_date}",
    )


class PersonSummary(BaseModel):
    """One row of the people list."""

    model_config = ConfigDict(from_attributes=True)

    personal_id: str
    birth_name: str | None
    date_of_birth: str | None
    sex: str | None
    managing_agency_code: str
    employing_unit_code: str | None
    employee_type_code: str | None
    rank_code: str | None
    position_code: str | None
    employment_status_code: str | None
    current_version: int
    status: str
    updated_at: dt.datetime


class PersonPage(BaseModel):
    """A page of the people list."""

    items: list[PersonSummary]
    total: int
    limit: int
    offset: int


class VersionMeta(BaseModel):
    """A version's metadata without its document."""

    version: int
    status: str
    content_hash: str
    previous_content_hash: str | None
    managing_agency: str
    employing_unit: str | None
    created_at: dt.datetime
    created_by: str
    source: str
    note: str | None = None


class DossierRead(VersionMeta):
    """One version of a dossier with its whole document."""

    personal_id: str
    current_version: int
    data: dict[str, Any]


class Change(BaseModel):
    """One difference between two versions, at a finding-style path (``work_history[2].to``)."""

    path: str
    op: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None


class DiffRead(BaseModel):
    """The difference between two versions of a dossier."""

    personal_id: str
    from_version: int
    to_version: int
    changes: list[Change]


class PostRead(BaseModel):
    """A post held by a person (primary or concurrent)."""

    model_config = ConfigDict(from_attributes=True)

    unit_code: str
    kind: str
    position_code: str | None
    title: str | None
    start_date: dt.date | None
    end_date: dt.date | None
