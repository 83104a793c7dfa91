"""Airflow access grants: which principals each workload lets sign in, as (principal, role ARN)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from service.principals import Principal
from service.store.fences import Fence, check_fence
from service.store.models import GrantRow

_ADDRESSES = {"user": "aws_iam_user_policy", "group": "aws_iam_group_policy", "role": "aws_iam_role_policy"}


@dataclass(frozen=True, order=True)
class Grant:
    principal: Principal
    arn: str

    @property
    def policy_name(self) -> str:
        """One inline policy per (principal, ARN), named after the ARN: every workload granting the
        same Airflow role to the same principal manages the same policy, so IAM's per-principal
        quotas count Airflow roles, not workloads."""
        return f"mwaa-sp-airflow-{hashlib.sha256(self.arn.encode()).hexdigest()[:16]}"

    @property
    def key(self) -> str:
        return f"{self.principal.kind}:{self.principal.name}:{self.policy_name}"

    @property
    def address(self) -> str:
        return f'{_ADDRESSES[self.principal.kind]}.grant["{self.key}"]'

    def policy(self) -> str:
        statement = {
            "Sid": "MwaaSpAirflowSignIn",
            "Effect": "Allow",
            "Action": "airflow:CreateWebLoginToken",
            "Resource": self.arn,
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    def module_value(self) -> dict[str, str]:
        """What the ACL root module receives for this grant (through terraform.tfvars.json)."""
        return {
            "kind": self.principal.kind,
            "principal": self.principal.name,
            "name": self.policy_name,
            "policy": self.policy(),
        }


class GrantStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of(self, workload_key: str) -> set[Grant]:
        with Session(self.engine) as session:
            rows = session.scalars(select(GrantRow).where(GrantRow.workload_key == workload_key))
            return {Grant(Principal(r.kind, r.principal), r.arn) for r in rows}  # type: ignore[arg-type]

    def elsewhere(self, workload_key: str) -> set[str]:
        """Keys of the grants other workloads hold (a revoke here must not remove them)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(GrantRow).where(GrantRow.workload_key != workload_key))
            return {f"{r.kind}:{r.principal}:{r.policy_name}" for r in rows}

    def replace(self, workload_key: str, component_id: str, grants: set[Grant], fence: Fence | None = None) -> None:
        with Session(self.engine) as session, session.begin():
            check_fence(session, fence)
            session.execute(delete(GrantRow).where(GrantRow.workload_key == workload_key))
            for grant in grants:
                session.add(
                    GrantRow(
                        workload_key=workload_key,
                        kind=grant.principal.kind,
                        principal=grant.principal.name,
                        policy_name=grant.policy_name,
                        component_id=component_id,
                        arn=grant.arn,
                    )
                )
