"""Readings a gateway held back from its figures, per node (node_health.suspect) and over time
(node_health_sample.suspect_total), for the "suspect readings" alert (issue #13).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # rows already there held nothing back: empty counters, a zero total
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspect", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("node_health_sample", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspect_total", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("node_health_sample", schema=None) as batch_op:
        batch_op.drop_column("suspect_total")
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.drop_column("suspect")
