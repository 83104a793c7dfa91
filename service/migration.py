"""Moving a data product over from the older provisioner.

The older provisioner wrote one descriptor per data product, ``<destinationPath><sanitised
domain.dataproduct.major>_descriptor.yaml``, shared by all its workloads. This service gives each
DAG its own (``<DAG stem>_descriptor.yaml``). Once every workload component that the shared file
lists is managed by this service (or no longer deployed), nothing depends on it: it is removed.
"""

from __future__ import annotations

from service import naming
from service.deployed_descriptor import listed_workloads
from service.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES
from service.journal import Journal
from service.s3 import S3
from service.store.registry import Registry
from service.workload import Workload


def shared_descriptor_key(workload: Workload) -> str:
    return f"{workload.destination_path}{naming.sanitise(workload.urn.dotted_prefix)}_descriptor.yaml"


def retire_shared_descriptor(s3: S3, registry: Registry, workload: Workload, journal: Journal) -> None:
    """Remove the older provisioner's shared descriptor once no workload still depends on it."""
    key = shared_descriptor_key(workload)
    raw = s3.get(workload.bucket, key, DEFAULT_MAX_DESCRIPTOR_BYTES)
    if raw is None:
        return
    waiting = [
        listed.component_id
        for listed in listed_workloads(raw)
        if not _ours(registry, listed.component_id) and s3.head(listed.bucket, listed.deployed_key) is not None
    ]
    if waiting:
        journal.add("migrate", f"kept s3://{workload.bucket}/{key}: still used by {', '.join(sorted(waiting))}")
        return
    s3.delete(workload.bucket, key)
    journal.add("migrate", f"removed the older provisioner's shared s3://{workload.bucket}/{key}: nothing uses it")


def _ours(registry: Registry, component_id: str) -> bool:
    entry = registry.get(component_id)
    return entry is not None and entry.deployed
