"""The package is the product: the wheel, installed into fresh virtual environments from another
directory, runs — plainly (no emulator, no stand-in; ``--sandbox`` names the extra it needs) and with
the ``sandbox`` extra (the README's sandbox request completes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO, free_port, stop, wait_http

pytestmark = pytest.mark.e2e
INSTALL_TIMEOUT = 900


def _run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our build and our package
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, REPO], timeout=INSTALL_TIMEOUT
    )
    assert built.returncode == 0, built.stderr
    [found] = dist.glob("mwaa_sp-*.whl")
    return found


def _venv(path: Path, requirement: str) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    installed = _run(
        [path / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return path / "bin"


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": os.environ.get("LANG", "C.UTF-8"), **extra}


def test_a_plain_install_has_no_emulator_and_says_what_sandbox_needs(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "plain", str(wheel))
    found = _run(
        [bin_dir / "python", "-c", "import importlib.util as u; print(u.find_spec('moto'), u.find_spec('tf'))"]
    )
    assert found.stdout.strip() == "None None"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sandbox = _run([bin_dir / "mwaa-sp", "serve", "--sandbox"], cwd=elsewhere, env=_clean_env(tmp_path), timeout=120)
    assert sandbox.returncode == 78
    assert "--sandbox needs the sandbox extra" in sandbox.stderr
    assert "pip install 'mwaa-sp[sandbox]'" in sandbox.stderr
    assert "Traceback" not in sandbox.stderr
    # The package data is there: rendering a module works from any directory.
    descriptor = elsewhere / "d.yaml"
    descriptor.write_text((REPO / "tests" / "support" / "sample-descriptor.yaml").read_text())
    rendered = _run(
        [bin_dir / "mwaa-sp", "render", descriptor, "--out", elsewhere / "out", "--dag-file", descriptor],
        cwd=elsewhere,
        env=_clean_env(tmp_path, MWAA_SP_DATA_DIR=str(elsewhere / "data")),
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert (elsewhere / "out" / "modules" / "workload" / "main.tf").is_file()


def test_the_sandbox_extra_runs_the_readme_example_from_anywhere(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "full", f"{wheel}[sandbox]")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = _clean_env(tmp_path, MWAA_SP_PORT=str(port))
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603
        [str(bin_dir / "mwaa-sp"), "serve", "--sandbox"], cwd=elsewhere, env=env, stdout=log, stderr=log
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=120)
        body = json.loads((elsewhere / "data" / "sandbox-request.json").read_text())
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/provision", json=body, timeout=300)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "COMPLETED"
    finally:
        stop(proc)
        log.close()
