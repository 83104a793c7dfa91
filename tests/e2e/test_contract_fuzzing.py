"""Schemathesis against the official contract in ../shared (not a schema we generate): for generated
requests on every operation, the answers use documented status codes, content types and schemas.

Server errors are not failures by themselves here: the contract documents 500 `SystemError`
answers (e.g. updateacl is not supported yet), and the schema check holds them to that shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support.processes import ServiceProcess, base_env
from tests.support.shared import SHARED

pytestmark = pytest.mark.e2e
SPEC = SHARED / "witboost" / "interface-specification-2.2.0.yml"
if not SPEC.exists():
    pytest.skip(f"{SPEC} is absent: ../shared is not beside the repo", allow_module_level=True)

import schemathesis  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_path(str(SPEC))


@pytest.fixture(scope="module")
def contract_service(
    tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, provider_cli_config: Path
) -> Iterator[ServiceProcess]:
    data = tmp_path_factory.mktemp("contract")
    env = base_env(moto_endpoint) | {"TF_CLI_CONFIG_FILE": str(provider_cli_config), "MWAA_SP_DATA_DIR": str(data)}
    service = ServiceProcess(env, data / "service.log")
    yield service
    service.stop()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, contract_service: ServiceProcess) -> None:
    case.call_and_validate(
        base_url=contract_service.url,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
