"""IAM's inline-policy quotas at the limit and one past, per kind of principal, with the exact policy
document the service writes and the exact refusal."""

from __future__ import annotations

import pytest

from service.domain.iam_quota import LIMITS, POLICY_NAME, characters, document, refusal

ARN = "arn:aws:airflow:eu-west-1:123456789012:role/env/dp-viewer"


def test_the_document_is_exact() -> None:
    assert document([ARN, "arn:b", ARN, "arn:a"]) == (
        '{"Version":"2012-10-17","Statement":[{"Sid":"MwaaSpAirflowSignIn","Effect":"Allow",'
        '"Action":"airflow:CreateWebLoginToken","Resource":["arn:a",'
        f'"{ARN}","arn:b"]}}]}}'
    )
    assert document([]).endswith('"Resource":[]}]}')
    assert POLICY_NAME == "mwaa-sp-airflow"


def test_the_quotas() -> None:
    assert LIMITS == {"user": 2048, "group": 5120, "role": 10240}


@pytest.mark.parametrize(
    ("text", "count"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param(" \t\n\r\f\v", 0, id="ascii-whitespace"),
        pytest.param("a b", 2, id="inner-space"),
        pytest.param("é€😀", 3, id="characters-not-bytes"),
    ],
)
def test_characters_are_counted_without_whitespace(text: str, count: int) -> None:
    assert characters(text) == count


def _ours(size: int) -> str:
    """Any text of ``size`` characters without whitespace, padded with whitespace that is not counted."""
    return " x" * size + "\n"


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_each_kind_fits_exactly_its_limit(kind: str) -> None:
    limit = LIMITS[kind]
    assert refusal(kind, "p", _ours(limit), {}, LIMITS) is None
    assert refusal(kind, "p", _ours(limit - 100), {"a": 60, "b": 40}, LIMITS) is None
    assert refusal(kind, "p", _ours(limit + 1), {}, LIMITS) is not None
    assert refusal(kind, "p", _ours(limit - 100), {"a": 60, "b": 41}, LIMITS) is not None


@pytest.mark.parametrize(
    ("kind", "others", "expected"),
    [
        pytest.param(
            "user",
            {},
            "the user 'alice' would hold 2,049 characters of inline policy, over IAM's limit for a user of 2,048: "
            "grant the Airflow roles to a group the user belongs to instead",
            id="user-alone",
        ),
        pytest.param(
            "group",
            {"a": 1000, "b": 234},
            "the group 'alice' would hold 6,355 characters of inline policy (with 1,234 of its other inline "
            "policies), over IAM's limit for a group of 5,120: split the principals, or ask AWS to raise the quota",
            id="group-with-others",
        ),
        pytest.param(
            "role",
            {},
            "the role 'alice' would hold 10,241 characters of inline policy, over IAM's limit for a role of 10,240: "
            "split the principals, or ask AWS to raise the quota",
            id="role-alone",
        ),
    ],
)
def test_the_refusal_is_exact(kind: str, others: dict[str, int], expected: str) -> None:
    size = {"user": 2049, "group": 5121, "role": 10241}[kind]
    assert refusal(kind, "alice", _ours(size), others, LIMITS) == expected


def test_other_policies_of_zero_characters_are_still_mentioned() -> None:
    assert "(with 0 of its other inline policies)" in (refusal("user", "u", _ours(2049), {"empty": 0}, LIMITS) or "")


def test_the_limits_given_are_the_ones_used() -> None:
    assert refusal("user", "u", _ours(10), {}, {"user": 10}) is None
    assert refusal("user", "u", _ours(11), {}, {"user": 10}) == (
        "the user 'u' would hold 11 characters of inline policy, over IAM's limit for a user of 10: "
        "grant the Airflow roles to a group the user belongs to instead"
    )
