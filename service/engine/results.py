"""Typed outcomes of Terraform commands, parsed once from the ``-json`` UI stream."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.domain.deployment import ChangeSummary


@dataclass(frozen=True)
class CommandResult:
    """What a Terraform command left behind, untouched: argv, exit code and output."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def messages(self) -> list[dict[str, Any]]:
        """The ``-json`` UI messages (one JSON object a line); non-JSON lines are skipped."""
        found = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return found


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.summary}: {self.detail}" if self.detail else self.summary


@dataclass(frozen=True)
class RunOutcome:
    """One plan/apply/destroy, classified."""

    result: CommandResult
    summary: ChangeSummary
    diagnostics: tuple[Diagnostic, ...]
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        return [str(d) for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        return [str(d) for d in self.diagnostics if d.severity == "warning"]


@dataclass(frozen=True)
class PlanResult:
    """``terraform plan -out``: whether it changes anything (exit code 2), what, and the saved plan."""

    has_changes: bool
    summary: ChangeSummary
    warnings: tuple[str, ...]
    plan_file: bytes
    """Terraform's saved plan, as written (apply it, store it, or ``show`` it later)."""


@dataclass(frozen=True)
class ApplyResult:
    summary: ChangeSummary
    warnings: tuple[str, ...]
    outputs: dict[str, Any]


def parse_run(result: CommandResult) -> RunOutcome:
    summary = ChangeSummary()
    diagnostics: list[Diagnostic] = []
    outputs: dict[str, Any] = {}
    for message in result.messages():
        kind = message.get("type")
        if kind == "change_summary":
            changes = message.get("changes", {})
            summary = ChangeSummary(
                add=int(changes.get("add", 0)),
                change=int(changes.get("change", 0)),
                destroy=int(changes.get("remove", 0)),
                imported=int(changes.get("import", 0)),
            )
        elif kind == "diagnostic":
            diag = message.get("diagnostic", {})
            diagnostics.append(
                Diagnostic(
                    severity=str(diag.get("severity", message.get("@level", "error"))),
                    summary=str(diag.get("summary", message.get("@message", ""))),
                    detail=str(diag.get("detail", "")),
                )
            )
        elif kind == "outputs":
            outputs = {k: v.get("value") for k, v in message.get("outputs", {}).items() if isinstance(v, dict)}
    if result.exit_code == 1 and not any(d.severity == "error" for d in diagnostics):
        # Failures before the JSON UI starts (e.g. a broken plan file) only reach stderr.
        text = (result.stderr or result.stdout).strip() or f"exit code {result.exit_code}"
        diagnostics.append(Diagnostic("error", text.splitlines()[0] if text else text, text))
    return RunOutcome(result, summary, tuple(diagnostics), outputs)
