"""Schema migrations: from the first schema with data to head, models equal migrations, PostgreSQL too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.store.database import migrate, open_database
from service.store.models import Base
from tests.support.postgres import postgres_url


def test_upgrade_keeps_existing_rows(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0001")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO workloads (component_id, workload_key, bucket, dag_key, descriptor_key, state_key, "
                "deployed) VALUES ('urn:dmb:cmp:a:b:1:c', 'a/b/1/c', 'bkt', 'dags/x.py', 'dags/x_d.yaml', 'k', 1)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO tasks VALUES ('t', 'provision', NULL, 'COMPLETED', :now, :now, '{}')"), {"now": now}
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT component_id, data_product_id, drift_status FROM workloads")).one()
        assert tuple(row) == ("urn:dmb:cmp:a:b:1:c", "", None)
        assert conn.execute(sa.text("SELECT count(*) FROM tasks")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM plans")).scalar() == 0


def test_drift_history_table_after_upgrade(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'history.db'}")
    migrate(engine, "0007")
    assert "drift_checks" not in sa.inspect(engine).get_table_names()
    migrate(engine)
    inspector = sa.inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns("drift_checks")}
    assert list(columns) == ["check_id", "component_id", "checked_at", "status", "report"]
    assert [name for name, c in columns.items() if c["nullable"]] == []
    assert inspector.get_pk_constraint("drift_checks")["constrained_columns"] == ["check_id"]
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("drift_checks")}
    assert indexes == {"ix_drift_checks_component_id": ["component_id"]}
    # The web view lists a workload's verdicts newest first by this id: it must count up by itself.
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for status in ("in_sync", "drifted"):
            conn.execute(
                sa.text(
                    "INSERT INTO drift_checks (component_id, checked_at, status, report) VALUES ('c', :now, :s, '{}')"
                ),
                {"now": now, "s": status},
            )
        rows = conn.execute(sa.text("SELECT check_id, status FROM drift_checks ORDER BY check_id")).all()
    assert [tuple(r) for r in rows] == [(1, "in_sync"), (2, "drifted")]


def test_models_match_migrations(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}", upgrade=True)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        # Alembic cannot reflect a DESC column of an index: it reports each such index as removed and
        # added again. Those are compared here by what the database itself says they index.
        reflected = {i["name"]: i for i in sa.inspect(conn).get_indexes("workloads")}
        reflected |= {i["name"]: i for i in sa.inspect(conn).get_indexes("drift_runs")}
        reflected |= {i["name"]: i for i in sa.inspect(conn).get_indexes("plans")}
        sqlite_sql = dict(conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    pages = {"ix_workloads_page", "ix_workloads_dp_page", "ix_drift_runs_page", "ix_plans_page"}
    assert [d for d in diff if d[1].name not in pages] == []
    assert sorted({d[1].name for d in diff}) <= sorted(pages)
    assert "last_at DESC, component_id DESC" in sqlite_sql["ix_workloads_page"]
    assert "data_product_id, last_at DESC, component_id DESC" in sqlite_sql["ix_workloads_dp_page"]
    assert "created_at DESC, run_id DESC" in sqlite_sql["ix_drift_runs_page"]
    assert "component_id, created_at DESC, plan_id DESC" in sqlite_sql["ix_plans_page"]
    assert set(pages) <= set(reflected)


def test_postgresql_url_is_migrated(postgres_schema: str) -> None:
    engine = open_database(postgres_url(postgres_schema), upgrade=True)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names(schema=postgres_schema))
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert {
        "tasks",
        "workloads",
        "plans",
        "drift_runs",
        "drift_checks",
        "replicas",
        "terraform_runs",
        "alembic_version",
    } <= tables
    assert version == "0010"


def test_stored_drift_verdicts_become_camel_case(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'verdicts.db'}")
    migrate(engine, "0009")
    snake = {"component_id": "urn:x", "status": "drifted", "method": "fast", "checked_at": "t", "changes": []}
    camel = {"componentId": "urn:x", "status": "drifted", "method": "fast", "checkedAt": "t", "changes": []}
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO workloads (component_id, workload_key, bucket, dag_key, descriptor_key, state_key, "
                "deployed, drift_report) VALUES ('urn:x', 'a/b/1/x', 'b', 'k', 'd', 's', 1, :r)"
            ),
            {"r": json.dumps(snake)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO drift_checks (component_id, checked_at, status, report) VALUES ('urn:x', :t, 'd', :r)"
            ),
            {"t": now, "r": json.dumps(snake)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO drift_runs (run_id, status, created_at, updated_at, done, total, report, options) "
                "VALUES ('run', 'COMPLETED', :t, :t, 1, 1, :r, '{}')"
            ),
            {"t": now, "r": json.dumps({"exitCode": 2, "counts": {"drifted": 1}, "workloads": [snake]})},
        )
    migrate(engine)
    with engine.connect() as conn:
        assert json.loads(conn.execute(sa.text("SELECT drift_report FROM workloads")).scalar_one()) == camel
        assert json.loads(conn.execute(sa.text("SELECT report FROM drift_checks")).scalar_one()) == camel
        run = json.loads(conn.execute(sa.text("SELECT report FROM drift_runs")).scalar_one())
        assert run == {"exitCode": 2, "counts": {"drifted": 1}, "workloads": [camel]}
        assert conn.execute(sa.text("SELECT trigger FROM drift_runs")).scalar_one() == "request"
