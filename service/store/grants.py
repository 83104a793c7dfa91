"""Airflow access grants: which principals each workload lets sign in, as (principal, role ARN).

Rows are the desired state of every workload's ``updateacl``; a principal's one policy document is
made from all the rows naming it (``service.operations.access``). Rows whose ``policy_name`` is not
``mwaa-sp-airflow`` are the earlier layout's — one inline policy per (principal, ARN), named after
the ARN, in the workload's own ACL state — kept until that workload's next updateacl retires them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from service.domain.iam_quota import POLICY_NAME
from service.domain.principals import Principal
from service.store.fences import Fence, check_fence
from service.store.models import GrantRow

_ADDRESSES = {"user": "aws_iam_user_policy", "group": "aws_iam_group_policy", "role": "aws_iam_role_policy"}


@dataclass(frozen=True, order=True)
class Grant:
    principal: Principal
    arn: str


@dataclass(frozen=True, order=True)
class LegacyPolicy:
    """An inline policy of the earlier layout, in a workload's own ACL state."""

    principal: Principal
    arn: str

    @property
    def name(self) -> str:
        return f"mwaa-sp-airflow-{hashlib.sha256(self.arn.encode()).hexdigest()[:16]}"

    @property
    def key(self) -> str:
        return f"{self.principal.kind}:{self.principal.name}:{self.name}"

    @property
    def address(self) -> str:
        return f'{_ADDRESSES[self.principal.kind]}.grant["{self.key}"]'


def principal_of(row: GrantRow) -> Principal:
    return Principal(row.kind, row.principal)  # type: ignore[arg-type]


class GrantStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of(self, workload_key: str) -> set[Grant]:
        with Session(self.engine) as session:
            rows = session.scalars(select(GrantRow).where(GrantRow.workload_key == workload_key))
            return {Grant(principal_of(r), r.arn) for r in rows}

    def legacy_of(self, workload_key: str) -> set[LegacyPolicy]:
        """The workload's policies of the earlier layout, still in its own ACL state."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(GrantRow).where(GrantRow.workload_key == workload_key, GrantRow.policy_name != POLICY_NAME)
            )
            return {LegacyPolicy(principal_of(r), r.arn) for r in rows}

    def legacy_elsewhere(self, workload_key: str) -> set[str]:
        """Keys of earlier-layout policies other workloads still hold in their states."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(GrantRow).where(GrantRow.workload_key != workload_key, GrantRow.policy_name != POLICY_NAME)
            )
            return {LegacyPolicy(principal_of(r), r.arn).key for r in rows}

    def arns_elsewhere(self, workload_key: str, principals: Iterable[Principal]) -> dict[Principal, set[str]]:
        """The Airflow roles other workloads grant each of ``principals``."""
        wanted = list(principals)
        found: dict[Principal, set[str]] = defaultdict(set)
        if not wanted:
            return found
        with Session(self.engine) as session:
            rows = session.scalars(
                select(GrantRow).where(
                    GrantRow.workload_key != workload_key, GrantRow.principal.in_({p.name for p in wanted})
                )
            )
            for row in rows:
                principal = principal_of(row)
                if principal in wanted:
                    found[principal].add(row.arn)
        return found

    def replace(self, workload_key: str, component_id: str, grants: set[Grant], fence: Fence | None = None) -> None:
        """The workload's grants are now ``grants`` (in the one-policy-per-principal layout)."""
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            session.execute(delete(GrantRow).where(GrantRow.workload_key == workload_key))
            for grant in grants:
                session.add(
                    GrantRow(
                        workload_key=workload_key,
                        kind=grant.principal.kind,
                        principal=grant.principal.name,
                        policy_name=POLICY_NAME,
                        component_id=component_id,
                        arn=grant.arn,
                    )
                )
