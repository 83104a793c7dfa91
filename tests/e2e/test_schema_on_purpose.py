"""Schema changes only on purpose: ``mwaa-sp db upgrade`` migrates (an init container's job),
``serve`` migrates at start unless MWAA_SP_MIGRATE=false, and every other command refuses a database
that is not at this release's schema — with one line naming ``mwaa-sp db upgrade`` — creating
nothing; a replica never runs against a schema newer than it knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.store.database import head, normalise_url
from tests.support.postgres import postgres_url
from tests.support.processes import base_env, run_cli, wait_until

pytestmark = pytest.mark.e2e


def _tables(schema: str) -> list[str]:
    engine = sa.create_engine(normalise_url(postgres_url(schema)))
    try:
        return sorted(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def test_a_cli_against_an_empty_database_creates_nothing_and_names_db_upgrade(
    postgres_schema: str, moto_endpoint: str, tmp_path: Path
) -> None:
    env = base_env(moto_endpoint) | {
        "MWAA_SP_DATABASE_URL": postgres_url(postgres_schema),
        "MWAA_SP_DATA_DIR": str(tmp_path / "data"),
    }
    for command in (["workloads"], ["drift"], ["registry", "rebuild"]):
        refused = run_cli(command, env)
        assert refused.returncode == 78, refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith("error: database ")
        assert line.endswith("has no schema: run `mwaa-sp db upgrade` (with this release) first")
    assert _tables(postgres_schema) == []
    assert not (tmp_path / "data").exists()

    upgraded = run_cli(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip().endswith(f"schema none → {head()}")
    assert "key_claims" in _tables(postgres_schema)
    again = run_cli(["db", "upgrade"], env)
    assert again.stdout.strip().endswith(f"is at schema {head()}: nothing to do")
    listed = run_cli(["workloads", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"


def test_a_cron_job_in_an_empty_directory_fails_loudly(moto_endpoint: str, tmp_path: Path) -> None:
    """``cd empty && mwaa-sp drift`` used to create ./data/mwaa-sp.db and report "in sync"."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = base_env(moto_endpoint)
    import subprocess
    import sys

    from tests.support.processes import REPO

    done = subprocess.run(  # noqa: S603 - our own CLI, from the empty directory
        [sys.executable, "-m", "service", "drift"],
        cwd=empty,
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 78, done.stderr
    assert "there is no database at" in done.stderr
    assert "run `mwaa-sp db upgrade` first" in done.stderr
    assert list(empty.iterdir()) == []


def test_serve_migrates_unless_told_not_to_and_never_runs_on_a_newer_schema(
    service_factory: Any, postgres_schema: str, moto_endpoint: str, tmp_path: Path
) -> None:
    url = postgres_url(postgres_schema)
    env = base_env(moto_endpoint) | {"MWAA_SP_DATABASE_URL": url, "MWAA_SP_DATA_DIR": str(tmp_path / "d")}
    refused = run_cli(["serve"], env | {"MWAA_SP_MIGRATE": "false"})
    assert refused.returncode == 78
    assert "has no schema: run `mwaa-sp db upgrade`" in refused.stderr
    assert _tables(postgres_schema) == []

    replica = service_factory(database_url=url)  # migrates at start
    assert httpx.get(f"{replica.url}/ready", timeout=30).status_code == 200
    # A newer release migrates the database under the running replica: it is no longer ready…
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    answers: list[httpx.Response] = []
    # Readiness is reused for a second: the next fresh check sees the newer schema.
    wait_until(lambda: answers.append(httpx.get(f"{replica.url}/ready", timeout=30)) or answers[-1].status_code == 503)
    ready = answers[-1]
    schema = {c["name"]: c for c in ready.json()["checks"]}["schema"]
    assert schema["ok"] is False
    assert f"database at schema 9999, this release runs {head()}" in schema["detail"]
    # …no command of this release works on it, and serve does not start on it.
    newer = run_cli(["workloads"], env)
    assert newer.returncode == 78
    assert f"is at schema 9999, newer than this release knows ({head()})" in newer.stderr
    assert run_cli(["serve"], env | {"MWAA_SP_MIGRATE": "false"}).returncode == 78
    started = run_cli(["serve"], env)
    assert started.returncode != 0
    assert "9999" in started.stderr
