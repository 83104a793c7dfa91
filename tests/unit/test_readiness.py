"""Readiness (``service.api.readiness``): a probe whose own client times out says the same as a probe
the wait gave up on — whichever of the two deadlines fires first."""

from __future__ import annotations

import asyncio

from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from service.api.readiness import Readiness


def _timing_out(error: Exception) -> object:
    def probe() -> str:
        raise error

    return probe


def test_a_client_timeout_and_the_waits_timeout_read_alike() -> None:
    readiness = Readiness(
        {
            "read": _timing_out(ReadTimeoutError(endpoint_url="http://s3")),  # type: ignore[dict-item]
            "connect": _timing_out(ConnectTimeoutError(endpoint_url="http://s3")),  # type: ignore[dict-item]
            "fine": lambda: "answers",
        },
        timeout_s=2,
    )
    checks = {c.name: (c.ok, c.detail) for c in asyncio.run(readiness.check())}
    assert checks == {
        "read": (False, "no answer within 2 s"),
        "connect": (False, "no answer within 2 s"),
        "fine": (True, "answers"),
    }
