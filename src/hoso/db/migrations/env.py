"""Alembic environment of hoso: batch mode (SQLite runs the same history), type comparison.

The database URL comes from ``config.attributes["url"]`` (set by :mod:`hoso.db.migrate`),
else from the ``sqlalchemy.url`` option, else from ``HOSO_DATABASE_URL``. A caller may also
hand over an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from hoso.config import get_settings
from hoso.db import models
from hoso.db.base import UTCDateTime
from hoso.db.engine import make_engine

config = context.config
target_metadata = models.Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return str(url) if url else get_settings().database_url


def _is_json_doc(obj: Any) -> bool:
    """True for ``hoso.db.base.JSONDoc``: JSON, with a JSONB variant on PostgreSQL."""
    variants = getattr(obj, "_variant_mapping", {})
    return isinstance(obj, sa.JSON) and isinstance(variants.get("postgresql"), postgresql.JSONB)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render hoso's column types plainly, so revision files never import hoso."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if _is_json_doc(obj):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "compare_type": True,
    "render_item": _render_item,
}


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the SQL to standard output (``alembic upgrade --sql``)."""
    context.configure(url=_url(), literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the database through a connection."""
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Batch mode re-creates tables; with foreign keys enforced, dropping a
                # referenced table would fail or cascade.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
