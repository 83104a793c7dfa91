"""Bulkheads: each kind of request runs its blocking work on its own bounded thread pool.

One shared pool (``asyncio.to_thread``'s, six threads on two cores) let eight slow validates stall
``GET /workloads`` and the status polls; here a slow or hostile request can only fill its own pool:
the Coordinator's operations, the reads (lists, status polls, the web view) and the platform
engineers' heavier operations (speculative plans, drift runs, rebuilds) each have theirs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Bulkhead:
    def __init__(self, name: str, workers: int) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"mwaa-sp-{name}")

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Bulkheads:
    contract: Bulkhead = field(default_factory=lambda: Bulkhead("contract", 8))
    """validate, provision/unprovision acceptance, updateacl, reverse provisioning."""
    reads: Bulkhead = field(default_factory=lambda: Bulkhead("reads", 8))
    """Registry and plan reads, status polls, the web view, metrics."""
    operations: Bulkhead = field(default_factory=lambda: Bulkhead("operations", 4))
    """Speculative plans, stored plans' first rendering, drift run starts, registry rebuilds."""

    def shutdown(self) -> None:
        for bulkhead in (self.contract, self.reads, self.operations):
            bulkhead.shutdown()
