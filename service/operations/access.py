"""``updateacl``: who may sign in to a workload's MWAA environment as an Airflow role.

``refs`` is the desired set: principals not in it lose the workload's grant, ``[]`` revokes
everyone. Each ref becomes an IAM principal (``service.domain.principals``), checked to exist before
anything is applied. The grant is ``airflow:CreateWebLoginToken`` on
``arn:aws:airflow:<region>:<account>:role/<environment>/<Airflow role>``.

**One policy per principal.** Each IAM principal holds one inline policy, ``mwaa-sp-airflow``,
listing every Airflow role ARN any workload grants it — in a root module of its own (its own state,
``<prefix>/principals/<kind>/<name>/acl.terraform.tfstate``). IAM's quotas bound a principal's
inline policies in aggregate (``service.domain.iam_quota``), so the document each principal would hold is
measured, beside its other inline policies, before anything is written, and a grant that would cross
the quota is refused naming the principal, the figure and the limit.

An update holds the workload's door and, inside it, the lock of each principal it touches (in sorted
order: two workloads updating the same principal wait for each other, never deadlock); each
principal's document is recomputed from every workload's grants, so a revoke keeps what another
workload still grants. The earlier layout's policies (one per principal and ARN, in the workload's
own ACL state) are retired by the workload's next updateacl: dropped from its state when another
workload's earlier-layout state still holds them, destroyed otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack

from service.aws.iam import Iam
from service.contract import bodies
from service.contract.models import ProvisioningStatus, UpdateAclRequest
from service.domain import iam_quota, review
from service.domain.descriptor import parse_descriptor
from service.domain.journal import Journal
from service.domain.principals import Principal, load_mapper, map_refs
from service.domain.workload import Workload
from service.engine.door import DoorPass, WorkloadDoor
from service.engine.workspace import Workspace, Workspaces
from service.errors import ConfigurationError, DescriptorInvalid, Problem, RequestInvalid
from service.metrics import OPERATIONS, timed
from service.settings import AirflowAccess
from service.store.database import until_answered
from service.store.grants import Grant, GrantStore, LegacyPolicy

log = logging.getLogger("mwaa_sp.acl")


def principal_key(principal: Principal) -> str:
    """The door and working directory of a principal's one policy (IAM names hold no '/')."""
    return f"principals/{principal.kind}/{principal.name}"


class AccessControl:
    def __init__(
        self,
        settings: AirflowAccess,
        door: WorkloadDoor,
        workspaces: Workspaces,
        grants: GrantStore,
        iam: Iam,
    ) -> None:
        self.settings = settings
        self.door = door
        self.workspaces = workspaces
        self.grants = grants
        self.iam = iam
        self._mapper: Callable[[str], str | None] | None = None

    def _environment(self) -> str:
        if not self.settings.environment:
            raise ConfigurationError(
                "updateacl needs MWAA_SP_MWAA_ENVIRONMENT, the name of the MWAA environment whose Airflow "
                "the refs may sign in to; it is not set"
            )
        return self.settings.environment

    def role_arn(self, workload: Workload) -> str:
        urn = workload.urn
        try:
            role = self.settings.airflow_role.format(
                domain=urn.domain, data_product=urn.data_product, major=urn.major, component=urn.name
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(f"MWAA_SP_ACL_AIRFLOW_ROLE cannot be rendered: {exc}") from exc
        region = self.settings.region
        return f"arn:aws:airflow:{region}:{self.iam.account()}:role/{self._environment()}/{role}"

    def update(self, request: UpdateAclRequest) -> ProvisioningStatus:
        """Answer ``POST /v1/updateacl`` synchronously (the contract has no status endpoint for it)."""
        with timed(OPERATIONS, {"outcome": "COMPLETED"}, operation="updateacl"):
            return self._update(request)

    def _update(self, request: UpdateAclRequest) -> ProvisioningStatus:
        if not request.provision_info.request.strip():
            raise RequestInvalid(
                "The request is not a valid UpdateAclRequest",
                [
                    Problem(
                        "provisionInfo.request", "must be the descriptor of the last provisioning", "Send it as YAML."
                    )
                ],
            )
        environment = self._environment()
        try:
            workload = parse_descriptor(request.provision_info.request)
        except DescriptorInvalid as exc:
            problems = [
                Problem(f"provisionInfo.request.{p.field}".rstrip("."), p.message, p.solution) for p in exc.problems
            ]
            raise DescriptorInvalid(problems) from exc
        if self._mapper is None:
            s = self.settings
            self._mapper = load_mapper(s.principal_mapper, s.user_principal, s.group_principal)
        fields = map_refs(request.refs, self._mapper, self.iam.exists)
        arn = self.role_arn(workload)
        journal = Journal()
        journal.add("updateacl", f"{len(fields)} principal(s) for {workload.component_id} on {environment}")
        plan_ids = self.door.run(workload.workload_key, lambda door: self.apply(door, workload, arn, fields, journal))
        return bodies.access_granted(workload, arn, [str(p) for p in fields], plan_ids, journal.entries)

    def apply(
        self, door: DoorPass, workload: Workload, arn: str, fields: dict[Principal, str], journal: Journal
    ) -> list[str]:
        """Make the workload's grants ``fields``' principals (inside its door); the stored plans' ids.
        ``fields`` names each principal's ref (``refs[i]``) for a refusal."""
        desired = {Grant(p, arn) for p in fields}
        current = self.grants.of(workload.workload_key)
        legacy = self.grants.legacy_of(workload.workload_key)
        touched = sorted({g.principal for g in current | desired})
        if not touched and not legacy:
            journal.add("updateacl", "nobody has access, and nobody is to get it: nothing to do")
            return []
        with ExitStack() as held:
            passes = {p: held.enter_context(self.door.exclusive(door, principal_key(p))) for p in touched}
            elsewhere = self.grants.arns_elsewhere(workload.workload_key, touched)
            documents = {p: sorted(elsewhere[p] | {g.arn for g in desired if g.principal == p}) for p in touched}
            self._within_quota(documents, legacy, fields)
            for grant in sorted(current - desired):
                if grant.arn in elsewhere[grant.principal]:
                    journal.add("updateacl", f"{grant.principal} keeps {grant.arn}: another workload grants it")
            plan_ids = [
                self._apply_principal(passes[principal], principal, documents[principal], workload, journal)
                for principal in touched
            ]
            if legacy:
                plan_ids += self._retire_legacy(door, workload, legacy, journal)
            door.ensure_held()
            until_answered(
                lambda: self.grants.replace(workload.workload_key, workload.component_id, desired, fence=door.fence),
                f"grants of {workload.component_id}",
            )
        return plan_ids

    def _within_quota(
        self, documents: dict[Principal, list[str]], retiring: set[LegacyPolicy], fields: dict[Principal, str]
    ) -> None:
        """IAM's aggregate inline-policy quota, for the document each principal would hold beside its
        other inline policies (read from IAM) — before anything is written."""
        limits = iam_quota.LIMITS | dict(self.settings.inline_quota)
        gone = {(r.principal, r.name) for r in retiring}
        problems = []
        for principal, arns in documents.items():
            if not arns:
                continue
            others = {
                name: size
                for name, size in self.iam.inline_policies(principal).items()
                if name != iam_quota.POLICY_NAME and (principal, name) not in gone
            }
            why = iam_quota.refusal(principal.kind, principal.name, iam_quota.document(arns), others, limits)
            if why:
                problems.append(
                    Problem(fields.get(principal, "refs"), why, "Grant the data product's Airflow role to a group.")
                )
        if problems:
            raise DescriptorInvalid(problems)

    def _apply_principal(
        self, door: DoorPass, principal: Principal, arns: list[str], workload: Workload, journal: Journal
    ) -> str:
        """The principal's one policy made ``arns`` (removed when empty), through its own root module."""
        grants = {}
        if arns:
            grants[f"{principal.kind}:{principal.name}"] = {
                "kind": principal.kind,
                "principal": principal.name,
                "name": iam_quota.POLICY_NAME,
                "policy": iam_quota.document(arns),
            }
        workspace = self.workspaces.open(door, journal, root="acl")
        workspace.prepare(workspace.render_acl(grants))
        return self._plan_and_apply(workspace, workload, str(principal))

    def _retire_legacy(
        self, door: DoorPass, workload: Workload, legacy: set[LegacyPolicy], journal: Journal
    ) -> list[str]:
        """The earlier layout's policies in the workload's own ACL state: dropped from it where another
        workload's earlier-layout state still holds them, destroyed otherwise. Decided under a
        service-wide lock, so two workloads retiring one shared policy never both only drop it."""
        with self.door.exclusive(door, "service:acl-legacy"):
            shared = self.grants.legacy_elsewhere(workload.workload_key)
            workspace = self.workspaces.open(door, journal, root="acl")
            workspace.prepare(workspace.render_acl({}))
            in_state = set(workspace.state_list())
            workspace.forget(sorted(p.address for p in legacy if p.key in shared and p.address in in_state))
            journal.add("updateacl", f"retiring {len(legacy)} policy(ies) of the earlier one-per-role layout")
            return [self._plan_and_apply(workspace, workload, "the earlier layout")]

    @staticmethod
    def _plan_and_apply(workspace: Workspace, workload: Workload, what: str) -> str:
        plan = workspace.plan(what=what)
        return workspace.apply_and_save(plan, workload.component_id, review.unrendered("acl", plan.summary, None), what)

    def revoke_all(self, door: DoorPass, workload: Workload, journal: Journal) -> None:
        """Unprovision: the workload grants nobody anything any more."""
        if self.grants.of(workload.workload_key) or self.grants.legacy_of(workload.workload_key):
            self.apply(door, workload, "", {}, journal)
