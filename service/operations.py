"""Platform-engineer operations shared by the API and the CLI: registry reads, speculative plans,
drift runs. (The Coordinator's operations live in ``provisioner.py``.)"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from typing import Any

from sqlalchemy.orm import Session

from service.descriptor import parse_descriptor
from service.drift import DriftChecker, Verdict, report
from service.errors import TokenUnknown, WorkloadUnknown
from service.provisioner import Provisioner
from service.request import ProvisioningRequest
from service.store.models import DriftRunRow
from service.store.registry import Entry
from service.store.tasks import now

log = logging.getLogger("mwaa_sp.operations")


class Operations:
    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner
        self.worker = provisioner.worker
        self.registry = provisioner.worker.registry
        self.plans = provisioner.worker.plans
        self.checker = DriftChecker(self.worker, provisioner.settings.drift_ignore)

    # -- registry -----------------------------------------------------------------------------

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.registry.list(data_product, status, drift)]

    def workload(self, component_id: str) -> dict[str, Any]:
        entry = self.registry.get(component_id)
        if entry is None:
            raise WorkloadUnknown(component_id)
        return entry.as_dict()

    def plans_of(self, component_id: str) -> list[dict[str, Any]]:
        self.workload(component_id)
        return self.plans.list(component_id)

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]:
        """A stored plan; rendered by ``terraform show`` on first read (on the workload's queue)."""
        stored = self.plans.plan_file(component_id, plan_id)
        if stored is None:
            raise WorkloadUnknown(f"plan {plan_id} of {component_id}")
        rendered, plan_file = stored
        entry = self.registry.get(component_id)
        if not rendered and plan_file is not None and entry is not None:
            artifact = self.provisioner.scheduler.submit(
                entry.workload_key,
                lambda: self.worker.render_stored(entry.workload_key, entry.dag_key, plan_id, plan_file),
            ).result()
            self.plans.cache_rendering(plan_id, artifact)
        found = self.plans.get(component_id, plan_id)
        assert found is not None
        return found

    # -- speculative plans ----------------------------------------------------------------------

    def speculative_plan(self, request: ProvisioningRequest) -> dict[str, Any]:
        """Plan without applying, on the workload's queue so it never races a provision."""
        workload = parse_descriptor(request.descriptor)
        plan_id, artifact = self.provisioner.scheduler.submit(
            workload.workload_key, lambda: self.worker.speculative_plan(workload)
        ).result()
        return {
            "planId": plan_id,
            "componentId": workload.component_id,
            "summary": artifact.summary.as_dict(),
            "text": artifact.text,
            "dagDiff": artifact.dag_diff,
            "json": artifact.plan_json,
        }

    # -- drift ----------------------------------------------------------------------------------

    def select(self, workloads: list[str], data_product: str | None) -> list[Entry]:
        entries = self.registry.list(data_product)
        if workloads:
            wanted = set(workloads)
            entries = [e for e in entries if e.component_id in wanted]
            missing = wanted - {e.component_id for e in entries}
            if missing:
                raise WorkloadUnknown(", ".join(sorted(missing)))
        return entries

    def drift(self, entries: list[Entry], *, thorough: bool, reconcile: bool, progress: Any = None) -> list[Verdict]:
        return self.checker.run(
            entries,
            self.provisioner.scheduler.submit,
            thorough=thorough,
            reconcile=reconcile,
            progress=progress or (lambda done, total: None),
        )

    def start_drift_run(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool
    ) -> str:
        entries = self.select(workloads, data_product)
        run_id = secrets.token_urlsafe(16)
        total = sum(1 for e in entries if e.deployed)
        engine = self.registry.engine
        with Session(engine) as session, session.begin():
            session.add(DriftRunRow(run_id=run_id, status="RUNNING", created_at=now(), updated_at=now(), total=total))

        def progress(done: int, _total: int) -> None:
            with Session(engine) as session, session.begin():
                row = session.get(DriftRunRow, run_id)
                if row is not None:
                    row.done, row.updated_at = done, now()

        def run() -> None:
            try:
                verdicts = self.drift(entries, thorough=thorough, reconcile=reconcile, progress=progress)
                outcome, body = "COMPLETED", report(verdicts)
            except Exception as exc:  # a drift run must end, and say why
                log.exception("drift run %s failed", run_id)
                outcome, body = "FAILED", {"error": str(exc)}
            with Session(engine) as session, session.begin():
                row = session.get(DriftRunRow, run_id)
                if row is not None:
                    row.status, row.report, row.updated_at = outcome, json.dumps(body), now()

        threading.Thread(target=run, name=f"drift-{run_id[:6]}", daemon=True).start()
        return run_id

    def drift_run(self, run_id: str) -> dict[str, Any]:
        with Session(self.registry.engine) as session:
            row = session.get(DriftRunRow, run_id)
            if row is None:
                raise TokenUnknown(run_id)
            return {
                "id": row.run_id,
                "status": row.status,
                "progress": {"done": row.done, "total": row.total},
                "createdAt": row.created_at.isoformat(),
                "report": json.loads(row.report) if row.status != "RUNNING" else None,
            }
