"""Requests → tasks: parse and validate up front, then run the operation on the scheduler and keep
its outcome behind a token. Sync and async modes share this path; sync simply waits."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from service import status
from service.descriptor import parse_descriptor
from service.errors import ClientError, MwaaSpError, Problem, validation_result
from service.request import ProvisioningRequest, parse_body
from service.scheduler import Scheduler
from service.settings import Settings
from service.statelock import StateLocks
from service.store.locks import WorkloadLocks
from service.store.tasks import TaskKind, TaskStore
from service.worker import Journal, Worker
from service.workload import Workload

log = logging.getLogger("mwaa_sp.provisioner")


class Provisioner:
    def __init__(self, settings: Settings, worker: Worker, tasks: TaskStore, scheduler: Scheduler) -> None:
        self.settings = settings
        self.worker = worker
        self.tasks = tasks
        self.scheduler = scheduler
        self.locks = WorkloadLocks(tasks.engine)
        self._validations = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mwaa-sp-validate")
        worker.state_locks = StateLocks(settings, worker.s3, tasks)

    def workload(self, request: ProvisioningRequest) -> Workload:
        return parse_descriptor(request.descriptor)

    def validation_problems(self, request: ProvisioningRequest) -> list[Problem]:
        """All rules, the S3 ones included; an empty list means valid."""
        try:
            workload = self.workload(request)
        except ClientError as exc:
            return list(exc.problems)
        problems = self.worker.staged_problems(workload)
        if not problems and self.settings.require_reviewed_plan:
            # With the review gate on, a valid request is also planned: that plan is what a reviewer
            # approves, and what the provision that follows must match.
            self.scheduler.submit(
                workload.workload_key, lambda: self.worker.speculative_plan(workload, kind="validate")
            ).result()
        return problems

    def start(self, kind: TaskKind, request: ProvisioningRequest) -> tuple[str, Future[Any]]:
        """Parse (a bad descriptor raises before any token exists), record a RUNNING task, schedule it."""
        workload = self.workload(request)
        token = self.tasks.create(kind, workload.component_id, status.running())

        def run() -> dict[str, Any]:
            journal = Journal(token=token)
            journal.add("request", f"{kind} of {workload.component_id} started (token {token[:6]}…)")
            try:
                with self.locks.hold(workload.workload_key):
                    if kind == "provision":
                        body = self.worker.provision(workload, journal)
                    else:
                        body = self.worker.unprovision(workload, journal)
            except MwaaSpError as exc:
                self.tasks.finish(token, "FAILED", status.failed(exc.message, journal.entries))
                self._record_failure(workload, kind)
                raise
            except Exception as exc:
                log.exception("task %s crashed", token[:6])
                self.tasks.finish(token, "FAILED", status.failed(f"internal error: {exc}", journal.entries))
                self._record_failure(workload, kind)
                raise
            self.tasks.finish(token, "COMPLETED", body)
            return body

        return token, self.scheduler.submit(workload.workload_key, run)

    @staticmethod
    def abandoned(kind: str) -> dict[str, Any]:
        """The body of a task whose replica stopped before finishing it."""
        message = (
            "the service replica running this task stopped before it finished; Terraform's state is the "
            "record of what was applied — send the request again"
        )
        if kind == "validate":
            return status.validation("FAILED", validation_result([Problem("", message, "Validate again.")]))
        return status.failed(message, [])

    def _record_failure(self, workload: Workload, kind: TaskKind) -> None:
        try:
            self.worker.registry.record(workload, self.worker.state_key(workload), kind, "FAILED", None, None)
        except Exception:  # the task's own failure is what the caller must see
            log.exception("could not record the failure of %s", workload.component_id)

    def start_validation(self, raw_body: bytes) -> tuple[str, Future[Any]]:
        """Async validation reports a malformed request in its result, like ``/v1/validate`` does."""
        token = self.tasks.create("validate", None, status.validation("RUNNING", None))

        def run() -> dict[str, Any]:
            try:
                try:
                    request = parse_body(raw_body)
                except ClientError as exc:
                    problems = list(exc.problems)
                else:
                    problems = self.validation_problems(request)
            except MwaaSpError as exc:
                failure = validation_result([Problem("", f"validation could not run: {exc.message}", "Retry.")])
                self.tasks.finish(token, "FAILED", status.validation("FAILED", failure))
                raise
            body = status.validation("COMPLETED", validation_result(problems))
            self.tasks.finish(token, "COMPLETED", body)
            return body

        # Not on the scheduler: with the review gate on, validation waits for a plan that *is* scheduled,
        # and a scheduler thread waiting on its own pool could starve it.
        return token, self._validations.submit(run)
