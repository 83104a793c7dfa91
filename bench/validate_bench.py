"""Validate and the unchanged re-provision beside the S3 reads they cannot skip, in one run.

A moto S3 server and the service (its own process, sync mode, SQLite) on this machine; one bucket
with a staged DAG. Reported, as medians and p99 over ``--calls`` calls:

- ``/v1/validate`` of an unchanged, valid, deployed component (what the Coordinator sends before
  every re-provision) with 1 client and with 8 clients at once, beside the median HEAD of the staged
  DAG from this process (the one read validate cannot skip);
- the unchanged re-provision (the no-op fast path) beside the S3 floor: the five reads a no-op must
  make (the staged DAG; HEAD and tags of both deployed objects), all in flight at once — and beside
  the same five reads asked of a server that does nothing else (``bench/reads_only_server.py``: the
  service's HTTP stack and S3 client), the lower bound of any answer over HTTP on this machine.

    .venv/bin/python bench/validate_bench.py [--calls 200] [--baseline DIR] [--postgres URL] [--s3-latency-ms MS]

``--baseline DIR`` also runs the service from another tree (e.g. ``git worktree add /tmp/before
<commit>``), in the same run and on the same bucket, so "before" and "after" see the same machine.
``--postgres URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) runs each service on a schema
of its own in that server, as replicas do, instead of SQLite; the schemas are dropped afterwards.
``--s3-latency-ms MS`` (0 to 999) puts every call to the AWS endpoint of the run (the services', the
floor's, the reads-only server's, the HEADs) behind ``bench/s3_latency.py``, which answers each
request no sooner than MS after the proxy read it, side by side: a constant latency of the order AWS
gives for the median of small S3 requests (tens of milliseconds), rather than the emulator alone,
which answers in about 2 ms of its own CPU but one request at a time. The run fails if any timed
call came back sooner than MS.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mwaa_sp_standin.mirror import install_mirror  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key  # noqa: E402
from tests.support.postgres import postgres_url, scratch_schema  # noqa: E402
from tests.support.processes import ServiceProcess, base_env, free_port, start_moto, stop, wait_http  # noqa: E402

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
    parser.add_argument("--baseline", type=Path, help="a tree to run the service from as the baseline")
    parser.add_argument("--postgres", help="run the services on PostgreSQL at this URL (a schema each)")
    parser.add_argument(
        "--s3-latency-ms",
        type=_latency_ms,
        default=0.0,
        help="put every S3 call behind a proxy that answers no sooner than this after the request, "
        "side by side (bench/s3_latency.py): S3 as production sees it instead of the emulator's queue",
    )
    args = parser.parse_args()
    schemas = ExitStack()  # dropped last, after the services on them have stopped
    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-bench-validate-"))
    moto, endpoint = start_moto()
    services: list[ServiceProcess] = []
    results: dict[str, dict[str, Any]] = {}
    bound: subprocess.Popen[bytes] | None = None
    proxy: subprocess.Popen[bytes] | None = None
    try:
        if args.s3_latency_ms > 0:
            proxy, endpoint = _latency_proxy(endpoint, args.s3_latency_ms, work / "s3-latency.log")
        s3 = boto3.client(
            "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test"
        )
        s3.create_bucket(Bucket=BUCKET)
        cli_config = install_mirror(work / "provider")
        port = free_port()
        bound = subprocess.Popen(  # noqa: S603 - this interpreter, this tree's script
            [sys.executable, str(REPO / "bench" / "reads_only_server.py"), str(port)],
            env=base_env(endpoint) | {"MWAA_SP_DATA_DIR": str(work / "bound")},
            stdout=subprocess.DEVNULL,
            stderr=(work / "reads-only.log").open("wb"),
        )
        bound_url = f"http://127.0.0.1:{port}/reads"
        wait_http(bound_url, bound)

        def head_of(spec: WorkloadSpec) -> Callable[[], object]:
            return lambda: s3.head_object(Bucket=BUCKET, Key=staged_key(spec))

        trees = {"this tree": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
        noops: dict[str, _Noop] = {}
        staged = ""
        for index, (label, tree) in enumerate(trees.items()):
            spec = WorkloadSpec(name=f"bench-{index}", dag_name=f"bench_{index}.py", bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key=staged_key(spec), Body=DAG)
            staged = staged or staged_key(spec)
            env = base_env(endpoint) | {
                "TF_CLI_CONFIG_FILE": str(cli_config),
                "MWAA_SP_DATA_DIR": str(work / f"data-{index}"),
            }
            if args.postgres:
                schema = schemas.enter_context(scratch_schema(args.postgres, prefix="bench"))
                env["MWAA_SP_DATABASE_URL"] = postgres_url(schema, args.postgres)
            services.append(ServiceProcess(env, work / f"service-{index}.log", tree))
            body = request(descriptor(spec))
            noops[label] = _Noop(services[-1].url, body)
            results[label] = _validates(services[-1].url, body, head_of(spec), args.calls)
        times = _noops(noops, s3, staged, args.calls, bound_url)
        for label, found in results.items():
            found.update(noops=times[label], floors=times["floors"], bounds=times["bounds"])
    finally:
        for service in services:
            service.stop()
        for process in (bound, proxy):
            if process is not None:
                stop(process)
        stop(moto)
        schemas.close()
    if args.s3_latency_ms > 0:
        _held_back(results, args.s3_latency_ms / 1000)
        print(f"-- every S3 call answered no sooner than {args.s3_latency_ms:g} ms after it was asked, side by side")
    for label, found in results.items():
        print(f"-- the service from {label}")
        _report(found)
    if len(results) == 2:
        now, before = results["this tree"], results["baseline"]
        for name in ("one", "eight", "noops"):
            ratio = statistics.median(now[name]) / statistics.median(before[name])
            print(f"{name}: median {ratio:.2f}x the baseline's")
    return 0


def _latency_ms(value: str) -> float:
    latency = float(value)
    if not 0 <= latency < 1000:  # a second or more outlasts the readiness probe's and botocore's waits
        raise argparse.ArgumentTypeError(f"{value}: from 0 to 999 ms")
    return latency


def _latency_proxy(upstream: str, latency_ms: float, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proxy = subprocess.Popen(  # noqa: S603 - this interpreter, this tree's script
        [sys.executable, str(REPO / "bench" / "s3_latency.py"), str(port), upstream, str(latency_ms)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/moto-api/", proxy)
    except BaseException:
        stop(proxy)
        raise
    return proxy, url


def _held_back(results: dict[str, dict[str, Any]], latency_s: float) -> None:
    """Every timed call made at least one S3 read, so none may have come back sooner than the latency."""
    for label, found in results.items():
        for name in ("heads", "heads8", "one", "eight", "noops", "floors", "bounds"):
            if (fastest := min(found[name])) < latency_s:
                raise SystemExit(f"{label}: a call of {name} took {_ms(fastest)}: the proxy let it through")


def _validates(url: str, body: dict[str, Any], head: Callable[[], object], calls: int) -> dict[str, Any]:
    """Validate with 1 and 8 clients, beside HEADs of the staged DAG from the same clients."""
    client = httpx.Client(timeout=120)

    def validate(http: httpx.Client = client) -> None:
        answer = http.post(f"{url}/v1/validate", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["valid"] is True, answer.text

    for _ in range(20):  # warm both sides: connections, the compile verdict, the interpreter's caches
        validate()
        head()
    heads = [_timed(head) for _ in range(calls)]
    one = [_timed(validate) for _ in range(calls)]
    clients = [httpx.Client(timeout=120) for _ in range(8)]

    def client_run(http: httpx.Client) -> list[float]:
        return [_timed(lambda: validate(http)) for _ in range(max(1, calls // 8))]

    def heads_run(_: int) -> list[float]:
        return [_timed(head) for _ in range(max(1, calls // 8))]

    with ThreadPoolExecutor(8) as pool:
        started = time.perf_counter()
        eight = [t for times in pool.map(client_run, clients) for t in times]
        throughput = len(eight) / (time.perf_counter() - started)
        # The same 8 clients asking S3 directly: the tail this machine gives any answer under that load.
        heads8 = [t for times in pool.map(heads_run, range(8)) for t in times]
    return {"heads": heads, "one": one, "eight": eight, "throughput": throughput, "heads8": heads8}


class _Noop:
    """One service's unchanged re-provision of its deployed component."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self.url, self.body = url, body
        self.client = httpx.Client(timeout=120)
        first = self.provision()
        self.deployed = [first["info"]["privateInfo"]["dagKey"], first["info"]["privateInfo"]["descriptorKey"]]

    def provision(self) -> dict[str, Any]:
        answer = self.client.post(f"{self.url}/v1/provision", json=self.body)
        answer.raise_for_status()
        return dict(answer.json())

    def __call__(self) -> None:
        assert self.provision()["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True


def _noops(noops: dict[str, _Noop], s3: Any, staged: str, calls: int, bound_url: str) -> dict[str, list[float]]:
    """Each service's no-op, the S3 floor and the reads-only server, interleaved: all see the same
    moments of the machine, so their ratios hold whatever the machine does meanwhile."""
    reads = ThreadPoolExecutor(5)
    deployed = next(iter(noops.values())).deployed

    def floor() -> None:
        pending = [reads.submit(s3.get_object, Bucket=BUCKET, Key=staged)]
        for key in deployed:
            pending.append(reads.submit(s3.head_object, Bucket=BUCKET, Key=key))
            pending.append(reads.submit(s3.get_object_tagging, Bucket=BUCKET, Key=key))
        for call in pending:
            call.result()

    client = httpx.Client(timeout=120)
    asked = {"bucket": BUCKET, "staged": staged, "deployed": deployed}

    def reads_only() -> None:
        answer = client.post(bound_url, json=asked)
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"reads": 5}, answer.text

    for _ in range(10):
        reads_only()
        for noop in noops.values():
            noop()
    times: dict[str, list[float]] = {label: [] for label in [*noops, "floors", "bounds"]}
    for _ in range(max(20, calls // 4)):
        for label, noop in noops.items():
            times[label].append(_timed(noop))
        times["floors"].append(_timed(floor))
        times["bounds"].append(_timed(reads_only))
    return times


def _report(found: dict[str, Any]) -> None:
    head = statistics.median(found["heads"])
    one, eight = found["one"], found["eight"]
    v1, v8 = statistics.median(one), statistics.median(eight)
    print(f"HEAD of the staged DAG:      median {_ms(head)}")
    print(f"validate, 1 client:          median {_ms(v1)} ({v1 / head:.2f}x HEAD), p99 {_ms(_p(one, 0.99))}")
    print(
        f"validate, 8 clients:         median {_ms(v8)}, p99 {_ms(_p(eight, 0.99))} "
        f"({_p(eight, 0.99) / v1:.2f}x the 1-client median), {found['throughput']:.0f} validates/s"
    )
    heads8 = found["heads8"]
    print(
        f"HEAD, 8 clients at once:     median {_ms(statistics.median(heads8))}, p99 {_ms(_p(heads8, 0.99))} "
        f"({_p(heads8, 0.99) / head:.2f}x the 1-client HEAD)"
    )
    noop, s3_floor = statistics.median(found["noops"]), statistics.median(found["floors"])
    print(f"unchanged re-provision:      median {_ms(noop)} ({noop / s3_floor:.2f}x the S3 floor {_ms(s3_floor)})")
    bound = statistics.median(found["bounds"])
    print(
        f"the five reads over HTTP:    median {_ms(bound)} ({bound / s3_floor:.2f}x the S3 floor; "
        f"the no-op is {noop / bound:.2f}x it)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
