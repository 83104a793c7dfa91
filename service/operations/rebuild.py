"""The registry again from the Terraform states, the source of truth (``mwaa-sp registry rebuild``),
and working directories restored from a state's own values.

Each state under the state prefix names its workload (the key), its objects (bucket, keys) and its
component (the ``witboost:component-id`` tag). Working directories of text DAGs are rendered again
from the state's own attribute values, so drift checks and reconciles work on a fresh data dir or on
a replica that never provisioned the workload. The fast no-op and drift paths stay off until the
next provision records fresh fingerprints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from service.domain.journal import Journal
from service.engine.door import WorkloadDoor
from service.engine.state_backend import StateBackend, managed_objects
from service.engine.workspace import Workspaces
from service.store.claims import ClaimStore
from service.store.registry import Registry

log = logging.getLogger("mwaa_sp.rebuild")


class Rebuilder:
    """The registry again from the states, over one process's components: the one entry point of
    ``mwaa-sp registry rebuild`` and of ``POST /registry/rebuild``."""

    def __init__(
        self,
        backend: StateBackend,
        registry: Registry,
        claims: ClaimStore,
        door: WorkloadDoor,
        workspaces: Workspaces,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.claims = claims
        self.door = door
        self.workspaces = workspaces

    def rebuild(self, progress: Callable[[int, int], None] = lambda done, total: None) -> list[str]:
        """Upsert a registry row per state that still manages objects; returns their component ids.
        ``progress`` is told after each state is read (and its working directory restored)."""
        state_keys = self.backend.state_keys()
        found = []
        for done, state_key in enumerate(state_keys, start=1):
            component_id = self._restore(state_key)
            if component_id:
                found.append(component_id)
            progress(done, len(state_keys))
        return found

    def _restore(self, state_key: str) -> str | None:
        backend = self.backend
        workload_key = backend.workload_key_of(state_key)
        state = backend.read_json(state_key)
        if workload_key is None or state is None:
            return None
        objects = managed_objects(state)
        dag = objects.get("dag_text") or objects.get("dag_binary")
        descriptor = objects.get("descriptor")
        if not dag or not descriptor:
            return None
        tags = dag.get("tags") or {}
        component_id = tags.get("witboost:component-id")
        if not component_id:
            log.warning("state %s has no component id tag; skipped", state_key)
            return None
        self.registry.restore(
            component_id,
            workload_key=workload_key,
            data_product_id=tags.get("witboost:data-product-id", ""),
            bucket=dag["bucket"],
            dag_key=dag["key"],
            descriptor_key=descriptor["key"],
            state_key=state_key,
        )
        # The state is the source of truth for who owns these keys too.
        claimed = self.claims.claim(
            component_id, dag["bucket"], [dag["key"], descriptor["key"]], claimed_by="registry rebuild"
        )
        for conflict in claimed.conflicts:
            log.warning(
                "s3://%s/%s is in the state of %s but claimed by %s: left to the claim",
                conflict.bucket,
                conflict.key,
                component_id,
                conflict.component_id,
            )
        if "dag_text" in objects:
            self.door.run(workload_key, lambda door: self.workspaces.open(door, Journal()).restore())
        return str(component_id)
