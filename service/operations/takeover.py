"""Moving a data product over from the older provisioner.

The older provisioner wrote one descriptor per data product, ``<destinationPath><sanitised
domain.dataproduct.major>_descriptor.yaml``, shared by all its workloads. This service gives each
DAG its own (``<DAG stem>_descriptor.yaml``). Once every workload component that the shared file
lists is managed by this service (or no longer deployed), nothing depends on it: it is removed.

Only a file that really is that data product's older descriptor is ever removed: a key some
component claims, or an object this service tagged, is left alone whatever its name (names collide
across data products), and so is a file that belongs to another data product.
"""

from __future__ import annotations

from service.aws.s3 import S3
from service.domain.deployed_descriptor import listed_workloads
from service.domain.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES
from service.domain.journal import Journal
from service.domain.workload import Workload
from service.operations.ownership import COMPONENT_TAG, shared_descriptor_key
from service.store.claims import ClaimStore
from service.store.registry import Registry


class SharedDescriptors:
    """The older provisioner's shared descriptor files, retired once nothing depends on them."""

    def __init__(self, s3: S3, registry: Registry, claims: ClaimStore) -> None:
        self.s3 = s3
        self.registry = registry
        self.claims = claims

    def retire(self, workload: Workload, journal: Journal) -> None:
        """Remove the older provisioner's shared descriptor once no workload still depends on it."""
        s3 = self.s3
        key = shared_descriptor_key(workload)
        tags = s3.tags(workload.bucket, key)
        if tags is None or COMPONENT_TAG in tags or self.claims.holders(workload.bucket, [key]):
            return
        raw = s3.get(workload.bucket, key, DEFAULT_MAX_DESCRIPTOR_BYTES)
        if raw is None:
            return
        listed = listed_workloads(raw)
        if not listed or any(entry.data_product.get("id") != workload.urn.data_product_id for entry in listed):
            return
        # Another bucket is never read on the file's say-so: its workloads count as still running.
        waiting = [
            entry.component_id
            for entry in listed
            if not self._ours(entry.component_id)
            and (entry.bucket != workload.bucket or s3.head(workload.bucket, entry.deployed_key) is not None)
        ]
        if waiting:
            journal.add("migrate", f"kept s3://{workload.bucket}/{key}: still used by {', '.join(sorted(waiting))}")
            return
        s3.delete(workload.bucket, key)
        journal.add("migrate", f"removed the older provisioner's shared s3://{workload.bucket}/{key}: nothing uses it")

    def _ours(self, component_id: str) -> bool:
        entry = self.registry.get(component_id)
        return entry is not None and entry.deployed
