"""Where Terraform keeps each workload's state: the one object that knows keys, reads states, lists
them and reads or removes their lock (render, the workspace, observation and rebuild all use it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from service.aws.s3 import S3
from service.settings import StateStorage

STATE_FILE = "terraform.tfstate"


def managed_objects(state: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The workload module's ``aws_s3_object`` attributes in a state, by resource name (dag_text,
    dag_binary, descriptor)."""
    found = {}
    for resource in (state or {}).get("resources", []):
        if resource.get("module") == "module.workload" and resource.get("type") == "aws_s3_object":
            for instance in resource.get("instances", []):
                found[resource["name"]] = instance.get("attributes", {})
    return found


def managed_keys(state: dict[str, Any] | None) -> set[tuple[str, str]]:
    """(bucket, key) of every object the state manages."""
    return {(str(a.get("bucket")), str(a.get("key"))) for a in managed_objects(state).values()}


@dataclass(frozen=True)
class LockInfo:
    """What Terraform writes into a state lock (``<state key>.tflock`` on S3)."""

    id: str
    who: str
    operation: str
    created: datetime | None
    version: str

    @classmethod
    def parse(cls, raw: bytes) -> LockInfo | None:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("ID"), str):
            return None
        created = None
        if isinstance(data.get("Created"), str):
            try:
                created = datetime.fromisoformat(data["Created"].replace("Z", "+00:00"))
            except ValueError:
                created = None
        return cls(
            id=data["ID"],
            who=str(data.get("Who", "")),
            operation=str(data.get("Operation", "")),
            created=created,
            version=str(data.get("Version", "")),
        )

    def describe(self) -> str:
        since = f", since {self.created.isoformat()}" if self.created else ""
        return f"{self.who or 'someone'} ({self.operation or 'unknown operation'}, lock ID {self.id}{since})"


class StateBackend:
    def __init__(self, storage: StateStorage, s3: S3 | None) -> None:
        """``s3`` may be None where states are never read (rendering a module for inspection)."""
        self.kind = storage.kind
        self.bucket = storage.bucket
        self.prefix = storage.prefix
        self.region = storage.region
        self.local_root = storage.local_root
        self._max_bytes = storage.max_bytes
        self._s3 = s3

    def key(self, workload_key: str, root: str = "workload") -> str:
        name = STATE_FILE if root == "workload" else f"{root}.{STATE_FILE}"
        return f"{self.prefix}/{workload_key}/{name}"

    def workload_key_of(self, state_key: str) -> str | None:
        """The workload a state key belongs to (the inverse of :meth:`key` for the workload root)."""
        inner = state_key.removeprefix(f"{self.prefix}/")
        if inner == state_key or not inner.endswith(f"/{STATE_FILE}"):
            return None
        return inner.removesuffix(f"/{STATE_FILE}")

    def config(self, state_key: str) -> dict[str, Any]:
        """``backend.json`` of a root module using this state."""
        if self.kind == "s3":
            return {"bucket": self.bucket, "key": state_key, "region": self.region}
        return {"path": str(self.local_root / state_key)}

    def read(self, state_key: str) -> bytes | None:
        if self.kind == "s3":
            return self._s3_client().get(self._bucket(), state_key, self._max_bytes)
        path = self.local_root / state_key
        return path.read_bytes() if path.exists() else None

    def read_json(self, state_key: str) -> dict[str, Any] | None:
        """The state as Terraform would load it: an empty or unparsable file (a process killed while
        Terraform rewrote a local state) is no state, as it is to Terraform."""
        raw = self.read(state_key)
        if not raw or not raw.strip():
            return None
        try:
            state = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return state if isinstance(state, dict) else None

    def has_resources(self, state_key: str) -> bool:
        state = self.read_json(state_key)
        return state is not None and bool(state.get("resources"))

    def state_keys(self) -> list[str]:
        """Every workload state key under the prefix."""
        if self.kind == "s3":
            keys = self._s3_client().list_keys(self._bucket(), f"{self.prefix}/")
            return [k for k in keys if k.endswith(f"/{STATE_FILE}")]
        root = self.local_root / self.prefix
        return sorted(str(Path(self.prefix) / p.relative_to(root)) for p in root.rglob(STATE_FILE))

    # -- locks (S3 only: the local backend's lock is an OS lock that dies with its process) -------

    @property
    def locks_outlive_processes(self) -> bool:
        return self.kind == "s3"

    def lock(self, state_key: str) -> LockInfo | None:
        if self.kind != "s3":
            return None
        raw = self._s3_client().get(self._bucket(), f"{state_key}.tflock", 1024 * 1024)
        return None if raw is None else LockInfo.parse(raw)

    def remove_lock(self, state_key: str, lock_id: str) -> bool:
        """Delete the lock if it is still ``lock_id`` (never someone's newer lock)."""
        current = self.lock(state_key)
        if current is None or current.id != lock_id:
            return False
        self._s3_client().delete(self._bucket(), f"{state_key}.tflock")
        return True

    def _s3_client(self) -> S3:
        if self._s3 is None:
            raise RuntimeError("this StateBackend was made without S3 access")
        return self._s3

    def _bucket(self) -> str:
        if not self.bucket:
            raise RuntimeError("the S3 state backend needs MWAA_SP_STATE_BUCKET")
        return self.bucket
