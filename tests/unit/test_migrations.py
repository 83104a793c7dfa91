"""Schema migrations: from the first schema with data to head, models equal migrations, PostgreSQL too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.store.database import make_engine, migrate, normalise_url
from service.store.models import Base

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


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


def test_models_match_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    admin = sa.create_engine(normalise_url(POSTGRES))
    schema = f"t_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    yield schema
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_postgresql_url_is_migrated(postgres_schema: str) -> None:
    engine = make_engine(f"{POSTGRES}?options=-csearch_path%3D{postgres_schema}")
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names(schema=postgres_schema))
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert {"tasks", "workloads", "plans", "drift_runs", "alembic_version"} <= tables
    assert version == "0003"
