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
import logging
import os
import sys
from pathlib import Path
from typing import Any

from service import logs
from service.cli import commands
from service.cli import serve as serving
from service.cli.exits import EXIT_CONFIG, EXIT_FAILED, EXIT_INVALID, EXIT_USAGE, ExitError
from service.errors import ClientError, ConfigurationError, DescriptorInvalid, MwaaSpError, WorkloadUnknown
from service.settings import log_level

log = logging.getLogger("mwaa_sp.cli")
# The commands that work on the registry: in this process, or on the service named by MWAA_SP_URL.
_REGISTRY_COMMANDS = ("plan", "workloads", "show", "drift", "registry")
DEFAULT_TIMEOUT_S = 3600.0


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error — to a cron job, "drift found". Ours is 64 (EX_USAGE)."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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
    serve.set_defaults(run=serving.serve)
    render = sub.add_parser(
        "render", parents=[here], help="write a descriptor's Terraform root module for inspection (always here)"
    )
    render.add_argument("descriptor", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--dag-file", type=Path, help="use these bytes instead of the staged DAG in S3")
    render.set_defaults(run=commands.render)
    plan = sub.add_parser(
        "plan", parents=[common], help="plan a provision without applying it (the plan is stored for review)"
    )
    plan.add_argument("descriptor", type=Path)
    plan.set_defaults(run=commands.plan)
    workloads = sub.add_parser("workloads", parents=[common], help="list the workloads in the registry")
    workloads.add_argument("--data-product")
    workloads.add_argument("--status", choices=["COMPLETED", "FAILED"])
    workloads.add_argument("--drift", choices=["in_sync", "drifted", "missing", "error"])
    workloads.set_defaults(run=commands.workloads)
    show = sub.add_parser("show", parents=[common], help="one workload with its plans, or one plan (--plan)")
    show.add_argument("workload")
    show.add_argument("--plan")
    show.set_defaults(run=commands.show)
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
    drift.set_defaults(run=commands.drift)
    registry = sub.add_parser("registry", help="registry maintenance")
    registry_sub = registry.add_subparsers(dest="registry_command", required=True)
    rebuild = registry_sub.add_parser(
        "rebuild", parents=[common], help="rediscover workloads from the Terraform states"
    )
    rebuild.set_defaults(run=commands.rebuild)
    adopt = sub.add_parser(
        "adopt",
        parents=[here],
        help="prove that an object already in S3 belongs to a component (audited); its next provision adopts it",
    )
    adopt.add_argument("component", help="the component id, urn:dmb:cmp:<domain>:<dp>:<major>:<name>")
    adopt.add_argument("object", help="s3://<bucket>/<key> of the DAG or descriptor file")
    adopt.add_argument("--reason", required=True, help="why it is the component's (written to the audit log)")
    adopt.set_defaults(run=commands.adopt)
    db = sub.add_parser("db", help="the service's database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="migrate the database to this release's schema (an init container's job); no other command does"
    )
    upgrade.set_defaults(run=serving.db_upgrade)
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
