"""``mwaa-sp``: serve the API, or render/plan one descriptor without HTTP (same modules)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from service import logs
from service.errors import ClientError, MwaaSpError

log = logging.getLogger("mwaa_sp.cli")


def _settings(sandbox: bool):  # type: ignore[no-untyped-def]
    from service import sandbox as sandbox_mode
    from service.settings import Settings

    settings = Settings.from_env()
    if sandbox or settings.sandbox:
        settings = sandbox_mode.prepare(settings)
    return settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    settings = _settings(args.sandbox)
    app = create_app(settings)
    log.info("listening", extra={"host": settings.host, "port": settings.port, "sandbox": settings.sandbox})
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0


def _workload(path: Path):  # type: ignore[no-untyped-def]
    from service.descriptor import parse_descriptor

    return parse_descriptor(path.read_text(encoding="utf-8"))


def _render(args: argparse.Namespace) -> int:
    from service.render import Renderer, write_module

    settings = _settings(args.sandbox)
    workload = _workload(args.descriptor)
    if args.dag_file:
        dag = args.dag_file.read_bytes()
    else:
        from service.s3 import S3

        dag = S3(settings).get(workload.bucket, workload.staged_key, settings.max_dag_bytes)
        if dag is None:
            raise ClientError(f"staged DAG s3://{workload.bucket}/{workload.staged_key} does not exist")
    module = Renderer(settings).render(workload, dag)
    write_module(module, args.out)
    print(f"rendered {len(module.files)} files for {workload.component_id} into {args.out}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from service.app import build

    components = build(_settings(args.sandbox))
    workload = _workload(args.descriptor)
    print(f"planning {workload.component_id} (terraform init + plan)…", file=sys.stderr)
    print(components.provisioner.worker.plan_text(workload))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mwaa-sp", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API")
    render = sub.add_parser("render", help="write a descriptor's Terraform root module for inspection")
    render.add_argument("descriptor", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--dag-file", type=Path, help="use these bytes instead of the staged DAG in S3")
    plan = sub.add_parser("plan", help="print the Terraform plan of a provision without applying it")
    plan.add_argument("descriptor", type=Path)
    for command in (serve, render, plan):
        command.add_argument("--sandbox", action="store_true", help="stand-in provider and embedded S3")
    serve.set_defaults(run=_serve)
    render.set_defaults(run=_render)
    plan.set_defaults(run=_plan)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure()
    try:
        return int(args.run(args))
    except ClientError as exc:
        for problem in exc.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        return 2
    except MwaaSpError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
