"""The hardware each node reports (node_health.hw), for rollouts to leave out the nodes a
release is not built for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # nullable, no default: nodes that have not reported it yet are "unknown", not a guess
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hw", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.drop_column("hw")
