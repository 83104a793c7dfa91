"""``mwaa-sp``: serve the API, or work on the registry, plans and drift without HTTP (same modules,
same door: a command beside the service waits for a busy workload instead of sharing its directory).

Exit codes a scheduler can act on: 0 done / in sync, 2 drift found, 1 an operation or a check failed,
64 a usage error or an unknown workload, 65 an invalid descriptor."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service import logs
from service.errors import ClientError, DescriptorInvalid, MwaaSpError, WorkloadUnknown

log = logging.getLogger("mwaa_sp.cli")
EXIT_OK, EXIT_FAILED, EXIT_DRIFT, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 64, 65


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error — to a cron job, "drift found". Ours is 64 (EX_USAGE)."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _settings(sandbox: bool, *, serving: bool = False):  # type: ignore[no-untyped-def]
    from service import sandbox as sandbox_mode
    from service.settings import Settings

    settings = Settings.from_env()
    if sandbox or settings.sandbox:
        settings = sandbox_mode.prepare(settings, serving=serving)
    return settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    settings = _settings(args.sandbox, serving=True)
    app = create_app(settings)
    log.info("listening", extra={"host": settings.host, "port": settings.port, "sandbox": settings.sandbox})
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0


def _workload(path: Path):  # type: ignore[no-untyped-def]
    from service.descriptor import parse_descriptor

    return parse_descriptor(path.read_text(encoding="utf-8"))


def _render(args: argparse.Namespace) -> int:
    from service.etags import BucketEtags
    from service.render import Renderer, write_module
    from service.s3 import S3

    settings = _settings(args.sandbox)
    workload = _workload(args.descriptor)
    s3 = S3(settings)
    if args.dag_file:
        dag = args.dag_file.read_bytes()
    else:
        dag = s3.get(workload.bucket, workload.staged_key, settings.max_dag_bytes)
        if dag is None:
            raise ClientError(f"staged DAG s3://{workload.bucket}/{workload.staged_key} does not exist")
    module = Renderer(settings, etags=BucketEtags(settings.bucket_encryption, s3)).render(workload, dag)
    write_module(module, args.out)
    print(f"rendered {len(module.files)} files for {workload.component_id} into {args.out}")
    return 0


@contextmanager
def _components(args: argparse.Namespace) -> Iterator[Any]:
    """The service's components for one command: this process holds a lease while it runs
    Terraform, and goes through the same door as the service."""
    from service.app import build

    parts = build(_settings(args.sandbox), kind="cli")
    parts.leases.start()
    try:
        yield parts
    finally:
        parts.door.shutdown()
        parts.leases.stop(drained=True)


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _plan(args: argparse.Namespace) -> int:
    from service.request import ProvisioningRequest

    request = ProvisioningRequest("COMPONENT_DESCRIPTOR", args.descriptor.read_text(encoding="utf-8"), False)
    print("planning (terraform init + plan, nothing is applied)…", file=sys.stderr)
    with _components(args) as parts:
        plan = parts.operations.speculative_plan(request)
    if args.json:
        _emit(plan)
        return 0
    print(_colour_diff(plan["dagDiff"]) if sys.stdout.isatty() else plan["dagDiff"], end="")
    print(plan["text"])
    print(f"plan {plan['planId']} stored for {plan['componentId']}", file=sys.stderr)
    return 0


def _colour_diff(diff: str) -> str:
    colours = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m"}
    lines = []
    for line in diff.splitlines(keepends=True):
        colour = colours.get(line[:1], "")
        lines.append(f"{colour}{line.rstrip(chr(10))}\033[0m\n" if colour else line)
    return "".join(lines)


def _workloads(args: argparse.Namespace) -> int:
    with _components(args) as parts:
        rows = parts.operations.workloads(args.data_product, args.status, args.drift)
    if args.json:
        _emit(rows)
        return 0
    for row in rows:
        drift = row["drift"]["status"] or "unchecked"
        state = "deployed" if row["deployed"] else "removed"
        print(f"{row['componentId']}  {state}  last={row['lastOperation']}:{row['lastStatus']}  drift={drift}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with _components(args) as parts:
        operations = parts.operations
        if args.plan:
            plan = operations.plan(args.workload, args.plan)
            if args.json:
                _emit(plan)
            else:
                print(plan["dagDiff"], end="")
                print(plan["text"])
            return 0
        _emit(operations.workload(args.workload) | {"plans": operations.plans_of(args.workload)})
    return 0


def _drift(args: argparse.Namespace) -> int:
    from service.drift import exit_code, markdown, report

    def progress(done: int, total: int) -> None:
        print(f"\rchecked {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    def waiting(component_id: str) -> None:
        print(f"waiting for {component_id}: another process is running Terraform on it", file=sys.stderr, flush=True)

    with _components(args) as parts:
        entries = parts.operations.select(args.workload or [], args.data_product)
        verdicts = parts.operations.drift(
            entries, thorough=args.thorough, reconcile=args.reconcile, progress=progress, waiting=waiting
        )
    if args.json:
        _emit(report(verdicts))
    elif args.markdown:
        print(markdown(verdicts), end="")
    else:
        for v in verdicts:
            what = v.error or ", ".join(f"{c['key']} {c['what']}" for c in v.changes) or "—"
            fixed = f"  reconciled: {v.reconciled['summary']}" if v.reconciled else ""
            print(f"{v.status:8} {v.method:9} {v.component_id}  {what}{fixed}")
    return exit_code(verdicts)


def _rebuild(args: argparse.Namespace) -> int:
    from service.rebuild import rebuild

    with _components(args) as parts:
        found = rebuild(parts.backend, parts.registry, parts.door, parts.workspaces, parts.renderer)
    print(f"registry rebuilt from {len(found)} Terraform states", file=sys.stderr)
    for component_id in found:
        print(component_id)
    return 0


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mwaa-sp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.set_defaults(run=_serve)
    render = sub.add_parser("render", help="write a descriptor's Terraform root module for inspection")
    render.add_argument("descriptor", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--dag-file", type=Path, help="use these bytes instead of the staged DAG in S3")
    render.set_defaults(run=_render)
    plan = sub.add_parser("plan", help="plan a provision without applying it (the plan is stored for review)")
    plan.add_argument("descriptor", type=Path)
    plan.set_defaults(run=_plan)
    workloads = sub.add_parser("workloads", help="list the workloads in the registry")
    workloads.add_argument("--data-product")
    workloads.add_argument("--status", choices=["COMPLETED", "FAILED"])
    workloads.add_argument("--drift", choices=["in_sync", "drifted", "missing", "error"])
    workloads.set_defaults(run=_workloads)
    show = sub.add_parser("show", help="one workload with its plans, or one plan (--plan)")
    show.add_argument("workload")
    show.add_argument("--plan")
    show.set_defaults(run=_show)
    drift = sub.add_parser(
        "drift", help="find deployed DAGs changed behind Terraform's back (exit 0 in sync, 2 drift, 1 error)"
    )
    drift.add_argument("--workload", action="append", help="a component id (repeatable); default: all")
    drift.add_argument("--data-product")
    drift.add_argument("--thorough", action="store_true", help="run Terraform for every workload")
    drift.add_argument("--reconcile", action="store_true", help="re-apply the stored configuration where drifted")
    drift.add_argument("--markdown", action="store_true")
    drift.set_defaults(run=_drift)
    registry = sub.add_parser("registry", help="registry maintenance")
    registry_sub = registry.add_subparsers(dest="registry_command", required=True)
    rebuild = registry_sub.add_parser("rebuild", help="rediscover workloads from the Terraform states")
    rebuild.set_defaults(run=_rebuild)
    for command in (serve, render, plan, workloads, show, drift, rebuild):
        command.add_argument("--sandbox", action="store_true", help="stand-in provider and embedded S3")
    for command in (plan, workloads, show, drift):
        command.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure()
    try:
        return int(args.run(args))
    except ClientError as exc:
        for problem in exc.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        if isinstance(exc, WorkloadUnknown):
            return EXIT_USAGE
        return EXIT_INVALID if isinstance(exc, DescriptorInvalid) else EXIT_USAGE
    except MwaaSpError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
