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
