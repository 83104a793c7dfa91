"""Reverse provisioning: bring a DAG that already runs on MWAA under this service's Terraform.

``params: {bucketName, dagKey, skipSafetyChecks?}`` names the deployed DAG. Its original
``dagName`` cannot be recovered from the key (sanitising is lossy), so it is read from the
descriptor file beside the DAG — this service's own ``<stem>_descriptor.yaml``, or the older
provisioner's per-data-product ``<prefix>_descriptor.yaml`` — by finding the workload component
whose deployed file name is the key's. Then, through the workload's door, Terraform plans the
workload's module with ``import`` blocks for what is deployed (nothing is applied: the next
provision adopts it), and the plan goes to the logs. Unless ``skipSafetyChecks``, a plan that
imports nothing or destroys anything fails. The answer is the contract's ``ReverseProvisioningStatus``
with ``updates``: dot paths into the component's catalog-info.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from service import naming
from service.deployed_descriptor import listed_workloads
from service.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES, parse_descriptor
from service.door import DoorPass, WorkloadDoor
from service.errors import ClientError, MwaaSpError, Problem, RequestInvalid
from service.journal import Journal
from service.render import Renderer
from service.s3 import S3
from service.staged import StagedDags
from service.state_backend import StateBackend
from service.store.registry import Registry
from service.store.tasks import TaskStore
from service.workload import Workload
from service.workspace import Workspaces

log = logging.getLogger("mwaa_sp.reverse")
_SPECIFIC = "spec.mesh.specific"


@dataclass(frozen=True)
class ReverseRequest:
    bucket: str
    dag_key: str
    skip_safety_checks: bool


class Refused(Exception):
    """The DAG cannot be reverse-provisioned; the message says why (a FAILED status, never a 5xx)."""


def parse_request(raw: bytes) -> ReverseRequest:
    """``ReverseProvisioningRequest`` → what this provisioner needs; every problem named by field."""
    try:
        body: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestInvalid("The request body is not JSON", [Problem("body", str(exc), "Send JSON.")]) from exc
    if not isinstance(body, dict):
        raise RequestInvalid("The body is not a ReverseProvisioningRequest", [Problem("body", "not an object", "")])
    problems = [
        Problem(name, "is missing or not a string", "Send it as the contract requires.")
        for name in ("useCaseTemplateId", "environment")
        if not isinstance(body.get(name), str)
    ]
    params = body.get("params")
    if not isinstance(params, dict):
        problems.append(
            Problem("params", "is missing or not an object", "Send params: {bucketName, dagKey} of the deployed DAG.")
        )
        raise RequestInvalid("The reverse provisioning request is not valid", problems)
    bucket, key, skip = params.get("bucketName"), params.get("dagKey"), params.get("skipSafetyChecks", False)
    if not isinstance(bucket, str) or naming.check_bucket(bucket):
        why = "is missing or not a string" if not isinstance(bucket, str) else naming.check_bucket(bucket)
        problems.append(Problem("params.bucketName", str(why), "Name the MWAA environment's bucket."))
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
    return ReverseRequest(str(bucket), str(key), bool(skip))


def _key_problem(key: str) -> str | None:
    folder, _, name = key.rpartition("/")
    if naming.dag_suffix(name) is None:
        return "must name a .py or .zip DAG file"
    if folder and naming.check_path(folder + "/", allow_empty=False):
        return naming.check_path(folder + "/", allow_empty=False)
    return naming.check_key(key)


def status(state: str, updates: dict[str, Any], logs: list[dict[str, str]]) -> dict[str, Any]:
    """``ReverseProvisioningStatus``: ``updates`` is always an object."""
    return {"status": state, "updates": updates, "logs": logs}


def _failed(message: str, journal: Journal) -> dict[str, Any]:
    journal.add("reverse-provisioning", message, "ERROR")
    return status("FAILED", {}, journal.entries)


def failed(message: str) -> dict[str, Any]:
    """A FAILED ``ReverseProvisioningStatus`` saying why (e.g. its replica stopped)."""
    return _failed(message, Journal())


class ReverseProvisioner:
    def __init__(
        self,
        s3: S3,
        staged: StagedDags,
        registry: Registry,
        door: WorkloadDoor,
        workspaces: Workspaces,
        renderer: Renderer,
        backend: StateBackend,
        tasks: TaskStore,
        max_dag_bytes: int,
    ) -> None:
        self.s3 = s3
        self.staged = staged
        self.registry = registry
        self.door = door
        self.workspaces = workspaces
        self.renderer = renderer
        self.backend = backend
        self.tasks = tasks
        self.max_dag_bytes = max_dag_bytes
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mwaa-sp-reverse")

    def start(self, raw: bytes) -> tuple[str, Future[dict[str, Any]]]:
        """Parse (a malformed request raises before any token exists), record the task, run it."""
        request = parse_request(raw)
        token = self.tasks.create("reverse", None, status("RUNNING", {}, []))

        def run() -> dict[str, Any]:
            try:
                body = self.run(request)
            except Exception as exc:  # the contract's FAILED, never a lost token
                log.exception("reverse provisioning failed")
                body = failed(f"internal error: {exc}")
            self.tasks.finish(token, "COMPLETED" if body["status"] == "COMPLETED" else "FAILED", body)
            return body

        return token, self._pool.submit(run)

    def status_of(self, token: str) -> dict[str, Any]:
        return self.tasks.get(token, ["reverse"]).body

    def run(self, request: ReverseRequest) -> dict[str, Any]:
        journal = Journal()
        where = f"s3://{request.bucket}/{request.dag_key}"
        journal.add("reverse-provisioning", f"reverse provisioning of {where}")
        try:
            if self.s3.head(request.bucket, request.dag_key) is None:
                raise Refused(f"{where} does not exist")
            owner = self.registry.owner_of(request.bucket, [request.dag_key], "")
            if owner:
                raise Refused(f"{where} is already managed by this service, as {owner}")
            component, descriptor_key, workload = self._component(request)
            journal.add("reverse-provisioning", f"{where} is {workload.component_id}, named in {descriptor_key}")
            plan_text = self.door.run(workload.workload_key, lambda door: self._plan(door, workload, request, journal))
        except Refused as exc:
            return _failed(str(exc), journal)
        except ClientError as exc:
            return _failed("; ".join(p.render() for p in exc.problems), journal)
        except MwaaSpError as exc:
            return _failed(exc.message, journal)
        journal.add("plan", plan_text)
        specific = component.get("specific") or {}
        updates: dict[str, Any] = {f"{_SPECIFIC}.{k}": v for k, v in specific.items() if isinstance(k, str)}
        updates[f"{_SPECIFIC}.dagName"] = workload.dag_name
        journal.add("reverse-provisioning", f"done at {datetime.now(UTC).isoformat()}: the next provision adopts it")
        return status("COMPLETED", updates, journal.entries)

    def _component(self, request: ReverseRequest) -> tuple[Mapping[str, Any], str, Workload]:
        """The workload component whose deployed file is the key's, from a descriptor beside it."""
        folder, _, file = request.dag_key.rpartition("/")
        prefix = f"{folder}/" if folder else ""
        stem = file.rsplit(".", 1)[0]
        candidates = [f"{prefix}{stem}_descriptor.yaml"] + sorted(
            k
            for k in self.s3.list_keys(request.bucket, prefix)
            if k.endswith("_descriptor.yaml")
            and "/" not in k[len(prefix) :]
            and file.startswith(k[len(prefix) :].removesuffix("_descriptor.yaml") + "_")
        )
        for key in dict.fromkeys(candidates):
            raw = self.s3.get(request.bucket, key, DEFAULT_MAX_DESCRIPTOR_BYTES)
            if raw is None:
                continue
            found = self._match(raw, request.dag_key, request.bucket)
            if found is not None:
                return found[0], key, found[1]
        raise Refused(
            f"no descriptor beside s3://{request.bucket}/{request.dag_key} names a workload deployed as {file}: "
            "its original dagName cannot be recovered (sanitising is lossy)"
        )

    @staticmethod
    def _match(raw: bytes, dag_key: str, bucket: str) -> tuple[Mapping[str, Any], Workload] | None:
        for listed in listed_workloads(raw):
            if listed.deployed_key == dag_key and listed.bucket == bucket:
                text = yaml.safe_dump(
                    {"dataProduct": dict(listed.data_product), "componentIdToProvision": listed.component_id},
                    sort_keys=False,
                )
                return listed.component, parse_descriptor(text)
        return None

    def _plan(self, door: DoorPass, workload: Workload, request: ReverseRequest, journal: Journal) -> str:
        """Plan the workload's module importing what is deployed; nothing is applied."""
        state_key = self.backend.key(workload.workload_key)
        if self.backend.has_resources(state_key):
            raise Refused(f"{workload.component_id} already has a Terraform state with objects in it")
        dag = self.s3.get(request.bucket, request.dag_key, self.max_dag_bytes) or b""
        adopt = self.staged.adoptable(workload)
        workspace = self.workspaces.open(door, journal)
        workspace.prepare(self.renderer.render(workload, dag, adopt))
        plan = workspace.plan()
        journal.add("plan", f"Plan: {plan.summary}")
        if not request.skip_safety_checks:
            if plan.summary.imported == 0:
                raise Refused("the plan imports nothing (safety check; params.skipSafetyChecks skips it)")
            if plan.summary.destroy:
                raise Refused(
                    f"the plan would destroy {plan.summary.destroy} object(s) (safety check; "
                    "params.skipSafetyChecks skips it)"
                )
        text, _ = workspace.show()
        return text
