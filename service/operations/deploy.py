"""The deploy pipeline: one provision or unprovision end to end, inside the workload's door — staged DAG
→ render → (fast no-op check) → claim the keys → proof for what is already there → init → plan →
(review gate) → apply → record. Returns typed outcomes; the HTTP edge shapes responses.

After the apply the outcome is decided by what it did, whatever happens to the bookkeeping: if the
workload's lock is lost (its database connection died), Terraform is stopped, and the operation
says ``COMPLETED`` only if S3 shows the change made; the registry is written only by the holder of
the door (fenced), retried while the database does not answer. An unchanged provision likewise: its
outcome is the verdict on what it read, answered before the registry is written."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from service.aws.s3 import Dispatch
from service.domain import review
from service.domain.deployment import ChangeSummary, Deployed, ObjectFingerprint
from service.domain.journal import Journal
from service.domain.review import PlanArtifact
from service.domain.workload import Workload
from service.engine.door import DoorPass
from service.engine.fingerprints import Fingerprints, Observation, matches
from service.engine.render import RenderedModule
from service.engine.results import PlanResult
from service.engine.workspace import Workspace, Workspaces
from service.errors import DescriptorInvalid, LockLost, PlanNotReviewed
from service.operations.ownership import Ownership
from service.operations.staged import StagedDags
from service.operations.takeover import SharedDescriptors
from service.store.database import until_answered
from service.store.plans import PlanStore
from service.store.registry import Registry


@dataclass(frozen=True)
class Provisioned:
    summary: ChangeSummary
    plan_id: str | None
    state_key: str
    deployed_dag: ObjectFingerprint | None
    verified_without_terraform: bool
    applied_at: datetime | None = None
    """When an apply that changed something ended (the post-deploy check waits for a parse after it)."""
    previous_dag: bytes | None = None
    """The DAG deployed before the apply (kept only to roll back to); None where there was none."""
    after_failure: bool = False
    """The workload's last operation failed: an unchanged provision is checked again all the same."""
    dag: bytes | None = None
    """The DAG's bytes as deployed now (the post-deploy check compares them with what Airflow parsed)."""


@dataclass(frozen=True)
class Unprovisioned:
    summary: ChangeSummary
    plan_id: str | None
    state_key: str


@dataclass
class EarlyReads:
    """What a provision reads before it decides, each started as early as it may start: the staged
    DAG when the request arrives (it is the request's input, whoever holds the door meanwhile); the
    deployed objects and the state — which must be what the last holder left — also when the request
    arrives if nobody is inside the workload's door then (``since``: the generation seen), kept only
    if the provision's entry is the next one; otherwise the moment the lock is held, overlapping the
    door's own write. Whatever is not started, or not kept, is read in turn."""

    staged: Future[bytes] | None = None
    observing: Callable[[], Observation] | None = None
    since: int | None = None
    """Set when ``observing`` started before the door was entered: the generation it then had."""

    def observation(self, door: DoorPass) -> Callable[[], Observation] | None:
        """The reads started early, if they are what the last holder left."""
        if self.since is not None and not door.entered_next_after(self.since):
            return None  # someone was inside the door meanwhile: what was read may be stale
        return self.observing


class Deployer:
    def __init__(
        self,
        staged: StagedDags,
        fingerprints: Fingerprints,
        workspaces: Workspaces,
        registry: Registry,
        plans: PlanStore,
        ownership: Ownership,
        shared_descriptors: SharedDescriptors,
        *,
        require_reviewed_plan: bool,
        keep_previous: bool = False,
    ) -> None:
        self.staged = staged
        self.fingerprints = fingerprints
        self.workspaces = workspaces
        self.registry = registry
        self.plans = plans
        self.ownership = ownership
        self.shared_descriptors = shared_descriptors
        self.require_reviewed_plan = require_reviewed_plan
        self.keep_previous = keep_previous
        """Read the deployed DAG before an apply changes it, to roll back to (MWAA_SP_AIRFLOW_CHECK=rollback)."""

    def observe(self, workload: Workload, dispatch: Dispatch | None = None) -> Callable[[], Observation]:
        """Start reading the workload's state and deployed objects (counted by ``dispatch``); call the
        result to wait."""
        keys = [workload.deployed_key, workload.descriptor_key]
        state_key = self.workspaces.state_key(workload.workload_key)
        return self.fingerprints.start(workload.bucket, keys, state_key, dispatch)

    def no_op(
        self, recorded: Deployed | None, module: RenderedModule, observing: Callable[[], Observation]
    ) -> Deployed | None:
        """The fast no-op verdict: what the last apply left (``recorded``), when a Terraform plan is
        bound to say "no changes" (the same rendered inputs as the last apply, the same state, the
        objects as the last apply left them); None — run Terraform — for anything else or anything
        unknown."""
        if recorded is not None and matches(recorded, module.digest, observing()):
            return recorded
        return None

    def provision(
        self,
        door: DoorPass,
        workload: Workload,
        journal: Journal,
        before_apply: Callable[[], None] = lambda: None,
        early: EarlyReads | None = None,
        answer: Callable[[Provisioned], None] = lambda _done: None,
    ) -> Provisioned:
        """Plan and apply the workload; ``before_apply`` is called once, just before an apply that
        changes something (the post-deploy check notes what Airflow said of the file then).
        ``answer`` is called with an unchanged provision's outcome as soon as it is certain, before
        its bookkeeping (the outcome's time in the registry): a re-provisioned release waits for its
        S3 reads, not for the database's writes after them."""
        workspace = self.workspaces.open(door, journal)
        state_key = workspace.state_key
        early = early or EarlyReads()
        # Speculatively in flight while the registry and the staged DAG are read: wasted only when
        # Terraform runs anyway (a first deployment, a change).
        observing = early.observation(door) or self.observe(workload)
        entry = self.registry.get(workload.component_id)  # one read: the last apply's record and outcome
        last_applied = entry.recorded if entry is not None else None
        after_failure = entry is not None and entry.last_status == "FAILED"
        dag = early.staged.result() if early.staged is not None else self.staged.read(workload)
        journal.add("validate", f"staged DAG s3://{workload.bucket}/{workload.staged_key} ({len(dag)} bytes)")
        module = workspace.render(workload, dag)
        recorded = self.no_op(last_applied, module, observing)
        if recorded is not None:
            journal.add("plan", "No changes: inputs, state and deployed objects match the last apply")
            fingerprint = recorded.objects.get(workload.deployed_key)
            done = Provisioned(
                ChangeSummary(), None, state_key, fingerprint, True, after_failure=after_failure, dag=dag
            )
            if not after_failure:  # after a failure, Airflow may be asked first (the post-deploy check)
                answer(done)
            # No plan was made: the registry's last plan (its id and summary) and fingerprints stay.
            self._record(
                door,
                lambda: self.registry.record_unchanged(workload, state_key, recorded, fence=door.fence),
                "verified unchanged",
                journal,
            )
            return done
        claimed = self.ownership.claim(workload, door.fence)
        try:
            self.staged.loadable(workload, dag)  # nothing Airflow cannot load reaches the DAG folder
            managed = workspace.managed_keys()
            existing = self.ownership.existing(workload, managed)
            # With no state yet, what is already there is imported; a re-pointed workload (a state for
            # other keys) overwrites the proven objects, and Terraform removes the old ones.
            adopt = {} if managed else {p.resource: f"{workload.bucket}/{p.key}" for p in existing}
            for proven in existing:
                how = "adopted" if adopt else "taking over"
                journal.add("plan", f"{how} s3://{workload.bucket}/{proven.key} ({proven.resource}): {proven.proof}")
            if adopt:
                module = workspace.render(workload, dag, adopt)
            workspace.prepare(module)
            plan = workspace.plan()
            artifact = review.unrendered("provision", plan.summary, dag)
            if plan.has_changes and self.require_reviewed_plan:
                artifact = self._rendered("provision", workload, workspace, plan, dag)
                self._require_reviewed(workload, artifact)
        except BaseException:
            self.ownership.release(workload, claimed)  # nothing was applied
            raise
        if plan.has_changes:
            before_apply()
        previous = self.staged.deployed(workload) if self.keep_previous and plan.has_changes else None
        try:
            plan_id = workspace.apply_and_save(plan, workload.component_id, artifact)
        except LockLost as exc:
            if not self._deployed_now(workload, dag):
                raise
            journal.add("apply", f"{exc.message}; the DAG had been deployed before Terraform stopped", "WARNING")
            journal.add("record", "the registry is left to the next provision (it plans again)", "WARNING")
            return Provisioned(plan.summary, None, state_key, None, False, datetime.now(UTC), previous, dag=dag)
        applied_at = datetime.now(UTC) if plan.has_changes else None
        mine = [(workload.bucket, workload.deployed_key), (workload.bucket, workload.descriptor_key)]
        deployed = self._applied(door, workload, workspace, module, plan, plan_id, "COMPLETED", journal, keep=mine)
        if adopt:
            self.shared_descriptors.retire(workload, journal)
        dag_fingerprint = deployed.objects.get(workload.deployed_key) if deployed else None
        return Provisioned(
            plan.summary, plan_id, state_key, dag_fingerprint, False, applied_at, previous, after_failure, dag
        )

    def roll_back(self, door: DoorPass, workload: Workload, previous: bytes | None, journal: Journal) -> str:
        """Apply the DAG deployed before the last apply again, through Terraform, the plan stored (kind
        ``rollback``); with none before (a first deployment), remove what was deployed. What was done."""
        if previous is None:
            done = self.unprovision(door, workload, journal)
            return f"the first deployment was removed ({done.summary})"
        workspace = self.workspaces.open(door, journal)
        module = workspace.render(workload, previous)
        workspace.prepare(module)
        plan = workspace.plan()
        plan_id = workspace.apply_and_save(
            plan, workload.component_id, review.unrendered("rollback", plan.summary, previous)
        )
        # The provision failed (Airflow could not load its DAG), whatever the rollback restored.
        self._applied(door, workload, workspace, module, plan, plan_id, "FAILED", journal)
        return f"the previous DAG was applied again ({plan.summary}, plan {plan_id})"

    def unprovision(self, door: DoorPass, workload: Workload, journal: Journal) -> Unprovisioned:
        """Removes what the workload's own state manages, and releases its claims: nothing of
        another component's is ever touched, whatever this descriptor says."""
        workspace = self.workspaces.open(door, journal)
        state_key = workspace.state_key
        managed = workspace.managed_keys()
        if not managed:
            journal.add("destroy", "Nothing to remove: this workload has no Terraform state")

            def forget() -> None:
                self.registry.record(workload, state_key, "unprovision", "COMPLETED", None, None, fence=door.fence)
                self.ownership.keep_only(workload, [], door.fence)

            until_answered(forget, f"registry record of {workload.component_id}")
            return Unprovisioned(ChangeSummary(), None, state_key)
        workspace.prepare(workspace.render(workload, None))
        plan = workspace.plan(destroy=True)
        try:
            artifact = review.unrendered("unprovision", plan.summary, None)
            plan_id = workspace.apply_and_save(plan, workload.component_id, artifact)
        except LockLost as exc:
            if not self._deployed_now(workload, None):
                raise
            journal.add("destroy", f"{exc.message}; the DAG had been removed before Terraform stopped", "WARNING")
            return Unprovisioned(plan.summary, None, state_key)

        def record() -> None:
            summary = plan.summary.as_dict()
            self.registry.record(
                workload, state_key, "unprovision", "COMPLETED", summary, None, plan_id=plan_id, fence=door.fence
            )
            self.ownership.keep_only(workload, [], door.fence)

        self._record(door, record, "removed", journal)
        if (workload.bucket, workload.deployed_key) in managed:  # never on a descriptor's say-so alone
            self.shared_descriptors.retire(workload, journal)
        return Unprovisioned(plan.summary, plan_id, state_key)

    def speculative_plan(self, door: DoorPass, workload: Workload, requested_by: str) -> tuple[str, PlanArtifact]:
        """Plan a provision without applying it, and keep the plan for review (and the review gate).
        A plan shows deployed bytes: refused, like a provision, for keys that are not the workload's."""
        taken = self.ownership.problems(workload)
        if taken:
            raise DescriptorInvalid(taken)
        workspace = self.workspaces.open(door, Journal())
        self.ownership.existing(workload, workspace.managed_keys())
        dag = self.staged.read(workload)
        self.staged.loadable(workload, dag)
        workspace.prepare(workspace.render(workload, dag))
        plan = workspace.plan()
        artifact = self._rendered("speculative", workload, workspace, plan, dag)
        return workspace.save(plan, workload.component_id, artifact, requested_by=requested_by), artifact

    def render_stored(self, door: DoorPass, dag_key: str, plan_id: str, plan_file: bytes) -> PlanArtifact:
        """Text, JSON and DAG diff of a stored plan, by ``terraform show`` in the workload's directory."""
        text, plan_json = self.workspaces.open(door, Journal()).show_stored(plan_id, plan_file)
        return review.build("stored", ChangeSummary(), text, plan_json, dag_key, None)

    def record_failure(self, workload: Workload, operation: str) -> None:
        """A failed operation, recorded outside the door: the fast no-op check is off until the next
        successful apply records fresh fingerprints."""
        state_key = self.workspaces.state_key(workload.workload_key)
        self.registry.record(workload, state_key, operation, "FAILED", None, None)

    # -- steps ------------------------------------------------------------------------------------

    def _applied(
        self,
        door: DoorPass,
        workload: Workload,
        workspace: Workspace,
        module: RenderedModule,
        plan: PlanResult,
        plan_id: str | None,
        status: str,
        journal: Journal,
        *,
        keep: list[tuple[str, str]] | None = None,
    ) -> Deployed | None:
        """What an apply left, read now (state and objects: the next no-op's fingerprints) and
        recorded by the door's holder — and, with ``keep``, the claims narrowed to those keys."""
        state, objects = self.observe(workload)()
        deployed = Deployed(module.digest, state, objects) if objects else None

        def record() -> None:
            self.registry.record(
                workload,
                workspace.state_key,
                "provision",
                status,
                plan.summary.as_dict(),
                deployed,
                plan_id=plan_id,
                module_version=workspace.module_version,
                fence=door.fence,
            )
            if keep is not None:
                self.ownership.keep_only(workload, keep, door.fence)

        self._record(door, record, "deployed" if status == "COMPLETED" else "rolled back", journal)
        return deployed

    @staticmethod
    def _record(door: DoorPass, record: Callable[[], None], done: str, journal: Journal) -> None:
        """What the apply (or the no-op) left, in the registry and the claims — by the door's holder only."""
        try:
            door.ensure_held()
            until_answered(record, f"registry record of {door.key}")
        except LockLost as exc:
            journal.add("record", f"{done}, but not recorded: {exc.message}", "WARNING")

    def _deployed_now(self, workload: Workload, dag: bytes | None) -> bool:
        """After Terraform was stopped: does S3 show the change made? ``dag`` None: is it gone?"""
        current = self.staged.deployed(workload)
        if dag is None:
            return current is None
        return current == dag and self.ownership.tagged_as(workload, workload.deployed_key)

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
