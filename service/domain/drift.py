"""Drift, as rules (pure): what a refresh-only plan says moved, the verdict it makes, and Terraform's
detailed exit code over a set of verdicts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

EXIT_OK, EXIT_FAILED, EXIT_DRIFT = 0, 1, 2
"""Terraform's detailed exit code: 0 nothing drifted, 1 a check failed, 2 drift found."""


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


_IDENTITY = {"etag", "version_id", "tags", "tags_all"}


@dataclass
class Verdict:
    component_id: str
    status: str
    """in_sync | drifted | missing | error"""
    method: str
    """fast (no Terraform needed) | terraform (refresh-only plan)"""
    checked_at: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)
    reconciled: dict[str, Any] | None = None
    error: str | None = None
    airflow_error: str | None = None
    """Airflow cannot import the deployed DAG (its stack trace's tail), beside the S3 verdict."""


def changes_from_drift(plan_json: dict[str, Any]) -> list[dict[str, Any]]:
    """What moved, per object, from a refresh-only plan's ``resource_drift``."""
    found: list[dict[str, Any]] = []
    for drift in plan_json.get("resource_drift", []):
        change = drift.get("change", {})
        before, after = change.get("before") or {}, change.get("after")
        key = before.get("key", "?")
        base = {"address": drift.get("address"), "key": key}
        if after is None or "delete" in change.get("actions", []):
            found.append(base | {"what": "deleted"})
            continue
        if before.get("etag") != after.get("etag"):
            # What the configuration tracks the bytes by: a configured etag re-uploads on the next
            # apply; a source_hash (packaged DAGs, opaque ETags) does not see the change at all.
            tracking = "source_hash" if before.get("source_hash") else "etag"
            found.append(
                base | {"what": "content", "old": before.get("etag"), "new": after.get("etag"), "tracking": tracking}
            )
        if before.get("tags") != after.get("tags") or before.get("tags_all") != after.get("tags_all"):
            found.append(base | {"what": "tags", "old": before.get("tags_all"), "new": after.get("tags_all")})
        others = sorted(k for k in set(before) | set(after) if k not in _IDENTITY and before.get(k) != after.get(k))
        if others:
            found.append(base | {"what": "metadata", "attributes": others})
    return found


def verdict_status(changes: list[dict[str, Any]], objects: int) -> str:
    if not changes:
        return "in_sync"
    deleted = {c["key"] for c in changes if c["what"] == "deleted"}
    return "missing" if len(deleted) >= objects else "drifted"


def exit_code(verdicts: Iterable[_HasStatus]) -> int:
    """Terraform's detailed exit code: 0 nothing drifted, 2 drift found, 1 a check failed."""
    statuses = {v.status for v in verdicts}
    if "error" in statuses:
        return EXIT_FAILED
    return EXIT_DRIFT if statuses & {"drifted", "missing"} else EXIT_OK
