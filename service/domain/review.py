"""Plan artifacts for reviewers, derived purely from Terraform's JSON plan and the DAG bytes."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.deployment import ChangeSummary

_DAG_ADDRESSES = ("module.workload.aws_s3_object.dag_text[0]", "module.workload.aws_s3_object.dag_binary[0]")


@dataclass(frozen=True)
class PlanArtifact:
    kind: str
    summary: ChangeSummary
    text: str
    plan_json: dict[str, Any]
    dag_diff: str
    dag_digest: str | None
    changes_digest: str
    drifted_since_apply: bool = False
    """What is deployed now is not what the last apply left (someone changed it behind Terraform)."""
    created_at: datetime | None = None


def resource_changes(plan_json: dict[str, Any]) -> list[dict[str, Any]]:
    """Addresses, actions and planned values of every change that is not a no-op."""
    found = []
    for change in plan_json.get("resource_changes", []):
        actions = change.get("change", {}).get("actions", [])
        if actions in (["no-op"], ["read"]):
            continue
        after = change.get("change", {}).get("after") or {}
        found.append({"address": change.get("address"), "actions": actions, "after": after})
    return sorted(found, key=lambda c: str(c["address"]))


def changes_digest(plan_json: dict[str, Any]) -> str:
    canonical = json.dumps(resource_changes(plan_json), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _dag_change(plan_json: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    for change in plan_json.get("resource_changes", []):
        if change.get("address") in _DAG_ADDRESSES:
            body = change.get("change", {})
            return str(change["address"]), body.get("before") or {}, body.get("after") or {}
    return None


def dag_diff(key: str, deployed: bytes | None, staged: bytes | None, sides: tuple[str, str] = ("", "")) -> str:
    """A unified diff of the DAG code (deployed → staged); for binary DAGs a one-line summary.
    ``sides`` name what each side is, after the file names (e.g. ``deployed now``, ``staged``)."""
    if deployed == staged:
        return ""
    old, new = deployed or b"", staged or b""
    try:
        old_text, new_text = old.decode("utf-8"), new.decode("utf-8")
    except UnicodeDecodeError:
        return (
            f"binary, {len(old)} → {len(new)} bytes, sha256 "
            f"{hashlib.sha256(old).hexdigest()[:12] if deployed is not None else '(none)'} → "
            f"{hashlib.sha256(new).hexdigest()[:12] if staged is not None else '(none)'}\n"
        )
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=(f"a/{key}" if deployed is not None else "/dev/null") + (f" ({sides[0]})" if sides[0] else ""),
        tofile=(f"b/{key}" if staged is not None else "/dev/null") + (f" ({sides[1]})" if sides[1] else ""),
    )
    return "".join(lines)


def dag_diff_from_plan(plan_json: dict[str, Any], key: str) -> str:
    """The DAG's diff as the plan itself carries it: text DAGs keep their code in ``content``;
    a packaged DAG shows its ``source_hash`` (MD5) before and after."""
    change = _dag_change(plan_json)
    if change is None:
        return ""
    address, before, after = change
    if address == _DAG_ADDRESSES[1]:
        old, new = before.get("source_hash"), after.get("source_hash")
        return "" if old == new else f"binary, md5 {old or '(none)'} → {new or '(none)'}\n"
    old_text, new_text = before.get("content"), after.get("content")
    encoded = [t.encode("utf-8") if isinstance(t, str) else None for t in (old_text, new_text)]
    return dag_diff(key, encoded[0], encoded[1])


DEPLOYED_SIDES = ("deployed now", "staged")


def applied_differs(plan_json: dict[str, Any], deployed: bytes | None) -> bool:
    """Whether the object deployed now is not what the last apply left, which the plan's ``before``
    holds (a text DAG's content, a packaged DAG's MD5). False with nothing applied yet (pure)."""
    change = _dag_change(plan_json)
    if change is None or deployed is None:
        return False
    address, before, _ = change
    if not before:
        return False
    if address == _DAG_ADDRESSES[1]:
        applied = before.get("source_hash")
        return applied is not None and applied != hashlib.md5(deployed).hexdigest()  # noqa: S324 - S3's etag
    content = before.get("content")
    return isinstance(content, str) and content.encode("utf-8") != deployed


def deployed_diff(plan_json: dict[str, Any], key: str, deployed: bytes | None, staged: bytes | None) -> str:
    """The diff a reviewer reads: from what is deployed **now** (read from S3) to the staged DAG —
    not from what the last apply left, which may no longer be there."""
    if _dag_change(plan_json) is None and deployed == staged:
        return ""
    return dag_diff(key, deployed, staged, DEPLOYED_SIDES)


def build(
    kind: str,
    summary: ChangeSummary,
    text: str,
    plan_json: dict[str, Any],
    key: str,
    staged: bytes | None,
    diff: str | None = None,
    drifted_since_apply: bool = False,
) -> PlanArtifact:
    """``diff``: the DAG's diff when both sides were read (deployed now → staged); otherwise the one
    the plan itself carries (last applied → planned)."""
    return PlanArtifact(
        kind=kind,
        summary=summary,
        text=text,
        plan_json=plan_json,
        dag_diff=diff if diff is not None else dag_diff_from_plan(plan_json, key),
        dag_digest=hashlib.sha256(staged).hexdigest() if staged is not None else None,
        changes_digest=changes_digest(plan_json),
        drifted_since_apply=drifted_since_apply,
    )


def unrendered(kind: str, summary: ChangeSummary, staged: bytes | None) -> PlanArtifact:
    """A stored plan whose text and JSON will be rendered from the plan file when first read."""
    digest = hashlib.sha256(staged).hexdigest() if staged is not None else None
    return PlanArtifact(kind, summary, "", {}, "", digest, "")


def difference(reviewed: PlanArtifact, fresh: PlanArtifact) -> str | None:
    """Why ``fresh`` is not the plan that was reviewed, or ``None`` when they are the same."""
    if reviewed.dag_digest != fresh.dag_digest:
        return f"the DAG changed since the review (sha256 {reviewed.dag_digest} → {fresh.dag_digest})"
    if reviewed.changes_digest != fresh.changes_digest:
        before = {c["address"]: "/".join(c["actions"]) for c in resource_changes(reviewed.plan_json)}
        after = {c["address"]: "/".join(c["actions"]) for c in resource_changes(fresh.plan_json)}
        if before == after:
            return f"the planned values differ from the reviewed plan (same actions: {after})"
        return f"the resource changes differ from the reviewed plan: reviewed {before}, now {after}"
    return None
