"""One operation end to end, inside the workload's door: staged DAG → render → (fast no-op check) →
claim the keys → proof for what is already there → init → plan → (review gate) → apply → record.
Returns typed outcomes; the caller shapes responses.

After the apply the outcome is decided by what it did, whatever happens to the bookkeeping: if the
workload's lock is lost (its database connection died), Terraform is stopped, and the operation
says ``COMPLETED`` only if S3 shows the change made; the registry is written only by the holder of
the door (fenced), retried while the database does not answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from service.aws.s3 import S3, ObjectFingerprint
from service.domain import review
from service.domain.review import PlanArtifact
from service.domain.workload import Workload
from service.engine.door import DoorPass
from service.engine.fingerprints import Observation, Observer, matches
from service.engine.render import Renderer
from service.engine.results import ChangeSummary, PlanResult
from service.engine.state_backend import StateBackend, managed_keys
from service.engine.workspace import Workspace, Workspaces
from service.errors import DescriptorInvalid, LockLost, PlanNotReviewed
from service.operations import takeover
from service.operations.journal import Journal
from service.operations.ownership import Ownership
from service.operations.staged import StagedDags
from service.store.claims import ClaimStore
from service.store.database import until_answered
from service.store.plans import PlanStore
from service.store.registry import Deployed, Registry

log = logging.getLogger("mwaa_sp.worker")


@dataclass(frozen=True)
class Provisioned:
    summary: ChangeSummary
    plan_id: str | None
    state_key: str
    deployed_dag: ObjectFingerprint | None
    verified_without_terraform: bool


@dataclass(frozen=True)
class Unprovisioned:
    summary: ChangeSummary
    plan_id: str | None
    state_key: str


class Worker:
    def __init__(
        self,
        renderer: Renderer,
        staged: StagedDags,
        observer: Observer,
        workspaces: Workspaces,
        backend: StateBackend,
        registry: Registry,
        plans: PlanStore,
        claims: ClaimStore,
        s3: S3,
        *,
        require_reviewed_plan: bool,
    ) -> None:
        self.renderer = renderer
        self.staged = staged
        self.observer = observer
        self.workspaces = workspaces
        self.backend = backend
        self.registry = registry
        self.plans = plans
        self.claims = claims
        self.s3 = s3
        self.ownership = Ownership(s3, claims)
        self.require_reviewed_plan = require_reviewed_plan

    def _observe(self, workload: Workload) -> Callable[[], Observation]:
        """Start reading the workload's state and deployed objects; call the result to wait."""
        keys = [workload.deployed_key, workload.descriptor_key]
        return self.observer.start(workload.bucket, keys, self.backend.key(workload.workload_key))

    def provision(self, door: DoorPass, workload: Workload, journal: Journal) -> Provisioned:
        state_key = self.backend.key(workload.workload_key)
        recorded = self.registry.deployed(workload.component_id)
        # Speculatively in flight while the staged DAG is read: wasted only when Terraform runs anyway.
        observation = self._observe(workload) if recorded else None
        dag = self.staged.read(workload)
        journal.add("validate", f"staged DAG s3://{workload.bucket}/{workload.staged_key} ({len(dag)} bytes)")
        module = self.renderer.render(workload, dag)
        if recorded and observation and matches(recorded, module.digest, observation()):
            journal.add("plan", "No changes: inputs, state and deployed objects match the last apply")
            nothing = ChangeSummary()
            # No plan was made: the registry's last plan (its id and summary) stays the one before.
            self.registry.record(workload, state_key, "provision", "COMPLETED", None, recorded, fence=door.fence)
            return Provisioned(nothing, None, state_key, recorded.objects.get(workload.deployed_key), True)
        claimed = self.ownership.claim(workload, door.fence)
        try:
            self.staged.loadable(workload, dag)  # nothing Airflow cannot load reaches the DAG folder
            managed = managed_keys(self.backend.read_json(state_key))
            existing = self.ownership.existing(workload, managed)
            # With no state yet, what is already there is imported; a re-pointed workload (a state for
            # other keys) overwrites the proven objects, and Terraform removes the old ones.
            adopt = {} if managed else {p.resource: f"{workload.bucket}/{p.key}" for p in existing}
            for proven in existing:
                how = "adopted" if adopt else "taking over"
                journal.add("plan", f"{how} s3://{workload.bucket}/{proven.key} ({proven.resource}): {proven.proof}")
            if adopt:
                module = self.renderer.render(workload, dag, adopt)
            workspace = self.workspaces.open(door, journal)
            workspace.prepare(module)
            plan = workspace.plan()
            self._log_plan(journal, plan)
            artifact = review.unrendered("provision", plan.summary, dag)
            if plan.has_changes and self.require_reviewed_plan:
                artifact = self._rendered("provision", workload, workspace, plan, dag)
                self._require_reviewed(workload, artifact)
        except BaseException:
            # Nothing was applied: the keys this attempt claimed are free again.
            until_answered(
                lambda: self.claims.release(workload.component_id, only=[(workload.bucket, k) for k in claimed]),
                "release of refused claims",
            )
            raise
        try:
            plan_id = self._apply(workload, workspace, plan, artifact, journal)
        except LockLost as exc:
            if not self._deployed_now(workload, dag):
                raise
            journal.add("apply", f"{exc.message}; the DAG had been deployed before Terraform stopped", "WARNING")
            journal.add("record", "the registry is left to the next provision (it plans again)", "WARNING")
            return Provisioned(plan.summary, None, state_key, None, False)
        deployed_dag = self._record_provision(door, workload, state_key, module.digest, plan, plan_id, journal)
        if adopt:
            self._retire_shared_descriptor(workload, journal)
        return Provisioned(plan.summary, plan_id, state_key, deployed_dag, False)

    def _record_provision(
        self,
        door: DoorPass,
        workload: Workload,
        state_key: str,
        digest: str,
        plan: PlanResult,
        plan_id: str,
        journal: Journal,
    ) -> ObjectFingerprint | None:
        """What the apply left, in the registry and the claims — by the door's holder only."""
        state, objects = self._observe(workload)()
        deployed = Deployed(digest, state, objects) if objects else None
        mine = [(workload.bucket, workload.deployed_key), (workload.bucket, workload.descriptor_key)]

        def record() -> None:
            self.registry.record(
                workload,
                state_key,
                "provision",
                "COMPLETED",
                plan.summary.as_dict(),
                deployed,
                plan_id=plan_id,
                module_version=self.renderer.module_version,
                fence=door.fence,
            )
            # Keys a re-pointed workload left behind are free again.
            self.claims.release(workload.component_id, keep=mine, fence=door.fence)

        try:
            door.ensure_held()
            until_answered(record, f"registry record of {workload.component_id}")
        except LockLost as exc:
            journal.add("record", f"deployed, but not recorded: {exc.message}", "WARNING")
        return deployed.objects.get(workload.deployed_key) if deployed else None

    def _deployed_now(self, workload: Workload, dag: bytes | None) -> bool:
        """After Terraform was stopped: does S3 show the change made? ``dag`` None: is it gone?"""
        current = self.staged.deployed(workload)
        if dag is None:
            return current is None
        tags = self.s3.tags(workload.bucket, workload.deployed_key) or {}
        return current == dag and tags.get("witboost:component-id") == workload.component_id

    def _retire_shared_descriptor(self, workload: Workload, journal: Journal) -> None:
        takeover.retire_shared_descriptor(self.s3, self.registry, self.claims, workload, journal)

    def unchanged(self, workload: Workload) -> bool:
        """The fast no-op verdict alone: True only when a Terraform plan is bound to say "no
        changes" (same rendered inputs as the last apply, same state, objects as the last apply left
        them). Anything unknown means "run Terraform"."""
        recorded = self.registry.deployed(workload.component_id)
        if recorded is None:
            return False
        module = self.renderer.render(workload, self.staged.read(workload))
        return matches(recorded, module.digest, self._observe(workload)())

    def unprovision(self, door: DoorPass, workload: Workload, journal: Journal) -> Unprovisioned:
        """Removes what the workload's own state manages, and releases its claims: nothing of
        another component's is ever touched, whatever this descriptor says."""
        state_key = self.backend.key(workload.workload_key)
        managed = managed_keys(self.backend.read_json(state_key))
        if not managed:
            journal.add("destroy", "Nothing to remove: this workload has no Terraform state")

            def forget() -> None:
                self.registry.record(workload, state_key, "unprovision", "COMPLETED", None, None, fence=door.fence)
                self.claims.release(workload.component_id, fence=door.fence)

            until_answered(forget, f"registry record of {workload.component_id}")
            return Unprovisioned(ChangeSummary(), None, state_key)
        workspace = self.workspaces.open(door, journal)
        workspace.prepare(self.renderer.render(workload, None))
        plan = workspace.plan(destroy=True)
        self._log_plan(journal, plan)
        try:
            plan_id = self._apply(
                workload, workspace, plan, review.unrendered("unprovision", plan.summary, None), journal
            )
        except LockLost as exc:
            if not self._deployed_now(workload, None):
                raise
            journal.add("destroy", f"{exc.message}; the DAG had been removed before Terraform stopped", "WARNING")
            return Unprovisioned(plan.summary, None, state_key)

        def record() -> None:
            self.registry.record(
                workload,
                state_key,
                "unprovision",
                "COMPLETED",
                plan.summary.as_dict(),
                None,
                plan_id=plan_id,
                fence=door.fence,
            )
            self.claims.release(workload.component_id, fence=door.fence)

        try:
            door.ensure_held()
            until_answered(record, f"registry record of {workload.component_id}")
        except LockLost as exc:
            journal.add("record", f"removed, but not recorded: {exc.message}", "WARNING")
        if (workload.bucket, workload.deployed_key) in managed:  # never on a descriptor's say-so alone
            self._retire_shared_descriptor(workload, journal)
        return Unprovisioned(plan.summary, plan_id, state_key)

    def speculative_plan(self, door: DoorPass, workload: Workload, requested_by: str) -> tuple[str, PlanArtifact]:
        """Plan a provision without applying it, and keep the plan for review (and the review gate).
        A plan shows deployed bytes: refused, like a provision, for keys that are not the workload's."""
        taken = self.ownership.problems(workload)
        if taken:
            raise DescriptorInvalid(taken)
        state_key = self.backend.key(workload.workload_key)
        self.ownership.existing(workload, managed_keys(self.backend.read_json(state_key)))
        dag = self.staged.read(workload)
        self.staged.loadable(workload, dag)
        workspace = self.workspaces.open(door, Journal())
        workspace.prepare(self.renderer.render(workload, dag))
        plan = workspace.plan()
        artifact = self._rendered("speculative", workload, workspace, plan, dag)
        plan_id = self.plans.save(
            workload.component_id, artifact, applied=False, plan_file=plan.plan_file, requested_by=requested_by
        )
        return plan_id, artifact

    def render_stored(self, door: DoorPass, dag_key: str, plan_id: str, plan_file: bytes) -> PlanArtifact:
        """Text, JSON and DAG diff of a stored plan, by ``terraform show`` in the workload's directory."""
        text, plan_json = self.workspaces.open(door, Journal()).show_stored(plan_id, plan_file)
        return review.build("stored", ChangeSummary(), text, plan_json, dag_key, None)

    # -- steps ------------------------------------------------------------------------------------

    @staticmethod
    def _log_plan(journal: Journal, plan: PlanResult) -> None:
        journal.add("plan", f"Plan: {plan.summary}")
        for warning in plan.warnings:
            journal.add("plan", warning, "WARNING")

    def _apply(
        self, workload: Workload, workspace: Workspace, plan: PlanResult, artifact: PlanArtifact, journal: Journal
    ) -> str:
        """Apply the saved plan if it changes anything; store it either way. Its text, JSON and DAG
        diff are rendered when first read, so the apply path pays nothing for them."""
        if plan.has_changes:
            applied = workspace.apply()
            journal.add("apply", f"Apply complete: {applied.summary}")
        else:
            journal.add("apply", "No changes: nothing to apply")
        plan_id = until_answered(
            lambda: self.plans.save(
                workload.component_id, artifact, applied=plan.has_changes, plan_file=plan.plan_file
            ),
            f"stored plan of {workload.component_id}",
        )
        journal.add("plan", f"Plan stored as {plan_id} (GET /workloads/{{id}}/plans/{plan_id})")
        return plan_id

    def _rendered(
        self, kind: str, workload: Workload, workspace: Workspace, plan: PlanResult, staged: bytes | None
    ) -> PlanArtifact:
        """Terraform's own text and JSON of the saved plan, and the DAG diff from what is deployed now
        (read from S3: the workload's own key, proven so before) to the staged bytes; marked when the
        deployed object is no longer what the last apply left (reviewers read these)."""
        text, as_json = workspace.show()
        deployed = self.staged.deployed(workload)
        diff = review.deployed_diff(as_json, workload.deployed_key, deployed, staged)
        drifted = review.applied_differs(as_json, deployed)
        return review.build(kind, plan.summary, text, as_json, workload.deployed_key, staged, diff, drifted)

    def _require_reviewed(self, workload: Workload, fresh: PlanArtifact) -> None:
        reviewed = self.plans.latest_reviewed(workload.component_id)
        drift = self.registry.drift_found(workload.component_id)
        if reviewed is None:
            why: str | None = "no plan was reviewed for it"
        elif drift is not None and reviewed.created_at is not None and reviewed.created_at < drift:
            why = f"the reviewed plan is stale: drift was found at {drift.isoformat()}, after it was made"
        else:
            why = review.difference(reviewed, fresh)
        if why:
            raise PlanNotReviewed(workload.component_id, why)
