"""Territory-wide privacy: a cell per gateway (never replaced), its own DP release, the
fleet's per-zone-day ledger, refused cells, and the register's pseudonym day keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("aggregate", schema=None) as batch_op:
        batch_op.drop_constraint("uq_aggregate_cell", type_="unique")
        batch_op.create_unique_constraint(
            "uq_aggregate_cell", ["gateway_id", "zone_id", "metric", "start", "period_s"]
        )
        batch_op.add_column(sa.Column("suppressed_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dp_scale", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dp_ci90_low", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("dp_ci90_high", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_aggregate_zone_start", ["zone_id", "start"], unique=False)
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refused", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "zone_privacy_day",
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("epsilon_spent", sa.Float(), nullable=False),
        sa.Column("cells_published", sa.Integer(), nullable=False),
        sa.Column("suppressed_too_few_nodes", sa.Integer(), nullable=False),
        sa.Column("suppressed_below_threshold", sa.Integer(), nullable=False),
        sa.Column("suppressed_budget_exhausted", sa.Integer(), nullable=False),
        sa.Column("refused_budget_exceeded", sa.Integer(), nullable=False),
        sa.Column("refused_conflicting_cell", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zone.id"]),
        sa.PrimaryKeyConstraint("zone_id", "day"),
    )
    op.create_table(
        "cell_refusal",
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("last_metric", sa.String(length=32), nullable=False),
        sa.Column("last_start", sa.BigInteger(), nullable=False),
        sa.Column("last_period_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("gateway_id", "zone_id", "day", "reason"),
    )
    with op.batch_alter_table("cell_refusal", schema=None) as batch_op:
        batch_op.create_index("ix_cell_refusal_last_at", ["last_at"], unique=False)
    op.create_table(
        "pseudonym_day_key",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("key_enc", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("pseudonym_day_key")
    with op.batch_alter_table("cell_refusal", schema=None) as batch_op:
        batch_op.drop_index("ix_cell_refusal_last_at")
    op.drop_table("cell_refusal")
    op.drop_table("zone_privacy_day")
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_column("refused")
    # the old key has no gateway: of several gateways' cells for one key, the first stays
    op.execute(
        "DELETE FROM aggregate WHERE id NOT IN (SELECT MIN(id) FROM aggregate "
        "GROUP BY zone_id, metric, start, period_s)"
    )
    with op.batch_alter_table("aggregate", schema=None) as batch_op:
        batch_op.drop_index("ix_aggregate_zone_start")
        batch_op.drop_column("dp_ci90_high")
        batch_op.drop_column("dp_ci90_low")
        batch_op.drop_column("dp_scale")
        batch_op.drop_column("suppressed_reason")
        batch_op.drop_constraint("uq_aggregate_cell", type_="unique")
        batch_op.create_unique_constraint(
            "uq_aggregate_cell", ["zone_id", "metric", "start", "period_s"]
        )
