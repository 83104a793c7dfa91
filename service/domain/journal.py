"""Domain: the ``logs`` of a ProvisioningStatus, collected as an operation goes, and shown while it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger("mwaa_sp.operation")
LogEntry = dict[str, str]


@dataclass
class Journal:
    token: str | None = None
    """The task this operation answers on, if any."""
    publish: Callable[[list[LogEntry]], None] | None = None
    """Makes the entries so far visible on the task's status (called at checkpoints only: the
    no-op path never pays for it)."""
    entries: list[LogEntry] = field(default_factory=list)
    _published: int = 0

    def add(self, phase: str, message: str, level: str = "INFO") -> None:
        self.entries.append(
            {"timestamp": datetime.now(UTC).isoformat(), "level": level, "message": message, "phase": phase}
        )
        log.log(logging.getLevelName(level), message, extra={"phase": phase})

    def checkpoint(self) -> None:
        """Publish what was added since the last checkpoint (before a wait or a Terraform command)."""
        if self.publish is not None and len(self.entries) > self._published:
            self._published = len(self.entries)
            self.publish(list(self.entries))
