"""Pure argv builders. Every command runs non-interactively and without colour; variables never
travel as flags: ``terraform.tfvars.json`` in the working directory is loaded by plan/apply/destroy."""

from __future__ import annotations

PLAN_FILE = "plan.tfplan"
_COMMON = ["-input=false", "-no-color"]
# Requests for one workload never run at once; this only covers a state lock that another process
# (a stopped replica's orphaned run, an operator) still holds for a moment.
LOCK_TIMEOUT_S = 120


def _lock(seconds: int) -> list[str]:
    return [f"-lock-timeout={seconds}s"]


def init_args(backend_config: str) -> list[str]:
    return ["init", *_COMMON, f"-backend-config={backend_config}", "-reconfigure"]


def plan_args(
    out: str = PLAN_FILE,
    *,
    destroy: bool = False,
    refresh_only: bool = False,
    replace: list[str] | None = None,
    lock_timeout_s: int = LOCK_TIMEOUT_S,
) -> list[str]:
    argv = ["plan", *_COMMON, *_lock(lock_timeout_s), "-json", "-detailed-exitcode", f"-out={out}"]
    if destroy:
        argv.append("-destroy")
    if refresh_only:
        argv.append("-refresh-only")
    argv += [f"-replace={address}" for address in replace or []]
    return argv


def apply_args(plan_file: str = PLAN_FILE, lock_timeout_s: int = LOCK_TIMEOUT_S) -> list[str]:
    return ["apply", *_COMMON, *_lock(lock_timeout_s), "-json", "-auto-approve", plan_file]


def show_args(plan_file: str = PLAN_FILE, *, as_json: bool) -> list[str]:
    return ["show", "-no-color", *(["-json"] if as_json else []), plan_file]


def state_list_args() -> list[str]:
    return ["state", "list"]


def state_rm_args(addresses: list[str], lock_timeout_s: int = LOCK_TIMEOUT_S) -> list[str]:
    """Forget resources without destroying them (another workload still manages the same object)."""
    return ["state", "rm", *_lock(lock_timeout_s), *addresses]
