"""Drift detection: which deployed DAGs were changed or deleted behind Terraform's back.

Terraform judges: a refresh-only plan, read through ``show -json``'s ``resource_drift`` (not its
exit code alone: an output-only change is not drift). The fast path only decides "in sync" — when
the state and the objects (HEAD attributes and tags) are exactly what the last apply left — and
sends everything else, or everything with ``thorough``, to Terraform.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.cli.exits import EXIT_DRIFT, EXIT_FAILED, EXIT_OK
from service.domain import review
from service.engine.door import DoorPass, WorkloadDoor
from service.engine.fingerprints import Observer, matches
from service.engine.render import Renderer
from service.engine.state_backend import StateBackend
from service.engine.workspace import Workspace, Workspaces
from service.errors import MwaaSpError, StorageError
from service.metrics import DRIFT_VERDICTS
from service.operations.journal import Journal
from service.operations.rebuild import restore_workdir
from service.store.plans import PlanStore
from service.store.registry import Deployed, Entry, Registry

DRIFT_PLAN = "drift.tfplan"
_IDENTITY = {"etag", "version_id", "tags", "tags_all"}


@dataclass
class Verdict:
    component_id: str
    status: str
    """in_sync | drifted | missing | error"""
    method: str
    """fast (no Terraform needed) | terraform (refresh-only plan)"""
    checked_at: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    reconciled: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As every JSON body of the service has it: camelCase."""
        return {
            "componentId": self.component_id,
            "status": self.status,
            "method": self.method,
            "checkedAt": self.checked_at,
            "changes": self.changes,
            "ignored": self.ignored,
            "reconciled": self.reconciled,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> Verdict:
        """A verdict again from its JSON (a report read from the service)."""
        return cls(
            component_id=str(found["componentId"]),
            status=str(found["status"]),
            method=str(found["method"]),
            checked_at=str(found["checkedAt"]),
            changes=list(found.get("changes") or []),
            ignored=list(found.get("ignored") or []),
            reconciled=found.get("reconciled"),
            error=found.get("error"),
        )


def changes_from_drift(plan_json: dict[str, Any]) -> list[dict[str, Any]]:
    """What moved, per object, from a refresh-only plan's ``resource_drift``."""
    found: list[dict[str, Any]] = []
    for drift in plan_json.get("resource_drift", []):
        change = drift.get("change", {})
        before, after = change.get("before") or {}, change.get("after")
        key = before.get("key", "?")
        base = {"address": drift.get("address"), "key": key}
        if after is None or "delete" in change.get("actions", []):
            found.append(base | {"what": "deleted"})
            continue
        if before.get("etag") != after.get("etag"):
            # What the configuration tracks the bytes by: a configured etag re-uploads on the next
            # apply; a source_hash (packaged DAGs, opaque ETags) does not see the change at all.
            tracking = "source_hash" if before.get("source_hash") else "etag"
            found.append(
                base | {"what": "content", "old": before.get("etag"), "new": after.get("etag"), "tracking": tracking}
            )
        if before.get("tags") != after.get("tags") or before.get("tags_all") != after.get("tags_all"):
            found.append(base | {"what": "tags", "old": before.get("tags_all"), "new": after.get("tags_all")})
        others = sorted(k for k in set(before) | set(after) if k not in _IDENTITY and before.get(k) != after.get(k))
        if others:
            found.append(base | {"what": "metadata", "attributes": others})
    return found


def verdict_status(changes: list[dict[str, Any]], objects: int) -> str:
    if not changes:
        return "in_sync"
    deleted = {c["key"] for c in changes if c["what"] == "deleted"}
    return "missing" if len(deleted) >= objects else "drifted"


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """Terraform's detailed exit code: 0 nothing drifted, 2 drift found, 1 a check failed."""
    statuses = {v.status for v in verdicts}
    if "error" in statuses:
        return EXIT_FAILED
    return EXIT_DRIFT if statuses & {"drifted", "missing"} else EXIT_OK


class DriftChecker:
    """Checks each workload inside its door, after that workload's earlier jobs (provisions)."""

    def __init__(
        self,
        door: WorkloadDoor,
        workspaces: Workspaces,
        observer: Observer,
        renderer: Renderer,
        backend: StateBackend,
        registry: Registry,
        plans: PlanStore,
        ignore: tuple[str, ...],
    ) -> None:
        self.door = door
        self.workspaces = workspaces
        self.observer = observer
        self.renderer = renderer
        self.backend = backend
        self.registry = registry
        self.plans = plans
        self.ignore = ignore

    def _ignored(self, entry: Entry, change: dict[str, Any]) -> bool:
        return any(
            pattern == entry.component_id or fnmatch.fnmatchcase(str(change.get("key", "")), pattern)
            for pattern in self.ignore
        )

    def _fast_in_sync(self, entry: Entry) -> bool:
        if entry.recorded is None:
            return False
        observed = self.observer.start(entry.bucket, [entry.dag_key, entry.descriptor_key], entry.state_key)()
        return matches(entry.recorded, None, observed)

    def check(self, door: DoorPass, entry: Entry, *, thorough: bool = False, reconcile: bool = False) -> Verdict:
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
        self.registry.record_drift(entry.component_id, verdict.status, verdict.as_dict())
        return verdict

    def _workspace(self, door: DoorPass, entry: Entry, *, exact: bool) -> Workspace:
        """The workload's working directory; with ``exact``, holding the configuration of its last
        apply (another replica may have applied a newer one since this replica last wrote it)."""
        workspace = self.workspaces.open(door, Journal())
        recorded = entry.recorded.inputs_digest if entry.recorded else None
        current = workspace.inputs_digest is not None and (not exact or workspace.inputs_digest == recorded)
        if not current and not restore_workdir(door, self.workspaces, self.renderer, self.backend):
            raise StorageError(
                f"the working directory of {entry.component_id} on this replica does not hold its last "
                "applied configuration, and a packaged (.zip) DAG cannot be restored from the state: "
                "provision the workload again"
            )
        return workspace

    def _terraform_verdict(self, door: DoorPass, entry: Entry, checked_at: str) -> Verdict:
        workspace = self._workspace(door, entry, exact=False)
        plan = workspace.plan(refresh_only=True, out=DRIFT_PLAN)
        changes = changes_from_drift(workspace.show_json(DRIFT_PLAN)) if plan.has_changes else []
        kept = [c for c in changes if not self._ignored(entry, c)]
        ignored = [c for c in changes if self._ignored(entry, c)]
        return Verdict(entry.component_id, verdict_status(kept, 2), "terraform", checked_at, kept, ignored)

    def _reconcile(self, door: DoorPass, entry: Entry, verdict: Verdict) -> dict[str, Any]:
        """Apply the configuration of the last apply again. An object tracked by ``source_hash`` (a
        packaged DAG; every object under opaque ETags) whose bytes changed is replaced: its
        ``source_hash`` did not change, so a plain plan would accept the foreign bytes."""
        workspace = self._workspace(door, entry, exact=True)
        replace = sorted(
            {c["address"] for c in verdict.changes if c["what"] == "content" and c.get("tracking") == "source_hash"}
        )
        plan = workspace.plan(replace=replace)
        if plan.has_changes:
            workspace.apply()
        plan_id = self.plans.save(
            entry.component_id,
            review.unrendered("reconcile", plan.summary, None),
            applied=plan.has_changes,
            plan_file=plan.plan_file,
        )
        state, objects = self.observer.start(entry.bucket, [entry.dag_key, entry.descriptor_key], entry.state_key)()
        if entry.recorded is not None and objects:
            self.registry.record_fingerprints(
                entry.component_id, Deployed(entry.recorded.inputs_digest, state, objects), fence=door.fence
            )
        return {"planId": plan_id, "summary": plan.summary.as_dict()}

    def run(
        self,
        entries: list[Entry],
        *,
        thorough: bool = False,
        reconcile: bool = False,
        progress: Callable[[int, int], None] = lambda done, total: None,
        waiting: Callable[[str], None] = lambda component_id: None,
    ) -> list[Verdict]:
        """Check every deployed entry, each through its workload's door (``waiting`` is told when
        another process holds a workload's lock)."""
        deployed = [e for e in entries if e.deployed]

        def job(entry: Entry) -> Callable[[DoorPass], Verdict]:
            return lambda door: self.check(door, entry, thorough=thorough, reconcile=reconcile)

        def told(entry: Entry) -> Callable[[], None]:
            return lambda: waiting(entry.component_id)

        futures = [self.door.submit(e.workload_key, job(e), told(e)) for e in deployed]
        verdicts = []
        for done, future in enumerate(futures, start=1):
            verdicts.append(future.result())
            progress(done, len(futures))
        return verdicts


def report(verdicts: list[Verdict]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    return {"exitCode": exit_code(verdicts), "counts": counts, "workloads": [v.as_dict() for v in verdicts]}


def markdown(verdicts: list[Verdict]) -> str:
    lines = ["| workload | verdict | how | what changed |", "|---|---|---|---|"]
    for v in verdicts:
        what = v.error or "; ".join(
            f"{c['key']}: {c['what']}" + (f" ({c.get('old')} → {c.get('new')})" if c["what"] == "content" else "")
            for c in v.changes
        )
        lines.append(f"| {v.component_id} | {v.status} | {v.method} | {what or '—'} |")
    return "\n".join(lines) + "\n"
