"""Operations: the post-deploy check — after an apply that changed a DAG, ask the environment's running
Airflow (MWAA InvokeRestApi) until it has parsed the deployed file: loaded, or its import error; after
a removal, whether Airflow still lists the DAG. Bounded by ``MWAA_SP_AIRFLOW_CHECK_TIMEOUT``: a slow
or unreachable Airflow is a finding naming the timeout, never a hang.

What a finding does to the operation (``warn``, ``fail``, ``rollback``) is decided by the caller."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from service.aws.mwaa import MwaaEnvironment
from service.domain import airflow_view
from service.domain.airflow_view import AirflowDag, Api, Broken, Loaded, Pending, UnsupportedAirflow, Verdict
from service.domain.journal import Journal
from service.domain.workload import Workload
from service.errors import AirflowUnanswered, MwaaSpError
from service.settings import AirflowChecking

log = logging.getLogger("mwaa_sp.airflow")
PHASE = "airflow"
_PAGE = 100
_MAX_ERRORS = 2000
"""A drift run reads at most this many of Airflow's import errors (newest first)."""


@dataclass(frozen=True)
class Finding:
    """What the check found: Airflow's verdict, or why it could not say (unreachable, timed out)."""

    verdict: Verdict | None
    version: str | None
    problem: str | None = None

    @property
    def loaded(self) -> AirflowDag | None:
        return self.verdict.dag if isinstance(self.verdict, Loaded) else None

    @property
    def summary(self) -> str:
        """One line for ``result`` and ``publicInfo``."""
        if isinstance(self.verdict, Loaded):
            paused = "paused" if self.verdict.dag.is_paused else "active"
            return f"Airflow {self.version} loaded DAG {self.verdict.dag.dag_id} ({paused})"
        if isinstance(self.verdict, Broken):
            return f"Airflow {self.version} cannot import the DAG: {self.verdict.last_line}"
        return self.problem or "Airflow did not say"

    @property
    def failure(self) -> str:
        """Why the DAG is not known to be loaded, in full: Airflow's own error (the stack trace's tail),
        or why Airflow could not say — for ``logs`` and a FAILED ``result``."""
        if isinstance(self.verdict, Broken):
            return f"Airflow {self.version} cannot import the deployed DAG:\n{self.verdict.error}"
        return f"Airflow did not confirm the DAG loaded: {self.problem}"


class BeforeApply:
    """Called by the deployer just before an apply that changes the DAG: keeps the import error Airflow
    reports for the file then (see :meth:`AirflowCheck.import_error_now`)."""

    def __init__(self, check: AirflowCheck, workload: Workload) -> None:
        self._check, self._workload = check, workload
        self.error: str | None = None

    def __call__(self) -> None:
        self.error = self._check.import_error_now(self._workload)


class AirflowCheck:
    def __init__(
        self,
        environment: MwaaEnvironment,
        settings: AirflowChecking,
        stopping: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``stopping``: set when the service stops; a waiting check ends then, unconfirmed."""
        self._environment = environment
        self.mode = settings.mode
        self._timeout_s = settings.timeout_s
        self._interval_s = settings.interval_s
        self._clock = clock
        self._stop = stopping or threading.Event()

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def _api(self) -> tuple[Api, str | None]:
        described = self._environment.describe()
        api = airflow_view.api_for(str(described.get("AirflowVersion") or ""))
        dag_folder = described.get("DagS3Path")
        return api, str(dag_folder) if isinstance(dag_folder, str) else None

    def loaded(
        self,
        workload: Workload,
        since: datetime | None,
        journal: Journal,
        deployed: bytes | None = None,
        earlier_error: str | None = None,
    ) -> Finding:
        """Ask until Airflow has parsed the deployed file after ``since`` (when the apply ended; None:
        nothing was applied now, and what Airflow says of the file as it stands is the answer).
        ``deployed``: the bytes deployed, compared with the source Airflow parsed where it keeps one;
        ``earlier_error``: what :meth:`import_error_now` said just before the apply."""
        try:
            api, dag_folder = self._api()
        except (MwaaSpError, UnsupportedAirflow) as exc:
            return self._unanswered(journal, f"the environment's Airflow cannot be asked: {exc}", None)
        file_name = airflow_view.relative_file(workload.deployed_key, dag_folder)
        source = airflow_view.source_request(api, workload.dag_id, file_name)
        text = airflow_view.deployed_text(deployed) if deployed is not None and source is not None else None
        expected = airflow_view.Expected(workload.dag_id, file_name, since, text, earlier_error)
        proof = "its parsed source compared" if text is not None else "by parse time"
        journal.add(PHASE, f"waiting for Airflow {api.version} to parse {file_name} (REST API {api.name}, {proof})")
        journal.checkpoint()
        deadline = self._clock() + self._timeout_s
        said = ""
        while True:
            try:
                dags = self._get(airflow_view.dags_request(workload.dag_id))
                errors = self._get(airflow_view.import_errors_request(api, file_name))
                listed = airflow_view.the_dag(dags, workload.dag_id, file_name) is not None
                parsed = self._source(source) if source is not None and text is not None and listed else None
            except AirflowUnanswered as exc:
                verdict: Verdict = Pending(exc.message)
            else:
                verdict = airflow_view.judge(dags, errors, expected, parsed)
            if not isinstance(verdict, Pending):
                finding = Finding(verdict, api.version)
                level = "INFO" if isinstance(verdict, Loaded) else "ERROR"
                journal.add(PHASE, finding.summary if isinstance(verdict, Loaded) else finding.failure, level)
                return finding
            if verdict.reason != said:
                said = verdict.reason
                journal.add(PHASE, said)
                journal.checkpoint()
            if not self._wait(deadline):
                why = f"Airflow did not parse {file_name} within {self._timeout_s} s (MWAA_SP_AIRFLOW_CHECK_TIMEOUT)"
                if self._stop.is_set():
                    why = f"the service stopped before Airflow parsed {file_name}"
                return self._unanswered(journal, f"{why}: {said}", api.version)

    def import_error_now(self, workload: Workload) -> str | None:
        """The import error Airflow reports for the deployed file now (its trace's tail), taken just
        before an apply: after it, the same error may be the old file parsed again before MWAA's sync.
        None when there is none or Airflow cannot say (the check after the apply asks again)."""
        if not self.enabled:
            return None
        try:
            api, dag_folder = self._api()
            file_name = airflow_view.relative_file(workload.deployed_key, dag_folder)
            body = self._get(airflow_view.import_errors_request(api, file_name))
        except (MwaaSpError, UnsupportedAirflow) as exc:
            log.info("airflow not asked before the apply", extra={"problem": str(exc)})
            return None
        broken = airflow_view.import_error(body, file_name, None)
        return broken.error if broken is not None else None

    def removed(self, workload: Workload, journal: Journal) -> str:
        """Ask until Airflow no longer lists the DAG; what to tell the user either way."""
        try:
            _, dag_folder = self._api()
        except (MwaaSpError, UnsupportedAirflow) as exc:
            return self._said(journal, f"whether Airflow still lists the DAG is unknown: {exc}", "WARNING")
        file_name = airflow_view.relative_file(workload.deployed_key, dag_folder)
        deadline = self._clock() + self._timeout_s
        while True:
            try:
                if airflow_view.gone(self._get(airflow_view.dags_request(workload.dag_id)), workload.dag_id, file_name):
                    return self._said(journal, f"Airflow no longer lists DAG {workload.dag_id}", "INFO")
                why = f"Airflow still lists DAG {workload.dag_id}"
            except AirflowUnanswered as exc:
                why = exc.message
            if not self._wait(deadline):
                return self._said(
                    journal, f"{why} after {self._timeout_s} s (MWAA_SP_AIRFLOW_CHECK_TIMEOUT)", "WARNING"
                )

    def broken(self, deployed_keys: list[str]) -> dict[str, str]:
        """Which of these deployed DAGs Airflow cannot import now: key → its stack trace's tail; an
        Airflow that cannot be asked is said in every key's place (a drift run reports, never hangs)."""
        try:
            _, dag_folder = self._api()
            files = {airflow_view.relative_file(key, dag_folder): key for key in deployed_keys}
            found: dict[str, str] = {}
            for offset in range(0, _MAX_ERRORS, _PAGE):
                body = self._get(airflow_view.import_errors_page(offset, _PAGE))
                errors = body.get("import_errors") if isinstance(body, dict) else None
                for file_name, key in files.items():
                    broken = airflow_view.import_error(body, file_name, None)
                    if broken is not None and key not in found:
                        found[key] = broken.error
                if not isinstance(errors, list) or len(errors) < _PAGE:
                    break
            return found
        except (MwaaSpError, UnsupportedAirflow) as exc:
            return {key: f"Airflow could not be asked: {exc}" for key in deployed_keys}

    def _wait(self, deadline: float) -> bool:
        """Wait one interval; False when the deadline has passed or the service is stopping."""
        left = deadline - self._clock()
        return left > 0 and not self._stop.wait(min(self._interval_s, left))

    def _source(self, request: airflow_view.Request) -> object:
        """Airflow's parsed source, or None where it has none to give (a 404 while a new version's
        code is written): not proof either way, and no reason to ignore the other answers."""
        answer = self._environment.invoke_rest_api(request.path, request.query)
        return answer.body if answer.status == 200 else None

    def _get(self, request: airflow_view.Request) -> object:
        answer = self._environment.invoke_rest_api(request.path, request.query)
        if answer.status >= 400:
            raise AirflowUnanswered(f"Airflow answered {answer.status} to GET {request.path}")
        return answer.body

    @staticmethod
    def _said(journal: Journal, message: str, level: str) -> str:
        journal.add(PHASE, message, level)
        return message

    @staticmethod
    def _unanswered(journal: Journal, problem: str, version: str | None) -> Finding:
        journal.add(PHASE, problem, "WARNING")
        log.warning("airflow check unanswered", extra={"problem": problem})
        return Finding(None, version, problem)
