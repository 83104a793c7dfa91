"""The registry, plan, drift, render and adopt commands of ``mwaa-sp``: arguments in, a report on
stdout and an exit code out."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.cli.exits import EXIT_USAGE, ExitError
from service.cli.progress import steps
from service.errors import (
    ClientError,
    DescriptorInvalid,
    StorageError,
)

if TYPE_CHECKING:
    pass


from service.cli.backends import _backend, _components, settings_for
from service.contract.models import DriftVerdict

log = logging.getLogger("mwaa_sp.cli")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExitError([f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"], EXIT_USAGE) from exc


def _workload(path: Path):  # type: ignore[no-untyped-def]
    from service.domain.descriptor import parse_descriptor

    return parse_descriptor(_read_text(path))


def render(args: argparse.Namespace) -> int:
    from service.aws.etags import BucketEtags
    from service.aws.s3 import S3
    from service.engine.render import Renderer, write_module
    from service.engine.state_backend import StateBackend

    settings = settings_for(args.sandbox)
    workload = _workload(args.descriptor)
    s3 = S3(settings.aws)
    if args.dag_file:
        dag = args.dag_file.read_bytes()
    else:
        dag = s3.get(workload.bucket, workload.staged_key, settings.max_dag_bytes)
        if dag is None:
            raise ClientError(f"staged DAG s3://{workload.bucket}/{workload.staged_key} does not exist")
    etags = BucketEtags(settings.bucket_encryption, s3)
    try:
        etags.opaque(workload.bucket)
    except StorageError as exc:
        # Inspection only (nothing is applied): render with MD5 etags, and say so, rather than refuse.
        print(
            f"note: {exc.message}; rendered with MD5 etags (set MWAA_SP_BUCKET_ENCRYPTION=kms for a KMS bucket)",
            file=sys.stderr,
        )
        etags = BucketEtags("sse-s3", None)
    states = StateBackend(settings.states, None)
    module = Renderer(settings.rendering, etags).render(workload, dag, states.config(states.key(workload.workload_key)))
    write_module(module, args.out)
    print(f"rendered {len(module.files)} files for {workload.component_id} into {args.out}")
    return 0


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def plan(args: argparse.Namespace) -> int:
    descriptor = _read_text(args.descriptor)
    with steps("planned", "planning") as progress, _backend(args, progress) as backend:
        plan = backend.speculative_plan(descriptor)
    if args.json:
        _emit(plan)
        return 0
    if plan.get("driftedSinceApply"):
        print(DRIFTED_NOTE)
    print(_colour_diff(plan["dagDiff"]) if sys.stdout.isatty() else plan["dagDiff"], end="")
    print(plan["text"])
    print(f"plan {plan['planId']} stored for {plan['componentId']}", file=sys.stderr)
    return 0


DRIFTED_NOTE = (
    "NOTE: drifted since the last apply — the deployed DAG is not what the last apply left; "
    "the diff below runs from what is deployed now to the staged DAG"
)


def _colour_diff(diff: str) -> str:
    colours = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m"}
    lines = []
    for line in diff.splitlines(keepends=True):
        colour = colours.get(line[:1], "")
        lines.append(f"{colour}{line.rstrip(chr(10))}\033[0m\n" if colour else line)
    return "".join(lines)


def workloads(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        rows = backend.workloads(args.data_product, args.status, args.drift)
    if args.json:
        _emit(rows)
        return 0
    for row in rows:
        drift = row["drift"]["status"] or "unchecked"
        state = "deployed" if row["deployed"] else "removed"
        print(f"{row['componentId']}  {state}  last={row['lastOperation']}:{row['lastStatus']}  drift={drift}")
    return 0


def show(args: argparse.Namespace) -> int:
    with _backend(args) as backend:
        if args.plan:
            plan = backend.plan(args.workload, args.plan)
            if args.json:
                _emit(plan)
            else:
                if plan.get("driftedSinceApply"):
                    print(DRIFTED_NOTE)
                if plan.get("stale"):
                    print("NOTE: stale — a drift check found the workload changed after this plan was made")
                print(plan["dagDiff"], end="")
                print(plan["text"])
            return 0
        _emit(backend.workload(args.workload) | {"plans": backend.plans_of(args.workload)})
    return 0


def drift(args: argparse.Namespace) -> int:
    import msgspec

    from service.contract.models import DriftVerdict

    with steps("checked", "checking drift") as progress, _backend(args) as backend:
        found = backend.drift(
            args.workload or [], args.data_product, thorough=args.thorough, reconcile=args.reconcile, steps=progress
        )
    verdicts = msgspec.convert(found.get("workloads", []), list[DriftVerdict])
    if args.json:
        _emit(found)
    elif args.markdown:
        print(markdown(verdicts), end="")
    else:
        for v in verdicts:
            what = v.error or ", ".join(f"{c['key']} {c['what']}" for c in v.changes) or "—"
            fixed = f"  reconciled: {v.reconciled['summary']}" if v.reconciled else ""
            print(f"{v.status:8} {v.method:9} {v.component_id}  {what}{fixed}")
    # The report's own exit code (the service's, when remote): drift.exit_code's either way.
    return int(found["exitCode"])


def rebuild(args: argparse.Namespace) -> int:
    with steps("read state", "rebuilding the registry") as progress, _backend(args, progress) as backend:
        found = backend.rebuild()
    print(f"registry rebuilt from {len(found)} Terraform states", file=sys.stderr)
    for component_id in found:
        print(component_id)
    return 0


def adopt(args: argparse.Namespace) -> int:
    """An operator's proof that an object already in S3 is a component's: its next provision adopts it."""
    from service.domain.naming import check_bucket, check_key
    from service.store.replicas import terraform_who

    bucket, slash, key = str(args.object).removeprefix("s3://").partition("/")
    if not str(args.object).startswith("s3://") or not slash or not key or check_bucket(bucket) or check_key(key):
        raise ExitError([f"{args.object!r} is not an S3 object address: s3://<bucket>/<key>"], EXIT_USAGE)
    if not args.reason.strip():
        raise ExitError(["--reason is required: say why this object is the component's (it is audited)"], EXIT_USAGE)
    with _components(args) as parts:
        refused = parts.buckets.refusal(bucket)
        if refused:
            raise ExitError([f"bucket {bucket!r} {refused}"], EXIT_USAGE)
        operator = terraform_who()
        try:
            exists = parts.ownership.adopt(args.component, bucket, key, operator)
        except DescriptorInvalid as exc:
            raise ExitError([f"{exc.problems[0].message}; it cannot be adopted by another"], EXIT_USAGE) from exc
    log.warning(
        "operator adoption",
        extra={
            "audit": True,
            "operator": operator,
            "component": args.component,
            "object": f"s3://{bucket}/{key}",
            "reason": args.reason,
            "exists": exists,
        },
    )
    note = "" if exists else " (no object is there yet)"
    print(f"s3://{bucket}/{key} may be adopted by {args.component}{note}: its next provision imports it")
    return 0


def markdown(verdicts: Sequence[DriftVerdict]) -> str:
    """The drift verdicts as a Markdown table (a CI job's summary)."""
    lines = ["| workload | verdict | how | what changed |", "|---|---|---|---|"]
    for v in verdicts:
        what = v.error or "; ".join(
            f"{c['key']}: {c['what']}" + (f" ({c.get('old')} → {c.get('new')})" if c["what"] == "content" else "")
            for c in v.changes
        )
        lines.append(f"| {v.component_id} | {v.status} | {v.method} | {what or '—'} |")
    return "\n".join(lines) + "\n"
