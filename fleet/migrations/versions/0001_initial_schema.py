"""Initial schema: operators, registry, gateways, nodes and keys, telemetry, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 16:34:48.569067
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_actor", ["actor", "id"], unique=False)
        batch_op.create_index("ix_audit_entity", ["entity_type", "entity_id", "id"], unique=False)

    op.create_table(
        "gateway",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enroll_token_hash", sa.String(length=64), nullable=True),
        sa.Column("enroll_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ed25519_public_key", sa.LargeBinary(), nullable=True),
        sa.Column("x25519_public_key", sa.LargeBinary(), nullable=True),
        sa.Column("sync_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enroll_token_hash"),
    )
    op.create_table(
        "operator",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "profile",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=2000), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("operator_name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("personal_data", sa.Boolean(), nullable=False),
        sa.Column(
            "personal_data_processing",
            sa.String(length=2000),
            nullable=False,
        ),
        sa.Column("retention", sa.String(length=500), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "zone",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "aggregate",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("period_s", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=True),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
        sa.Column("p95", sa.Float(), nullable=True),
        sa.Column("people", sa.BigInteger(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("dp_mechanism", sa.String(length=64), nullable=True),
        sa.Column("dp_epsilon", sa.Float(), nullable=True),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("zone_id", "metric", "start", "period_s", name="uq_aggregate_cell"),
    )
    with op.batch_alter_table("aggregate", schema=None) as batch_op:
        batch_op.create_index("ix_aggregate_start", ["start"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_operator_id"), ["operator_id"], unique=False)

    op.create_table(
        "claim_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_enc", sa.LargeBinary(), nullable=True),
        sa.Column("hint", sa.String(length=4), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=True),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_node", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["operator.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "ingest_batch",
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("health_applied", sa.Integer(), nullable=False),
        sa.Column("aggregates_applied", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gateway_id"], ["gateway.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gateway_id", "batch_id"),
    )
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_batch_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_session_operator_id"), ["operator_id"], unique=False
        )

    op.create_table(
        "sync_event",
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gateway_id"], ["gateway.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gateway_id", "node_id"),
    )
    with op.batch_alter_table("sync_event", schema=None) as batch_op:
        batch_op.create_index("ix_sync_event_gateway_seq", ["gateway_id", "seq"], unique=False)

    op.create_table(
        "node",
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=True),
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=False),
        sa.Column("active_until", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_code_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_code_id"],
            ["claim_code.id"],
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateway.id"],
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zone.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.create_index("ix_node_gateway_id_id", ["gateway_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_node_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index("ix_node_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_node_zone_id_id", ["zone_id", "id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # substring search over id and label (fleet.crud.nodes.SEARCH_TEXT); pg_trgm is a
        # trusted extension: the database owner may create it
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_node_search ON node USING gin (lower(id || ' ' || label) gin_trgm_ops)"
        )

    op.create_table(
        "node_health",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("battery_v", sa.Float(), nullable=True),
        sa.Column("rssi", sa.Integer(), nullable=True),
        sa.Column("fw", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("buffered", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("node_id"),
        postgresql_with={"fillfactor": 70},
    )
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.create_index("ix_node_health_fw_node", ["fw", "node_id"], unique=False)

    op.create_table(
        "node_health_sample",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("battery_v", sa.Float(), nullable=True),
        sa.Column("rssi", sa.Integer(), nullable=True),
        sa.Column("buffered", sa.BigInteger(), nullable=False),
        sa.Column("rejected_total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("node_id", "slot"),
        postgresql_with={"fillfactor": 70},
    )
    op.create_table(
        "node_key",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("node_id", "key_id"),
    )


def downgrade() -> None:
    op.drop_table("node_key")
    op.drop_table("node_health_sample")
    with op.batch_alter_table("node_health", schema=None) as batch_op:
        batch_op.drop_index("ix_node_health_fw_node")

    op.drop_table("node_health")
    op.execute("DROP INDEX IF EXISTS ix_node_search")
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.drop_index("ix_node_zone_id_id")
        batch_op.drop_index("ix_node_status_id")
        batch_op.drop_index(batch_op.f("ix_node_profile_id"))
        batch_op.drop_index("ix_node_gateway_id_id")

    op.drop_table("node")
    with op.batch_alter_table("sync_event", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_event_gateway_seq")

    op.drop_table("sync_event")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_operator_id"))

    op.drop_table("login_session")
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batch_received_at"))

    op.drop_table("ingest_batch")
    op.drop_table("claim_code")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_operator_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("aggregate", schema=None) as batch_op:
        batch_op.drop_index("ix_aggregate_start")

    op.drop_table("aggregate")
    op.drop_table("zone")
    op.drop_table("profile")
    op.drop_table("operator")
    op.drop_table("gateway")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entity")
        batch_op.drop_index("ix_audit_actor")

    op.drop_table("audit_event")
