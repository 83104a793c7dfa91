"""Stored plans: every provision, unprovision, speculative plan and reconcile keeps its plan — the
newest ``retention`` of each workload (MWAA_SP_PLAN_RETENTION), plus the newest applied one and the
reviewed plan the review gate may still need, whatever their age. A plan with its saved plan file
and rendering weighs about 1.3 MB."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, defer

from service.domain.deployment import ChangeSummary
from service.domain.review import PlanArtifact
from service.store import pages
from service.store.clock import sql_now
from service.store.models import PlanRow
from service.store.pages import Page

REVIEWABLE = ("speculative",)
"""A review is a person's speculative plan (its ``requested_by`` says whose), never a plan a
validate or a provision of the Coordinator made."""


def _artifact(row: PlanRow) -> PlanArtifact:
    return PlanArtifact(
        kind=row.kind,
        summary=ChangeSummary(row.add, row.change, row.destroy, row.imported),
        text=row.text,
        plan_json=json.loads(row.plan_json),
        dag_diff=row.dag_diff,
        dag_digest=row.dag_digest,
        changes_digest=row.changes_digest,
        drifted_since_apply=row.drifted_since_apply,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class StoredPlan:
    """A stored plan as listed (its plan file and renderings are not read)."""

    plan_id: str
    component_id: str
    kind: str
    created_at: datetime
    applied: bool
    summary: ChangeSummary
    requested_by: str | None
    drifted_since_apply: bool


@dataclass(frozen=True)
class PlanRendering:
    """Terraform's text and JSON of a stored plan, and the DAG's diff."""

    text: str
    plan_json: dict[str, Any]
    dag_diff: str
    dag_digest: str | None


def _stored(row: PlanRow) -> StoredPlan:
    return StoredPlan(
        plan_id=row.plan_id,
        component_id=row.component_id,
        kind=row.kind,
        created_at=row.created_at,
        applied=row.applied,
        summary=ChangeSummary(row.add, row.change, row.destroy, row.imported),
        requested_by=row.requested_by,
        drifted_since_apply=row.drifted_since_apply,
    )


def kept(plans: list[tuple[str, str, bool]], retention: int) -> set[str]:
    """Which of a workload's plans (id, kind, applied), newest first, are kept (pure)."""
    keep = {plan_id for plan_id, _, _ in plans[:retention]}
    keep.update(next(([p] for p, _, applied in plans if applied), []))
    for plan_id, kind, applied in plans:  # what latest_reviewed would find
        if applied:
            break
        if kind in REVIEWABLE:
            keep.add(plan_id)
            break
    return keep


class PlanStore:
    def __init__(self, engine: Engine, retention: int = 20) -> None:
        self.engine = engine
        self.retention = retention

    def save(
        self,
        component_id: str,
        artifact: PlanArtifact,
        applied: bool,
        plan_file: bytes | None = None,
        requested_by: str | None = None,
    ) -> str:
        """Store a plan, and prune the workload's older ones past the retention."""
        plan_id = secrets.token_hex(8)
        with Session(self.engine) as session, session.begin():
            session.add(
                PlanRow(
                    plan_id=plan_id,
                    component_id=component_id,
                    kind=artifact.kind,
                    created_at=sql_now(session),
                    applied=applied,
                    add=artifact.summary.add,
                    change=artifact.summary.change,
                    destroy=artifact.summary.destroy,
                    imported=artifact.summary.imported,
                    dag_digest=artifact.dag_digest,
                    changes_digest=artifact.changes_digest,
                    plan_file=plan_file,
                    rendered=bool(artifact.plan_json),
                    text=artifact.text,
                    plan_json=json.dumps(artifact.plan_json),
                    dag_diff=artifact.dag_diff,
                    drifted_since_apply=artifact.drifted_since_apply,
                    requested_by=requested_by,
                )
            )
            session.flush()
            self._prune(session, component_id)
        return plan_id

    def _prune(self, session: Session, component_id: str) -> None:
        rows = session.execute(
            select(PlanRow.plan_id, PlanRow.kind, PlanRow.applied)
            .where(PlanRow.component_id == component_id)
            .order_by(PlanRow.created_at.desc(), PlanRow.plan_id)
        ).all()
        if len(rows) <= self.retention:
            return
        keep = kept([(r.plan_id, r.kind, r.applied) for r in rows], self.retention)
        doomed = [r.plan_id for r in rows if r.plan_id not in keep]
        if doomed:
            session.execute(delete(PlanRow).where(PlanRow.plan_id.in_(doomed)))

    def page(self, component_id: str, *, cursor: str | None = None, limit: int | None = None) -> Page[StoredPlan]:
        """The workload's plans, newest first, a page at a time (the plan files are not read)."""
        query = select(PlanRow).where(PlanRow.component_id == component_id).options(defer(PlanRow.plan_file))
        return pages.read(self.engine, query, PlanRow.created_at, PlanRow.plan_id, _stored, cursor=cursor, limit=limit)

    def plan_file(self, component_id: str, plan_id: str) -> tuple[bool, bytes | None] | None:
        """(already rendered?, the saved plan file) or None when there is no such plan."""
        with Session(self.engine) as session:
            row = session.get(PlanRow, plan_id)
            if row is None or row.component_id != component_id:
                return None
            return row.rendered, row.plan_file

    def cache_rendering(self, plan_id: str, artifact: PlanArtifact) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(PlanRow, plan_id)
            if row is not None:
                row.text, row.plan_json, row.dag_diff = artifact.text, json.dumps(artifact.plan_json), artifact.dag_diff
                row.changes_digest, row.rendered = artifact.changes_digest, True

    def get(self, component_id: str, plan_id: str) -> tuple[StoredPlan, PlanRendering] | None:
        with Session(self.engine) as session:
            row = session.get(PlanRow, plan_id)
            if row is None or row.component_id != component_id:
                return None
            rendering = PlanRendering(row.text, json.loads(row.plan_json), row.dag_diff, row.dag_digest)
            return _stored(row), rendering

    def latest_reviewed(self, component_id: str) -> PlanArtifact | None:
        """The newest speculative/validate plan made since the workload's last applied plan."""
        with Session(self.engine) as session:
            rows = list(
                session.scalars(
                    select(PlanRow)
                    .where(PlanRow.component_id == component_id)
                    .order_by(PlanRow.created_at.desc())
                    .limit(50)
                )
            )
        for row in rows:
            if row.applied:
                return None
            if row.kind in REVIEWABLE and row.requested_by:
                return _artifact(row)
        return None
