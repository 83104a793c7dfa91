"""Terraform state locks of the S3 backend (``<state key>.tflock``) across replicas and crashes.

While a task's Terraform run holds the lock, its ID is recorded with the task. A lock found before a
run starts is released only when that proof exists: the lock's ID belongs to a task that has ended
(finished, or failed because its replica's lease ran out). Any other lock is left alone — Terraform
waits for it (MWAA_SP_LOCK_TIMEOUT) and the task fails saying the state is locked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service.s3 import S3
from service.settings import Settings
from service.store.tasks import TaskStore

_POLL_S = 0.25


class StateLocks:
    def __init__(self, settings: Settings, s3: S3, tasks: TaskStore) -> None:
        self.bucket = settings.state_bucket if settings.state_backend == "s3" else None
        self.s3 = s3
        self.tasks = tasks

    def _info(self, state_key: str) -> dict[str, Any] | None:
        assert self.bucket
        raw = self.s3.get(self.bucket, f"{state_key}.tflock", 1024 * 1024)
        if raw is None:
            return None
        try:
            info = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return info if isinstance(info, dict) and isinstance(info.get("ID"), str) else None

    def release_orphaned(self, state_key: str) -> str | None:
        """Delete the workload's lock if its owner is proven gone; returns what was done, for the log."""
        if not self.bucket:
            return None
        info = self._info(state_key)
        if info is None:
            return None
        token = self.tasks.lock_holder_gone(info["ID"])
        if token is None:
            return f"state is locked by {info.get('Who', '?')} ({info.get('Operation', '?')}): waiting for it"
        self.s3.delete(self.bucket, f"{state_key}.tflock")
        return f"released state lock {info['ID']} left by task {token[:6]}…, whose run has ended"

    @contextmanager
    def watch(self, state_key: str, token: str | None) -> Iterator[None]:
        """Record the ID of the lock Terraform takes for this task's run, while the block runs."""
        if not self.bucket or token is None:
            yield
            return
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                info = self._info(state_key)
                if info is not None:
                    self.tasks.record_lock(token, info["ID"])
                    return
                done.wait(_POLL_S)

        watcher = threading.Thread(target=poll, name=f"lock-watch-{token[:6]}", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=5)
