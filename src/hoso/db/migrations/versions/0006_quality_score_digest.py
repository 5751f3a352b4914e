"""quality_score.digest: a full run rewrites only the scores that changed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema (rows without a digest are rewritten by the next full run)."""
    op.add_column("quality_score", sa.Column("digest", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade the schema."""
    op.drop_column("quality_score", "digest")
