"""Platform-engineer operations shared by the API and the CLI: registry reads, speculative plans,
stored plans, drift runs. (The Coordinator's operations live in ``tasks.py``.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from service.background import Background
from service.contract import bodies
from service.contract.decode import workload_of
from service.contract.models import DriftRun, Plan, PlanDetail, ProvisioningRequest, SpeculativePlan, WorkloadRecord
from service.domain.buckets import BucketPolicy
from service.domain.drift import Verdict
from service.engine.door import WorkloadDoor
from service.errors import WorkloadUnknown
from service.metrics import OPERATIONS, exposition, timed
from service.operations.deploy import Deployer
from service.operations.drift import DriftChecker, report
from service.store.drift_runs import DriftRunStore
from service.store.pages import Page
from service.store.plans import PlanStore, StoredPlan
from service.store.registry import Registry, RegistryEntry

log = logging.getLogger("mwaa_sp.operations")
Progress = Callable[[int, int], None]


def is_stale(plan: StoredPlan, drift_found: datetime | None) -> bool:
    """A plan nobody applied, made before a drift check found the workload changed, is stale: what it
    would change is no longer what is deployed."""
    return not plan.applied and drift_found is not None and plan.created_at < drift_found


def record(entry: RegistryEntry) -> WorkloadRecord:
    return bodies.workload_record(
        component_id=entry.component_id,
        data_product_id=entry.data_product_id,
        bucket=entry.bucket,
        dag_key=entry.dag_key,
        descriptor_key=entry.descriptor_key,
        state_key=entry.state_key,
        deployed=entry.deployed,
        module_version=entry.module_version,
        last_operation=entry.last_operation,
        last_status=entry.last_status,
        last_at=entry.last_at,
        plan_summary=entry.plan_summary,
        last_plan_id=entry.last_plan_id,
        drift_status=entry.drift_status,
        drift_checked_at=entry.drift_checked_at,
        drift_report=entry.drift_report,
    )


class PlatformOperations:
    def __init__(
        self,
        deployer: Deployer,
        door: WorkloadDoor,
        registry: Registry,
        plans: PlanStore,
        checker: DriftChecker,
        drift_runs: DriftRunStore,
        buckets: BucketPolicy,
        background: Background,
    ) -> None:
        self.deployer = deployer
        self.door = door
        self.registry = registry
        self.plans = plans
        self.checker = checker
        self.drift_runs = drift_runs
        self.buckets = buckets
        self.background = background

    # -- registry -----------------------------------------------------------------------------

    def workloads(
        self,
        data_product: str | None,
        status: str | None,
        drift: str | None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[WorkloadRecord]:
        """A page of the registry, last touched first."""
        found = self.registry.page(data_product, status, drift, cursor=cursor, limit=limit)
        return Page([record(e) for e in found.items], found.next)

    def data_products(self) -> list[str]:
        return self.registry.data_products()

    def workload(self, component_id: str) -> WorkloadRecord:
        entry = self.registry.get(component_id)
        if entry is None:
            raise WorkloadUnknown(component_id)
        return record(entry)

    def drift_history(self, component_id: str) -> list[dict[str, Any]]:
        self.workload(component_id)
        return self.registry.drift_history(component_id)

    def plans_of(self, component_id: str, *, cursor: str | None = None, limit: int | None = None) -> Page[Plan]:
        self.workload(component_id)
        found = self.plans.page(component_id, cursor=cursor, limit=limit)
        drift = self.registry.drift_found(component_id)
        return Page([bodies.plan(p, stale=is_stale(p, drift)) for p in found.items], found.next)

    def plan(self, component_id: str, plan_id: str) -> PlanDetail:
        """A stored plan; rendered by ``terraform show`` on first read (through the workload's door)."""
        kept = self.plans.plan_file(component_id, plan_id)
        if kept is None:
            raise WorkloadUnknown(f"plan {plan_id} of {component_id}")
        rendered, plan_file = kept
        entry = self.registry.get(component_id)
        if not rendered and plan_file is not None and entry is not None:
            artifact = self.door.run(
                entry.workload_key, lambda door: self.deployer.render_stored(door, entry.dag_key, plan_id, plan_file)
            )
            self.plans.cache_rendering(plan_id, artifact)
        found = self.plans.get(component_id, plan_id)
        assert found is not None
        listed, rendering = found
        return bodies.plan_detail(listed, rendering, stale=is_stale(listed, self.registry.drift_found(component_id)))

    # -- speculative plans ----------------------------------------------------------------------

    def speculative_plan(self, request: ProvisioningRequest, requested_by: str) -> SpeculativePlan:
        """Plan without applying, through the workload's door so it never races a provision; the plan
        is stored with who asked for it (the review gate accepts a person's plan only)."""
        with timed(OPERATIONS, {"outcome": "COMPLETED"}, operation="plan"):
            workload = workload_of(request, bucket_refusal=self.buckets.refusal)
            plan_id, artifact = self.door.run(
                workload.workload_key, lambda door: self.deployer.speculative_plan(door, workload, requested_by)
            )
        return bodies.speculative_plan(plan_id, workload.component_id, requested_by, artifact)

    # -- drift ----------------------------------------------------------------------------------

    def select(self, workloads: list[str], data_product: str | None) -> list[RegistryEntry]:
        entries = self.registry.list(data_product)
        if workloads:
            wanted = set(workloads)
            entries = [e for e in entries if e.component_id in wanted]
            missing = wanted - {e.component_id for e in entries}
            if missing:
                raise WorkloadUnknown(", ".join(sorted(missing)))
        return entries

    def drift(
        self,
        entries: list[RegistryEntry],
        *,
        thorough: bool,
        reconcile: bool,
        progress: Progress | None = None,
        waiting: Callable[[str], None] | None = None,
    ) -> list[Verdict]:
        return self.checker.run(
            entries,
            thorough=thorough,
            reconcile=reconcile,
            progress=progress or (lambda done, total: None),
            waiting=waiting or (lambda component_id: None),
        )

    def start_drift_run(
        self,
        workloads: list[str],
        data_product: str | None,
        *,
        thorough: bool,
        reconcile: bool,
        trigger: str = "request",
    ) -> str:
        """A durable drift run (a row owned and leased by this replica), running in the background."""
        entries = self.select(workloads, data_product)
        options = {"workloads": workloads, "dataProduct": data_product, "thorough": thorough, "reconcile": reconcile}
        run_id = self.drift_runs.create(sum(1 for e in entries if e.deployed), options, trigger)

        def run() -> None:
            try:
                verdicts = self.drift(
                    entries,
                    thorough=thorough,
                    reconcile=reconcile,
                    progress=lambda done, _total: self.drift_runs.progress(run_id, done),
                )
                outcome, body = "COMPLETED", bodies.stored(report(verdicts))
            except Exception as exc:  # a drift run must end, and say why
                log.exception("drift run %s failed", run_id)
                outcome, body = "FAILED", {"error": str(exc)}
            self.drift_runs.finish(run_id, outcome, body)

        self.background.submit("drift-runs", 2, run)
        return run_id

    def drift_run(self, run_id: str) -> DriftRun:
        return bodies.drift_run(self.drift_runs.get(run_id))

    def drift_runs_page(self, *, cursor: str | None = None, limit: int | None = None) -> Page[DriftRun]:
        """Drift runs, newest first, each with its trigger (schedule or request), status and counts."""
        found = self.drift_runs.page(cursor=cursor, limit=limit)
        return Page([bodies.drift_run(run) for run in found.items], found.next)

    def scheduled_drift_run(self, interval_s: int) -> str | None:
        """MWAA_SP_DRIFT_INTERVAL: start the scheduled drift run if this replica's turn has come (once
        per interval between all replicas); its id, or None."""
        if not self.drift_runs.claim_schedule(timedelta(seconds=interval_s)):
            return None
        return self.start_drift_run([], None, thorough=False, reconcile=False, trigger="schedule")

    def metrics(self) -> str:
        return exposition(self.registry)
