"""Over-the-air updates: release keys, releases and files, rollouts, node tags, status batches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:34:53
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "ota_status_batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("gateway_id", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gateway_id", "batch_id", name="uq_ota_status_batch"),
    )
    with op.batch_alter_table("ota_status_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ota_status_batch_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("hardware", sa.String(length=16), nullable=False),
        sa.Column("secure_version", sa.Integer(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("made", sa.BigInteger(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("manifest", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
        sa.UniqueConstraint("version", "hardware", name="uq_release_version_hw"),
    )
    op.create_table(
        "release_key",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "release_file",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["release.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", "path"),
    )
    with op.batch_alter_table("release_file", schema=None) as batch_op:
        batch_op.create_index("ix_release_file_sha", ["release_id", "sha256"], unique=False)

    op.create_table(
        "rollout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused_reason", sa.String(length=64), nullable=True),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("start_sizes", sa.JSON(), nullable=False),
        sa.Column("accepted_failures", sa.JSON(), nullable=False),
        sa.Column("window_start_min", sa.Integer(), nullable=True),
        sa.Column("window_end_min", sa.Integer(), nullable=True),
        sa.Column("open_groups", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rollout", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_status", ["status", "id"], unique=False)

    op.create_table(
        "node_tag",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("node_id", "tag"),
    )
    with op.batch_alter_table("node_tag", schema=None) as batch_op:
        batch_op.create_index("ix_node_tag_tag", ["tag", "node_id"], unique=False)

    op.create_table(
        "rollout_member",
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("group", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("why", sa.String(length=32), nullable=True),
        sa.Column("status_at", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rollout_id"], ["rollout.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rollout_id", "node_id"),
    )
    with op.batch_alter_table("rollout_member", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_member_node", ["node_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rollout_member", schema=None) as batch_op:
        batch_op.drop_index("ix_rollout_member_node")

    op.drop_table("rollout_member")
    with op.batch_alter_table("node_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_node_tag_tag")

    op.drop_table("node_tag")
    with op.batch_alter_table("rollout", schema=None) as batch_op:
        batch_op.drop_index("ix_rollout_status")

    op.drop_table("rollout")
    with op.batch_alter_table("release_file", schema=None) as batch_op:
        batch_op.drop_index("ix_release_file_sha")

    op.drop_table("release_file")
    op.drop_table("release_key")
    op.drop_table("release")
    with op.batch_alter_table("ota_status_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ota_status_batch_received_at"))

    op.drop_table("ota_status_batch")
