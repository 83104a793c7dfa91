"""What the web view's templates show, computed from the same dictionaries the JSON API returns.
Pure functions: no I/O, no HTML (the templates escape everything they are given)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

VERDICTS = ("in_sync", "drifted", "missing", "error", "unchecked")
STATUSES = ("COMPLETED", "FAILED", "RUNNING")
UNCHECKED = "unchecked"


PAGE_SIZE = 50
"""Rows a page of the web view shows (the rest are a "next page" link away)."""


def as_json(body: msgspec.Struct) -> dict[str, Any]:
    """A body as the JSON API answers it: the pages show exactly what a client would read."""
    found: dict[str, Any] = msgspec.to_builtins(body)
    return found


def workload_url(component_id: str) -> str:
    # safe="": a component id is one path segment whatever it holds.
    return f"/ui/workloads/{quote(component_id, safe='')}"


def plan_url(component_id: str, plan_id: str) -> str:
    return f"{workload_url(component_id)}/plans/{quote(plan_id, safe='')}"


def drift_run_url(run_id: str) -> str:
    return f"/ui/drift-runs/{quote(run_id, safe='')}"


def list_url(**filters: str | None) -> str:
    query = {k: v for k, v in filters.items() if v}
    return "/ui" + (f"?{urlencode(query)}" if query else "")


def s3_console(bucket: str, key: str, region: str) -> str:
    """The S3 console's page of an object, or of a folder when ``key`` ends with '/' or is empty."""
    if not key or key.endswith("/"):
        return f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket, safe='')}?" + urlencode(
            {"region": region, "prefix": key}
        )
    return f"https://s3.console.aws.amazon.com/s3/object/{quote(bucket, safe='')}?" + urlencode(
        {"region": region, "prefix": key}
    )


def folder(key: str) -> str:
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


def verdict(workload: dict[str, Any]) -> str:
    return str((workload.get("drift") or {}).get("status") or UNCHECKED)


def when(value: str | None) -> str:
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        # SQLite hands back naive datetimes; the service writes UTC only.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def summary(counts: dict[str, int] | None) -> str:
    if not counts:
        return "—"
    text = f"+{counts.get('add', 0)} ~{counts.get('change', 0)} -{counts.get('destroy', 0)}"
    return text + (f" ⇲{counts['import']}" if counts.get("import") else "")


@dataclass(frozen=True)
class DiffLine:
    kind: str
    """file | hunk | add | del | context | note"""
    text: str


def diff_lines(diff: str) -> list[DiffLine]:
    """A unified diff, line by line, classified for colouring; a binary summary is a note."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith((" ", "\\")) or line == "":
            kind = "context"
        else:
            kind = "note"
        lines.append(DiffLine(kind, line))
    return lines


def _action(actions: list[str]) -> str:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return "/".join(actions) or "?"


def resource_rows(plan_json: dict[str, Any]) -> list[dict[str, Any]]:
    """Address, action and import of every resource the plan touches (reads left out)."""
    rows = []
    for change in plan_json.get("resource_changes", []):
        body = change.get("change") or {}
        actions = list(body.get("actions") or [])
        if actions == ["read"]:
            continue
        importing = body.get("importing")
        rows.append(
            {
                "address": str(change.get("address", "?")),
                "action": _action(actions),
                "importing": (str(importing.get("id") or "yes") if isinstance(importing, dict) else None),
            }
        )
    return rows


def drift_changes(report: dict[str, Any] | None) -> list[str]:
    """One sentence per thing that drifted, from a verdict (``DriftVerdict`` as JSON)."""
    if not report:
        return []
    found = []
    for change in report.get("changes") or []:
        what = str(change.get("what", "?"))
        key = str(change.get("key", "?"))
        if what == "content":
            found.append(f"{key}: content changed ({change.get('old')} → {change.get('new')})")
        elif what == "metadata":
            found.append(f"{key}: metadata changed ({', '.join(map(str, change.get('attributes') or []))})")
        elif what == "tags":
            found.append(f"{key}: tags changed")
        elif what == "deleted":
            found.append(f"{key}: deleted")
        else:
            found.append(f"{key}: {what}")
    if report.get("error"):
        found.append(str(report["error"]))
    return found


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a page of the web view (no open redirect)."""
    if not target or "\\" in target or target.startswith("//"):
        return "/ui"
    path = target.split("?", 1)[0]
    return target if path == "/ui" or path.startswith("/ui/") else "/ui"
