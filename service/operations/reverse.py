"""Reverse provisioning: bring a DAG that already runs on MWAA under this service's Terraform.

``params: {bucketName, dagKey, skipSafetyChecks?}`` names the deployed DAG; ``catalogInfo`` (the
component's catalog-info) names who asks: its data product (``spec.system``, ``system:<domain>.<dp>.
<major>``, or ``metadata.name``, ``<domain>.<dp>.<major>.<component>``). A data product may only
reverse-provision its own DAGs, in an allowed bucket: the key must carry its deployed-name prefix
(checked before anything is read), and the descriptor found beside the DAG must list the component
in that data product.

Its original ``dagName`` cannot be recovered from the key (sanitising is lossy), so it is read from
the descriptor file beside the DAG — this service's own ``<stem>_descriptor.yaml`` (tagged for that
component), or the older provisioner's per-data-product ``<prefix>_descriptor.yaml`` (untagged,
unclaimed) — by finding the workload component whose deployed file name is the key's. Then, through
the workload's door, Terraform plans the workload's module with ``import`` blocks for what is
deployed (nothing is applied: the next provision adopts it); the plan's summary and the resources it
imports go to the logs — never the DAG's source, of which only a digest and a size are given.
Unless ``skipSafetyChecks``, a plan that imports nothing or destroys anything fails. The answer is
the contract's ``ReverseProvisioningStatus`` with ``updates``: dot paths into the component's
catalog-info.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from service.aws.s3 import S3
from service.background import Background
from service.contract import bodies
from service.contract.models import ReverseProvisioningRequest, ReverseProvisioningStatus
from service.domain import naming
from service.domain.buckets import BucketPolicy
from service.domain.deployed_descriptor import listed_workloads
from service.domain.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES, parse_descriptor
from service.domain.journal import Journal
from service.domain.workload import Workload
from service.engine.door import DoorPass, WorkloadDoor
from service.engine.workspace import Workspaces
from service.errors import ClientError, MwaaSpError, Problem, RequestInvalid
from service.metrics import OPERATIONS
from service.operations.ownership import COMPONENT_TAG, Ownership
from service.store.tasks import Status, TaskStore

log = logging.getLogger("mwaa_sp.reverse")
_SPECIFIC = "spec.mesh.specific"


@dataclass(frozen=True)
class Requester:
    """Who asks, from the catalog-info: a data product, and the component when it is named."""

    domain: str
    data_product: str
    major: str
    component: str | None

    @property
    def data_product_id(self) -> str:
        return f"urn:dmb:dp:{self.domain}:{self.data_product}:{self.major}"

    @property
    def key_prefix(self) -> str:
        """How every deployed file of the data product begins (``<sanitised prefix>_``)."""
        return naming.sanitise(f"{self.domain}.{self.data_product}.{self.major}") + "_"


@dataclass(frozen=True)
class ReverseRequest:
    bucket: str
    dag_key: str
    skip_safety_checks: bool
    requester: Requester


def requester(catalog_info: Any) -> Requester | None:
    """The data product (and component) a catalog-info describes: ``spec.system`` is
    ``system:<domain>.<dp>.<major>``; ``metadata.name`` is ``<domain>.<dp>.<major>.<component>``."""
    if not isinstance(catalog_info, Mapping):
        return None
    spec, metadata = catalog_info.get("spec"), catalog_info.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    parts = name.split(".") if isinstance(name, str) else []
    component = parts[3] if len(parts) == 4 else None
    system = spec.get("system") if isinstance(spec, Mapping) else None
    if isinstance(system, str) and system.startswith("system:"):
        dp = system.removeprefix("system:").split(".")
    else:
        dp = parts[:3] if component else []
    if len(dp) != 3:
        return None
    urn = naming.parse_component_urn(f"urn:dmb:cmp:{dp[0]}:{dp[1]}:{dp[2]}:{component or 'x'}")
    if isinstance(urn, str) or (component and dp != parts[:3]):
        return None
    return Requester(urn.domain, urn.data_product, urn.major, component)


class Refused(Exception):
    """The DAG cannot be reverse-provisioned; the message says why (a FAILED status, never a 5xx)."""


def reverse_request(body: ReverseProvisioningRequest, buckets: BucketPolicy) -> ReverseRequest:
    """What this provisioner needs of a ``ReverseProvisioningRequest``: its ``params`` (the deployed
    DAG, in an allowed bucket) and the data product its ``catalogInfo`` names; every problem by field."""
    problems = []
    params = body.params if isinstance(body.params, dict) else None
    if params is None:
        raise RequestInvalid(
            "The reverse provisioning request is not valid",
            [Problem("params", "is missing", "Send params: {bucketName, dagKey} of the deployed DAG.")],
        )
    bucket, key, skip = params.get("bucketName"), params.get("dagKey"), params.get("skipSafetyChecks", False)
    if not isinstance(bucket, str) or naming.check_bucket(bucket):
        why = "is missing or not a string" if not isinstance(bucket, str) else naming.check_bucket(bucket)
        problems.append(Problem("params.bucketName", str(why), "Name the MWAA environment's bucket."))
    else:
        problems += buckets.problems(bucket, "params.bucketName")
    who = requester(body.catalog_info if isinstance(body.catalog_info, dict) else None)
    if who is None:
        problems.append(
            Problem(
                "catalogInfo.spec.system",
                "must name the component's data product (system:<domain>.<dataproduct>.<major>, or a "
                "metadata.name <domain>.<dataproduct>.<major>.<component>)",
                "Send the component's catalog-info, as Witboost does.",
            )
        )
    if not isinstance(key, str) or not key:
        problems.append(Problem("params.dagKey", "is missing or not a string", "Give the DAG's key in the bucket."))
    else:
        why = _key_problem(key)
        if why:
            problems.append(Problem("params.dagKey", why, "Give the deployed key, e.g. dags/<file>.py."))
    if not isinstance(skip, bool):
        problems.append(Problem("params.skipSafetyChecks", "must be true or false", "Send a JSON boolean."))
    if problems:
        raise RequestInvalid("The reverse provisioning request is not valid", problems)
    assert who is not None
    return ReverseRequest(str(bucket), str(key), bool(skip), who)


def _key_problem(key: str) -> str | None:
    folder, _, name = key.rpartition("/")
    if naming.dag_suffix(name) is None:
        return "must name a .py or .zip DAG file"
    if folder and naming.check_path(folder + "/", allow_empty=False):
        return naming.check_path(folder + "/", allow_empty=False)
    return naming.check_key(key)


def _failed(message: str, journal: Journal) -> ReverseProvisioningStatus:
    journal.add("reverse-provisioning", message, "ERROR")
    return bodies.reverse("FAILED", {}, journal.entries)


def failed(message: str) -> ReverseProvisioningStatus:
    """A FAILED ``ReverseProvisioningStatus`` saying why (e.g. its replica stopped)."""
    return _failed(message, Journal())


class ReverseProvisioner:
    def __init__(
        self,
        s3: S3,
        ownership: Ownership,
        buckets: BucketPolicy,
        door: WorkloadDoor,
        workspaces: Workspaces,
        tasks: TaskStore,
        background: Background,
        max_dag_bytes: int,
    ) -> None:
        self.s3 = s3
        self.ownership = ownership
        self.buckets = buckets
        self.door = door
        self.workspaces = workspaces
        self.tasks = tasks
        self.max_dag_bytes = max_dag_bytes
        self.background = background

    def start(self, body: ReverseProvisioningRequest) -> tuple[str, Future[ReverseProvisioningStatus]]:
        """Check (a bad request raises before any token exists), record the task, run it."""
        request = reverse_request(body, self.buckets)
        token = self.tasks.create("reverse", None, bodies.reverse("RUNNING", {}, []))

        def run() -> ReverseProvisioningStatus:
            started = time.monotonic()
            try:
                body = self.run(request)
            except Exception as exc:  # the contract's FAILED, never a lost token
                log.exception("reverse provisioning failed")
                body = failed(f"internal error: {type(exc).__name__}")
            outcome: Status = "COMPLETED" if body.status == "COMPLETED" else "FAILED"
            OPERATIONS.labels("reverse", outcome).observe(time.monotonic() - started)
            self.tasks.finish(token, outcome, body)
            return body

        future = self.background.submit("reverse", 2, run)

        def end(done: Future[ReverseProvisioningStatus]) -> None:
            if self.tasks.running_here(token):  # its run never wrote the final status
                self.tasks.finish(token, "FAILED", failed(f"the run ended without an outcome: {done.exception()}"))

        future.add_done_callback(end)
        return token, future

    def status_of(self, token: str) -> ReverseProvisioningStatus:
        return bodies.read(ReverseProvisioningStatus, self.tasks.get(token, ["reverse"]).body)

    def run(self, request: ReverseRequest) -> ReverseProvisioningStatus:
        journal = Journal()
        where = f"s3://{request.bucket}/{request.dag_key}"
        who = request.requester
        journal.add("reverse-provisioning", f"reverse provisioning of {where} for {who.data_product_id}")
        try:
            file = request.dag_key.rpartition("/")[2]
            if not file.startswith(who.key_prefix):
                # Decided from the key alone: nothing of another data product is read.
                raise Refused(
                    f"{where} is not a DAG of {who.data_product_id} (its name does not begin {who.key_prefix})"
                )
            if self.s3.head(request.bucket, request.dag_key) is None:
                raise Refused(f"{where} does not exist")
            held = self.ownership.holder(request.bucket, request.dag_key)
            if held:
                mine = held.startswith(f"urn:dmb:cmp:{who.domain}:{who.data_product}:{who.major}:")
                raise Refused(f"{where} is already managed by this service" + (f", as {held}" if mine else ""))
            component, descriptor_key, workload = self._component(request)
            journal.add("reverse-provisioning", f"{where} is {workload.component_id}, named in {descriptor_key}")
            self.door.run(workload.workload_key, lambda door: self._plan(door, workload, request, journal))
        except Refused as exc:
            return _failed(str(exc), journal)
        except ClientError as exc:
            return _failed("; ".join(p.render() for p in exc.problems), journal)
        except MwaaSpError as exc:
            return _failed(exc.message, journal)
        specific = component.get("specific") or {}
        # YAML values (dates among them) as JSON has them: the body is stored and answered as JSON.
        updates: dict[str, Any] = {
            f"{_SPECIFIC}.{k}": json.loads(json.dumps(v, default=str))
            for k, v in specific.items()
            if isinstance(k, str)
        }
        updates[f"{_SPECIFIC}.dagName"] = workload.dag_name
        journal.add("reverse-provisioning", f"done at {datetime.now(UTC).isoformat()}: the next provision adopts it")
        return bodies.reverse("COMPLETED", updates, journal.entries)

    def _component(self, request: ReverseRequest) -> tuple[Mapping[str, Any], str, Workload]:
        """The requesting data product's workload component whose deployed file is the key's, from a
        descriptor beside it that this service wrote for it, or the older provisioner's of that data
        product. Two keys are read at most: no folder is listed."""
        folder, _, file = request.dag_key.rpartition("/")
        prefix = f"{folder}/" if folder else ""
        who = request.requester
        ours = f"{prefix}{file.rsplit('.', 1)[0]}_descriptor.yaml"
        legacy = f"{prefix}{who.key_prefix}descriptor.yaml"
        for key in (ours, legacy):
            tags = self.s3.tags(request.bucket, key)
            if tags is None:
                continue
            raw = self.s3.get(request.bucket, key, DEFAULT_MAX_DESCRIPTOR_BYTES)
            found = self._match(raw or b"", request)
            if found is None:
                continue
            # Ours proves itself by its tag; the older provisioner's by being nobody's.
            owner = tags.get(COMPONENT_TAG)
            trusted = (
                owner == found[1].component_id
                if key == ours
                else owner is None and self.ownership.holder(request.bucket, key) is None
            )
            if trusted:
                return found[0], key, found[1]
        raise Refused(
            f"no descriptor of {who.data_product_id} beside s3://{request.bucket}/{request.dag_key} names a workload "
            f"deployed as {file}: its original dagName cannot be recovered (sanitising is lossy)"
        )

    @staticmethod
    def _match(raw: bytes, request: ReverseRequest) -> tuple[Mapping[str, Any], Workload] | None:
        who = request.requester
        for listed in listed_workloads(raw):
            if listed.deployed_key != request.dag_key or listed.bucket != request.bucket:
                continue
            text = yaml.safe_dump(
                {"dataProduct": dict(listed.data_product), "componentIdToProvision": listed.component_id},
                sort_keys=False,
            )
            try:
                workload = parse_descriptor(text)
            except ClientError:
                continue
            if workload.urn.data_product_id != who.data_product_id:
                continue
            if who.component is not None and workload.urn.name != who.component:
                continue
            return listed.component, workload
        return None

    def _plan(self, door: DoorPass, workload: Workload, request: ReverseRequest, journal: Journal) -> None:
        """Plan the workload's module importing what is deployed; nothing is applied."""
        workspace = self.workspaces.open(door, journal)
        managed = workspace.managed_keys()
        if managed:
            raise Refused(f"{workload.component_id} already has a Terraform state with objects in it")
        dag = self.s3.get(request.bucket, request.dag_key, self.max_dag_bytes) or b""
        journal.add(
            "reverse-provisioning",
            f"deployed DAG: {len(dag)} bytes, sha256 {hashlib.sha256(dag).hexdigest()} (its source is not shown)",
        )
        existing = self.ownership.existing(workload, managed)
        for proven in existing:
            journal.add("plan", f"s3://{workload.bucket}/{proven.key} ({proven.resource}): {proven.proof}")
        adopt = {p.resource: f"{workload.bucket}/{p.key}" for p in existing}
        workspace.prepare(workspace.render(workload, dag, adopt))
        plan = workspace.plan()
        for resource in sorted(adopt):
            journal.add("plan", f"module.workload.aws_s3_object.{resource}[0] will be imported")
        if not request.skip_safety_checks:
            if plan.summary.imported == 0:
                raise Refused("the plan imports nothing (safety check; params.skipSafetyChecks skips it)")
            if plan.summary.destroy:
                raise Refused(
                    f"the plan would destroy {plan.summary.destroy} object(s) (safety check; "
                    "params.skipSafetyChecks skips it)"
                )
