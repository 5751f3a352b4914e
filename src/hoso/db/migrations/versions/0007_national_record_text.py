"""national_record: data as canonical text, approval headers stored once

The national store keeps each record's data as the canonical JSON text that was hashed
(``text``, not ``json``: the server no longer parses 4 KB per record on insert) and the
approval's JWS protected header, which holds the official's certificate chain, once in
``jws_header`` instead of in every approval that official signed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:40:00
"""

import hashlib
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEADER = "split_part(approval->>'signature', '.', 1)"
_SPLITTABLE = "(approval->>'signature') ~ '^[A-Za-z0-9_-]+\\.\\.[A-Za-z0-9_-]+$'"


def upgrade() -> None:
    """Upgrade the schema and move the stored approvals' headers into ``jws_header``."""
    op.create_table(
        "jws_header",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_jws_header")),
    )
    op.add_column(
        "national_record", sa.Column("approval_header", sa.String(length=64), nullable=True)
    )
    op.add_column("national_record", sa.Column("approval_signature", sa.Text(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        digest = f"encode(sha256(convert_to({_HEADER}, 'UTF8')), 'hex')"
        op.execute(
            f"INSERT INTO jws_header (sha256, header) SELECT DISTINCT {digest}, {_HEADER} "
            f"FROM national_record WHERE {_SPLITTABLE} ON CONFLICT DO NOTHING"
        )
        op.execute(
            f"UPDATE national_record SET approval_header = {digest}, "
            f"approval_signature = split_part(approval->>'signature', '.', 3) WHERE {_SPLITTABLE}"
        )
        op.execute(
            "ALTER TABLE national_record "
            "ALTER COLUMN data TYPE text USING data::text, "
            "ALTER COLUMN approval TYPE text USING CASE WHEN approval_header IS NULL "
            "THEN approval::text ELSE (approval::jsonb - 'signature')::text END"
        )
        # Compressed rows of a few KB stay in the table's own pages (no TOAST chunks).
        op.execute("ALTER TABLE national_record SET (toast_tuple_target = 8160)")
        op.execute(
            """
DO $$
BEGIN
    ALTER TABLE national_record ALTER COLUMN data SET COMPRESSION lz4;
    ALTER TABLE national_record ALTER COLUMN approval SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available on this server; documents stay pglz-compressed';
END
$$;
"""
        )
        return
    # SQLite keeps JSON as text already; only the approvals are split, row by row.
    rows = bind.execute(
        sa.text("SELECT personal_id, managing_agency_code, version, approval FROM national_record")
    ).all()
    headers: dict[str, str] = {}
    for pid, agency, version, approval_text in rows:
        approval = orjson.loads(approval_text)
        token = approval.get("signature") if isinstance(approval, dict) else None
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or not parts[0] or parts[1] or not parts[2]:
            continue
        sha = hashlib.sha256(parts[0].encode()).hexdigest()
        headers[sha] = parts[0]
        rest = {k: v for k, v in approval.items() if k != "signature"}
        bind.execute(
            sa.text(
                "UPDATE national_record SET approval = :a, approval_header = :h, "
                "approval_signature = :s WHERE personal_id = :p "
                "AND managing_agency_code = :m AND version = :v"
            ),
            {
                "a": orjson.dumps(rest).decode(),
                "h": sha,
                "s": parts[2],
                "p": pid,
                "m": agency,
                "v": version,
            },
        )
    for sha, header in headers.items():
        bind.execute(
            sa.text("INSERT INTO jws_header (sha256, header) VALUES (:s, :h)"),
            {"s": sha, "h": header},
        )
    with op.batch_alter_table("national_record") as batch_op:
        batch_op.alter_column("data", type_=sa.Text(), existing_nullable=False)
        batch_op.alter_column("approval", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    """Downgrade the schema: approvals get their whole signature back."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE national_record RESET (toast_tuple_target)")
        op.execute(
            "UPDATE national_record r SET approval = (r.approval::jsonb || "
            "jsonb_build_object('signature', h.header || '..' || r.approval_signature))::text "
            "FROM jws_header h WHERE h.sha256 = r.approval_header"
        )
        op.execute(
            "ALTER TABLE national_record "
            "ALTER COLUMN data TYPE json USING data::json, "
            "ALTER COLUMN approval TYPE json USING approval::json"
        )
    else:
        headers: dict[str, str] = dict(
            bind.execute(sa.text("SELECT sha256, header FROM jws_header")).all()
        )
        rows = bind.execute(
            sa.text(
                "SELECT personal_id, managing_agency_code, version, approval, approval_header, "
                "approval_signature FROM national_record WHERE approval_header IS NOT NULL"
            )
        ).all()
        for pid, agency, version, approval_text, sha, signature in rows:
            approval = {**orjson.loads(approval_text), "signature": f"{headers[sha]}..{signature}"}
            bind.execute(
                sa.text(
                    "UPDATE national_record SET approval = :a WHERE personal_id = :p "
                    "AND managing_agency_code = :m AND version = :v"
                ),
                {"a": orjson.dumps(approval).decode(), "p": pid, "m": agency, "v": version},
            )
        with op.batch_alter_table("national_record") as batch_op:
            batch_op.alter_column("data", type_=sa.JSON(), existing_nullable=False)
            batch_op.alter_column("approval", type_=sa.JSON(), existing_nullable=False)
            batch_op.drop_column("approval_signature")
            batch_op.drop_column("approval_header")
        op.drop_table("jws_header")
        return
    op.drop_column("national_record", "approval_signature")
    op.drop_column("national_record", "approval_header")
    op.drop_table("jws_header")
