"""updateacl through real Terraform against moto's IAM and STS: grants checked through each
principal's effective IAM permissions (its inline policies and its groups'), the desired-set
semantics, an unknown ref refused with nothing changed, one policy per principal within IAM's quotas
(asserted on the documents, since moto enforces none) for 12 data products per user and 50 per group,
a grant past a configured quota refused, concurrent grants to one principal all kept, the earlier
layout's policies retired across an upgrade, unprovision revoking, and refs mapped to IAM roles with
a per-data-product Airflow role."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.support.contract import assert_conforms
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.mwaa_double import MwaaDouble

pytestmark = pytest.mark.e2e
# These tests are about updateacl: the post-deploy Airflow check (on by default with an environment)
# has its own tests (test_airflow_loop.py), so it is off here (MWAA_SP_AIRFLOW_CHECK=off).
ACCOUNT = "123456789012"  # moto's


def _iam(endpoint: str) -> Any:
    return boto3.client(
        "iam", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )


def _documents(iam: Any, kind: str, name: str) -> list[dict[str, Any]]:
    list_call, get_call = {
        "user": (iam.list_user_policies, iam.get_user_policy),
        "group": (iam.list_group_policies, iam.get_group_policy),
        "role": (iam.list_role_policies, iam.get_role_policy),
    }[kind]
    key = {"user": "UserName", "group": "GroupName", "role": "RoleName"}[kind]
    names = list_call(**{key: name})["PolicyNames"]
    return [get_call(**{key: name, "PolicyName": n})["PolicyDocument"] for n in names]


def may_sign_in(iam: Any, kind: str, name: str, arn: str) -> bool:
    """The principal's effective permission (moto has no policy simulator): its own inline policies
    and, for a user, those of its groups."""
    documents = _documents(iam, kind, name)
    if kind == "user":
        for group in iam.list_groups_for_user(UserName=name)["Groups"]:
            documents += _documents(iam, "group", group["GroupName"])
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if statement["Effect"] == "Allow" and "airflow:CreateWebLoginToken" in actions and arn in resources:
                return True
    return False


def _acl(url: str, refs: list[str], spec: WorkloadSpec) -> httpx.Response:
    body = {"refs": refs, "provisionInfo": {"request": descriptor(spec), "result": ""}}
    return httpx.post(f"{url}/v1/updateacl", json=body, timeout=300)


def test_updateacl_grants_revokes_and_scales(service_factory: Any, s3: Any, moto_endpoint: str) -> None:
    from tests.support.shared import shared_path

    contract = shared_path("witboost", "interface-specification-2.2.0.yml")
    iam = _iam(moto_endpoint)
    tag = uuid.uuid4().hex[:6]
    alice, bob, carol, group = (
        f"alice{tag}@example.com",
        f"bob{tag}@example.com",
        f"carol{tag}@example.com",
        f"eng{tag}",
    )
    for user in (alice, bob, carol):
        iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=bob)
    environment = f"analytics-{tag}"
    arn = f"arn:aws:airflow:us-east-1:{ACCOUNT}:role/{environment}/Viewer"
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    # The environment's source bucket cannot be read here (no MWAA endpoint): the operator names it.
    service = service_factory(mwaa_environment=environment, allowed_buckets=bucket, airflow_check="off")
    s3.create_bucket(Bucket=bucket)
    first = WorkloadSpec(name=f"w1-{tag}", dag_name="w1.py", bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(first), Body=b"x = 1\n")
    assert httpx.post(f"{service.url}/v1/provision", json=request(descriptor(first)), timeout=300).status_code == 200
    alice_ref, carol_ref = f"user:{alice.replace('@', '_')}", f"user:{carol.replace('@', '_')}"

    granted = _acl(service.url, [alice_ref, f"group:{group}"], first)
    assert granted.status_code == 200, granted.text
    assert_conforms(contract, "/v1/updateacl", "post", 200, granted.json())
    assert granted.json()["status"] == "COMPLETED"
    assert granted.json()["info"]["privateInfo"]["roleArn"] == arn
    assert granted.json()["info"]["publicInfo"]["airflowAccess"]["value"] == f"group:{group}, user:{alice}"
    assert may_sign_in(iam, "user", alice, arn)
    assert may_sign_in(iam, "user", bob, arn)  # through the group
    assert not may_sign_in(iam, "user", carol, arn)

    # refs is the desired set: alice is revoked.
    assert _acl(service.url, [f"group:{group}", carol_ref], first).status_code == 200
    assert not may_sign_in(iam, "user", alice, arn)
    assert may_sign_in(iam, "user", bob, arn)
    assert may_sign_in(iam, "user", carol, arn)

    # An unknown ref is refused by name, and nothing changes.
    refused = _acl(service.url, ["user:nobody_example.com", f"group:{group}"], first)
    assert refused.status_code == 400
    assert refused.json()["inputErrorField"] == "refs[0]"
    assert "IAM user 'nobody@example.com', which does not exist" in refused.text
    assert may_sign_in(iam, "user", carol, arn)

    # 25 workloads grant alice: one inline policy (IAM's quotas count Airflow roles, not workloads).
    others = [WorkloadSpec(name=f"w{i}-{tag}", dag_name=f"w{i}.py", bucket=bucket) for i in range(2, 27)]
    for spec in others:
        assert _acl(service.url, [alice_ref], spec).status_code == 200
    documents = _documents(iam, "user", alice)
    assert len(documents) == 1
    assert sum(len(json.dumps(d, separators=(",", ":"))) for d in documents) < 2048  # inline user quota
    assert len(iam.list_attached_user_policies(UserName=alice)["AttachedPolicies"]) == 0  # no managed quota used

    # A grant deleted behind Terraform's back leaves the state (Read finds it gone) and comes back.
    [policy_name] = iam.list_user_policies(UserName=alice)["PolicyNames"]
    iam.delete_user_policy(UserName=alice, PolicyName=policy_name)
    assert not may_sign_in(iam, "user", alice, arn)
    assert _acl(service.url, [alice_ref], others[1]).json()["info"]["privateInfo"]["planId"]
    assert may_sign_in(iam, "user", alice, arn)

    # Revoking alice on one workload leaves the other 24 grants in place.
    revoked = _acl(service.url, [], others[0])
    assert revoked.status_code == 200
    assert any("another workload grants it" in e["message"] for e in revoked.json()["logs"])
    assert may_sign_in(iam, "user", alice, arn)

    # Unprovision revokes the workload's grants: the group and carol had them from w1 only.
    removed = httpx.post(f"{service.url}/v1/unprovision", json=request(descriptor(first)), timeout=300)
    assert removed.status_code == 200, removed.text
    assert not may_sign_in(iam, "user", bob, arn)
    assert not may_sign_in(iam, "user", carol, arn)
    assert may_sign_in(iam, "user", alice, arn)


def test_refs_mapped_to_roles_with_a_per_data_product_airflow_role(service_factory: Any, moto_endpoint: str) -> None:
    iam = _iam(moto_endpoint)
    tag = uuid.uuid4().hex[:6]
    role = f"AWSReservedSSO_analysts{tag}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sso.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    environment = f"sso-{tag}"
    service = service_factory(
        mwaa_environment=environment,
        airflow_check="off",
        acl_group_principal="role:AWSReservedSSO_{group}",
        acl_airflow_role="{domain}-{data_product}-viewer",
    )
    spec = WorkloadSpec(name=f"w-{tag}", dag_name="w.py", bucket="mwaa-unused")
    answer = _acl(service.url, [f"group:analysts{tag}"], spec)
    assert answer.status_code == 200, answer.text
    arn = f"arn:aws:airflow:us-east-1:{ACCOUNT}:role/{environment}/finance-invoices-viewer"
    assert may_sign_in(iam, "role", role, arn)
    unmapped = _acl(service.url, ["group:nosuch"], spec)
    assert unmapped.status_code == 400
    assert "IAM role 'AWSReservedSSO_nosuch', which does not exist" in unmapped.text


def test_provision_links_the_dag_in_the_airflow_ui(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    # GetEnvironment only (the check is off): the Airflow behind the double is never asked.
    airflow_url = "http://prod-env.airflow.example.test"
    with MwaaDouble("prod-env", airflow_url, "3.1.8", s3, bucket, tmp_path / "dags") as double:
        service = service_factory(
            mwaa_environment="prod-env", airflow_check="off", env_extra={"AWS_ENDPOINT_URL_MWAA": double.url}
        )
        s3.create_bucket(Bucket=bucket)
        spec = WorkloadSpec(bucket=bucket)
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
        answer = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300).json()
        link = answer["info"]["publicInfo"]["airflowDagId"]
        assert link == {
            "type": "link",
            "label": "Airflow DAG id",
            "value": "finance_invoices_1_my_dag",
            "href": "https://prod-env.airflow.example.test/dags/finance_invoices_1_my_dag/grid",
        }
        # The environment's own source bucket is the default allow-list: another bucket is refused,
        # without a word on whether it exists.
        elsewhere = f"mwaa-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=elsewhere)
        other = WorkloadSpec(name="other", bucket=elsewhere)
        s3.put_object(Bucket=elsewhere, Key=staged_key(other), Body=b"x = 1\n")
        validated = httpx.post(f"{service.url}/v1/validate", json=request(descriptor(other)), timeout=60).json()
        assert validated == {
            "valid": False,
            "error": {
                "errors": [
                    f"dataProduct.components[0].specific.bucketName: bucket '{elsewhere}' is not a bucket this "
                    "service deploys to (MWAA_SP_ALLOWED_BUCKETS)"
                ]
            },
        }
        assert double.invoked == []


def _characters(document: dict[str, Any]) -> int:
    """A policy's size as IAM counts it: characters without whitespace (moto hands back the document)."""
    return len("".join(json.dumps(document).split()))


def test_a_role_per_data_product_fits_iams_quotas_and_a_grant_past_one_is_refused(
    service_factory: Any, moto_endpoint: str, tmp_path: Any
) -> None:
    iam = _iam(moto_endpoint)
    tag = uuid.uuid4().hex[:6]
    user, group = f"dana{tag}@example.com", f"analysts{tag}"
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    environment = f"quota-{tag}"
    settings = {"mwaa_environment": environment, "acl_airflow_role": "{data_product}-viewer", "airflow_check": "off"}
    data = tmp_path / "quota-data"
    service = service_factory(data_dir=data, **settings)
    user_ref, group_ref = f"user:{user.replace('@', '_')}", f"group:{group}"

    def grant(url: str, refs: list[str], dp: int) -> httpx.Response:
        where = {"dp": f"dp{dp:02d}"}
        spec = WorkloadSpec(name="w", dag_name="w.py", bucket="mwaa-unused")
        body = {"refs": refs, "provisionInfo": {"request": descriptor(spec, **where), "result": ""}}
        return httpx.post(f"{url}/v1/updateacl", json=body, timeout=300)

    def arn(dp: int) -> str:
        return f"arn:aws:airflow:us-east-1:{ACCOUNT}:role/{environment}/dp{dp:02d}-viewer"

    # 12 data products, each with its own Airflow role, granted to one user and one group; the group
    # gets 38 more (50 in all).
    for dp in range(1, 13):
        answer = grant(service.url, [user_ref, group_ref], dp)
        assert answer.status_code == 200, answer.text
    for dp in range(13, 51):
        assert grant(service.url, [group_ref], dp).status_code == 200
    assert all(may_sign_in(iam, "user", user, arn(dp)) for dp in range(1, 13))
    assert all(may_sign_in(iam, "group", group, arn(dp)) for dp in range(1, 51))
    # What IAM would count (moto counts nothing): each principal's inline policies in all, and no
    # managed policy attached.
    [user_document] = _documents(iam, "user", user)
    [group_document] = _documents(iam, "group", group)
    assert _characters(user_document) <= 2048
    assert _characters(group_document) <= 5120
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []

    # An organisation that keeps room for its own inline policies configures a lower quota: the
    # user's 13th data product would cross it, and is refused by ref, figure and limit, with nothing
    # written.
    service.stop()
    limit = _characters(user_document) + 40  # an ARN more does not fit
    lower = service_factory(data_dir=data, iam_inline_quota=f"user={limit}", **settings)
    refused = grant(lower.url, [group_ref, user_ref], 13)
    assert refused.status_code == 400, refused.text
    assert refused.json()["inputErrorField"] == "refs[1]"
    assert f"the user '{user}' would hold" in refused.text
    assert f"over IAM's limit for a user of {limit:,}" in refused.text
    assert "grant the Airflow roles to a group the user belongs to instead" in refused.text
    assert _documents(iam, "user", user) == [user_document]
    assert not may_sign_in(iam, "user", user, arn(13))
    # Within the quota, the same service grants: refs[] that fit are not held back by the lower limit.
    assert grant(lower.url, [group_ref], 51).status_code == 200
    assert may_sign_in(iam, "group", group, arn(51))


EARLIER_LAYOUT = "2c973bbecea351eb06319cf9d907c3c2daea5664"
"""The release whose updateacl wrote one inline policy per (principal, Airflow role)."""


def _earlier_release(where: Any) -> Any:
    """That release's tree, from this clone's history (a tarball of the project has none: skipped)."""
    import subprocess

    from tests.support.processes import REPO

    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(REPO), "archive", EARLIER_LAYOUT, "service"],  # noqa: S607
        capture_output=True,
    )
    if archive.returncode != 0:
        pytest.skip(f"the earlier release {EARLIER_LAYOUT[:7]} is not in this checkout's history")
    where.mkdir()
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)  # noqa: S603, S607
    return where


def test_the_earlier_layouts_policies_are_retired_without_a_gap(
    service_factory: Any, moto_endpoint: str, tmp_path: Any
) -> None:
    """Grants made by the release with one policy per (principal, role) survive the upgrade: each
    workload's next updateacl moves them into the principal's one policy, a policy another workload's
    earlier state still holds stays until that workload moves too, and no sign-in is lost between."""
    iam = _iam(moto_endpoint)
    tag = uuid.uuid4().hex[:6]
    user = f"erin{tag}@example.com"
    iam.create_user(UserName=user)
    ref = f"user:{user.replace('@', '_')}"
    settings = {
        "mwaa_environment": f"upgrade-{tag}",
        "acl_airflow_role": "{data_product}-viewer",
        "airflow_check": "off",
    }
    data = tmp_path / "upgrade-data"
    arn = {dp: f"arn:aws:airflow:us-east-1:{ACCOUNT}:role/upgrade-{tag}/{dp}-viewer" for dp in ("sales", "hr")}

    def grant(url: str, refs: list[str], name: str, dp: str) -> None:
        spec = WorkloadSpec(name=name, dag_name=f"{name}.py", bucket="mwaa-unused")
        body = {"refs": refs, "provisionInfo": {"request": descriptor(spec, dp=dp), "result": ""}}
        answer = httpx.post(f"{url}/v1/updateacl", json=body, timeout=300)
        assert answer.status_code == 200, answer.text

    def policies() -> set[str]:
        return set(iam.list_user_policies(UserName=user)["PolicyNames"])

    earlier = service_factory(data_dir=data, source=_earlier_release(tmp_path / "earlier"), **settings)
    grant(earlier.url, [ref], "a", "sales")
    grant(earlier.url, [ref], "b", "sales")  # the same policy, in a's state and in b's
    grant(earlier.url, [ref], "c", "hr")
    legacy = policies()
    assert len(legacy) == 2
    assert "mwaa-sp-airflow" not in legacy
    earlier.stop()

    now = service_factory(data_dir=data, **settings)
    grant(now.url, [ref], "a", "sales")  # b's state still holds the sales policy: it stays
    assert policies() == legacy | {"mwaa-sp-airflow"}
    assert all(may_sign_in(iam, "user", user, a) for a in arn.values())
    grant(now.url, [], "b", "sales")  # b revokes; a still grants sales in the new policy
    assert len(policies()) == 2
    assert all(may_sign_in(iam, "user", user, a) for a in arn.values())
    grant(now.url, [ref], "c", "hr")
    assert policies() == {"mwaa-sp-airflow"}
    assert all(may_sign_in(iam, "user", user, a) for a in arn.values())
    grant(now.url, [], "a", "sales")
    assert may_sign_in(iam, "user", user, arn["hr"])
    assert not may_sign_in(iam, "user", user, arn["sales"])


def test_workloads_granting_one_principal_at_once_all_land_in_its_one_policy(
    service_factory: Any, moto_endpoint: str
) -> None:
    """Six data products grant one group at the same moment: the group's document is serialised by
    its door, so none of the six read-modify-writes loses another's ARN."""
    from concurrent.futures import ThreadPoolExecutor

    iam = _iam(moto_endpoint)
    tag = uuid.uuid4().hex[:6]
    group = f"ops{tag}"
    iam.create_group(GroupName=group)
    environment = f"race-{tag}"
    service = service_factory(
        mwaa_environment=environment, acl_airflow_role="{data_product}-viewer", airflow_check="off"
    )

    def grant(dp: str) -> int:
        spec = WorkloadSpec(name="w", dag_name="w.py", bucket="mwaa-unused")
        body = {"refs": [f"group:{group}"], "provisionInfo": {"request": descriptor(spec, dp=dp), "result": ""}}
        return httpx.post(f"{service.url}/v1/updateacl", json=body, timeout=300).status_code

    products = [f"dp{i}" for i in range(6)]
    with ThreadPoolExecutor(len(products)) as pool:
        assert list(pool.map(grant, products)) == [200] * len(products)
    [document] = _documents(iam, "group", group)
    [statement] = document["Statement"]
    prefix = f"arn:aws:airflow:us-east-1:{ACCOUNT}:role/{environment}/"
    assert sorted(statement["Resource"]) == [f"{prefix}{dp}-viewer" for dp in products]
