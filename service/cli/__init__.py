"""``mwaa-sp``: serve the API, or work on the registry, plans and drift — in this process, with the
same modules and through the same door as the service (a command beside the service waits for a busy
workload instead of sharing its directory), or against a running service: with ``MWAA_SP_URL`` (or
``--url``) and ``MWAA_SP_TOKEN`` (or ``--token``) every command but ``serve`` and ``render`` calls the
service's HTTP API and opens nothing here — drift runs go through its queue and land in its registry.

Exit codes a scheduler can act on, the same both ways: 0 done / in sync, 2 drift found, 1 an operation
or a check failed, 64 a usage error or an unknown workload, 65 an invalid descriptor, 69 the service
unreachable, 75 not finished within --timeout (or a gateway's 504), 77 the token refused."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from service import logs
from service.cli.exits import EXIT_CONFIG, EXIT_FAILED, EXIT_INVALID, EXIT_OSERR, EXIT_USAGE, ExitError
from service.cli.progress import QUIET, Steps, steps
from service.errors import (
    ClientError,
    ConfigurationError,
    DescriptorInvalid,
    MwaaSpError,
    StorageError,
    WorkloadUnknown,
)
from service.settings import log_level

if TYPE_CHECKING:
    from service.app import Components
    from service.store.pages import Page

log = logging.getLogger("mwaa_sp.cli")
# The commands that work on the registry: in this process, or on the service named by MWAA_SP_URL.
_REGISTRY_COMMANDS = ("plan", "workloads", "show", "drift", "registry")
DEFAULT_TIMEOUT_S = 3600.0


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


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a busy port is one line and EX_OSERR."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ExitError(
            [f"cannot listen on {host}:{port}: {exc.strerror or exc} (MWAA_SP_HOST / MWAA_SP_PORT)"], EXIT_OSERR
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api.connections import bounded_protocol
    from service.app import create_app

    settings = _settings(args.sandbox, serving=True)
    sock = _listen(settings.host, settings.port)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        http=bounded_protocol(settings.header_timeout_s),
        # Forwarded headers are believed from MWAA_SP_TRUSTED_PROXIES only (service.api.middleware).
        proxy_headers=False,
        timeout_keep_alive=5,
    )
    log.info("listening", extra={"host": settings.host, "port": settings.port, "sandbox": settings.sandbox})
    # uvicorn drains on SIGTERM, then raises the signal again under the handler it found: this one
    # makes an orderly stop exit 0 (a pod "Completed", not "Error"), before uvicorn starts too.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _db_upgrade(args: argparse.Namespace) -> int:
    from service.settings import Settings
    from service.store.database import head, make_engine, open_database, revision_of, where

    settings = Settings.from_env()
    url = settings.effective_database_url
    before = None
    try:
        before = revision_of(make_engine(url))
    except Exception:  # noqa: BLE001 - an absent database has no revision; open_database says what is wrong
        before = None
    open_database(url, upgrade=True)
    after = head()
    if before == after:
        print(f"database {where(url)} is at schema {after}: nothing to do")
    else:
        print(f"database {where(url)}: schema {before or 'none'} → {after}")
    return 0


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExitError([f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"], EXIT_USAGE) from exc


def _workload(path: Path):  # type: ignore[no-untyped-def]
    from service.domain.descriptor import parse_descriptor

    return parse_descriptor(_read_text(path))


def _render(args: argparse.Namespace) -> int:
    from service.aws.etags import BucketEtags
    from service.aws.s3 import S3
    from service.engine.render import Renderer, write_module

    settings = _settings(args.sandbox)
    workload = _workload(args.descriptor)
    s3 = S3(settings)
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
    module = Renderer(settings, etags=etags).render(workload, dag)
    write_module(module, args.out)
    print(f"rendered {len(module.files)} files for {workload.component_id} into {args.out}")
    return 0


class Backend(Protocol):
    """What the registry commands need: this process's components (:class:`Local`), or the service
    over HTTP (:class:`service.cli.remote.ServiceClient`). Both answer with the API's JSON shapes."""

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]: ...

    def workload(self, component_id: str) -> dict[str, Any]: ...

    def plans_of(self, component_id: str) -> list[dict[str, Any]]: ...

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]: ...

    def speculative_plan(self, descriptor: str) -> dict[str, Any]: ...

    def drift(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool, steps: Steps
    ) -> dict[str, Any]: ...

    def rebuild(self) -> list[str]: ...


class Local:
    """The service's components in this process: the same operations, through the same door.
    ``progress`` shows a plan's and a rebuild's steps (the service shows none of them remotely)."""

    def __init__(self, parts: Components, progress: Steps) -> None:
        self.parts = parts
        self.operations = parts.operations
        self.progress = progress

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]:
        return _every(lambda cursor: self.operations.workloads(data_product, status, drift, cursor=cursor, limit=500))

    def workload(self, component_id: str) -> dict[str, Any]:
        return self.operations.workload(component_id)

    def plans_of(self, component_id: str) -> list[dict[str, Any]]:
        return _every(lambda cursor: self.operations.plans_of(component_id, cursor=cursor, limit=500))

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]:
        return self.operations.plan(component_id, plan_id)

    def speculative_plan(self, descriptor: str) -> dict[str, Any]:
        from service.api.request import ProvisioningRequest

        self.progress.note("planning (terraform init + plan, nothing is applied)…")
        from service.store.replicas import terraform_who

        request = ProvisioningRequest("COMPONENT_DESCRIPTOR", descriptor, False)
        return self.operations.speculative_plan(request, f"cli:{terraform_who()}")

    def drift(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool, steps: Steps
    ) -> dict[str, Any]:
        from service.operations.drift import report

        def waiting(component_id: str) -> None:
            steps.note(f"waiting for {component_id}: another process is running Terraform on it")

        entries = self.operations.select(workloads, data_product)
        verdicts = self.operations.drift(
            entries, thorough=thorough, reconcile=reconcile, progress=steps.update, waiting=waiting
        )
        return report(verdicts)

    def rebuild(self) -> list[str]:
        return self.parts.rebuilder(self.progress.update)


def _every(page: Callable[[str | None], Page[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every page of a list, in order."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        shown = page(cursor)
        found += shown.items
        if shown.next is None:
            return found
        cursor = shown.next


@contextmanager
def _components(args: argparse.Namespace) -> Iterator[Components]:
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
        parts.compiler.close()


@contextmanager
def _backend(args: argparse.Namespace, progress: Steps = QUIET) -> Iterator[Backend]:
    """Chosen once per command: the service at ``args.url``, or this process's components."""
    if args.url:
        from service.cli.remote import ServiceClient

        client = ServiceClient(args.url, args.token, args.timeout)
        try:
            yield client
        finally:
            client.close()
        return
    with _components(args) as parts:
        yield Local(parts, progress)


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _plan(args: argparse.Namespace) -> int:
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


def _workloads(args: argparse.Namespace) -> int:
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


def _show(args: argparse.Namespace) -> int:
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


def _drift(args: argparse.Namespace) -> int:
    from service.operations.drift import Verdict, markdown

    with steps("checked", "checking drift") as progress, _backend(args) as backend:
        found = backend.drift(
            args.workload or [], args.data_product, thorough=args.thorough, reconcile=args.reconcile, steps=progress
        )
    verdicts = [Verdict.from_dict(v) for v in found.get("workloads", [])]
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


def _rebuild(args: argparse.Namespace) -> int:
    with steps("read state", "rebuilding the registry") as progress, _backend(args, progress) as backend:
        found = backend.rebuild()
    print(f"registry rebuilt from {len(found)} Terraform states", file=sys.stderr)
    for component_id in found:
        print(component_id)
    return 0


def _adopt(args: argparse.Namespace) -> int:
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
        claimed = parts.worker.claims.claim(args.component, bucket, [key], origin="adopted", claimed_by=operator)
        if claimed.conflicts:
            holder = claimed.conflicts[0].component_id
            raise ExitError(
                [f"s3://{bucket}/{key} is claimed by {holder}; it cannot be adopted by another"], EXIT_USAGE
            )
        exists = parts.s3.head(bucket, key) is not None
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


def parser() -> argparse.ArgumentParser:
    from service import __version__

    p = _Parser(prog="mwaa-sp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mwaa-sp {__version__}")
    here = _Parser(add_help=False)
    here.add_argument("--sandbox", action="store_true", help="stand-in provider and embedded S3")
    common = _Parser(add_help=False, parents=[here])
    remote = common.add_argument_group("against a running service")
    remote.add_argument("--url", help="the service's base URL (default: $MWAA_SP_URL); nothing is opened here")
    remote.add_argument("--token", help="a bearer token of its MWAA_SP_API_TOKENS (default: $MWAA_SP_TOKEN)")
    remote.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for the service, a whole drift run included (default {DEFAULT_TIMEOUT_S:g})",
    )
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", parents=[here], help="run the HTTP API (migrating the database unless MWAA_SP_MIGRATE=false)"
    )
    serve.set_defaults(run=_serve)
    render = sub.add_parser(
        "render", parents=[here], help="write a descriptor's Terraform root module for inspection (always here)"
    )
    render.add_argument("descriptor", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--dag-file", type=Path, help="use these bytes instead of the staged DAG in S3")
    render.set_defaults(run=_render)
    plan = sub.add_parser(
        "plan", parents=[common], help="plan a provision without applying it (the plan is stored for review)"
    )
    plan.add_argument("descriptor", type=Path)
    plan.set_defaults(run=_plan)
    workloads = sub.add_parser("workloads", parents=[common], help="list the workloads in the registry")
    workloads.add_argument("--data-product")
    workloads.add_argument("--status", choices=["COMPLETED", "FAILED"])
    workloads.add_argument("--drift", choices=["in_sync", "drifted", "missing", "error"])
    workloads.set_defaults(run=_workloads)
    show = sub.add_parser("show", parents=[common], help="one workload with its plans, or one plan (--plan)")
    show.add_argument("workload")
    show.add_argument("--plan")
    show.set_defaults(run=_show)
    drift = sub.add_parser(
        "drift",
        parents=[common],
        help="find deployed DAGs changed behind Terraform's back (exit 0 in sync, 2 drift, 1 error)",
    )
    drift.add_argument("--workload", action="append", help="a component id (repeatable); default: all")
    drift.add_argument("--data-product")
    drift.add_argument("--thorough", action="store_true", help="run Terraform for every workload")
    drift.add_argument("--reconcile", action="store_true", help="re-apply the stored configuration where drifted")
    drift.add_argument("--markdown", action="store_true")
    drift.set_defaults(run=_drift)
    registry = sub.add_parser("registry", help="registry maintenance")
    registry_sub = registry.add_subparsers(dest="registry_command", required=True)
    rebuild = registry_sub.add_parser(
        "rebuild", parents=[common], help="rediscover workloads from the Terraform states"
    )
    rebuild.set_defaults(run=_rebuild)
    adopt = sub.add_parser(
        "adopt",
        parents=[here],
        help="prove that an object already in S3 belongs to a component (audited); its next provision adopts it",
    )
    adopt.add_argument("component", help="the component id, urn:dmb:cmp:<domain>:<dp>:<major>:<name>")
    adopt.add_argument("object", help="s3://<bucket>/<key> of the DAG or descriptor file")
    adopt.add_argument("--reason", required=True, help="why it is the component's (written to the audit log)")
    adopt.set_defaults(run=_adopt)
    db = sub.add_parser("db", help="the service's database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="migrate the database to this release's schema (an init container's job); no other command does"
    )
    upgrade.set_defaults(run=_db_upgrade)
    for command in (plan, workloads, show, drift):
        command.add_argument("--json", action="store_true")
    return p


def _where(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Local or remote, once: ``args.url`` and ``args.token`` from the flags or the environment. Only
    the registry commands can go remote; the others (``serve``, ``render``, ``adopt``, ``db``) always
    work here — an env file or ConfigMap shared with a cron job may well set MWAA_SP_URL, and it must
    not stop them."""
    if args.command not in _REGISTRY_COMMANDS:
        if os.environ.get("MWAA_SP_URL") and args.command in ("render", "adopt"):
            print(
                f"note: {args.command} runs here, with this machine's settings; MWAA_SP_URL is not used",
                file=sys.stderr,
            )
        return
    args.url = args.url or os.environ.get("MWAA_SP_URL") or None
    args.token = args.token or os.environ.get("MWAA_SP_TOKEN") or None
    if args.url and args.sandbox:
        p.error("--sandbox configures a run in this process; against MWAA_SP_URL / --url the service's settings apply")
    if args.token and not args.url:
        # Without this, a cron job that lost its URL would quietly open a fresh local registry and
        # report "in sync" forever.
        p.error("MWAA_SP_TOKEN / --token is set but MWAA_SP_URL / --url is not: name the service to call")
    if args.timeout <= 0:
        p.error("--timeout must be a positive number of seconds")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    _where(p, args)
    try:
        logs.configure(log_level(os.environ))
    except ConfigurationError as exc:
        logs.configure()
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    # One request log line per poll would bury the progress lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.run(args))
    except ExitError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return exc.code
    except ClientError as exc:
        for problem in exc.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        if isinstance(exc, WorkloadUnknown):
            return EXIT_USAGE
        return EXIT_INVALID if isinstance(exc, DescriptorInvalid) else EXIT_USAGE
    except ConfigurationError as exc:  # settings that cannot work, a database not at this schema
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    except MwaaSpError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
