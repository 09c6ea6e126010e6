"""Each node's measuring interval (node.interval_s), given at the claim and synced to its
gateway, which caps the node's readings per window from it (issue #13).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-21 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # nullable, no default: the nodes claimed before are "not known", and their gateway keeps
    # its configured fallback for them
    op.add_column("node", sa.Column("interval_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    # a plain ALTER TABLE (SQLite >= 3.35 drops a column in place): a batch copy of the node
    # table would drop the old one with foreign keys on, and take the nodes' keys with it
    op.drop_column("node", "interval_s")
