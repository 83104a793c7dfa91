"""Bench: the lower bound of an unchanged re-provision answered over HTTP — a server that makes the
no-op's five S3 reads and nothing else.

What ``bench/validate_bench.py`` sets beside the service's no-op and the S3 floor: the same HTTP
stack as the service (uvicorn, Litestar, a listening socket with ``TCP_NODELAY``), the same S3 client
and calls (``service.aws.s3.S3``: the staged DAG's GET, HEAD and tags of both deployed objects, all
in flight at once), one thread hop off the event loop. No descriptor, lock, database, rendering or
log line: the ratio of this to the floor is what HTTP and threads cost on this machine, so the rest
of the no-op's ratio is the service's own work.

    python bench/reads_only_server.py PORT   (environment: base_env's AWS_* and MWAA_SP_*)

``POST /reads`` with ``{"bucket": ..., "staged": key, "deployed": [key, key]}`` answers ``{"reads": 5}``.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, Request, post

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.api.connections import bounded_protocol  # noqa: E402
from service.aws.s3 import S3  # noqa: E402
from service.cli.serve import _listen  # noqa: E402  the service's own socket options
from service.settings import Settings  # noqa: E402

_settings = Settings.from_env()
_s3 = S3(_settings.aws)
_reads = ThreadPoolExecutor(8, thread_name_prefix="reads")
_hop = ThreadPoolExecutor(4, thread_name_prefix="hop")


class _Asked(msgspec.Struct):
    bucket: str
    staged: str
    deployed: list[str]


def _five_reads(asked: _Asked) -> int:
    staged = _reads.submit(_s3.get, asked.bucket, asked.staged, _settings.max_dag_bytes)
    fingerprints = _s3.start_fingerprints(asked.bucket, asked.deployed, _reads)
    found = fingerprints()
    if staged.result() is None or None in found.values():
        raise RuntimeError("an object the bench staged is missing")
    return 1 + 2 * len(found)


@post("/reads")
async def reads(request: Request[Any, Any, Any]) -> dict[str, int]:
    asked = msgspec.json.decode(await request.body(), type=_Asked)
    return {"reads": await asyncio.get_running_loop().run_in_executor(_hop, _five_reads, asked)}


def main() -> int:
    sock = _listen("127.0.0.1", int(sys.argv[1]))
    # As ``mwaa-sp serve`` configures uvicorn: its h11 protocol class and keep-alive.
    config = uvicorn.Config(
        Litestar([reads]),
        log_config=None,
        access_log=False,
        http=bounded_protocol(_settings.header_timeout_s),
        timeout_keep_alive=5,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
