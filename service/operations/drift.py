"""Drift detection: which deployed DAGs were changed or deleted behind Terraform's back.

Terraform judges: a refresh-only plan, read through ``show -json``'s ``resource_drift`` (not its
exit code alone: an output-only change is not drift). The fast path only decides "in sync" — when
the state and the objects (HEAD attributes and tags) are exactly what the last apply left — and
sends everything else, or everything with ``thorough``, to Terraform.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from service.contract import bodies
from service.contract.models import DriftReport
from service.domain import review
from service.domain.deployment import Deployed
from service.domain.drift import Verdict, changes_from_drift, exit_code, verdict_status
from service.domain.journal import Journal
from service.engine.door import DoorPass, WorkloadDoor
from service.engine.fingerprints import Fingerprints, Observation, matches
from service.engine.workspace import Workspace, Workspaces
from service.errors import MwaaSpError, StorageError
from service.metrics import DRIFT_VERDICTS
from service.operations.airflow_check import AirflowCheck
from service.store.registry import Registry, RegistryEntry


class DriftChecker:
    """Checks each workload inside its door, after that workload's earlier jobs (provisions)."""

    def __init__(
        self,
        door: WorkloadDoor,
        workspaces: Workspaces,
        fingerprints: Fingerprints,
        registry: Registry,
        ignore: tuple[str, ...],
        airflow: AirflowCheck | None = None,
    ) -> None:
        """``airflow``: with the post-deploy check on, each run also asks Airflow which deployed DAGs
        it cannot import."""
        self.airflow = airflow if airflow is not None and airflow.enabled else None
        self.door = door
        self.workspaces = workspaces
        self.fingerprints = fingerprints
        self.registry = registry
        self.ignore = ignore

    def _ignored(self, entry: RegistryEntry, change: dict[str, Any]) -> bool:
        return any(
            pattern == entry.component_id or fnmatch.fnmatchcase(str(change.get("key", "")), pattern)
            for pattern in self.ignore
        )

    def _observe(self, entry: RegistryEntry) -> Observation:
        return self.fingerprints.start(entry.bucket, [entry.dag_key, entry.descriptor_key], entry.state_key)()

    def _fast_in_sync(self, entry: RegistryEntry) -> bool:
        return entry.recorded is not None and matches(entry.recorded, None, self._observe(entry))

    def check(
        self, door: DoorPass, entry: RegistryEntry, *, thorough: bool = False, reconcile: bool = False
    ) -> Verdict:
        checked_at = datetime.now(UTC).isoformat()
        # Re-read inside the door: a provision that ran before this job changed what is recorded.
        entry = self.registry.get(entry.component_id) or entry
        try:
            if not thorough and self._fast_in_sync(entry):
                verdict = Verdict(entry.component_id, "in_sync", "fast", checked_at)
            else:
                verdict = self._terraform_verdict(door, entry, checked_at)
            if reconcile and verdict.status in ("drifted", "missing"):
                verdict.reconciled = self._reconcile(door, entry, verdict)
        except MwaaSpError as exc:
            verdict = Verdict(entry.component_id, "error", "terraform", checked_at, error=exc.message)
        DRIFT_VERDICTS.labels(verdict.status).inc()
        self.registry.record_drift(entry.component_id, verdict.status, bodies.stored(bodies.verdict(verdict)))
        return verdict

    def _workspace(self, door: DoorPass, entry: RegistryEntry, *, exact: bool) -> Workspace:
        """The workload's working directory; with ``exact``, holding the configuration of its last
        apply (another replica may have applied a newer one since this replica last wrote it)."""
        workspace = self.workspaces.open(door, Journal())
        recorded = entry.recorded.inputs_digest if entry.recorded else None
        current = workspace.inputs_digest is not None and (not exact or workspace.inputs_digest == recorded)
        if not current and not workspace.restore():
            raise StorageError(
                f"the working directory of {entry.component_id} on this replica does not hold its last "
                "applied configuration, and a packaged (.zip) DAG cannot be restored from the state: "
                "provision the workload again"
            )
        return workspace

    def _terraform_verdict(self, door: DoorPass, entry: RegistryEntry, checked_at: str) -> Verdict:
        refreshed = self._workspace(door, entry, exact=False).refresh_for_drift()
        changes = changes_from_drift(refreshed) if refreshed is not None else []
        kept = [c for c in changes if not self._ignored(entry, c)]
        ignored = [c for c in changes if self._ignored(entry, c)]
        return Verdict(entry.component_id, verdict_status(kept, 2), "terraform", checked_at, kept, ignored)

    def _reconcile(self, door: DoorPass, entry: RegistryEntry, verdict: Verdict) -> dict[str, Any]:
        """Apply the configuration of the last apply again. An object tracked by ``source_hash`` (a
        packaged DAG; every object under opaque ETags) whose bytes changed is replaced: its
        ``source_hash`` did not change, so a plain plan would accept the foreign bytes."""
        workspace = self._workspace(door, entry, exact=True)
        replace = sorted(
            {c["address"] for c in verdict.changes if c["what"] == "content" and c.get("tracking") == "source_hash"}
        )
        plan = workspace.plan(replace=replace)
        plan_id = workspace.apply_and_save(plan, entry.component_id, review.unrendered("reconcile", plan.summary, None))
        state, objects = self._observe(entry)
        if entry.recorded is not None and objects:
            self.registry.record_fingerprints(
                entry.component_id, Deployed(entry.recorded.inputs_digest, state, objects), fence=door.fence
            )
        return {"planId": plan_id, "summary": plan.summary.as_dict()}

    def run(
        self,
        entries: list[RegistryEntry],
        *,
        thorough: bool = False,
        reconcile: bool = False,
        progress: Callable[[int, int], None] = lambda done, total: None,
        waiting: Callable[[str], None] = lambda component_id: None,
    ) -> list[Verdict]:
        """Check every deployed entry, each through its workload's door (``waiting`` is told when
        another process holds a workload's lock)."""
        deployed = [e for e in entries if e.deployed]

        def job(entry: RegistryEntry) -> Callable[[DoorPass], Verdict]:
            return lambda door: self.check(door, entry, thorough=thorough, reconcile=reconcile)

        def told(entry: RegistryEntry) -> Callable[[], None]:
            return lambda: waiting(entry.component_id)

        futures = [self.door.submit(e.workload_key, job(e), told(e)) for e in deployed]
        verdicts = []
        for done, future in enumerate(futures, start=1):
            verdicts.append(future.result())
            progress(done, len(futures))
        if self.airflow is not None and deployed:
            broken = self.airflow.broken([e.dag_key for e in deployed])
            for entry, found in zip(deployed, verdicts, strict=True):
                found.airflow_error = broken.get(entry.dag_key)
        return verdicts


def report(verdicts: Sequence[Verdict]) -> DriftReport:
    """A drift run's report: every verdict and Terraform's detailed exit code."""
    return bodies.drift_report([bodies.verdict(v) for v in verdicts], exit_code(verdicts))
