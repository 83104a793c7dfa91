"""Plan artifacts for reviewers, derived purely from Terraform's JSON plan and the DAG bytes."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from service.engine.results import ChangeSummary

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


def dag_diff(key: str, deployed: bytes | None, staged: bytes | None) -> str:
    """A unified diff of the DAG code (deployed → staged); for binary DAGs a one-line summary."""
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
        fromfile=f"a/{key}" if deployed is not None else "/dev/null",
        tofile=f"b/{key}" if staged is not None else "/dev/null",
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


def build(
    kind: str,
    summary: ChangeSummary,
    text: str,
    plan_json: dict[str, Any],
    key: str,
    staged: bytes | None,
    binary_diff: str | None = None,
) -> PlanArtifact:
    """``binary_diff``: for a packaged DAG, the byte-level summary when both sides are at hand."""
    return PlanArtifact(
        kind=kind,
        summary=summary,
        text=text,
        plan_json=plan_json,
        dag_diff=binary_diff if binary_diff is not None else dag_diff_from_plan(plan_json, key),
        dag_digest=hashlib.sha256(staged).hexdigest() if staged is not None else None,
        changes_digest=changes_digest(plan_json),
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
