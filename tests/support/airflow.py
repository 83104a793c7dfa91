"""A real Apache Airflow 3 for the post-deploy check's tests: an API server and a DAG processor over a
SQLite metadata database under a temporary ``AIRFLOW_HOME``, started and stopped by the tests.

Airflow is installed by ``make test`` into a virtual environment of its own (``.venv-airflow``, the
version pinned in the Makefile; its dependencies would clash with the service's), once, and kept.
Where it is missing, the tests that need it skip — and fail under ``CI=true``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.processes import free_port, wait_until
from tests.support.real_parts import missing
from tests.support.shared import REPO

VENV = Path(os.environ.get("AIRFLOW_TEST_VENV", REPO / ".venv-airflow"))


class Airflow:
    """``with Airflow(home) as airflow:`` — ``airflow.url``, ``airflow.dags_folder``, ``airflow.version``."""

    def __init__(self, home: Path) -> None:
        self.binary = VENV / "bin" / "airflow"
        if not self.binary.exists():
            missing(f"Apache Airflow is not installed at {VENV} (make test installs it)")
        self.home = home
        self.dags_folder = home / "dags"
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.version = ""
        self._procs: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        """Only what Airflow needs: nothing of the tests' AWS or service settings reaches it."""
        return {
            "PATH": f"{VENV / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager."
            "SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            # MWAA lists its DAG folder every few minutes and parses a file at most every 30 s; the test
            # world does both every 2 s, so a test waits seconds, not minutes (the check is the same).
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "5",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
        }

    def __enter__(self) -> Airflow:
        env = self.env()
        migrated = subprocess.run(  # noqa: S603 - the pinned Airflow of the test world
            [str(self.binary), "db", "migrate"], env=env, capture_output=True, timeout=600, check=False
        )
        assert migrated.returncode == 0, migrated.stderr.decode()[-3000:]
        for args, log in (
            (["api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"], "api-server.log"),
            (["dag-processor"], "dag-processor.log"),
        ):
            with (self.home / log).open("wb") as out:
                self._procs.append(
                    subprocess.Popen(  # noqa: S603 - the pinned Airflow of the test world
                        [str(self.binary), *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        wait_until(self._answers, timeout=300, what="Airflow's API server answering")
        return self

    def _answers(self) -> bool:
        for proc in self._procs:
            assert proc.poll() is None, f"an Airflow process exited: see {self.home}/*.log"
        try:
            version = httpx.get(f"{self.url}/api/v2/version", headers=self.auth(), timeout=5)
        except httpx.HTTPError:
            return False
        if version.status_code != 200:
            return False
        self.version = str(version.json()["version"])
        return True

    def auth(self) -> dict[str, str]:
        token = httpx.get(f"{self.url}/auth/token", timeout=10).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def dag(self, dag_id: str) -> dict[str, object] | None:
        """The DAG as Airflow lists it now (stale DAGs, whose file is gone, are not listed)."""
        answer = httpx.get(
            f"{self.url}/api/v2/dags", params={"dag_id_pattern": dag_id}, headers=self.auth(), timeout=10
        )
        answer.raise_for_status()
        found = [d for d in answer.json()["dags"] if d["dag_id"] == dag_id]
        return found[0] if found else None

    def import_error_at(self, file_name: str) -> str | None:
        """When Airflow last recorded an import error for ``file_name`` (relative to the DAG folder)."""
        answer = httpx.get(
            f"{self.url}/api/v2/importErrors",
            params={"filename_pattern": file_name, "order_by": "-timestamp"},
            headers=self.auth(),
            timeout=10,
        )
        answer.raise_for_status()
        found = [e["timestamp"] for e in answer.json()["import_errors"] if e["filename"] == file_name]
        return str(found[0]) if found else None

    def __exit__(self, *_: object) -> None:
        for proc in self._procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self._procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
