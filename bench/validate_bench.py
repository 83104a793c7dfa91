"""Validate and the unchanged re-provision beside the S3 reads they cannot skip, in one run.

A moto S3 server and the service (its own process, sync mode, SQLite) on this machine; one bucket
with a staged DAG. Reported, as medians and p99 over ``--calls`` calls:

- ``/v1/validate`` of an unchanged, valid, deployed component (what the Coordinator sends before
  every re-provision) with 1 client and with 8 clients at once, beside the median HEAD of the staged
  DAG from this process (the one read validate cannot skip);
- the unchanged re-provision (the no-op fast path) beside the S3 floor: the five reads a no-op must
  make (the staged DAG; HEAD and tags of both deployed objects), all in flight at once.

    .venv/bin/python bench/validate_bench.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mwaa_sp_standin.mirror import install_mirror  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key  # noqa: E402
from tests.support.processes import ServiceProcess, base_env, start_moto, stop  # noqa: E402

BUCKET = "bench-validate"
DAG = b"from airflow import DAG\n" + b"".join(f"task_{i} = {i}\n".encode() for i in range(2000))


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-bench-validate-"))
    moto, endpoint = start_moto()
    service = None
    try:
        s3 = boto3.client(
            "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test"
        )
        s3.create_bucket(Bucket=BUCKET)
        spec = WorkloadSpec(bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=staged_key(spec), Body=DAG)
        env = base_env(endpoint) | {
            "TF_CLI_CONFIG_FILE": str(install_mirror(work / "provider")),
            "MWAA_SP_DATA_DIR": str(work / "data"),
        }
        service = ServiceProcess(env, work / "service.log")
        body = request(descriptor(spec))
        client = httpx.Client(timeout=120)

        def validate(http: httpx.Client = client) -> None:
            answer = http.post(f"{service.url}/v1/validate", json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["valid"] is True, answer.text

        def head() -> None:
            s3.head_object(Bucket=BUCKET, Key=staged_key(spec))

        def provision() -> dict[str, Any]:
            answer = client.post(f"{service.url}/v1/provision", json=body)
            answer.raise_for_status()
            return dict(answer.json())

        first = provision()
        for _ in range(20):  # warm both sides: connections, the compile verdict, the interpreter's caches
            validate()
            head()
        heads = [_timed(head) for _ in range(args.calls)]
        one = [_timed(validate) for _ in range(args.calls)]
        clients = [httpx.Client(timeout=120) for _ in range(8)]

        def client_run(http: httpx.Client) -> list[float]:
            return [_timed(lambda: validate(http)) for _ in range(max(1, args.calls // 8))]

        with ThreadPoolExecutor(8) as pool:
            started = time.perf_counter()
            eight = [t for times in pool.map(client_run, clients) for t in times]
            throughput = len(eight) / (time.perf_counter() - started)

        assert provision()["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True
        deployed = [first["info"]["privateInfo"]["dagKey"], first["info"]["privateInfo"]["descriptorKey"]]
        reads = ThreadPoolExecutor(5)

        def floor() -> None:
            calls = [reads.submit(s3.get_object, Bucket=BUCKET, Key=staged_key(spec))]
            for key in deployed:
                calls.append(reads.submit(s3.head_object, Bucket=BUCKET, Key=key))
                calls.append(reads.submit(s3.get_object_tagging, Bucket=BUCKET, Key=key))
            for call in calls:
                call.result()

        noop_calls = max(20, args.calls // 4)
        noops, floors = [], []
        for _ in range(noop_calls):  # interleaved: both see the same moments of the machine
            noops.append(_timed(provision))
            floors.append(_timed(floor))
    finally:
        if service is not None:
            service.stop()
        stop(moto)
    head_ms = statistics.median(heads)
    v1, v8 = statistics.median(one), statistics.median(eight)
    print(f"HEAD of the staged DAG:      median {_ms(head_ms)}")
    print(f"validate, 1 client:          median {_ms(v1)} ({v1 / head_ms:.2f}x HEAD), p99 {_ms(_p(one, 0.99))}")
    print(
        f"validate, 8 clients:         median {_ms(v8)}, p99 {_ms(_p(eight, 0.99))} "
        f"({_p(eight, 0.99) / v1:.2f}x the 1-client median), {throughput:.0f} validates/s"
    )
    noop, s3_floor = statistics.median(noops), statistics.median(floors)
    print(f"unchanged re-provision:      median {_ms(noop)} ({noop / s3_floor:.2f}x the S3 floor {_ms(s3_floor)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
