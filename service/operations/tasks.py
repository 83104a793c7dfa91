"""Requests → tasks: parse and validate up front, then run the operation through the workload's door
and keep its outcome behind a token. Sync and async modes share this path; sync simply waits.

Every task ends: whatever stops its run — a refused descriptor, a Terraform failure, a lost lock,
the database going away while the task waited for the workload's lock, a crash — the token's final
status is written (retried until the database answers) with the reason."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import msgspec
from msgspec import Struct

from service.aws.airflow import AirflowUi
from service.aws.s3 import Dispatch
from service.background import Background
from service.contract import bodies
from service.contract.decode import decode, workload_of
from service.contract.models import ProvisioningRequest, ProvisioningStatus, ValidationStatus
from service.domain.airflow_view import Seen
from service.domain.buckets import BucketPolicy
from service.domain.deployment import ChangeSummary
from service.domain.journal import Journal, LogEntry
from service.domain.workload import Workload
from service.engine.door import DoorPass, WorkloadDoor
from service.errors import AirflowRejected, ClientError, MwaaSpError, Problem
from service.metrics import OPERATIONS, timed
from service.operations import reverse
from service.operations.access import AccessControl
from service.operations.airflow_check import AirflowCheck, BeforeApply
from service.operations.deploy import Deployer, EarlyReads, Provisioned
from service.operations.ownership import Ownership
from service.operations.staged import StagedDags
from service.store.tasks import TaskKind, TaskStore

log = logging.getLogger("mwaa_sp.tasks")


def reason(exc: BaseException) -> str:
    """What a failed run tells its caller: our own errors' words (a refusal's every problem, with its
    field), anything else named as internal."""
    if isinstance(exc, ClientError):
        return f"{exc.message}: " + "; ".join(p.render() for p in exc.problems)
    return exc.message if isinstance(exc, MwaaSpError) else f"internal error: {type(exc).__name__}: {exc}"


_STAGED_READERS = 8
"""Validations reading their staged DAG at once; more wait their turn (a bulkhead of its own)."""

READS_SENT_WAIT_S = 0.01
"""How long a provision's bookkeeping waits for its early reads to be sent. Each read is about 1 ms
of building and signing, so five go out in well under this on a busy machine; past it, the
bookkeeping simply goes ahead (it would have competed with the reads, as before)."""


class TaskLauncher:
    """Starts provisions, unprovisions and async validations as tasks behind tokens."""

    def __init__(
        self,
        deployer: Deployer,
        staged: StagedDags,
        ownership: Ownership,
        tasks: TaskStore,
        door: WorkloadDoor,
        access: AccessControl,
        airflow: AirflowUi,
        buckets: BucketPolicy,
        background: Background,
        airflow_check: AirflowCheck,
        *,
        state_backend: str,
        require_reviewed_plan: bool,
        publish_progress: bool,
    ) -> None:
        self.deployer = deployer
        self.staged = staged
        self.tasks = tasks
        self.door = door
        self.access = access
        self.airflow = airflow
        self.airflow_check = airflow_check
        self.buckets = buckets
        self.ownership = ownership
        self.state_backend = state_backend
        self.require_reviewed_plan = require_reviewed_plan
        self.publish_progress = publish_progress
        """Async tasks show their logs while they run; a sync caller has no token to poll with."""
        self.background = background

    def workload(self, request: ProvisioningRequest, *, deploying: bool = True) -> Workload:
        """The workload the request names, its bucket allowed. Unprovisioning checks no bucket: it
        removes only what the workload's own state manages, wherever the descriptor points."""
        return workload_of(request, bucket_refusal=self.buckets.refusal if deploying else None)

    def validation_problems(self, request: ProvisioningRequest) -> list[Problem]:
        """All rules, the S3 ones included; an empty list means valid. The staged DAG is read (and its
        verdict looked up or compiled) while the keys' ownership is checked: the answer costs the
        slower of the two, not their sum."""
        with timed(OPERATIONS, {"outcome": "COMPLETED"}, operation="validate"):
            try:
                workload = self.workload(request)
            except ClientError as exc:
                return list(exc.problems)
            staged = self.background.pool("staged-reads", _STAGED_READERS).submit(self.staged.problems, workload)
            taken = self.ownership.problems(workload, prove=True)
            return taken or staged.result()

    def _publisher(self, token: str) -> Callable[[list[LogEntry]], None] | None:
        def publish(entries: list[LogEntry]) -> None:
            try:
                self.tasks.progress(token, bodies.running(entries))
            except Exception:  # progress is for watching; the run must not depend on it
                log.warning("could not publish a task's progress", extra={"token": token[:6]}, exc_info=True)

        return publish if self.publish_progress else None

    def _ending(
        self, token: str, failed: Callable[[str], Struct], after: Callable[[], None] = lambda: None
    ) -> Callable[[Future[Any]], None]:
        """A done-callback that ends the task if its run did not (it never started: the database
        went away while it waited for the workload's lock; or it crashed before its last write)."""

        def end(future: Future[Any]) -> None:
            if not self.tasks.running_here(token):
                return
            exc = future.exception()
            message = reason(exc) if exc is not None else "the run ended without an outcome"
            log.error("task ended by its runner", extra={"token": token[:6], "reason": message})
            self.tasks.finish(token, "FAILED", failed(message))
            after()

        return end

    def start(self, kind: TaskKind, request: ProvisioningRequest) -> tuple[str, Future[Any]]:
        """Parse (a bad descriptor raises before any token exists), record a RUNNING task, queue it.
        The future is the answer: the run's outcome, or an unchanged provision's as soon as it is
        certain (the task's row ends after the registry's write, with the same status)."""
        workload = self.workload(request, deploying=kind == "provision")
        early = EarlyReads()
        if kind == "provision":  # read while the task is recorded and the door entered
            reads = Dispatch()
            staged_reads = self.background.pool("staged-reads", _STAGED_READERS)
            early.staged = staged_reads.submit(reads.track(self.staged.read), workload)
            early.since = self.door.quiet(workload.workload_key)
            if early.since is not None:
                early.observing = self.deployer.observe(workload, reads)
            # The bookkeeping below (the task's row, the door's entry, the registry's read) would
            # compete for the interpreter with the reads being built: they go out first, and the
            # bookkeeping overlaps their flight instead. (An unchanged provision's answer waits for
            # the reads, not for the bookkeeping.)
            reads.wait(READS_SENT_WAIT_S)
        answered: Future[ProvisioningStatus] = Future()
        journal = Journal()
        journal.add("request", f"{kind} of {workload.component_id} received")
        token = self.tasks.create(kind, workload.component_id, bodies.running(journal.entries))
        journal.token, journal.publish = token, self._publisher(token)

        def waiting() -> None:
            journal.add("queue", "waiting for the workload's lock: another process or replica is running Terraform")
            journal.checkpoint()

        def run(door: DoorPass) -> ProvisioningStatus:
            with timed(OPERATIONS, {"outcome": "COMPLETED"}, operation=kind):
                return outcome(door)

        def outcome(door: DoorPass) -> ProvisioningStatus:
            journal.add("queue", "inside the workload's door")
            journal.checkpoint()
            try:
                if kind == "provision":
                    before = BeforeApply(self.airflow_check, workload)
                    deployed = self.deployer.provision(door, workload, journal, before, early, answer_now)
                    if answered.done():  # the task ends as it was answered, with any later log lines
                        body = msgspec.structs.replace(answered.result(), logs=bodies.logs(journal.entries))
                    else:
                        seen = self._airflow_loaded(door, workload, deployed, journal, before.error)
                        body = self._provisioned(workload, deployed, journal, seen)
                else:
                    done = self.deployer.unprovision(door, workload, journal)
                    self.access.revoke_all(door, workload, journal)  # nobody signs in to a removed DAG
                    listed = self.airflow_check.removed(workload, journal) if self._asks_airflow(done.summary) else None
                    body = bodies.unprovisioned(
                        workload, done.state_key, done.summary, done.plan_id, journal.entries, listed
                    )
            except BaseException as exc:
                if not isinstance(exc, MwaaSpError):
                    log.exception("task %s crashed", token[:6])
                self.tasks.finish(token, "FAILED", bodies.failed(reason(exc), journal.entries))
                self._record_failure(workload, kind)
                raise
            self.tasks.finish(token, "COMPLETED", body)
            return body

        def answer_now(done: Provisioned) -> None:
            answered.set_result(self._provisioned(workload, done, journal))

        def entered() -> None:
            if kind == "provision" and early.observing is None:
                early.observing = self.deployer.observe(workload)

        def ended(run: Future[Any]) -> None:
            if answered.done():
                return
            if run.cancelled():
                answered.cancel()
            elif (exc := run.exception()) is not None:
                answered.set_exception(exc)
            else:
                answered.set_result(run.result())

        future, ahead = self.door.enqueue(workload.workload_key, run, waiting, entered)
        future.add_done_callback(
            self._ending(
                token, lambda why: bodies.failed(why, journal.entries), lambda: self._record_failure(workload, kind)
            )
        )
        future.add_done_callback(ended)
        if ahead:
            journal.add("queue", f"queued behind {ahead} earlier operation(s) on this workload")
            journal.checkpoint()
        return token, answered

    def _asks_airflow(self, summary: ChangeSummary) -> bool:
        return self.airflow_check.enabled and summary.destroy > 0

    def _airflow_loaded(
        self, door: DoorPass, workload: Workload, done: Provisioned, journal: Journal, earlier_error: str | None
    ) -> Seen | None:
        """The post-deploy check, after an apply that changed something (or an unchanged provision
        after a failed one): Airflow's view, or — under ``fail``/``rollback`` — a FAILED provision,
        rolled back first under ``rollback``."""
        if not self.airflow_check.enabled or (done.applied_at is None and not done.after_failure):
            return None
        finding = self.airflow_check.loaded(workload, done.applied_at, journal, done.dag, earlier_error)
        loaded = finding.loaded
        if loaded is not None or self.airflow_check.mode == "warn":
            return Seen(finding.version, loaded, finding.summary)
        why = finding.failure
        # Only what this provision applied is rolled back: an unchanged provision (checked again after
        # a failed one) applied nothing, and removing a DAG whose predecessor is unknown would be worse.
        if self.airflow_check.mode == "rollback" and done.applied_at is not None:
            journal.add("rollback", "rolling back: the DAG Airflow could not load is replaced by the previous one")
            journal.checkpoint()
            why = f"{why}\nRolled back: {self.deployer.roll_back(door, workload, done.previous_dag, journal)}"
        raise AirflowRejected(why)

    def _provisioned(
        self, workload: Workload, done: Provisioned, journal: Journal, seen: Seen | None = None
    ) -> ProvisioningStatus:
        fp = done.deployed_dag
        return bodies.provisioned(
            workload,
            state_backend=self.state_backend,
            state_key=done.state_key,
            etag=fp.etag if fp else None,
            version_id=dict(fp.headers).get("VersionId") if fp else None,
            summary=done.summary,
            plan_id=done.plan_id,
            no_op_without_terraform=done.verified_without_terraform,
            journal=journal.entries,
            airflow_url=self.airflow.dag_url(workload.dag_id),
            airflow=seen,
        )

    def status(self, token: str) -> ProvisioningStatus:
        """What a provision's or unprovision's status poll answers: the task's body so far."""
        return bodies.read(ProvisioningStatus, self.tasks.get(token, ["provision", "unprovision"]).body)

    def validation_status(self, token: str) -> ValidationStatus:
        """What an async validation's status poll answers."""
        return bodies.read(ValidationStatus, self.tasks.get(token, ["validate"]).body)

    @staticmethod
    def abandoned(kind: str) -> Struct:
        """The body of a task whose replica stopped before finishing it."""
        message = (
            "the service replica running this task stopped before it finished; Terraform's state is the "
            "record of what was applied — send the request again"
        )
        if kind == "validate":
            return bodies.validation("FAILED", bodies.validation_result([Problem("", message, "Validate again.")]))
        if kind == "reverse":
            return reverse.failed(message)
        return bodies.failed(message, [])

    def _record_failure(self, workload: Workload, kind: TaskKind) -> None:
        try:
            self.deployer.record_failure(workload, kind)
        except Exception:  # the task's own failure is what the caller must see
            log.exception("could not record the failure of %s", workload.component_id)

    def start_validation(self, raw_body: bytes) -> tuple[str, Future[Any]]:
        """Async validation reports a malformed request in its result, like ``/v1/validate`` does."""
        token = self.tasks.create("validate", None, bodies.validation("RUNNING", None))

        def failed(why: str) -> ValidationStatus:
            return bodies.validation(
                "FAILED", bodies.validation_result([Problem("", f"validation could not run: {why}", "Validate again.")])
            )

        def run() -> ValidationStatus:
            try:
                try:
                    request = decode(raw_body, ProvisioningRequest)
                except ClientError as exc:
                    problems = list(exc.problems)
                else:
                    problems = self.validation_problems(request)
            except BaseException as exc:
                if not isinstance(exc, MwaaSpError):
                    log.exception("validation %s crashed", token[:6])
                self.tasks.finish(token, "FAILED", failed(reason(exc)))
                raise
            body = bodies.validation("COMPLETED", bodies.validation_result(problems))
            self.tasks.finish(token, "COMPLETED", body)
            return body

        # Not on the door's pool: with the review gate on, validation waits for a plan that *is*
        # queued there, and a pool thread waiting on its own pool could starve it.
        future = self.background.submit("validate", 4, run)
        future.add_done_callback(self._ending(token, failed))
        return token, future
