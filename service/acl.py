"""``updateacl``: who may sign in to a workload's MWAA environment as an Airflow role.

``refs`` is the desired set: principals not in it lose the workload's grant, ``[]`` revokes
everyone. Each ref becomes an IAM principal (``service.principals``), checked to exist before
anything is applied. The grant — ``airflow:CreateWebLoginToken`` on
``arn:aws:airflow:<region>:<account>:role/<environment>/<Airflow role>`` — is an inline policy per
(principal, ARN) in the workload's own ACL root module (its own state beside the workload's),
planned and applied through the workload's door, with the plan stored like the others.

Grants are deduplicated across workloads: every workload granting the same role to the same
principal manages the same policy (one per ARN, so IAM's per-principal quotas count Airflow roles,
not workloads). So a revoke must not destroy a policy another workload still grants: such a grant
is dropped from this workload's state (``terraform state rm``) instead. The decision is made under
a service-wide lock taken inside the workload's door, so two workloads never decide at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service import bounded_json, review
from service.descriptor import parse_descriptor
from service.door import DoorPass, WorkloadDoor
from service.errors import ConfigurationError, DescriptorInvalid, Problem, RequestInvalid, StorageError
from service.journal import Journal
from service.metrics import OPERATIONS, timed
from service.principals import Principal, load_mapper, map_refs
from service.render import Renderer
from service.settings import Settings
from service.store.database import until_answered
from service.store.grants import Grant, GrantStore
from service.store.plans import PlanStore
from service.workload import Workload
from service.workspace import Workspaces

log = logging.getLogger("mwaa_sp.acl")


@dataclass(frozen=True)
class AclRequest:
    refs: tuple[str, ...]
    descriptor: str


def parse_request(raw: bytes) -> AclRequest:
    """``UpdateAclRequest {refs, provisionInfo: {request, result}}``; problems named by field."""
    body: Any = bounded_json.loads(raw, "UpdateAclRequest")
    if not isinstance(body, dict):
        raise RequestInvalid("The body is not an UpdateAclRequest", [Problem("body", "not an object", "")])
    problems = []
    refs = body.get("refs")
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        problems.append(Problem("refs", "must be a list of strings", 'Send e.g. ["user:alice_example.com"].'))
    info = body.get("provisionInfo")
    request = info.get("request") if isinstance(info, dict) else None
    if not isinstance(info, dict):
        problems.append(Problem("provisionInfo", "is missing or not an object", "Send {request, result}."))
    elif not isinstance(request, str) or not request:
        problems.append(
            Problem("provisionInfo.request", "must be the descriptor of the last provisioning", "Send it as YAML.")
        )
    if problems:
        raise RequestInvalid("The request is not a valid UpdateAclRequest", problems)
    assert isinstance(refs, list)
    assert isinstance(request, str)
    return AclRequest(tuple(refs), request)


class AccessControl:
    def __init__(
        self,
        settings: Settings,
        door: WorkloadDoor,
        workspaces: Workspaces,
        renderer: Renderer,
        grants: GrantStore,
        plans: PlanStore,
    ) -> None:
        self.settings = settings
        self.door = door
        self.workspaces = workspaces
        self.renderer = renderer
        self.grants = grants
        self.plans = plans
        self._mapper: Callable[[str], str | None] | None = None
        self._account: str | None = None
        config = Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
        session = boto3.session.Session()
        self._iam = session.client("iam", region_name="us-east-1", endpoint_url=settings.iam_endpoint, config=config)
        self._sts = session.client(
            "sts", region_name=settings.aws_region, endpoint_url=settings.sts_endpoint, config=config
        )

    def _environment(self) -> str:
        if not self.settings.mwaa_environment:
            raise ConfigurationError(
                "updateacl needs MWAA_SP_MWAA_ENVIRONMENT, the name of the MWAA environment whose Airflow "
                "the refs may sign in to; it is not set"
            )
        return self.settings.mwaa_environment

    def role_arn(self, workload: Workload) -> str:
        urn = workload.urn
        try:
            role = self.settings.acl_airflow_role.format(
                domain=urn.domain, data_product=urn.data_product, major=urn.major, component=urn.name
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(f"MWAA_SP_ACL_AIRFLOW_ROLE cannot be rendered: {exc}") from exc
        if self._account is None:
            try:
                self._account = str(self._sts.get_caller_identity()["Account"])
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"STS could not tell the AWS account (GetCallerIdentity): {exc}") from exc
        region = self.settings.aws_region
        return f"arn:aws:airflow:{region}:{self._account}:role/{self._environment()}/{role}"

    def update(self, raw: bytes) -> dict[str, Any]:
        """Answer ``POST /v1/updateacl`` synchronously (the contract has no status endpoint for it)."""
        with timed(OPERATIONS, {"outcome": "COMPLETED"}, operation="updateacl"):
            return self._update(raw)

    def _update(self, raw: bytes) -> dict[str, Any]:
        request = parse_request(raw)
        environment = self._environment()
        try:
            workload = parse_descriptor(request.descriptor)
        except DescriptorInvalid as exc:
            problems = [
                Problem(f"provisionInfo.request.{p.field}".rstrip("."), p.message, p.solution) for p in exc.problems
            ]
            raise DescriptorInvalid(problems) from exc
        if self._mapper is None:
            s = self.settings
            self._mapper = load_mapper(s.acl_principal_mapper, s.acl_user_principal, s.acl_group_principal)
        principals = map_refs(request.refs, self._mapper, self._iam)
        arn = self.role_arn(workload)
        desired = {Grant(p, arn) for p in principals}
        journal = Journal()
        journal.add("updateacl", f"{len(desired)} principal(s) for {workload.component_id} on {environment}")
        plan_id = self.door.run(workload.workload_key, lambda door: self.apply(door, workload, desired, journal))
        return _status(workload, arn, principals, plan_id, journal)

    def apply(self, door: DoorPass, workload: Workload, desired: set[Grant], journal: Journal) -> str | None:
        """Make the workload's grants ``desired`` (inside its door); the stored plan's id."""
        with self.door.exclusive(door, "acl-grants"):
            current = self.grants.of(workload.workload_key)
            if not current and not desired:
                journal.add("updateacl", "nobody has access, and nobody is to get it: nothing to do")
                return None
            elsewhere = self.grants.elsewhere(workload.workload_key)
            workspace = self.workspaces.open(door, journal, root="acl")
            workspace.prepare(
                self.renderer.render_acl(workload.workload_key, {g.key: g.module_value() for g in desired})
            )
            shared = sorted(g for g in current - desired if g.key in elsewhere)
            if shared:
                in_state = set(workspace.state_list())
                workspace.forget([g.address for g in shared if g.address in in_state])
                for grant in shared:
                    journal.add("updateacl", f"{grant.principal} keeps {grant.arn}: another workload grants it")
            plan = workspace.plan()
            journal.add("plan", f"Plan: {plan.summary}")
            if plan.has_changes:
                applied = workspace.apply()
                journal.add("apply", f"Apply complete: {applied.summary}")
            artifact = review.unrendered("acl", plan.summary, None)

            def record() -> str:
                plan_id = self.plans.save(
                    workload.component_id, artifact, applied=plan.has_changes, plan_file=plan.plan_file
                )
                self.grants.replace(workload.workload_key, workload.component_id, desired, fence=door.fence)
                return plan_id

            door.ensure_held()
            return until_answered(record, f"grants of {workload.component_id}")

    def revoke_all(self, door: DoorPass, workload: Workload, journal: Journal) -> None:
        """Unprovision: the workload grants nobody anything any more."""
        if self.grants.of(workload.workload_key):
            self.apply(door, workload, set(), journal)


def _status(
    workload: Workload, arn: str, principals: list[Principal], plan_id: str | None, journal: Journal
) -> dict[str, Any]:
    role = arn.rsplit("/", 1)[-1]
    who = ", ".join(str(p) for p in principals) or "nobody"
    return {
        "status": "COMPLETED",
        "result": f"{who} may sign in to Airflow as {role} for {workload.component_id}",
        "info": {
            "publicInfo": {
                "airflowAccess": {"type": "string", "label": "Airflow access", "value": who},
                "airflowRole": {"type": "string", "label": "Airflow role", "value": role},
            },
            "privateInfo": {"roleArn": arn, "principals": [str(p) for p in principals], "planId": plan_id},
        },
        "logs": journal.entries,
    }
