"""Start and stop real server processes for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/moto-api/", proc)
    return proc, endpoint


def base_env(endpoint: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's AWS or Terraform setup leaks in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "AWS_ENDPOINT_URL_S3": endpoint,
            "MWAA_SP_EMULATOR": "true",
            # moto serves IAM and STS on the same port (updateacl's principals, account id).
            "AWS_ENDPOINT_URL_IAM": endpoint,
            "AWS_ENDPOINT_URL_STS": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


class ServiceProcess:
    """``python -m service serve`` with the given environment, on a free port; ``source`` is the tree
    it runs from (another release's, for an upgrade test)."""

    def __init__(self, env: dict[str, str], log_path: Path, source: Path = REPO) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "MWAA_SP_PORT": str(self.port), "MWAA_SP_HOST": "127.0.0.1", "PYTHONPATH": str(source)}
        self.env = env
        """The service's environment: a CLI command given it works on the same database and data dir."""
        self.log_path = log_path
        self._log = log_path.open("wb")
        # A session of its own: kill_replica() ends the service and every process it started
        # (Terraform, the provider), as a container's death would.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=env,
            cwd=source,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        try:
            wait_http(self.url + "/health", self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"service did not start:\n{log_path.read_text()}") from None

    def stop(self) -> None:
        stop(self.proc)
        self._kill_group()
        self._log.close()

    def kill_replica(self) -> None:
        """``kill -9`` of the whole replica at once: nothing of it gets to clean up."""
        self._kill_group()
        self.proc.wait()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path = REPO, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``mwaa-sp <args>`` in a process of its own, with exactly ``env``, in ``cwd``."""
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def wait_until(condition: Callable[[], bool], timeout: float = 300.0, what: str = "the condition") -> None:
    """Poll ``condition`` (an observable event) until true, within a generous deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.05)


def task(status_url: str) -> dict[str, Any]:
    response = httpx.get(status_url, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_logged(status_url: str, needle: str = "", timeout: float = 300.0, phase: str | None = None) -> dict[str, Any]:
    """Poll a task until one of its log entries (of ``phase``, if given) contains ``needle``, or it
    finished; the body."""
    deadline = time.monotonic() + timeout
    while True:
        body = task(status_url)
        entries = [e for e in body.get("logs", []) if phase is None or e["phase"] == phase]
        if body["status"] != "RUNNING" or any(needle in e["message"] for e in entries):
            return body
        assert time.monotonic() < deadline, f"no log entry with {needle!r} within {timeout:g} s"
        time.sleep(0.1)


def wait_finished(status_url: str, timeout: float = 300.0, message: str = "a token stayed RUNNING") -> dict[str, Any]:
    """Poll a task status URL until it is no longer RUNNING; the final body."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(status_url, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "RUNNING":
            return body
        assert time.monotonic() < deadline, message
        time.sleep(0.3)
