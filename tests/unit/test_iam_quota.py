"""IAM's quotas on inline policies, as IAM counts them: characters without whitespace, in aggregate
per principal — 2,048 for a user, 5,120 for a group, 10,240 for a role. moto enforces none of it."""

from __future__ import annotations

import json

import pytest

from service.domain.iam_quota import LIMITS, characters, document, refusal


def _arn(n: int) -> str:
    return f"arn:aws:airflow:eu-west-1:123456789012:role/analytics-prod/finance-dataproduct{n:02d}-viewer"


def test_characters_do_not_count_whitespace() -> None:
    assert characters('{ "a" :\n\t"b c" }') == len('{"a":"bc"}')
    compact = document([_arn(1)])
    assert characters(json.dumps(json.loads(compact), indent=4)) == characters(compact) == len(compact)


def test_one_document_lists_every_role_once_and_sorted() -> None:
    policy = json.loads(document([_arn(2), _arn(1), _arn(2)]))
    [statement] = policy["Statement"]
    assert statement["Action"] == "airflow:CreateWebLoginToken"
    assert statement["Resource"] == [_arn(1), _arn(2)]


@pytest.mark.parametrize(("kind", "fits"), [("user", 21), ("group", 55), ("role", 112)])
def test_how_many_roles_fit_each_kind(kind: str, fits: int) -> None:
    """The layout's arithmetic with 87-character ARNs: the README's figures come from here."""
    assert refusal(kind, "x", document(_arn(n) for n in range(fits)), {}, LIMITS) is None
    assert refusal(kind, "x", document(_arn(n) for n in range(fits + 1)), {}, LIMITS) is not None


def test_the_limit_is_exact_and_other_policies_count() -> None:
    ours = document(_arn(n) for n in range(12))
    size = characters(ours)
    limits = LIMITS | {"user": size}
    assert refusal("user", "alice", ours, {}, limits) is None
    over = refusal("user", "alice", ours, {"their-own": 1}, limits)
    assert over == (
        f"the user 'alice' would hold {size + 1:,} characters of inline policy (with 1 of its other inline policies), "
        f"over IAM's limit for a user of {size:,}: grant the Airflow roles to a group the user belongs to instead"
    )
    assert refusal("group", "g", ours, {}, LIMITS | {"group": size - 1}) is not None
