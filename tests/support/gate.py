"""The stand-in provider's test gate (``mwaa_sp_standin.gate``), driven from a test.

``hold("apply")`` makes the next ApplyResourceChange of any Terraform run started with
:attr:`env` stop there; :meth:`wait_reached` returns once one did — the observable event a test
synchronises on (then: kill, stop or check a deadline) instead of sleeping."""

from __future__ import annotations

import time
from pathlib import Path

from mwaa_sp_standin.gate import GATE_ENV


class Gate:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {GATE_ENV: str(self.root)}

    def hold(self, phase: str) -> None:
        for old in self.root.glob(f"reached-{phase}-*"):
            old.unlink()
        (self.root / f"hold-{phase}").write_text("")

    def release(self, phase: str) -> None:
        (self.root / f"hold-{phase}").unlink(missing_ok=True)

    def wait_reached(self, phase: str, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not list(self.root.glob(f"reached-{phase}-*")):
            assert time.monotonic() < deadline, f"no Terraform run reached the {phase} gate within {timeout:g} s"
            time.sleep(0.05)
