"""updateacl through real Terraform against moto's IAM and STS: grants checked through each
principal's effective IAM permissions (its inline policies and its groups'), the desired-set
semantics, an unknown ref refused with nothing changed, 25 workloads granting one user within IAM's
quotas, revocation that leaves other workloads' grants alone, unprovision revoking, and refs mapped
to IAM roles with a per-data-product Airflow role."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from typing import Any

import boto3
import httpx
import pytest

from tests.support.contract import assert_conforms
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

pytestmark = pytest.mark.e2e
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
    from tests.conftest import shared_path

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
    service = service_factory(mwaa_environment=environment, allowed_buckets=bucket)
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


class _Mwaa(http.server.BaseHTTPRequestHandler):
    """MWAA's GetEnvironment (``GET /environments/{Name}``) on loopback: moto has no MWAA service."""

    source_bucket = "mwaa-env-bucket"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        name = self.path.rsplit("/", 1)[-1]
        environment = {
            "Name": name,
            "WebserverUrl": f"{name}.airflow.example.test",
            "SourceBucketArn": f"arn:aws:s3:::{self.source_bucket}",
        }
        body = json.dumps({"Environment": environment}).encode()
        self.send_response(200 if self.path.startswith("/environments/") else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_provision_links_the_dag_in_the_airflow_ui(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    handler = type("Mwaa", (_Mwaa,), {"source_bucket": bucket})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        service = service_factory(mwaa_environment="prod-env", env_extra={"AWS_ENDPOINT_URL_MWAA": endpoint})
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
    finally:
        server.shutdown()
        server.server_close()
