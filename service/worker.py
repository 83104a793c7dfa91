"""One operation end to end, inside the workload's door: staged DAG → render → (fast no-op check) →
init → plan → (review gate) → apply → record. Returns typed outcomes; the caller shapes responses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service import review
from service.door import DoorPass
from service.engine.results import ChangeSummary, PlanResult
from service.errors import PlanNotReviewed
from service.journal import Journal
from service.observe import Observation, Observer, matches
from service.render import Renderer
from service.review import PlanArtifact
from service.s3 import ObjectFingerprint
from service.staged import StagedDags
from service.state_backend import StateBackend
from service.store.plans import PlanStore
from service.store.registry import Deployed, Registry
from service.workload import Workload
from service.workspace import Workspace, Workspaces


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
            self.registry.record(workload, state_key, "provision", "COMPLETED", nothing.as_dict(), recorded)
            return Provisioned(nothing, None, state_key, recorded.objects.get(workload.deployed_key), True)
        self.staged.loadable(workload, dag)  # nothing Airflow cannot load reaches the DAG folder
        adopt = {} if self.backend.has_resources(state_key) else self.staged.adoptable(workload)
        if adopt:
            for resource, target in sorted(adopt.items()):
                journal.add("plan", f"adopted s3://{target} ({resource}): already deployed, imported into the state")
            module = self.renderer.render(workload, dag, adopt)
        workspace = self.workspaces.open(door, journal)
        workspace.prepare(module)
        plan = workspace.plan()
        self._log_plan(journal, plan)
        artifact = review.unrendered("provision", plan.summary, dag)
        if plan.has_changes and self.require_reviewed_plan:
            artifact = self._rendered("provision", workload, workspace, plan, dag)
            self._require_reviewed(workload, artifact)
        plan_id = self._apply(workload, workspace, plan, artifact, journal)
        state, objects = self._observe(workload)()
        deployed = Deployed(module.digest, state, objects) if objects else None
        self.registry.record(
            workload,
            state_key,
            "provision",
            "COMPLETED",
            plan.summary.as_dict(),
            deployed,
            plan_id=plan_id,
            module_version=self.renderer.module_version,
        )
        if adopt:
            self.staged.retire_shared_descriptor(workload, journal)
        dag_fp = deployed.objects.get(workload.deployed_key) if deployed else None
        return Provisioned(plan.summary, plan_id, state_key, dag_fp, False)

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
        state_key = self.backend.key(workload.workload_key)
        if not self.backend.has_resources(state_key):
            journal.add("destroy", "Nothing to remove: this workload has no Terraform state")
            self.registry.record(workload, state_key, "unprovision", "COMPLETED", None, None)
            return Unprovisioned(ChangeSummary(), None, state_key)
        workspace = self.workspaces.open(door, journal)
        workspace.prepare(self.renderer.render(workload, None))
        plan = workspace.plan(destroy=True)
        self._log_plan(journal, plan)
        plan_id = self._apply(workload, workspace, plan, review.unrendered("unprovision", plan.summary, None), journal)
        self.registry.record(
            workload, state_key, "unprovision", "COMPLETED", plan.summary.as_dict(), None, plan_id=plan_id
        )
        self.staged.retire_shared_descriptor(workload, journal)
        return Unprovisioned(plan.summary, plan_id, state_key)

    def speculative_plan(
        self, door: DoorPass, workload: Workload, kind: str = "speculative"
    ) -> tuple[str, PlanArtifact]:
        """Plan a provision without applying it, and keep the plan for review (and the review gate)."""
        dag = self.staged.read(workload)
        self.staged.loadable(workload, dag)
        workspace = self.workspaces.open(door, Journal())
        workspace.prepare(self.renderer.render(workload, dag))
        plan = workspace.plan()
        artifact = self._rendered(kind, workload, workspace, plan, dag)
        return self.plans.save(workload.component_id, artifact, applied=False, plan_file=plan.plan_file), artifact

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
        plan_id = self.plans.save(workload.component_id, artifact, applied=plan.has_changes, plan_file=plan.plan_file)
        journal.add("plan", f"Plan stored as {plan_id} (GET /workloads/{{id}}/plans/{plan_id})")
        return plan_id

    def _rendered(
        self, kind: str, workload: Workload, workspace: Workspace, plan: PlanResult, staged: bytes | None
    ) -> PlanArtifact:
        """Terraform's own text and JSON of the saved plan, and the DAG diff (reviewers read these)."""
        text, as_json = workspace.show()
        binary_diff = None
        if workload.dag_kind == "binary":
            deployed = self.staged.deployed(workload)
            binary_diff = review.dag_diff(workload.deployed_key, deployed, staged)
        return review.build(kind, plan.summary, text, as_json, workload.deployed_key, staged, binary_diff)

    def _require_reviewed(self, workload: Workload, fresh: PlanArtifact) -> None:
        reviewed = self.plans.latest_reviewed(workload.component_id)
        why = "no plan was reviewed for it" if reviewed is None else review.difference(reviewed, fresh)
        if why:
            raise PlanNotReviewed(workload.component_id, why)
