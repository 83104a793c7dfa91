"""The package is the product: the wheel, installed into fresh virtual environments from another
directory, runs — plainly (no emulator, no stand-in; ``--sandbox`` names the extra it needs) and with
the ``sandbox`` extra (the README's sandbox request completes). The stand-in provider is its own
distribution (``standin/``, ``mwaa-sp-standin``): never inside the service's wheel, its wheel built
beside it and found there by the extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
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
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both wheels, the service's and the stand-in's, in one directory (what ``--find-links`` is given)."""
    dist = tmp_path_factory.mktemp("dist")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, REPO, REPO / "standin"],
        timeout=INSTALL_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr
    return dist


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [found] = dist.glob("mwaa_sp-*.whl")
    return found


def _venv(path: Path, *requirements: str | Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    installed = _run(
        [path / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return path / "bin"


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": os.environ.get("LANG", "C.UTF-8"), **extra}


def test_the_wheel_carries_no_stand_in(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as packed:
        names = packed.namelist()
    assert any(n.startswith("service/") for n in names)
    assert [n for n in names if "standin" in n.lower()] == []


def test_a_plain_install_has_no_emulator_and_says_what_sandbox_needs(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "plain", wheel)
    spec = "import importlib.util as u; print(*(u.find_spec(m) for m in ('moto', 'tf', 'mwaa_sp_standin')))"
    found = _run([bin_dir / "python", "-c", spec])
    assert found.stdout.strip() == "None None None", found.stdout + found.stderr
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


def test_the_sandbox_extra_runs_the_readme_example_from_anywhere(dist: Path, wheel: Path, tmp_path: Path) -> None:
    # The extra's mwaa-sp-standin is the stand-in's wheel named on the same line: pip takes it, never
    # a package of that name from an index (dependency confusion).
    [standin_wheel] = dist.glob("mwaa_sp_standin-*.whl")
    bin_dir = _venv(tmp_path / "full", standin_wheel, f"{wheel}[sandbox]")
    standin = _run([bin_dir / "python", "-c", "import mwaa_sp_standin; print(mwaa_sp_standin.__file__)"])
    assert standin.returncode == 0, standin.stderr
    assert Path(standin.stdout.strip()).is_relative_to(tmp_path / "full"), standin.stdout
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
