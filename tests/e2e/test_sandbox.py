"""The README's first command: the sandbox starts on embedded defaults and its curl example works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO, free_port, stop, wait_http

pytestmark = pytest.mark.e2e


def test_sandbox_provisions_the_demo_dag_with_no_aws(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MWAA_SP_PORT": str(port),
        "MWAA_SP_DATA_DIR": str(tmp_path / "data"),
        "AWS_SECRET_ACCESS_KEY": "s3cr3t-never-logged",
    }
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--sandbox"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=90)
        body = json.loads((tmp_path / "data" / "sandbox-request.json").read_text())
        response = httpx.post(f"http://127.0.0.1:{port}/v1/provision", json=body, timeout=300)
        assert response.status_code == 200, response.text
        assert response.json()["info"]["publicInfo"]["dagLocation"]["value"] == (
            "s3://mwaa-sandbox/dags/sandbox_demo_dp_0_hello_dag.py"
        )
        # A CLI command beside it finds the sandbox's own emulator, not an empty one of its own.
        drift = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "service", "drift", "--sandbox", "--json"],
            cwd=REPO,
            env={k: v for k, v in env.items() if k != "MWAA_SP_PORT"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert drift.returncode == 0, drift.stdout + drift.stderr
        assert [v["status"] for v in json.loads(drift.stdout)["workloads"]] == ["in_sync"]
    finally:
        stop(proc)
        log.close()
    output = (tmp_path / "sandbox.log").read_text()
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    messages = [r["msg"] for r in records]
    assert any("SANDBOX MODE" in m and "embedded S3 emulator at http://127.0.0.1:" in m for m in messages)
    assert any(m.startswith("Plan: 2 to add") for m in messages)
    assert "s3cr3t-never-logged" not in output


def test_sandbox_cli_without_a_running_sandbox_says_so_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MWAA_SP_DATA_DIR": str(data)}
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", "drift", "--sandbox"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 78
    assert f"error: no sandbox is running for data dir {data}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists() or not any(data.iterdir()), "nothing may be written (no registry, no verdicts)"
