"""Optional thresholds on sensor profiles for the public indices: "needs emptying" at or above
``fill_alert_pct``, "needs watering" at or below ``soil_alert_pct`` (issue #14).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # existing profiles set no threshold: their bins and soils get no "needs" index
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fill_alert_pct", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("soil_alert_pct", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_column("soil_alert_pct")
        batch_op.drop_column("fill_alert_pct")
