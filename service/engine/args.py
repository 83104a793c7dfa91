"""Pure argv builders. Every command runs non-interactively and without colour; variables never
travel as flags: ``terraform.tfvars.json`` in the working directory is loaded by plan/apply/destroy."""

from __future__ import annotations

PLAN_FILE = "plan.tfplan"
_COMMON = ["-input=false", "-no-color"]
# Requests for one workload are serialised inside a replica; this only covers a state lock that
# another process (a stopped replica's orphaned run, an operator) still holds for a moment.
_LOCK = ["-lock-timeout=120s"]


def init_args(backend_config: str) -> list[str]:
    return ["init", *_COMMON, f"-backend-config={backend_config}", "-reconfigure"]


def plan_args(
    out: str = PLAN_FILE, *, destroy: bool = False, refresh_only: bool = False, replace: list[str] | None = None
) -> list[str]:
    argv = ["plan", *_COMMON, *_LOCK, "-json", "-detailed-exitcode", f"-out={out}"]
    if destroy:
        argv.append("-destroy")
    if refresh_only:
        argv.append("-refresh-only")
    argv += [f"-replace={address}" for address in replace or []]
    return argv


def apply_args(plan_file: str = PLAN_FILE) -> list[str]:
    return ["apply", *_COMMON, *_LOCK, "-json", "-auto-approve", plan_file]


def destroy_args() -> list[str]:
    return ["destroy", *_COMMON, *_LOCK, "-json", "-auto-approve"]


def show_args(plan_file: str = PLAN_FILE, *, as_json: bool) -> list[str]:
    return ["show", "-no-color", *(["-json"] if as_json else []), plan_file]


def output_args() -> list[str]:
    return ["output", "-no-color", "-json"]
