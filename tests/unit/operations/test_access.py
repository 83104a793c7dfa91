"""updateacl (``service.operations.access``) against a fake IAM: one policy per principal holding
every Airflow role granted to it, desired-set semantics across workloads, the quota refusal before
anything is written, unknown refs refused by index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.contract.models import ProvisionInfo, UpdateAclRequest
from service.domain.iam_quota import POLICY_NAME
from service.domain.principals import Principal
from service.errors import DescriptorInvalid
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.harness import harness

ALICE, ENG = Principal("user", "alice@example.com"), Principal("group", "eng")
SETTINGS = {"mwaa_environment": "env", "acl_airflow_role": "{data_product}-viewer"}


def _grant(refs: list[str], dp: str = "invoices", name: str = "w") -> UpdateAclRequest:
    return UpdateAclRequest(refs, ProvisionInfo(descriptor(WorkloadSpec(name=name), dp=dp), ""))


def _arns(h: object, principal: Principal) -> list[str]:
    document = h.iam.policies.get((principal, POLICY_NAME))  # type: ignore[attr-defined]
    return [] if document is None else list(json.loads(document)["Statement"][0]["Resource"])


def _arn(dp: str) -> str:
    return f"arn:aws:airflow:us-east-1:123456789012:role/env/{dp}-viewer"


def test_one_policy_per_principal_lists_every_role_granted_to_it(tmp_path: Path) -> None:
    with harness(tmp_path, (ALICE, ENG), **SETTINGS) as h:
        answer = h.parts.access.update(_grant(["user:alice_example.com", "group:eng"], dp="invoices"))
        assert answer.status == "COMPLETED"
        h.parts.access.update(_grant(["user:alice_example.com"], dp="ledger"))
        assert _arns(h, ALICE) == [_arn("invoices"), _arn("ledger")]
        assert _arns(h, ENG) == [_arn("invoices")]
        assert {name for (_, name) in h.iam.policies} == {POLICY_NAME}


def test_refs_are_the_desired_set_and_a_revoke_keeps_what_another_workload_grants(tmp_path: Path) -> None:
    with harness(tmp_path, (ALICE, ENG), **SETTINGS) as h:
        h.parts.access.update(_grant(["user:alice_example.com", "group:eng"], name="a"))
        h.parts.access.update(_grant(["user:alice_example.com"], name="b"))
        revoked = h.parts.access.update(_grant([], name="a"))
        assert any("another workload grants it" in log.message for log in revoked.logs)  # type: ignore[union-attr]
        assert _arns(h, ALICE) == [_arn("invoices")]  # b still grants it
        assert _arns(h, ENG) == []
        assert (ENG, POLICY_NAME) not in h.iam.policies


def test_an_unknown_ref_is_refused_by_index_and_nothing_is_written(tmp_path: Path) -> None:
    with harness(tmp_path, (ALICE,), **SETTINGS) as h:
        with pytest.raises(DescriptorInvalid) as refused:
            h.parts.access.update(_grant(["user:alice_example.com", "group:nosuch"]))
        assert refused.value.problems[0].field == "refs[1]"
        assert h.iam.policies == {}
        assert h.terraform.commands == []


def test_a_grant_past_the_configured_quota_is_refused_before_any_write(tmp_path: Path) -> None:
    with harness(tmp_path, (ALICE,), iam_inline_quota=(("user", 300),), **SETTINGS) as h:
        h.parts.access.update(_grant(["user:alice_example.com"], dp="dp1"))
        h.parts.access.update(_grant(["user:alice_example.com"], dp="dp2"))
        before = dict(h.iam.policies)
        with pytest.raises(DescriptorInvalid) as refused:
            h.parts.access.update(_grant(["user:alice_example.com"], dp="dp3"))
        problem = refused.value.problems[0]
        assert problem.field == "refs[0]"
        assert "over IAM's limit for a user of 300" in problem.message
        assert "group" in problem.message
        assert h.iam.policies == before


def test_its_other_inline_policies_count_towards_the_quota(tmp_path: Path) -> None:
    with harness(tmp_path, (ALICE,), **SETTINGS) as h:
        h.iam.policies[(ALICE, "organisation-baseline")] = "x" * 1900
        with pytest.raises(DescriptorInvalid) as refused:
            h.parts.access.update(_grant(["user:alice_example.com"]))
        assert "with 1,900 of its other inline policies" in refused.value.problems[0].message
