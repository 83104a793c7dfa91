"""``mwaa-sp serve`` as an operator runs it: a busy port is one line and EX_OSERR (71), the log level
is a setting, every log line is plain JSON (no terminal colour codes), and secrets come from files
(a mounted Kubernetes Secret) as well as from the environment."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import base_env, run_cli
from tests.support.real_parts import missing

pytestmark = pytest.mark.e2e


def test_a_busy_port_is_one_line_and_exit_71(moto_endpoint: str, tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        env = base_env(moto_endpoint) | {"MWAA_SP_PORT": str(port), "MWAA_SP_DATA_DIR": str(tmp_path / "d")}
        done = run_cli(["serve"], env, timeout=120)
    finally:
        taken.close()
    assert done.returncode == 71
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (MWAA_SP_HOST / MWAA_SP_PORT)"
    ]


def test_log_level_plain_json_and_secrets_from_files(service_factory: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("ops:admin:file-secret-0123456789\n")
    service = service_factory(env_extra={"MWAA_SP_API_TOKENS_FILE": str(tokens), "MWAA_SP_LOG_LEVEL": "WARNING"})
    assert httpx.get(f"{service.url}/workloads", timeout=30).status_code == 401
    answer = httpx.get(
        f"{service.url}/workloads", headers={"Authorization": "Bearer file-secret-0123456789"}, timeout=30
    )
    assert answer.status_code == 200
    service.stop()
    lines = service.log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries
    assert {e["level"] for e in entries} <= {"WARNING", "ERROR", "CRITICAL"}
    assert not any("\x1b[" in line or "color_message" in line for line in lines)
    assert "file-secret-0123456789" not in "\n".join(lines)


def test_a_secret_set_twice_or_unreadable_is_refused(moto_endpoint: str, tmp_path: Path) -> None:
    env = base_env(moto_endpoint) | {"MWAA_SP_DATA_DIR": str(tmp_path / "d")}
    both = run_cli(["serve"], env | {"MWAA_SP_API_TOKENS": "a", "MWAA_SP_API_TOKENS_FILE": str(tmp_path / "x")})
    assert both.returncode == 78
    assert "set MWAA_SP_API_TOKENS or MWAA_SP_API_TOKENS_FILE, not both" in both.stderr
    absent = run_cli(["serve"], env | {"MWAA_SP_DATABASE_URL_FILE": str(tmp_path / "nope")})
    assert absent.returncode == 78
    assert f"MWAA_SP_DATABASE_URL_FILE {tmp_path / 'nope'} cannot be read" in absent.stderr
    level = run_cli(["workloads"], env | {"MWAA_SP_LOG_LEVEL": "LOUD"})
    assert level.returncode == 78
    assert "MWAA_SP_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in level.stderr


def _dockerfile(instruction: str) -> str:
    """The Dockerfile's ``instruction`` line, its arguments (the image cannot be built here)."""
    from tests.support.processes import REPO

    [line] = [ln for ln in (REPO / "Dockerfile").read_text().splitlines() if ln.startswith(instruction + " ")]
    return line.removeprefix(instruction + " ")


def _zombies_under(root: int) -> list[int]:
    """Processes in ``root``'s tree that exited and were never waited for."""
    parents: dict[int, int] = {}
    states: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            states[int(entry.name)], parents[int(entry.name)] = fields[0], int(fields[1])

    def under(pid: int) -> bool:
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    return [pid for pid, state in states.items() if state == "Z" and under(parents[pid])]


def test_the_images_entrypoint_and_healthcheck(
    moto_endpoint: str, provider_cli_config: Path, s3: Any, tmp_path: Path
) -> None:
    """The image's ENTRYPOINT (tini, then mwaa-sp) and HEALTHCHECK, as the Dockerfile writes them:
    the health check follows MWAA_SP_PORT, nothing of a provision is left unreaped, and SIGTERM
    reaches the service, which drains and exits 0."""
    import shlex

    if not Path("/usr/bin/tini").exists():
        missing("tini (Debian package) is not installed: install it to run the image's entrypoint (.ci/run does)")
    import signal
    import subprocess
    import sys
    import uuid

    from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
    from tests.support.processes import free_port, wait_http

    entrypoint = json.loads(_dockerfile("ENTRYPOINT"))
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]
    healthcheck = _dockerfile("HEALTHCHECK").split(" CMD ", 1)[1]
    port = free_port()
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    env = base_env(moto_endpoint) | {
        "MWAA_SP_PORT": str(port),
        "MWAA_SP_DATA_DIR": str(tmp_path / "d"),
        "MWAA_SP_ALLOWED_BUCKETS": bucket,
        "TF_CLI_CONFIG_FILE": str(provider_cli_config),
        "TINI_SUBREAPER": "1",  # tini is not PID 1 here: it reaps as a subreaper instead
    }
    mwaa_sp = str(Path(sys.executable).parent / entrypoint[2])
    image = subprocess.Popen([*entrypoint[:2], mwaa_sp, "serve"], env=env, cwd=tmp_path)  # noqa: S603
    try:
        wait_http(f"http://127.0.0.1:{port}/health", image)
        probe = ["/bin/sh", "-c", healthcheck]
        assert subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode == 0  # noqa: S603
        elsewhere = env | {"MWAA_SP_PORT": str(free_port())}
        assert subprocess.run(probe, env=elsewhere, capture_output=True, timeout=30).returncode == 1  # noqa: S603

        s3.create_bucket(Bucket=bucket)
        spec = WorkloadSpec(bucket=bucket)
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/provision", json=request(descriptor(spec)), timeout=300)
        assert answer.json()["status"] == "COMPLETED", answer.text
        assert _zombies_under(image.pid) == []

        image.send_signal(signal.SIGTERM)
        assert image.wait(timeout=120) == 0
    finally:
        if image.poll() is None:
            image.kill()
            image.wait()
    assert shlex.split(healthcheck)  # the probe is one shell command line
