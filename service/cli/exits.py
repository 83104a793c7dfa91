"""The CLI's exit codes, the same for a local run and a run against the service (``MWAA_SP_URL``).

0 and 2 follow Terraform's detailed exit code (0 nothing to do / in sync, 2 drift found), 1 a failed
operation or check; everything else is a sysexits(3) code, so a scheduler never reads a usage error
or an outage as "drift found"."""

from __future__ import annotations

from collections.abc import Sequence

# 0 done / no drift found; 1 an operation or a check failed (Terraform, AWS, a drift run that ended
# FAILED); 2 drift found (``drift`` only): the drift rules' own codes.
from service.domain.drift import EXIT_DRIFT, EXIT_FAILED, EXIT_OK

__all__ = ["EXIT_DRIFT", "EXIT_FAILED", "EXIT_OK", "ExitError"]

EXIT_USAGE = 64
"""EX_USAGE: a usage error, or an unknown workload or plan."""
EXIT_INVALID = 65
"""EX_DATAERR: an invalid descriptor."""
EXIT_UNAVAILABLE = 69
"""EX_UNAVAILABLE: the service cannot be reached, or what answers is not the service."""
EXIT_OSERR = 71
"""EX_OSERR: ``serve`` cannot listen (its port is taken, or the address is not this host's)."""
EXIT_TIMEOUT = 75
"""EX_TEMPFAIL: the service did not finish within ``--timeout`` (or a gateway in front gave up with a
504); the work goes on there."""
EXIT_REFUSED = 77
"""EX_NOPERM: the service refused the token (or none was sent and it requires one)."""
EXIT_CONFIG = 78
"""EX_CONFIG: settings that cannot work (a bad value, a data directory that is not writable, the
sandbox extra missing), or a database not at this release's schema (run ``mwaa-sp db upgrade``)."""


class ExitError(Exception):
    """A command that ends with ``code``, saying ``lines`` on stderr (never a traceback)."""

    def __init__(self, lines: Sequence[str], code: int) -> None:
        super().__init__("; ".join(lines))
        self.lines = tuple(lines)
        self.code = code
