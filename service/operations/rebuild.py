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

from service.engine.door import DoorPass, WorkloadDoor
from service.engine.render import Renderer
from service.engine.state_backend import StateBackend, managed_objects
from service.engine.workspace import Workspaces
from service.operations.journal import Journal
from service.store.claims import ClaimStore
from service.store.registry import Registry

log = logging.getLogger("mwaa_sp.rebuild")


def restore_workdir(door: DoorPass, workspaces: Workspaces, renderer: Renderer, backend: StateBackend) -> bool:
    """Render the workload's root module from its state's values and initialise it. Only text DAGs
    can be restored (a packaged DAG's bytes are not in the state); False when it cannot."""
    state = backend.read_json(backend.key(door.key))
    objects = managed_objects(state) if state else {}
    dag, descriptor = objects.get("dag_text"), objects.get("descriptor")
    if not dag or not descriptor:
        return False
    spec = {
        "bucket": dag["bucket"],
        "dag_key": dag["key"],
        "dag_kind": "text",
        "dag_content": dag.get("content") or "",
        "descriptor_key": descriptor["key"],
        "descriptor_content": descriptor.get("content") or "",
        # The change tracking of the last apply: a source_hash in the state means opaque ETags.
        "opaque_etags": bool(dag.get("source_hash")),
        "tags": dag.get("tags") or {},
    }
    module = renderer.render_spec(spec, backend.config(backend.key(door.key)))
    workspaces.open(door, Journal()).prepare(module)
    return True


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
        renderer: Renderer,
    ) -> None:
        self.backend = backend
        self.registry = registry
        self.claims = claims
        self.door = door
        self.workspaces = workspaces
        self.renderer = renderer

    def __call__(self, progress: Callable[[int, int], None] = lambda done, total: None) -> list[str]:
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
            self.door.run(workload_key, lambda p: restore_workdir(p, self.workspaces, self.renderer, backend))
        return str(component_id)
