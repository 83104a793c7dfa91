"""Whose keys a workload may write: claims in the database, and proof for what is already in S3.

Every DAG is code the MWAA environment runs with its own permissions, so one data product must never
write another's keys, whatever its descriptor says:

- **Claims**: before Terraform plans, the workload claims its DAG and descriptor keys
  (``service.store.claims``: one component per ``(bucket, key)``, decided by a unique constraint).
  A key another component holds is refused, naming that component.
- **Proof** for an object already at a key the workload's state does not manage (a first provision,
  or a workload re-pointed at another ``destinationPath``/``bucketName``). It may become the
  workload's only when it carries this service's component tag *for this component*, when an
  operator adopted it for this component (``mwaa-sp adopt``, audited), or — for the DAG — when the
  older provisioner's descriptor of *this* data product (its shared ``<prefix>_descriptor.yaml``,
  which this service never writes and nobody claims) lists *this* component with the same
  ``dagName``. Anything else is refused by name and never overwritten.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from service.aws.s3 import S3
from service.domain import naming
from service.domain.deployed_descriptor import listed_workloads
from service.domain.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES
from service.domain.workload import Workload
from service.errors import DescriptorInvalid, Problem
from service.store.claims import ClaimStore
from service.store.database import until_answered
from service.store.fences import Fence

COMPONENT_TAG = "witboost:component-id"
ADOPT_HINT = (
    "an operator who knows it belongs to this component can adopt it: mwaa-sp adopt {component} s3://{bucket}/{key}"
)


@dataclass(frozen=True)
class Proven:
    """An object already at one of the workload's keys, and why it is the workload's."""

    resource: str
    """The module's resource for it: dag_text, dag_binary or descriptor."""
    key: str
    proof: str


def shared_descriptor_key(workload: Workload) -> str:
    """The older provisioner's descriptor file, one per data product: ``<prefix>_descriptor.yaml``."""
    return f"{workload.destination_path}{naming.sanitise(workload.urn.dotted_prefix)}_descriptor.yaml"


def lists_component(raw: bytes, workload: Workload) -> bool:
    """Whether an older provisioner's descriptor (``raw``) is *this* data product's and lists *this*
    component with the same ``dagName``, bucket and DAG folder (pure)."""
    for listed in listed_workloads(raw):
        if (
            listed.data_product.get("id") == workload.urn.data_product_id
            and listed.component_id == workload.component_id
            and listed.component.get("specific", {}).get("dagName") == workload.dag_name
            and listed.bucket == workload.bucket
            and listed.deployed_key == workload.deployed_key
        ):
            return True
    return False


class Ownership:
    def __init__(self, s3: S3, claims: ClaimStore, reads: Executor | None = None) -> None:
        """``reads``: where the tags of a workload's two keys are read side by side (else one by one)."""
        self.s3 = s3
        self.claims = claims
        self._reads = reads

    def problems(self, workload: Workload, *, prove: bool = False) -> list[Problem]:
        """What a provision would refuse, without claiming anything: keys another component holds and,
        with ``prove``, objects at keys this component does not hold yet that nothing proves are its.
        A component holding both its keys (deployed) costs one database read and no S3 call."""
        keys = [workload.deployed_key, workload.descriptor_key]
        holders = self.claims.holders(workload.bucket, keys)
        taken = [
            _taken(workload, key, claim.component_id)
            for key, claim in sorted(holders.items())
            if claim.component_id != workload.component_id
        ]
        if taken or not prove or len(holders) == len(keys):
            return taken
        try:
            self.existing(workload, set())
        except DescriptorInvalid as exc:
            return list(exc.problems)
        return []

    def claim(self, workload: Workload, fence: Fence | None) -> tuple[str, ...]:
        """Claim the workload's keys (all or none); the keys newly claimed. Refuses keys held by
        another component, naming it."""
        claimed = self.claims.claim(
            workload.component_id, workload.bucket, [workload.deployed_key, workload.descriptor_key], fence=fence
        )
        if claimed.conflicts:
            raise DescriptorInvalid([_taken(workload, c.key, c.component_id) for c in claimed.conflicts])
        return claimed.new

    def release(self, workload: Workload, claimed: tuple[str, ...]) -> None:
        """Nothing was applied: the keys this attempt newly claimed are free again."""
        until_answered(
            lambda: self.claims.release(workload.component_id, only=[(workload.bucket, k) for k in claimed]),
            "release of refused claims",
        )

    def keep_only(self, workload: Workload, keep: list[tuple[str, str]], fence: Fence | None) -> None:
        """After an apply: the component holds ``keep`` and nothing else (keys a re-pointed workload
        left behind, or everything after an unprovision, are free again)."""
        self.claims.release(workload.component_id, keep=keep, fence=fence)

    def adopt(self, component_id: str, bucket: str, key: str, operator: str) -> bool:
        """An operator's proof that ``s3://bucket/key`` is the component's (its next provision imports
        it); whether an object is there now. Refused when another component claims the key."""
        claimed = self.claims.claim(component_id, bucket, [key], origin="adopted", claimed_by=operator)
        if claimed.conflicts:
            holder = claimed.conflicts[0].component_id
            raise DescriptorInvalid(
                [Problem("object", f"s3://{bucket}/{key} is claimed by {holder}", "It cannot be adopted by another.")]
            )
        return self.s3.head(bucket, key) is not None

    def holder(self, bucket: str, key: str) -> str | None:
        """The component that claims ``s3://bucket/key``, if any."""
        held = self.claims.holders(bucket, [key]).get(key)
        return held.component_id if held else None

    def tagged_as(self, workload: Workload, key: str) -> bool:
        """Whether the object at ``key`` carries this service's tag for this component."""
        return (self.s3.tags(workload.bucket, key) or {}).get(COMPONENT_TAG) == workload.component_id

    def existing(self, workload: Workload, managed: set[tuple[str, str]]) -> list[Proven]:
        """Objects already at the workload's keys that its state does not manage, each with its proof;
        ``DescriptorInvalid`` names every one that cannot be proven to be this component's."""
        dag_resource = "dag_text" if workload.dag_kind == "text" else "dag_binary"
        found, problems = [], []
        unmanaged = [
            (resource, key)
            for resource, key in ((dag_resource, workload.deployed_key), ("descriptor", workload.descriptor_key))
            if (workload.bucket, key) not in managed
        ]
        for (resource, key), tags in zip(
            unmanaged, self._tags(workload.bucket, [k for _, k in unmanaged]), strict=True
        ):
            if tags is None:
                continue
            proof, refusal = self._proof(workload, resource, key, tags)
            if proof:
                found.append(Proven(resource, key, proof))
            else:
                problems.append(Problem(f"{workload.field}.specific.dagName", refusal, _hint(workload, key)))
        if problems:
            raise DescriptorInvalid(problems)
        return found

    def _tags(self, bucket: str, keys: list[str]) -> list[dict[str, str] | None]:
        if self._reads is None or len(keys) < 2:
            return [self.s3.tags(bucket, key) for key in keys]
        reading = [self._reads.submit(self.s3.tags, bucket, key) for key in keys]
        return [read.result() for read in reading]

    def _proof(self, workload: Workload, resource: str, key: str, tags: dict[str, str]) -> tuple[str, str]:
        """(proof, "") or ("", why not)."""
        where = f"s3://{workload.bucket}/{key}"
        owner = tags.get(COMPONENT_TAG)
        if owner == workload.component_id:
            return f"tagged {COMPONENT_TAG}={owner}", ""
        if owner:
            return "", f"{where} is deployed by {owner}"
        held = self.claims.holders(workload.bucket, [key]).get(key)
        if held and held.component_id == workload.component_id and held.origin == "adopted":
            return f"adopted for this component by {held.claimed_by or 'an operator'}", ""
        shared = shared_descriptor_key(workload)
        if resource != "descriptor" and self._listed_by_older_provisioner(workload, shared):
            return f"listed in the older provisioner's descriptor s3://{workload.bucket}/{shared}", ""
        return "", (
            f"{where} already exists and nothing proves it is {workload.component_id}'s: it carries no "
            f"component tag of this service, no operator adopted it, and "
            + (
                "the older provisioner wrote no file under this name"
                if resource == "descriptor"
                else f"the older provisioner's descriptor s3://{workload.bucket}/{shared} of this data product "
                "does not list this component with this dagName"
            )
        )

    def _listed_by_older_provisioner(self, workload: Workload, shared: str) -> bool:
        # A file this service wrote (tagged) or a key some component claims is not the older
        # provisioner's: another data product could have placed it there through a colliding name.
        tags = self.s3.tags(workload.bucket, shared)
        if tags is None or COMPONENT_TAG in tags or self.claims.holders(workload.bucket, [shared]):
            return False
        raw = self.s3.get(workload.bucket, shared, DEFAULT_MAX_DESCRIPTOR_BYTES)
        return raw is not None and lists_component(raw, workload)


def _taken(workload: Workload, key: str, owner: str) -> Problem:
    return Problem(
        f"{workload.field}.specific.dagName",
        f"s3://{workload.bucket}/{key} is claimed by {owner}",
        "Rename the DAG: two components must not deploy to the same key (names differing only in characters "
        "outside [A-Za-z0-9_] collide).",
    )


def _hint(workload: Workload, key: str) -> str:
    return "Rename the DAG, or remove the object; " + ADOPT_HINT.format(
        component=workload.component_id, bucket=workload.bucket, key=key
    )
