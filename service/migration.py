"""Moving a data product over from the older provisioner.

The older provisioner wrote one descriptor per data product, ``<destinationPath><sanitised
domain.dataproduct.major>_descriptor.yaml``, shared by all its workloads. This service gives each
DAG its own (``<DAG stem>_descriptor.yaml``). Once every workload component that the shared file
lists is managed by this service (or no longer deployed), nothing depends on it: it is removed.
"""

from __future__ import annotations

from collections.abc import Mapping

from service import naming, safe_yaml
from service.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES
from service.journal import Journal
from service.s3 import S3
from service.store.registry import Registry
from service.workload import Workload


def shared_descriptor_key(workload: Workload) -> str:
    return f"{workload.destination_path}{naming.sanitise(workload.urn.dotted_prefix)}_descriptor.yaml"


def _listed_deployments(raw: bytes) -> list[tuple[str, str, str]]:
    """(component id, bucket, deployed key) of every workload component the shared file lists."""
    try:
        document = safe_yaml.load(raw.decode("utf-8"), "descriptor", DEFAULT_MAX_DESCRIPTOR_BYTES)
    except (safe_yaml.YamlRejected, UnicodeDecodeError):
        return []
    data_product = document.get("dataProduct", document) if isinstance(document, Mapping) else None
    components = data_product.get("components") if isinstance(data_product, Mapping) else None
    found = []
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, Mapping) or component.get("kind") != "workload":
            continue
        specific = component.get("specific")
        urn = naming.parse_component_urn(str(component.get("id", "")))
        if isinstance(urn, str) or not isinstance(specific, Mapping):
            continue
        try:
            file = naming.deployed_dag_file(urn, str(specific.get("dagName", "")))
        except ValueError:
            continue
        key = naming.normalise_prefix(str(specific.get("destinationPath", ""))) + file
        found.append((str(component["id"]), str(specific.get("bucketName", "")), key))
    return found


def retire_shared_descriptor(s3: S3, registry: Registry, workload: Workload, journal: Journal) -> None:
    """Remove the older provisioner's shared descriptor once no workload still depends on it."""
    key = shared_descriptor_key(workload)
    raw = s3.get(workload.bucket, key, DEFAULT_MAX_DESCRIPTOR_BYTES)
    if raw is None:
        return
    waiting = [
        component_id
        for component_id, bucket, deployed_key in _listed_deployments(raw)
        if not _ours(registry, component_id) and s3.head(bucket, deployed_key) is not None
    ]
    if waiting:
        journal.add("migrate", f"kept s3://{workload.bucket}/{key}: still used by {', '.join(sorted(waiting))}")
        return
    s3.delete(workload.bucket, key)
    journal.add("migrate", f"removed the older provisioner's shared s3://{workload.bucket}/{key}: nothing uses it")


def _ours(registry: Registry, component_id: str) -> bool:
    entry = registry.get(component_id)
    return entry is not None and entry.deployed
