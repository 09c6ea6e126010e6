"""Alembic: upgrade from empty to head matches the models; downgrade returns to empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from fleet.core.db import make_engine
from fleet.migrations import (
    current_revision,
    downgrade,
    head_revision,
    include_object,
    upgrade,
)
from tests.fleet.conftest import drop_pg_database, fresh_database


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    url = fresh_database(backend, tmp_path, "migrations")
    yield url
    if backend == "postgresql":
        drop_pg_database(url)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_models_and_downgrade_empties(
    empty_url: str, backend: str
) -> None:
    assert _tables(empty_url) == set()
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert _tables(empty_url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_object": include_object}
                ),
                SQLModel.metadata,
            )
    finally:
        engine.dispose()
    assert diff == []
    if backend == "postgresql":
        assert "ix_node_search" in {i["name"] for i in inspect(engine).get_indexes("node")}
    downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    assert current_revision(empty_url) is None


def test_upgrade_is_idempotent(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()


OTA_TABLES = {
    "release_key",
    "release",
    "release_file",
    "rollout",
    "rollout_member",
    "node_tag",
    "ota_status_batch",
}


def test_ota_migration_0002_goes_up_from_0001_and_back_down(empty_url: str) -> None:
    upgrade(empty_url, "0001")
    before = _tables(empty_url)
    assert not before & OTA_TABLES
    upgrade(empty_url, "0002")
    assert _tables(empty_url) == before | OTA_TABLES
    downgrade(empty_url, "0001")
    assert _tables(empty_url) == before
    assert current_revision(empty_url) == "0001"
    upgrade(empty_url, "0002")  # not head: later revisions add tables of their own
    assert _tables(empty_url) == before | OTA_TABLES


PRIVACY_TABLES = {"zone_privacy_day", "cell_refusal", "pseudonym_day_key"}
_ZONE = (
    "INSERT INTO zone (id, name, description, created_at) "
    "VALUES ('z-1', 'Z', '', CURRENT_TIMESTAMP)"
)
_CELL = (
    "INSERT INTO aggregate (zone_id, metric, start, period_s, suppressed, gateway_id, "
    "received_at, people) VALUES ('z-1', 'people_n', 0, 3600, false, :gw, 0, :people)"
)


def test_fleet_privacy_migration_0007_keys_cells_by_gateway_and_goes_back_down(
    empty_url: str,
) -> None:
    upgrade(empty_url, "0006")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:  # raw: today's models have 0007's columns
            conn.execute(text(_ZONE))
            conn.execute(text(_CELL), {"gw": "gw-a", "people": 41})
        upgrade(empty_url, "0007")
        assert _tables(empty_url) >= PRIVACY_TABLES
        cols = _columns(empty_url, "aggregate")
        assert {"suppressed_reason", "dp_scale", "dp_ci90_low", "dp_ci90_high"} <= cols
        assert "refused" in _columns(empty_url, "ingest_batch")
        with engine.begin() as conn:  # a second gateway's cell of the same key: its own row
            conn.execute(text(_CELL), {"gw": "gw-b", "people": 20})
            rows = conn.execute(text("SELECT gateway_id, people FROM aggregate")).all()
        assert sorted(rows) == [("gw-a", 41), ("gw-b", 20)]
        downgrade(empty_url, "0006")
        assert not PRIVACY_TABLES & _tables(empty_url)
        assert "dp_scale" not in _columns(empty_url, "aggregate")
        assert "refused" not in _columns(empty_url, "ingest_batch")
        with engine.begin() as conn:  # the old key holds one cell per key: the first stays
            rows = conn.execute(text("SELECT gateway_id, people FROM aggregate")).all()
        assert rows == [("gw-a", 41)]
        upgrade(empty_url)
        assert current_revision(empty_url) == head_revision()
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_zone_boundary_migration_0004_adds_the_column_and_removes_it_going_down(
    empty_url: str,
) -> None:
    upgrade(empty_url, "0004")
    assert "boundary" in _columns(empty_url, "zone")
    downgrade(empty_url, "-1")
    assert "boundary" not in _columns(empty_url, "zone")
    assert {"id", "name", "lat", "lon"} <= _columns(empty_url, "zone")
    upgrade(empty_url)
    assert "boundary" in _columns(empty_url, "zone")

_NODE_ROWS = (
    "INSERT INTO zone (id, name, description, created_at) "
    "VALUES ('centre', 'Centre', '', '2026-01-01 00:00:00')",
    "INSERT INTO profile (id, name, measures, purpose, legal_basis, operator_name, contact, "
    "personal_data, personal_data_processing, retention, created_at) VALUES ('air', 'Air', "
    "'[]', 'p', 'l', 'o', 'c', false, '', 'r', '2026-01-01 00:00:00')",
    "INSERT INTO node (id, label, zone_id, profile_id, installed_on, status, created_at, "
    "updated_at) VALUES ('ang-0001', '', 'centre', 'air', '2026-01-01', 'active', "
    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    "INSERT INTO node_key (node_id, key_id, secret_enc, created_at) "
    "VALUES ('ang-0001', 1, :secret, '2026-01-01 00:00:00')",
)


def test_node_hw_migration_0003_goes_up_from_0002_and_back_down_keeping_the_health(
    empty_url: str,
) -> None:
    upgrade(empty_url, "0002")
    assert "hw" not in _columns(empty_url, "node_health")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:  # raw: today's Zone model has 0004's boundary
            conn.execute(text("INSERT INTO zone (id, name, description, created_at) "
                              "VALUES ('centre', 'Centre', '', '2026-01-01 00:00:00')"))
        with engine.begin() as conn:  # raw: today's Profile model has 0009's thresholds
            conn.execute(text(
                "INSERT INTO profile (id, name, measures, purpose, legal_basis, operator_name, "
                "contact, personal_data, personal_data_processing, retention, created_at) "
                "VALUES ('air', 'Air', '[]', 'p', 'l', 'o', 'c', false, '', 'r', "
                "'2026-01-01 00:00:00')"))
        with engine.begin() as conn:  # raw: today's Node model has 0008's interval_s
            conn.execute(text(_NODE_ROWS[2]))
        with engine.begin() as conn:  # raw: the model has the column 0003 adds
            conn.execute(text(
                "INSERT INTO node_health (node_id, gateway_id, last_seen, fw, slot, boot, "
                "buffered, rejected, received_at) VALUES ('ang-0001', 'gw', 5, '0.1.0', 'a', "
                "1, 0, '{}', 5)"))
        upgrade(empty_url, "0003")
        assert current_revision(empty_url) == "0003"
        assert "hw" in _columns(empty_url, "node_health")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT fw, hw FROM node_health")).all() == [("0.1.0", None)]
        downgrade(empty_url, "0002")
        assert "hw" not in _columns(empty_url, "node_health")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT fw FROM node_health")).all() == [("0.1.0",)]
    finally:
        engine.dispose()


def test_login_throttle_migration_0006_goes_up_from_0005_and_back_down(empty_url: str) -> None:
    upgrade(empty_url, "0005")
    assert "login_throttle" not in _tables(empty_url)
    upgrade(empty_url, "0006")
    assert _columns(empty_url, "login_throttle") == {
        "key", "failures", "window_start", "blocked_until"
    }
    downgrade(empty_url, "0005")
    assert "login_throttle" not in _tables(empty_url)
    assert current_revision(empty_url) == "0005"



def test_node_interval_migration_0008_adds_the_column_and_goes_down_keeping_nodes_and_keys(
    empty_url: str,
) -> None:
    upgrade(empty_url, "0007")
    assert "interval_s" not in _columns(empty_url, "node")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:  # raw: today's Node model has 0008's column
            for sql in _NODE_ROWS:
                conn.execute(text(sql), {"secret": b"sealed"})
        upgrade(empty_url, "0008")
        assert "interval_s" in _columns(empty_url, "node")
        with engine.begin() as conn:  # a node claimed before: its interval is not known
            assert conn.execute(text("SELECT interval_s FROM node")).all() == [(None,)]
            conn.execute(text("UPDATE node SET interval_s = 60"))
        downgrade(empty_url, "0007")
        assert current_revision(empty_url) == "0007"
        assert "interval_s" not in _columns(empty_url, "node")
        with engine.connect() as conn:  # the node and its key survive the way down
            assert conn.execute(text("SELECT id FROM node")).all() == [("ang-0001",)]
            assert conn.execute(text("SELECT node_id, key_id FROM node_key")).all() == [
                ("ang-0001", 1)
            ]
        upgrade(empty_url)
        assert current_revision(empty_url) == head_revision()
    finally:
        engine.dispose()
