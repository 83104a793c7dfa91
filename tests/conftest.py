from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import Engine

from tests.support.gate import Gate
from tests.support.postgres import postgres_url, scratch_schema
from tests.support.processes import ServiceProcess, base_env, start_moto, stop
from tests.support.real_parts import missing


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stray AWS/Terraform variables of the developer's shell must not change what tests do."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "TF_", "MWAA_SP_")):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    proc, endpoint = start_moto()
    try:
        yield endpoint
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def provider_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mwaa_sp_standin.mirror import install_mirror

    return install_mirror(tmp_path_factory.mktemp("provider"))


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def started_services() -> list[ServiceProcess]:
    """The services a test started (``service_factory``); ``postgres_schema`` stops them before it
    drops their schema, whichever fixture pytest tears down first."""
    return []


@pytest.fixture
def service_factory(
    tmp_path: Path, moto_endpoint: str, provider_cli_config: Path, started_services: list[ServiceProcess]
) -> Iterator[Callable[..., ServiceProcess]]:
    started = started_services

    def start(
        data_dir: Path | None = None,
        endpoint: str | None = None,
        gate: Gate | None = None,
        env_extra: dict[str, str] | None = None,
        source: Path | None = None,
        **settings: str,
    ) -> ServiceProcess:
        env = base_env(endpoint or moto_endpoint) | (gate.env if gate else {})
        env["TF_CLI_CONFIG_FILE"] = str(provider_cli_config)
        env["MWAA_SP_DATA_DIR"] = str(data_dir or tmp_path / f"data{len(started)}")
        env.update({f"MWAA_SP_{k.upper()}": v for k, v in settings.items()})
        env.update(env_extra or {})
        log = tmp_path / f"service{len(started)}.log"
        service = ServiceProcess(env, log, source) if source else ServiceProcess(env, log)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def postgres_schema(started_services: list[ServiceProcess]) -> Iterator[str]:
    """A fresh schema in the local PostgreSQL, dropped afterwards — after the test's services have
    stopped: a service still writing to it (renewing a lease, ending a task) and the drop can
    deadlock each other."""
    import sqlalchemy as sa

    with ExitStack() as stack:
        try:
            schema = stack.enter_context(scratch_schema())
        except sa.exc.OperationalError as exc:
            missing(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
        yield schema
        for service in started_services:
            service.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a test that asks for it runs once on SQLite and once on PostgreSQL."""
    from service.store.database import open_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = postgres_url(request.getfixturevalue("postgres_schema"))
    engine = open_database(url, upgrade=True)
    yield engine
    engine.dispose()
