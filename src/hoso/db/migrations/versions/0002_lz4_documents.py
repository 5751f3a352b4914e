"""lz4 compression of version documents on PostgreSQL

Version documents (~7 KB of JSON for a full dossier) are TOASTed. PostgreSQL's default
pglz compression costs more CPU than parsing them: with lz4 a bulk COPY of the documents
runs about twice as fast for 20% more space (measured with bench/ingest.py). Servers built
without lz4 keep pglz. SQLite: nothing to do.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SET = """
DO $$
BEGIN
    ALTER TABLE person_version ALTER COLUMN data SET COMPRESSION {method};
    ALTER TABLE person_version ALTER COLUMN approval SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available on this server; documents stay pglz-compressed';
END
$$;
"""


def upgrade() -> None:
    """Compress version documents with lz4 (PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="lz4"))


def downgrade() -> None:
    """Back to PostgreSQL's default compression."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SET.format(method="pglz"))
