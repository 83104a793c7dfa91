"""The CLI pointed at a running service, as a cron job on another host runs it: only ``MWAA_SP_URL``
and ``MWAA_SP_TOKEN`` — no database, no data directory, no AWS settings, an empty working directory
that stays empty. Drift runs go through the service's queue and their verdicts land in its registry;
exit codes are the local ones, plus 69 (unreachable), 75 (past --timeout) and 77 (token refused)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.processes import REPO, free_port, run_cli, wait_until

pytestmark = pytest.mark.e2e
TOKEN = "cron-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNKNOWN = "urn:dmb:cmp:no:such:1:thing"


def _remote_env(url: str | None, token: str | None = TOKEN) -> dict[str, str]:
    """What a cron job on another host has: a PATH, the URL and the token — nothing of the service's."""
    env = {k: v for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if (v := os.environ.get(k))}
    env["PYTHONPATH"] = str(REPO)
    if url:
        env["MWAA_SP_URL"] = url
    if token:
        env["MWAA_SP_TOKEN"] = token
    return env


def _registry(url: str, cid: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/workloads/{quote(cid, safe='')}", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr  # exactly one line
    assert result.stderr.startswith("error: ")
    assert needle in result.stderr
    assert result.stdout == ""


def test_cron_job_against_the_service(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    specs = [WorkloadSpec(name=f"wl{i}", dag_name=f"dag_{i}.py", bucket=bucket) for i in range(2)]
    ids = [component_id(spec) for spec in specs]
    gate = Gate(tmp_path / "gate")
    service = service_factory(gate=gate, api_tokens=TOKEN)
    for i, spec in enumerate(specs):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=f"x = {i}\n".encode())
        body = request(descriptor(*specs, provision=i))
        provisioned = httpx.post(f"{service.url}/v1/provision", json=body, headers=AUTH, timeout=300)
        assert provisioned.status_code == 200, provisioned.text
    cron = tmp_path / "cron"
    cron.mkdir()
    env = _remote_env(service.url)

    # In sync: 0, one stderr line per step, stdout only the report; the verdicts are the service's.
    in_sync = run_cli(["drift", "--json"], env, cron)
    assert in_sync.returncode == 0, in_sync.stderr
    assert json.loads(in_sync.stdout)["counts"] == {"in_sync": 2}
    started, *steps = in_sync.stderr.splitlines()
    assert started.startswith("drift run ")
    assert started.endswith(f" started on {service.url}")
    assert steps == ["checked 1/2", "checked 2/2"]
    assert [_registry(service.url, cid)["drift"]["status"] for cid in ids] == ["in_sync", "in_sync"]

    # Overwritten behind Terraform's back: 2, and the service's registry says so.
    s3.put_object(Bucket=bucket, Key="dags/finance_invoices_1_dag_1.py", Body=b"evil = True\n")
    drifted = run_cli(["drift", "--json"], env, cron)
    assert drifted.returncode == 2, drifted.stderr
    verdicts = {w["componentId"]: w["status"] for w in json.loads(drifted.stdout)["workloads"]}
    assert verdicts == {ids[0]: "in_sync", ids[1]: "drifted"}
    row = _registry(service.url, ids[1])
    assert row["drift"]["status"] == "drifted"
    assert "content" in {c["what"] for c in row["drift"]["report"]["changes"]}
    text = run_cli(["drift", "--workload", ids[1]], env, cron)
    assert text.returncode == 2, text.stderr
    assert text.stdout.startswith(f"drifted  terraform {ids[1]}  dags/finance_invoices_1_dag_1.py content")

    # Unknown workloads: the usage code, naming them, as locally.
    unknown = run_cli(["drift", "--workload", UNKNOWN], env, cron)
    assert unknown.returncode == 64, unknown.stderr
    assert f"{UNKNOWN} is unknown" in unknown.stderr
    assert run_cli(["show", UNKNOWN], env, cron).returncode == 64

    # The registry and the stored plans, read through the API (ids with ':' in the path).
    listed = run_cli(["workloads", "--json"], env, cron)
    assert listed.returncode == 0, listed.stderr
    assert sorted(w["componentId"] for w in json.loads(listed.stdout)) == sorted(ids)
    shown = run_cli(["show", ids[0]], env, cron)
    assert shown.returncode == 0, shown.stderr
    workload = json.loads(shown.stdout)
    assert (workload["componentId"], [p["kind"] for p in workload["plans"]]) == (ids[0], ["provision"])
    stored = run_cli(["show", ids[0], "--plan", workload["plans"][0]["planId"], "--json"], env, cron)
    assert stored.returncode == 0, stored.stderr
    assert "aws_s3_object.dag_text[0] will be created" in json.loads(stored.stdout)["text"]

    # A speculative plan on the service; an invalid descriptor is 65, as locally.
    s3.put_object(Bucket=bucket, Key=staged_key(specs[0]), Body=b"x = 100\n")
    path = tmp_path / "descriptor.yaml"
    path.write_text(descriptor(*specs))
    planned = run_cli(["plan", str(path)], env, cron)
    assert planned.returncode == 0, planned.stderr
    assert "-x = 0\n+x = 100\n" in planned.stdout
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in planned.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(descriptor(WorkloadSpec(bucket=bucket, dag_name="x.sql")))
    invalid = run_cli(["plan", str(broken)], env, cron)
    assert invalid.returncode == 65, invalid.stderr
    assert "dataProduct.components[0].specific.dagName" in invalid.stderr

    # Past --timeout the CLI gives up (75) while the run goes on in the service and lands in its registry.
    # The gate, not the clock, keeps the run from finishing: --timeout is generous so every request
    # answers well within it even on a slow machine, and only the held run can outlast it.
    gate.hold("read")
    waited = run_cli(["drift", "--thorough", "--timeout", "20", "--workload", ids[0]], env, cron)
    assert waited.returncode == 75, waited.stderr
    started, error = waited.stderr.splitlines()  # the run's start, then one line saying why it stopped waiting
    assert started.startswith("drift run ")
    assert error.startswith("error: drift run ")
    assert "did not finish within 20 s; it goes on in the service" in error
    assert waited.stdout == ""
    run_url = error.split("(GET ")[1].rstrip(")")
    # Still held after the CLI gave up: the 75 came from the run outlasting --timeout.
    gate.wait_reached("read")
    assert httpx.get(run_url, headers=AUTH, timeout=30).json()["status"] == "RUNNING"
    gate.release("read")
    wait_until(
        lambda: httpx.get(run_url, headers=AUTH, timeout=30).json()["status"] != "RUNNING",
        what="the abandoned drift run finishing in the service",
    )
    assert _registry(service.url, ids[0])["drift"]["report"]["method"] == "terraform"

    # Refused tokens: 77, one line, no traceback.
    _one_line_error(run_cli(["workloads"], env | {"MWAA_SP_TOKEN": "wrong"}, cron), 77, "refused the token")
    _one_line_error(run_cli(["drift"], _remote_env(service.url, token=None), cron), 77, "requires a token")
    flagged = run_cli(["workloads", "--token", TOKEN], _remote_env(service.url, token=None), cron)
    assert flagged.returncode == 0, flagged.stderr

    # The registry rebuilt by the service from its Terraform states.
    rebuilt = run_cli(["registry", "rebuild"], env, cron)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sorted(rebuilt.stdout.split()) == ids

    assert list(cron.iterdir()) == []  # no database, no data directory, nothing


def test_unreachable_service_and_usage(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cron = tmp_path / "cron"
    cron.mkdir()
    path = tmp_path / "descriptor.yaml"
    path.write_text(descriptor(WorkloadSpec()))
    for args in (["drift", "--json"], ["workloads"], ["show", UNKNOWN], ["plan", str(path)], ["registry", "rebuild"]):
        _one_line_error(run_cli(args, _remote_env(url), cron), 69, f"cannot reach the service at {url}")
    # MWAA_SP_URL in the environment is ignored by serve (tests/unit/test_client.py); it has no --url.
    serve = run_cli(["serve", "--url", url], _remote_env(None), cron)
    assert serve.returncode == 64
    assert "unrecognized arguments: --url" in serve.stderr
    for bad in ("http://127.0.0.1:abc", "http://[::1"):
        _one_line_error(run_cli(["workloads"], _remote_env(bad), cron), 64, f"got {bad!r}")
    # A token without a URL would otherwise open a fresh local registry and report "in sync" forever.
    lost_url = run_cli(["drift"], _remote_env(None), cron)
    assert lost_url.returncode == 64
    assert "MWAA_SP_URL / --url is not" in lost_url.stderr
    sandbox = run_cli(["drift", "--sandbox"], _remote_env(url), cron)
    assert sandbox.returncode == 64
    assert list(cron.iterdir()) == []
