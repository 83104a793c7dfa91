"""A page of the registry with 10,000 workloads beside a page of a 10-workload registry, in one run.

Fills two registries through the stores (``Registry.record``, as provisions do; no Terraform), then
times, over many repetitions each: the first page of ``GET /workloads`` (100 rows), a page deep in
the list (after 5,000 rows, by its cursor), a filtered page (one data product), and the metrics'
aggregates — each beside the same call on the 10-row registry. Lists are keyset pages with the
filters and the order in SQL, so the ratios should stay near 1.

Run: ``.venv/bin/python bench/registry_bench.py`` (``--database-url postgresql://…`` for PostgreSQL;
an empty database or schema). Results land in ``bench/results/registry.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.domain.descriptor import parse_descriptor  # noqa: E402
from service.store.database import open_database  # noqa: E402
from service.store.registry import Registry  # noqa: E402
from tests.support.descriptors import WorkloadSpec, descriptor  # noqa: E402


def fill(registry: Registry, count: int, prefix: str) -> None:
    for n in range(count):
        dp = f"dp{n % 50}"
        spec = WorkloadSpec(name=f"{prefix}{n:05d}", dag_name=f"w{n}.py")
        registry.record(
            parse_descriptor(descriptor(spec, dp=dp)), f"states/{prefix}/{n}", "provision", "COMPLETED", None, None
        )


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def deep_cursor(registry: Registry, rows: int) -> str | None:
    cursor = None
    for _ in range(rows // 100):
        cursor = registry.page(cursor=cursor, limit=100).next
    return cursor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--workloads", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database-url", help="default: SQLite files in a temporary directory")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "registry.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mwaa-sp-registry-bench-"))
    big_url = args.database_url or f"sqlite:///{work / 'big.db'}"
    small_url = f"sqlite:///{work / 'small.db'}" if args.database_url is None else args.database_url
    big = Registry(open_database(big_url, upgrade=True))
    started = time.monotonic()
    fill(big, args.workloads, "big")
    filled_s = time.monotonic() - started
    small = big if args.database_url else Registry(open_database(small_url, upgrade=True))
    if args.database_url:
        # One database: the small registry is a data product of its own within it.
        fill(small, 0, "small")
    else:
        fill(small, args.small, "small")
    print(f"filled {args.workloads} workloads through the stores in {filled_s:.1f} s", file=sys.stderr)

    deep = deep_cursor(big, args.workloads // 2)
    size = args.small  # the same page size on both sides: the small registry is one such page
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        f"first page ({size} rows)": (lambda: big.page(limit=size), lambda: small.page(limit=size)),
        f"a page 5,000 rows deep ({size} rows)": (
            lambda: big.page(cursor=deep, limit=size),
            lambda: small.page(limit=size),
        ),
        f"one data product's page ({size} rows)": (
            lambda: big.page("urn:dmb:dp:finance:dp7:1", limit=size),
            lambda: small.page("urn:dmb:dp:finance:dp7:1", limit=size),
        ),
        "first page (100 rows; the small one has 10)": (lambda: big.page(limit=100), lambda: small.page(limit=100)),
        "metrics aggregates": (big.counts, small.counts),
    }
    results = {}
    for name, (on_big, on_small) in cases.items():
        big_ms, small_ms = median_ms(on_big, args.repeat), median_ms(on_small, args.repeat)
        results[name] = {"big_ms": big_ms, "small_ms": small_ms, "ratio": round(big_ms / small_ms, 2)}
        ratio = big_ms / small_ms
        print(f"{name:45} {args.workloads} rows: {big_ms:6.3f} ms  {args.small} rows: {small_ms:6.3f} ms  ×{ratio:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"workloads": args.workloads, "small": args.small, "repeat": args.repeat, "results": results}, indent=2
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
