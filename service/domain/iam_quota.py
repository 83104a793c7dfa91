"""IAM's quotas on what updateacl writes, checked before any IAM write (pure).

IAM refuses a principal's inline policies past an aggregate size — 2,048 characters for a user,
5,120 for a group, 10,240 for a role, whitespace not counted — and more than 10 attached managed
policies (20 on request). moto enforces neither, so the arithmetic is done here, on what is sent.

The service writes **one inline policy per principal** (``mwaa-sp-airflow``), listing every Airflow
role ARN granted to it by any workload: an 87-character ARN takes 90 beside 138 of frame, so a user
holds 21 Airflow roles (data products, with a role per data product), a group 55, a role 112.
No managed policy is attached: the managed-policy count is never touched. A grant that would cross
the quota is refused naming the principal, the figure and the limit, and suggesting a group.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

POLICY_NAME = "mwaa-sp-airflow"
LIMITS = {"user": 2048, "group": 5120, "role": 10240}
"""IAM's aggregate inline-policy quotas, in characters without whitespace."""
_WHITESPACE = re.compile(r"\s")


def characters(document: str) -> int:
    """A policy document's size as IAM counts it."""
    return len(_WHITESPACE.sub("", document))


def document(arns: Iterable[str]) -> str:
    """The principal's one policy: sign-in to each Airflow role (compact JSON, sorted ARNs)."""
    statement = {
        "Sid": "MwaaSpAirflowSignIn",
        "Effect": "Allow",
        "Action": "airflow:CreateWebLoginToken",
        "Resource": sorted(set(arns)),
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def refusal(kind: str, name: str, ours: str, others: Mapping[str, int], limits: Mapping[str, int]) -> str | None:
    """Why writing ``ours`` for the principal would cross IAM's quota, beside its ``others`` inline
    policies (name → characters); None when it fits."""
    limit = limits[kind]
    total = characters(ours) + sum(others.values())
    if total <= limit:
        return None
    besides = f" (with {sum(others.values()):,} of its other inline policies)" if others else ""
    advice = (
        "grant the Airflow roles to a group the user belongs to instead"
        if kind == "user"
        else "split the principals, or ask AWS to raise the quota"
    )
    return (
        f"the {kind} {name!r} would hold {total:,} characters of inline policy{besides}, over IAM's limit for a "
        f"{kind} of {limit:,}: {advice}"
    )
