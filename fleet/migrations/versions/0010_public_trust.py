"""The public records of trust: release notes and bundle hash; residents' questions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("bundle_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pseudonym", sa.String(length=24), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=True),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_question_status", "question", ["status", "id"], unique=False)
    op.create_index(
        "ix_question_group", "question", ["profile_id", "zone_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_question_group", table_name="question")
    op.drop_index("ix_question_status", table_name="question")
    op.drop_table("question")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_column("bundle_sha256")
        batch_op.drop_column("notes")
