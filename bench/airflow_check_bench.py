"""What the post-deploy check adds to a provision, beside the parse interval it waits for.

One run on this machine: a moto S3 server, a real Apache Airflow 3 (``.venv-airflow``, as ``make
test`` installs it; API server + DAG processor listing and parsing every ``--parse-s`` seconds), the
MWAA API double syncing the bucket's ``dags/`` into Airflow's folder every ``--sync-s`` seconds, and
the service (async, ``MWAA_SP_AIRFLOW_CHECK=fail``, asking every ``--interval-s`` seconds).

For ``--rounds`` changed DAGs it reports, as medians: the provision without the check (Terraform
only, ``off``), the wait from the apply's end to Airflow's verdict (from the task's own log
timestamps), beside the intervals it waits for: Airflow sees a change after at most one sync and
one parse interval (on average about half of both), and the check adds at most one of its own
question intervals on top.

    .venv/bin/python bench/airflow_check_bench.py [--rounds 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mwaa_sp_standin.mirror import install_mirror  # noqa: E402
from tests.support.airflow import Airflow  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key  # noqa: E402
from tests.support.mwaa_double import MwaaDouble  # noqa: E402
from tests.support.processes import ServiceProcess, base_env, start_moto, stop, wait_finished  # noqa: E402

BUCKET = "bench-airflow"


def _dag(dag_id: str, version: int) -> bytes:
    return (
        "from datetime import datetime\nfrom airflow.sdk import DAG\n"
        f"with DAG({dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1), description='v{version}'):\n"
        "    pass\n"
    ).encode()


def _at(body: dict[str, Any], phase: str, needle: str) -> datetime:
    for entry in body["logs"]:
        if entry["phase"] == phase and needle in entry["message"]:
            return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    raise AssertionError(f"no {phase} entry with {needle!r}: {body['logs']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--sync-s", type=float, default=1.0)
    parser.add_argument("--interval-s", type=int, default=1)
    args = parser.parse_args()
    parse_s = 2.0  # the test world's refresh and min-file-process intervals (tests/support/airflow.py)
    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-bench-airflow-"))
    moto, endpoint = start_moto()
    services: list[ServiceProcess] = []
    try:
        s3 = boto3.client(
            "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test"
        )
        s3.create_bucket(Bucket=BUCKET)
        cli_config = install_mirror(work / "provider")
        with (
            Airflow(work / "airflow") as airflow,
            MwaaDouble(
                "bench-env", airflow.url, airflow.version, s3, BUCKET, airflow.dags_folder, args.sync_s
            ) as double,
        ):
            print(f"Airflow {airflow.version}; sync every {args.sync_s:g} s, parse every {parse_s:g} s", flush=True)

            def service(mode: str) -> ServiceProcess:
                env = base_env(endpoint) | {
                    "TF_CLI_CONFIG_FILE": str(cli_config),
                    "MWAA_SP_DATA_DIR": str(work / f"data-{mode}"),
                    "MWAA_SP_ASYNC": "true",
                    "MWAA_SP_MWAA_ENVIRONMENT": "bench-env",
                    "MWAA_SP_AIRFLOW_CHECK": mode,
                    "MWAA_SP_AIRFLOW_CHECK_INTERVAL": str(args.interval_s),
                    "MWAA_SP_AIRFLOW_CHECK_TIMEOUT": "300",
                    "AWS_ENDPOINT_URL_MWAA": double.url,
                }
                started = ServiceProcess(env, work / f"service-{mode}.log")
                services.append(started)
                return started

            def provision(url: str, spec: WorkloadSpec, dag: bytes) -> tuple[float, dict[str, Any]]:
                s3.put_object(Bucket=BUCKET, Key=staged_key(spec), Body=dag)
                began = time.monotonic()
                token = httpx.post(f"{url}/v1/provision", json=request(descriptor(spec)), timeout=60).json()
                body = wait_finished(f"{url}/v1/provision/{token}/status", timeout=600)
                assert body["status"] == "COMPLETED", body
                return time.monotonic() - began, body

            plain, checked = service("off"), service("fail")
            without, with_check, waits = [], [], []
            for i in range(args.rounds):
                for url, label, times in ((plain.url, "off", without), (checked.url, "on", with_check)):
                    spec = WorkloadSpec(name=f"{label}-{i}", dag_name=f"{label}_{i}.py", bucket=BUCKET)
                    dag_id = f"finance_invoices_1_{label}_{i}"
                    provision(url, spec, _dag(dag_id, 1))
                    elapsed, body = provision(url, spec, _dag(dag_id, 2))  # a changed DAG: the check's case
                    times.append(elapsed)
                    if label == "on":
                        waited = _at(body, "airflow", "loaded DAG") - _at(body, "apply", "Apply complete")
                        waits.append(waited.total_seconds())
                print(f"round {i + 1}/{args.rounds}: check waited {waits[-1]:.2f} s", flush=True)
    finally:
        for started in services:
            started.stop()
        stop(moto)
    intervals = args.sync_s + parse_s
    off_ms, on_ms = statistics.median(without) * 1000, statistics.median(with_check) * 1000
    wait = statistics.median(waits)
    print(f"changed provision, check off: median {off_ms:.0f} ms")
    print(f"changed provision, check on:  median {on_ms:.0f} ms ({on_ms / off_ms:.2f}x)")
    print(f"apply end -> Airflow's verdict: median {wait:.2f} s, max {max(waits):.2f} s")
    print(
        f"intervals waited for: sync {args.sync_s:g} s + parse {parse_s:g} s = {intervals:.2f} s "
        f"(+ asking every {args.interval_s} s); median wait / intervals {wait / intervals:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
