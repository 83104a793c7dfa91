"""Readiness: can this replica do its work now? Its database answers and its S3 endpoint answers.

Liveness (``/health``) only says the process serves HTTP; a replica whose database or S3 endpoint
hangs is alive but not ready, and a load balancer should stop sending it work. Each check runs on
its own small pool with a deadline, so a hanging dependency makes ``/ready`` fail within
``MWAA_SP_READY_TIMEOUT`` rather than hang with it; a result is reused for a second, so probes
cannot pile up threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from service.errors import MwaaSpError
from service.settings import Boto3Credentials

_REUSE_S = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def s3_probe(
    endpoint: str | None,
    region: str,
    bucket: str,
    timeout_s: float,
    emulator: bool,
    credentials: Boto3Credentials | None = None,
) -> Callable[[], str]:
    """HEAD of a bucket: any answer from S3 (a 403 or 404 included) means the endpoint answers."""
    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"total_max_attempts": 1},
        s3={"addressing_style": "path"} if emulator else {},
    )
    session = boto3.session.Session(**(credentials or {}))
    client = session.client("s3", region_name=region, endpoint_url=endpoint, config=config)

    def probe() -> str:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            return f"answers ({exc.response.get('Error', {}).get('Code', '?')} for {bucket})"
        return f"answers (bucket {bucket})"

    return probe


def database_probe(engine: Engine) -> Callable[[], str]:
    def probe() -> str:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return f"answers ({engine.dialect.name})"

    return probe


class Readiness:
    def __init__(self, checks: dict[str, Callable[[], str]], timeout_s: float) -> None:
        self._checks = checks
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=2 * len(checks), thread_name_prefix="mwaa-sp-ready")
        self._last: tuple[float, list[Check]] | None = None
        self._guard = threading.Lock()

    async def check(self) -> list[Check]:
        with self._guard:
            if self._last is not None and time.monotonic() - self._last[0] < _REUSE_S:
                return self._last[1]
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(*(self._one(loop, name, probe) for name, probe in self._checks.items()))
        with self._guard:
            self._last = (time.monotonic(), list(results))
        return list(results)

    async def _one(self, loop: asyncio.AbstractEventLoop, name: str, probe: Callable[[], str]) -> Check:
        try:
            detail = await asyncio.wait_for(loop.run_in_executor(self._pool, probe), self.timeout_s)
        except (TimeoutError, ConnectTimeoutError, ReadTimeoutError):
            # The probe's own client times out at the same moment as this wait: one answer either way.
            return Check(name, False, f"no answer within {self.timeout_s:g} s")
        except (SQLAlchemyError, BotoCoreError, OSError, MwaaSpError) as exc:
            return Check(name, False, " ".join(str(exc).split())[:300])
        return Check(name, True, detail)
