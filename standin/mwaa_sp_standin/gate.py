"""Deterministic pauses for tests: the stand-in stops at a resource call while a test holds it there.

Tests only. With ``MWAA_SP_STANDIN_GATE=<dir>`` in Terraform's environment, a resource call of
phase ``read`` (ReadResource), ``plan`` (PlanResourceChange) or ``apply`` (ApplyResourceChange)
that finds ``<dir>/hold-<phase>`` writes ``<dir>/reached-<phase>-<pid>`` and waits until the hold
file is removed, Terraform asks the provider to stop (StopProvider, as on an interrupt), or the
Terraform process that started it is gone. So a test kills a replica *while* the plan or the apply
holds the state lock, or runs past a deadline, without guessing how fast this machine is.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

GATE_ENV = "MWAA_SP_STANDIN_GATE"
_DEADLINE_S = 600.0
_POLL_S = 0.05

stopping = threading.Event()
"""Set by StopProvider: Terraform was interrupted and wants in-flight calls to return."""


class Stopped(Exception):
    """The call was held at the gate when Terraform asked the provider to stop."""


def checkpoint(phase: str) -> None:
    root = os.environ.get(GATE_ENV)
    if not root:
        return
    hold = Path(root) / f"hold-{phase}"
    if not hold.exists():
        return
    (Path(root) / f"reached-{phase}-{os.getpid()}").write_text(str(time.time()))
    parent = os.getppid()
    deadline = time.monotonic() + _DEADLINE_S
    while hold.exists() and time.monotonic() < deadline:
        if stopping.wait(_POLL_S):
            raise Stopped(f"interrupted while held at the test gate ({phase})")
        if os.getppid() != parent:  # Terraform died: nobody will read our answer
            os._exit(1)
