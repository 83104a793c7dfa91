"""Drift scan of many registered workloads: the fast path next to ``--thorough``, in the same run.

Provisions N workloads for real (Terraform, stand-in provider, moto server; this takes minutes),
then times ``drift`` over all of them twice: fast (Terraform only where the state or the objects
differ from what the last apply left — here nowhere) and thorough (a refresh-only Terraform plan per
workload). Both must reach the same verdicts. Run: ``.venv/bin/python bench/drift_bench.py -n 200``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mwaa_sp_standin.mirror import install_mirror  # noqa: E402
from service.domain.descriptor import parse_descriptor  # noqa: E402
from service.domain.journal import Journal  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.wiring import build  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor, staged_key  # noqa: E402
from tests.support.processes import start_moto, stop  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--workloads", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=2, help="MWAA_SP_MAX_PARALLEL for the run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "drift.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-drift-bench-"))
    moto, endpoint = start_moto()
    try:
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"})
        settings = Settings(
            data_dir=work / "data",
            s3_endpoint=endpoint,
            emulator=True,
            tf_cli_config_file=install_mirror(work / "provider"),
            max_parallel=args.parallel,
        )
        components = build(settings)
        deployer, operations = components.deployer, components.operations
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench-drift")

        started = time.perf_counter()
        futures = []
        for i in range(args.workloads):
            spec = WorkloadSpec(name=f"wl-{i:04d}", dag_name=f"dag_{i:04d}.py", bucket="bench-drift")
            s3.put_object(Bucket="bench-drift", Key=staged_key(spec), Body=f"x = {i}\n".encode())
            workload = parse_descriptor(descriptor(spec))
            futures.append(
                components.door.submit(
                    workload.workload_key, lambda door, w=workload: deployer.provision(door, w, Journal())
                )
            )
        for done, future in enumerate(futures, start=1):
            future.result()
            print(f"\rprovisioned {done}/{args.workloads}", end="", file=sys.stderr, flush=True)
        provisioning_s = time.perf_counter() - started
        print(file=sys.stderr)

        entries = operations.select([], None)
        timings = {}
        verdicts = {}
        for mode, thorough in (("fast", False), ("thorough", True)):
            t0 = time.perf_counter()
            found = operations.drift(entries, thorough=thorough, reconcile=False)
            timings[mode] = time.perf_counter() - t0
            verdicts[mode] = {v.component_id: v.status for v in found}
            print(f"{mode}: {timings[mode]:.1f} s", file=sys.stderr)
        assert verdicts["fast"] == verdicts["thorough"], "fast and thorough verdicts differ"
        report = {
            "workloads": args.workloads,
            "cores": os.cpu_count(),
            "max_parallel": args.parallel,
            "provisioning_s": round(provisioning_s, 1),
            "fast_s": round(timings["fast"], 2),
            "thorough_s": round(timings["thorough"], 1),
            "thorough_over_fast": round(timings["thorough"] / timings["fast"], 1),
            "verdicts": sorted(set(verdicts["fast"].values())),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        components.door.shutdown()
        return 0
    finally:
        stop(moto)


if __name__ == "__main__":
    raise SystemExit(main())
