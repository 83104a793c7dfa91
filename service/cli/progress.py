"""Progress of the CLI's long work, always on stderr so stdout holds only the result (``--json``
stays machine-readable): a bar on a terminal, one line per step otherwise (cron mail, CI logs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console


class Steps(Protocol):
    def note(self, line: str) -> None:
        """A line worth reading on its own (e.g. what the command waits for)."""

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps are finished."""


class _Quiet:
    """For a command with no steps to show (a listing, a lookup)."""

    def note(self, line: str) -> None:
        pass

    def update(self, done: int, total: int) -> None:
        pass


QUIET: Steps = _Quiet()


class LineSteps:
    """One line per step: ``<label> 3/10``."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.shown = 0

    def note(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def update(self, done: int, total: int) -> None:
        # A run polled over HTTP may finish several steps between two polls; each is still a step,
        # so a reader (or a log parser) sees every count exactly once.
        for step in range(self.shown + 1, done + 1):
            print(f"{self.label} {step}/{total}", file=self.stream, flush=True)
        self.shown = max(self.shown, done)


class BarSteps:
    """A rich progress bar; a pulse until the total is known."""

    def __init__(self, description: str, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            # stdout is the result's alone, even while the bar is drawn on stderr.
            redirect_stdout=False,
        )
        self.task = self.progress.add_task(description, total=None)

    def note(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False)

    def update(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)

    def finish(self) -> None:
        # Work that never learnt its size (a plan, a remote rebuild) leaves no frozen pulse behind.
        if self.progress.tasks[0].total is None:
            self.progress.remove_task(self.task)


@contextmanager
def steps(label: str, description: str, stream: TextIO | None = None, terminal: bool | None = None) -> Iterator[Steps]:
    """``label`` names a finished step in line mode; ``description`` heads the bar."""
    stream = stream or sys.stderr
    if not (stream.isatty() if terminal is None else terminal):
        yield LineSteps(label, stream)
        return
    from rich.console import Console

    bar = BarSteps(description, Console(file=stream, force_terminal=True))
    with bar.progress:
        try:
            yield bar
        finally:
            bar.finish()
