"""ORM model of the organisation tree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hoso.db.base import Base, JSONDoc, UTCDateTime, utcnow


class OrgUnit(Base):
    """An agency or unit (QĐ 20/2020 code), dated, with its place in the tree.

    ``path`` is the materialised path ``/ROOT/.../CODE/`` so that a subtree is one
    indexed ``LIKE 'prefix%'`` query. ``successor_codes`` names the units that took over an
    ended unit (the 2025 mergers).
    """

    __tablename__ = "org_unit"
    # varchar_pattern_ops lets PostgreSQL serve ``path LIKE 'prefix%'`` from the index
    # whatever the database collation.
    __table_args__ = (
        Index("ix_org_unit_path_pattern", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_code: Mapped[str | None] = mapped_column(String(60), index=True)
    path: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    successor_codes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    admin_unit_scheme: Mapped[str | None] = mapped_column(String(10))
    admin_unit_code: Mapped[str | None] = mapped_column(String(10))
    staffing_quota: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
