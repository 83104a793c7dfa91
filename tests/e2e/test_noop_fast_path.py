"""The fast "nothing changed" check must agree with what ``terraform plan`` says, in both directions."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.domain.descriptor import parse_descriptor
from service.domain.journal import Journal
from service.engine.door import DoorPass
from service.settings import Settings
from service.wiring import build
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

pytestmark = pytest.mark.e2e


def test_fast_path_agrees_with_terraform_plan(
    service_factory: Any,
    s3: Any,
    tmp_path: Path,
    moto_endpoint: str,
    provider_cli_config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    text = descriptor(spec)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"print(1)\n")
    service = service_factory()

    def provision() -> dict[str, Any]:
        response = httpx.post(f"{service.url}/v1/provision", json=request(text), timeout=300)
        assert response.status_code == 200, response.text
        return dict(response.json()["info"]["privateInfo"])

    assert provision()["noOpVerifiedWithoutTerraform"] is False
    assert provision()["noOpVerifiedWithoutTerraform"] is True

    # The same registry, state and working directory the service uses, driven in this process.
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings(
        data_dir=tmp_path / "data0", s3_endpoint=moto_endpoint, emulator=True, tf_cli_config_file=provider_cli_config
    )
    parts = build(settings, kind="cli")
    workload = parse_descriptor(text)
    dag_key = workload.deployed_key

    def verdicts_inside(door: DoorPass) -> tuple[bool, int]:
        """The provision's own no-op verdict, and Terraform's, on the same inputs."""
        staged = s3.get_object(Bucket=bucket, Key=staged_key(spec))["Body"].read()
        workspace = parts.workspaces.open(door, Journal())
        module = workspace.render(workload, staged)
        recorded = parts.registry.deployed(workload.component_id)
        fast = parts.deployer.no_op(recorded, module, parts.deployer.observe(workload)) is not None
        workspace.prepare(module)
        return fast, 2 if workspace.plan().has_changes else 0

    def verdicts() -> tuple[bool, int]:
        return parts.door.run(workload.workload_key, verdicts_inside)

    assert verdicts() == (True, 0)

    tampering = [
        lambda: s3.put_object(Bucket=bucket, Key=dag_key, Body=b"print('tampered')\n"),
        lambda: s3.put_object_tagging(Bucket=bucket, Key=dag_key, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]}),
        lambda: s3.delete_object(Bucket=bucket, Key=workload.descriptor_key),
        lambda: s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"print(2)\n"),
    ]
    for tamper in tampering:
        tamper()
        assert verdicts() == (False, 2)
        restored = provision()
        assert restored["noOpVerifiedWithoutTerraform"] is False
        assert verdicts() == (True, 0)
    staged = s3.get_object(Bucket=bucket, Key=staged_key(spec))["Body"].read()
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == staged
