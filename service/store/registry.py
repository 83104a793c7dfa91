"""The registry of workloads this service has deployed, with what the fast no-op check needs."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from service.s3 import ObjectFingerprint
from service.store.models import WorkloadRow
from service.store.tasks import now
from service.workload import Workload


@dataclass(frozen=True)
class Deployed:
    """What the last successful apply left, as recorded."""

    inputs_digest: str
    state_fingerprint: str | None
    objects: dict[str, ObjectFingerprint]


class Registry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def owner_of(self, bucket: str, keys: list[str], except_component: str) -> str | None:
        """The component (other than ``except_component``) whose deployed objects use one of ``keys``."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(WorkloadRow).where(
                    WorkloadRow.deployed.is_(True),
                    WorkloadRow.bucket == bucket,
                    WorkloadRow.component_id != except_component,
                    or_(WorkloadRow.dag_key.in_(keys), WorkloadRow.descriptor_key.in_(keys)),
                )
            ).first()
            return None if row is None else row.component_id

    def deployed(self, component_id: str) -> Deployed | None:
        with Session(self.engine) as session:
            row = session.get(WorkloadRow, component_id)
            if row is None or not row.deployed or not row.inputs_digest or not row.objects:
                return None
            objects = {k: ObjectFingerprint.from_dict(v) for k, v in json.loads(row.objects).items()}
            return Deployed(row.inputs_digest, row.state_fingerprint, objects)

    def record(
        self,
        workload: Workload,
        state_key: str,
        operation: str,
        status: str,
        summary: dict[str, int] | None,
        deployed: Deployed | None,
    ) -> None:
        """Record an operation's outcome; ``deployed`` is None after a destroy or a failure, which
        also invalidates the fast no-op check."""
        with Session(self.engine) as session, session.begin():
            row = session.get(WorkloadRow, workload.component_id)
            if row is None:
                row = WorkloadRow(component_id=workload.component_id)
                session.add(row)
            row.workload_key = workload.workload_key
            row.bucket = workload.bucket
            row.dag_key = workload.deployed_key
            row.descriptor_key = workload.descriptor_key
            row.state_key = state_key
            row.last_operation = operation
            row.last_status = status
            row.last_at = now()
            if summary is not None:
                row.plan_summary = json.dumps(summary)
            if status == "COMPLETED" and operation == "unprovision":
                row.deployed = False
            elif status == "COMPLETED":
                row.deployed = True
            row.inputs_digest = deployed.inputs_digest if deployed else None
            row.state_fingerprint = deployed.state_fingerprint if deployed else None
            row.objects = json.dumps({k: v.as_dict() for k, v in deployed.objects.items()}) if deployed else None
