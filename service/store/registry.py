"""The registry of workloads this service manages: what the fast no-op check, reviewers and drift
detection need. Terraform states remain the source of truth (see ``service.operations.rebuild``)."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from service.domain.deployment import Deployed, ObjectFingerprint
from service.domain.workload import Workload
from service.store import pages
from service.store.clock import sql_now, stamp
from service.store.fences import Fence, check_fence
from service.store.models import DriftCheckRow, WorkloadRow
from service.store.pages import Page

DRIFT_HISTORY_KEPT = 100


@dataclass(frozen=True)
class RegistryEntry:
    """One registry row, for listing, drift checks and rebuilds."""

    component_id: str
    workload_key: str
    data_product_id: str
    bucket: str
    dag_key: str
    descriptor_key: str
    state_key: str
    deployed: bool
    last_operation: str | None
    last_status: str | None
    last_at: datetime | None
    plan_summary: dict[str, int] | None
    last_plan_id: str | None
    module_version: str | None
    drift_status: str | None
    drift_report: dict[str, Any] | None
    drift_checked_at: datetime | None
    recorded: Deployed | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "componentId": self.component_id,
            "dataProductId": self.data_product_id,
            "bucket": self.bucket,
            "dagKey": self.dag_key,
            "descriptorKey": self.descriptor_key,
            "stateKey": self.state_key,
            "deployed": self.deployed,
            "moduleVersion": self.module_version,
            "lastOperation": self.last_operation,
            "lastStatus": self.last_status,
            "lastAt": self.last_at.isoformat() if self.last_at else None,
            "planSummary": self.plan_summary,
            "lastPlanId": self.last_plan_id,
            "drift": {
                "status": self.drift_status,
                "checkedAt": self.drift_checked_at.isoformat() if self.drift_checked_at else None,
                "report": self.drift_report,
            },
        }


def _utc(moment: datetime | str | None) -> datetime | None:
    """An aggregate (``max``) comes back without the column's type on SQLite: a naive string."""
    if moment is None:
        return None
    found = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _filtered(query: Select[Any], data_product: str | None, status: str | None, drift: str | None) -> Select[Any]:
    if data_product:
        query = query.where(WorkloadRow.data_product_id == data_product)
    if status:
        query = query.where(WorkloadRow.last_status == status)
    if drift == "unchecked":
        query = query.where(WorkloadRow.drift_status.is_(None))
    elif drift:
        query = query.where(WorkloadRow.drift_status == drift)
    return query


_Columns = WorkloadRow | Row[Any]
"""A registry row: mapped (a session's) or plain (Core, for the reads every provision makes)."""


def _deployed(row: _Columns) -> Deployed | None:
    if not row.deployed or not row.inputs_digest or not row.objects:
        return None
    objects = {k: ObjectFingerprint.from_dict(v) for k, v in json.loads(row.objects).items()}
    return Deployed(row.inputs_digest, row.state_fingerprint, objects)


def _entry(row: _Columns) -> RegistryEntry:
    return RegistryEntry(
        component_id=row.component_id,
        workload_key=row.workload_key,
        data_product_id=row.data_product_id,
        bucket=row.bucket,
        dag_key=row.dag_key,
        descriptor_key=row.descriptor_key,
        state_key=row.state_key,
        deployed=row.deployed,
        last_operation=row.last_operation,
        last_status=row.last_status,
        last_at=row.last_at,
        plan_summary=json.loads(row.plan_summary) if row.plan_summary else None,
        last_plan_id=row.last_plan_id,
        module_version=row.module_version,
        drift_status=row.drift_status,
        drift_report=json.loads(row.drift_report) if row.drift_report else None,
        drift_checked_at=row.drift_checked_at,
        recorded=_deployed(row),
    )


_ROW = select(WorkloadRow.__table__).where(WorkloadRow.component_id == bindparam("id"))


class Registry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Built once: every provision reads a row, and every unchanged one writes this.
        self._unchanged = (
            update(WorkloadRow)
            .where(WorkloadRow.component_id == bindparam("id"))
            .values(last_operation="provision", last_status="COMPLETED", last_at=stamp(engine), deployed=True)
        )

    def deployed(self, component_id: str) -> Deployed | None:
        entry = self.get(component_id)
        return None if entry is None else entry.recorded

    def get(self, component_id: str) -> RegistryEntry | None:
        with self.engine.connect() as connection:
            row = connection.execute(_ROW, {"id": component_id}).first()
            return None if row is None else _entry(row)

    def list(
        self, data_product: str | None = None, status: str | None = None, drift: str | None = None
    ) -> list[RegistryEntry]:
        """Every matching workload (a drift run checks them all); lists for people are :meth:`page`d."""
        query = _filtered(select(WorkloadRow), data_product, status, drift).order_by(WorkloadRow.component_id)
        with Session(self.engine) as session:
            return [_entry(r) for r in session.scalars(query)]

    def page(
        self,
        data_product: str | None = None,
        status: str | None = None,
        drift: str | None = None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[RegistryEntry]:
        """Workloads last touched first, a page at a time (filters and order in SQL, by an index)."""
        query = _filtered(select(WorkloadRow), data_product, status, drift)
        return pages.read(
            self.engine, query, WorkloadRow.last_at, WorkloadRow.component_id, _entry, cursor=cursor, limit=limit
        )

    def data_products(self) -> builtins.list[str]:
        with Session(self.engine) as session:
            found = session.scalars(
                select(WorkloadRow.data_product_id).distinct().order_by(WorkloadRow.data_product_id)
            )
            return [d for d in found if d]

    def counts(self) -> tuple[int, dict[str, int], datetime | None]:
        """Deployed workloads, deployed workloads by drift verdict (``unchecked`` when never checked),
        and the newest drift check — by aggregates in SQL, whatever the registry's size."""
        verdict = func.coalesce(WorkloadRow.drift_status, "unchecked")
        with Session(self.engine) as session:
            by_verdict = dict(
                session.execute(
                    select(verdict, func.count()).where(WorkloadRow.deployed.is_(True)).group_by(verdict)
                ).all()
            )
            newest = session.scalar(select(func.max(WorkloadRow.drift_checked_at)))
        return sum(by_verdict.values()), {str(k): int(v) for k, v in by_verdict.items()}, _utc(newest)

    def record(
        self,
        workload: Workload,
        state_key: str,
        operation: str,
        status: str,
        summary: dict[str, int] | None,
        deployed: Deployed | None,
        *,
        plan_id: str | None = None,
        module_version: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        """Record an operation's outcome; ``deployed`` is None after a destroy or a failure, which
        also invalidates the fast no-op check. ``fence``: refused unless still the door's holder."""
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            row = session.get(WorkloadRow, workload.component_id)
            if row is None:
                row = WorkloadRow(component_id=workload.component_id)
                session.add(row)
            row.workload_key = workload.workload_key
            row.data_product_id = workload.urn.data_product_id
            row.major = workload.urn.major
            row.bucket = workload.bucket
            row.dag_key = workload.deployed_key
            row.descriptor_key = workload.descriptor_key
            row.state_key = state_key
            row.last_operation = operation
            row.last_status = status
            row.last_at = sql_now(session)
            if summary is not None:
                row.plan_summary = json.dumps(summary)
            if plan_id is not None:
                row.last_plan_id = plan_id
            if module_version is not None:
                row.module_version = module_version
            if status == "COMPLETED":
                row.deployed = operation != "unprovision"
            row.inputs_digest = deployed.inputs_digest if deployed else None
            row.state_fingerprint = deployed.state_fingerprint if deployed else None
            row.objects = json.dumps({k: v.as_dict() for k, v in deployed.objects.items()}) if deployed else None

    def record_unchanged(
        self, workload: Workload, state_key: str, recorded: Deployed, *, fence: Fence | None = None
    ) -> None:
        """An unchanged provision (the fast no-op, on every re-provision of a release): only the
        outcome and its time are written — the last apply's plan, fingerprints and keys are what
        they were — in one statement after the fence's check. A row gone meanwhile is written whole."""
        with self.engine.begin() as connection:
            check_fence(connection, fence)
            done = connection.execute(self._unchanged, {"id": workload.component_id})
            if done.rowcount == 1:
                return
        self.record(workload, state_key, "provision", "COMPLETED", None, recorded, fence=fence)

    def restore(
        self,
        component_id: str,
        *,
        workload_key: str,
        data_product_id: str,
        bucket: str,
        dag_key: str,
        descriptor_key: str,
        state_key: str,
    ) -> None:
        """A deployed workload found in a Terraform state (registry rebuild). Fingerprints stay
        unknown until the next provision, so the fast paths fall back to Terraform meanwhile."""
        with Session(self.engine) as session, session.begin():
            row = session.get(WorkloadRow, component_id) or WorkloadRow(component_id=component_id)
            session.add(row)
            row.workload_key = workload_key
            row.data_product_id = data_product_id
            row.major = workload_key.split("/")[2] if workload_key.count("/") == 3 else ""
            row.bucket, row.dag_key, row.descriptor_key = bucket, dag_key, descriptor_key
            row.state_key, row.deployed = state_key, True
            row.last_operation, row.last_status, row.last_at = "rebuild", "COMPLETED", sql_now(session)
            row.inputs_digest = row.state_fingerprint = row.objects = None

    def record_drift(self, component_id: str, status: str, report: dict[str, Any]) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(WorkloadRow, component_id)
            if row is not None:
                checked_at = sql_now(session)
                row.drift_status = status
                row.drift_report = json.dumps(report)
                row.drift_checked_at = checked_at
                session.add(
                    DriftCheckRow(
                        component_id=component_id, checked_at=checked_at, status=status, report=row.drift_report
                    )
                )
                session.flush()
                # A scheduled check every few minutes would grow the history without bound.
                stale = (
                    select(DriftCheckRow.check_id)
                    .where(DriftCheckRow.component_id == component_id)
                    .order_by(DriftCheckRow.check_id.desc())
                    .offset(DRIFT_HISTORY_KEPT)
                )
                session.execute(delete(DriftCheckRow).where(DriftCheckRow.check_id.in_(stale.scalar_subquery())))

    def drift_found(self, component_id: str) -> datetime | None:
        """When a drift check last found the workload drifted or missing (plans made before are stale)."""
        query = select(func.max(DriftCheckRow.checked_at)).where(
            DriftCheckRow.component_id == component_id, DriftCheckRow.status.in_(("drifted", "missing"))
        )
        with Session(self.engine) as session:
            return _utc(session.scalar(query))

    def drift_history(self, component_id: str) -> builtins.list[dict[str, Any]]:
        """The workload's drift verdicts, newest first (at most ``DRIFT_HISTORY_KEPT``)."""
        query = (
            select(DriftCheckRow)
            .where(DriftCheckRow.component_id == component_id)
            .order_by(DriftCheckRow.check_id.desc())
        )
        with Session(self.engine) as session:
            return [
                {"checkedAt": r.checked_at.isoformat(), "status": r.status, "report": json.loads(r.report)}
                for r in session.scalars(query)
            ]

    def record_fingerprints(self, component_id: str, deployed: Deployed, fence: Fence | None = None) -> None:
        """After a reconcile: the objects as Terraform left them, so the fast checks trust them again."""
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            row = session.get(WorkloadRow, component_id)
            if row is not None:
                row.inputs_digest = deployed.inputs_digest
                row.state_fingerprint = deployed.state_fingerprint
                row.objects = json.dumps({k: v.as_dict() for k, v in deployed.objects.items()})
