"""The simulator's own tables: ``citizen``, on a ``DeclarativeBase`` of its own.

The simulator stands in for the population registry (CSDLQG về dân cư), which is another
system with another database: its tables live on :class:`RegistryBase`, never on
``hoso.db.base.Base``, so hoso's migrations never see them. It is a simulator, so there is
no Alembic history: :func:`open_engine` runs ``create_all`` on start.

One row per citizen. The columns are the fields the API filters or answers with most; the
other registry-mastered fields of the catalogue (birth place, home-town province, the
legacy home-town text, the card's issue date, the residence address…) sit in the JSON
column ``extra``. ``name_key`` is the birth name upper-cased, NFC, with single spaces
(:func:`hoso.popsim.fields.name_key`), indexed with the date of birth for the search.
``legacy_id_no`` is the old CMND number (9 digits, some 12), unique when present.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, Index, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hoso.config import get_settings
from hoso.db.base import NAMING_CONVENTION, JSONDoc
from hoso.db.engine import make_engine

ALIVE = "alive"
DECEASED = "deceased"
STATUSES = (ALIVE, DECEASED)
"""Values of ``citizen.status``."""


class RegistryBase(DeclarativeBase):
    """Base of the simulator's tables (its own metadata, not hoso's)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Citizen(RegistryBase):
    """A citizen as the population registry knows them."""

    __tablename__ = "citizen"

    personal_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    """Số định danh cá nhân: 12 ASCII digits, never changes."""
    birth_name: Mapped[str] = mapped_column(String(200))
    """Họ, chữ đệm và tên khai sinh as registered (NFC)."""
    name_key: Mapped[str] = mapped_column(String(200))
    """``birth_name`` upper-cased, NFC, single spaces: what the search compares."""
    date_of_birth: Mapped[str] = mapped_column(String(10))
    """ISO ``YYYY-MM-DD`` (text, so that ``name_key, date_of_birth`` is one index)."""
    sex: Mapped[str] = mapped_column(String(1))
    """``M`` or ``F`` (code list ``sex``)."""
    ethnicity_code: Mapped[str | None] = mapped_column(String(10))
    religion_code: Mapped[str | None] = mapped_column(String(10))
    hometown_ward_code: Mapped[str | None] = mapped_column(String(10))
    hometown_unit_scheme: Mapped[str | None] = mapped_column(String(10))
    residence_ward_code: Mapped[str | None] = mapped_column(String(10))
    residence_unit_scheme: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=ALIVE)
    """``alive`` or ``deceased``."""
    legacy_id_no: Mapped[str | None] = mapped_column(String(12))
    """The old CMND number mapped to this citizen (unique when present)."""
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    """The other registry-mastered fields the citizen has, by catalogue code."""

    __table_args__ = (
        Index("ix_citizen_name_key_date_of_birth", "name_key", "date_of_birth"),
        Index("uq_citizen_legacy_id_no", "legacy_id_no", unique=True),
    )


CITIZEN = cast(Table, Citizen.__table__)
"""The ``citizen`` table for Core statements (the simulator never loads ORM objects)."""

COLUMNS: tuple[str, ...] = (
    "personal_id",
    "birth_name",
    "name_key",
    "date_of_birth",
    "sex",
    "ethnicity_code",
    "religion_code",
    "hometown_ward_code",
    "hometown_unit_scheme",
    "residence_ward_code",
    "residence_unit_scheme",
    "status",
    "legacy_id_no",
    "extra",
)
"""Column order of a written row (:data:`hoso.popsim.writer.Row`)."""

COLUMN_FIELDS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in ("name_key", "extra"))
"""Citizen fields stored in their own column (the others go to ``extra``)."""


def open_engine(url: str | None = None) -> Engine:
    """An engine on the simulator's database (``popsim_database_url`` by default), tables created."""
    engine = make_engine(url or get_settings().popsim_database_url)
    RegistryBase.metadata.create_all(engine)
    return engine
