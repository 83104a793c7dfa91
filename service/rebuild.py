"""``mwaa-sp registry rebuild``: the registry again from the Terraform states, the source of truth.

Each state under the state prefix names its workload (the key), its objects (bucket, keys) and its
component (the ``witboost:component-id`` tag). Working directories of text DAGs are rendered again
from the state's own attribute values, so drift checks and reconciles work on a fresh data dir.
The fast no-op and drift paths stay off until the next provision records fresh fingerprints.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service.settings import Settings
from service.store.models import WorkloadRow
from service.store.tasks import now
from service.worker import Journal, Worker

log = logging.getLogger("mwaa_sp.rebuild")
STATE_FILE = "terraform.tfstate"


def _state_keys(settings: Settings, worker: Worker) -> list[str]:
    prefix = f"{settings.state_prefix}/"
    if settings.state_backend == "s3":
        assert settings.state_bucket
        paginator = worker.s3.client.get_paginator("list_objects_v2")
        return [
            o["Key"]
            for page in paginator.paginate(Bucket=settings.state_bucket, Prefix=prefix)
            for o in page.get("Contents", [])
            if o["Key"].endswith(f"/{STATE_FILE}")
        ]
    root = settings.data_dir / "states"
    return sorted(str(p.relative_to(root)) for p in (root / settings.state_prefix).rglob(STATE_FILE))


def _objects(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for resource in state.get("resources", []):
        if resource.get("module") == "module.workload" and resource.get("type") == "aws_s3_object":
            for instance in resource.get("instances", []):
                found[resource["name"]] = instance.get("attributes", {})
    return found


def rebuild(settings: Settings, worker: Worker) -> list[str]:
    """Upsert a registry row per state that still manages objects; returns their component ids."""
    found = []
    for state_key in _state_keys(settings, worker):
        raw = worker._state(state_key)  # noqa: SLF001 - same backend reader the worker uses
        if raw is None:
            continue
        objects = _objects(json.loads(raw))
        dag = objects.get("dag_text") or objects.get("dag_binary")
        descriptor = objects.get("descriptor")
        if not dag or not descriptor:
            continue
        component_id = (dag.get("tags") or {}).get("witboost:component-id")
        if not component_id:
            log.warning("state %s has no component id tag; skipped", state_key)
            continue
        workload_key = state_key.removeprefix(f"{settings.state_prefix}/").removesuffix(f"/{STATE_FILE}")
        with Session(worker.registry.engine) as session, session.begin():
            row = session.get(WorkloadRow, component_id) or WorkloadRow(component_id=component_id)
            session.add(row)
            row.workload_key = workload_key
            row.data_product_id = (dag.get("tags") or {}).get("witboost:data-product-id", "")
            row.major = workload_key.split("/")[2] if workload_key.count("/") == 3 else ""
            row.bucket, row.dag_key, row.descriptor_key = dag["bucket"], dag["key"], descriptor["key"]
            row.state_key, row.deployed = state_key, True
            row.last_operation, row.last_status, row.last_at = "rebuild", "COMPLETED", now()
            row.inputs_digest = row.state_fingerprint = row.objects = None
        if "dag_text" in objects:
            _restore_workdir(worker, workload_key, state_key, dag, descriptor)
        found.append(component_id)
    return found


def _restore_workdir(
    worker: Worker, workload_key: str, state_key: str, dag: dict[str, Any], descriptor: dict[str, Any]
) -> Path:
    spec = {
        "bucket": dag["bucket"],
        "dag_key": dag["key"],
        "dag_kind": "text",
        "dag_content": dag.get("content") or "",
        "descriptor_key": descriptor["key"],
        "descriptor_content": descriptor.get("content") or "",
        "tags": dag.get("tags") or {},
    }
    module = worker.renderer.render_spec(spec, worker.renderer.backend_for(state_key))
    return worker.prepare_dir(worker.workdir_for(workload_key), module, Journal())
