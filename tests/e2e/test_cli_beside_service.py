"""The CLI as a cron job uses it: exit codes a scheduler can act on, and a CLI run beside the
running service on the default SQLite install going through the same door (a file lock under the
data directory) — it waits its turn instead of sharing the working directory."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.processes import REPO, base_env, run_cli, wait_finished, wait_logged

pytestmark = pytest.mark.e2e
DAG_KEY = "dags/finance_invoices_1_my_dag.py"


def _cli_env(data: Path, moto_endpoint: str, provider_cli_config: Path, gate: Gate | None = None) -> dict[str, str]:
    return (
        base_env(moto_endpoint)
        | {"TF_CLI_CONFIG_FILE": str(provider_cli_config), "MWAA_SP_DATA_DIR": str(data)}
        | (gate.env if gate else {})
    )


def _start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_stderr(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """Read the CLI's stderr line by line until ``needle`` shows (the CLI says what it waits for)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"the CLI ended without saying {needle!r}: {''.join(seen)}")


def test_exit_codes(tmp_path: Path, s3: Any, moto_endpoint: str, provider_cli_config: Path) -> None:
    env = _cli_env(tmp_path / "data", moto_endpoint, provider_cli_config)
    absent = run_cli(["drift"], env)  # no database yet: said, and nothing created (exit 78, EX_CONFIG)
    assert absent.returncode == 78, absent.stderr
    assert not (tmp_path / "data").exists()
    assert run_cli(["db", "upgrade"], env).returncode == 0
    unknown = run_cli(["drift", "--workload", "urn:dmb:cmp:no:such:1:thing"], env)
    assert unknown.returncode == 64, unknown.stderr
    assert "urn:dmb:cmp:no:such:1:thing is unknown" in unknown.stderr
    assert run_cli(["show", "urn:dmb:cmp:no:such:1:thing"], env).returncode == 64
    usage = run_cli(["drift", "--no-such-flag"], env)
    assert usage.returncode == 64
    assert "unrecognized arguments: --no-such-flag" in usage.stderr
    assert run_cli([], env).returncode == 64
    nothing = run_cli(["drift", "--json"], env)  # an empty registry is in sync
    assert nothing.returncode == 0, nothing.stderr
    assert json.loads(nothing.stdout)["counts"] == {}


@pytest.mark.parametrize("first", ["service", "cli"])
def test_cli_reconcile_beside_the_service_provisioning_the_same_workload(
    first: str, service_factory: Any, s3: Any, tmp_path: Path, moto_endpoint: str, provider_cli_config: Path
) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    data, gate = tmp_path / "data", Gate(tmp_path / "gate")
    service = service_factory(data_dir=data, gate=gate, **{"async": "true"})
    assert wait_finished(f"{service.url}/v1/provision/{_post(service.url, body)}/status")["status"] == "COMPLETED"
    s3.put_object(Bucket=bucket, Key=DAG_KEY, Body=b"tampered = True\n")  # drift behind Terraform's back
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    env = _cli_env(data, moto_endpoint, provider_cli_config, gate)
    reconcile = ["drift", "--reconcile", "--json", "--workload", component_id(spec)]

    if first == "service":
        gate.hold("apply")
        token = _post(service.url, body)
        gate.wait_reached("apply")  # the service is inside the workload's door, applying
        cli = _start_cli(reconcile, env)
        _wait_stderr(cli, "another process is running Terraform on it")
        gate.release("apply")
    else:
        gate.hold("read")
        cli = _start_cli(reconcile, env)
        gate.wait_reached("read")  # the CLI's refresh-only plan is inside the door
        token = _post(service.url, body)
        wait_logged(f"{service.url}/v1/provision/{token}/status", "waiting for the workload's lock")
        gate.release("read")
    stdout, stderr = cli.communicate(timeout=300)
    provisioned = wait_finished(f"{service.url}/v1/provision/{token}/status")
    assert provisioned["status"] == "COMPLETED", provisioned
    verdict = json.loads(stdout)["workloads"][0]
    if first == "service":  # the provision deployed v2 over the tampered object: nothing left to reconcile
        assert cli.returncode == 0, stderr
        assert verdict["status"] == "in_sync"
    else:  # the CLI found the drift and put the last applied DAG back; the provision then deployed v2
        assert cli.returncode == 2, stderr
        assert verdict["status"] == "drifted"
        assert verdict["reconciled"]["summary"]["change"] >= 1
    assert s3.get_object(Bucket=bucket, Key=DAG_KEY)["Body"].read() == b"v = 2\n"


def _post(url: str, body: dict[str, object]) -> str:
    response = httpx.post(f"{url}/v1/provision", json=body, timeout=60)
    assert response.status_code == 202, response.text
    return str(response.json())
