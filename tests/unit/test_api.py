"""The HTTP layer in process: routing, error mapping to the contract's shapes, limits.

The S3 endpoint is a closed loopback port, so nothing here reaches S3 or Terraform except the one
test that proves an unreachable endpoint is a SystemError.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.support.contract import assert_conforms
from tests.support.descriptors import WorkloadSpec, descriptor, request
from tests.support.shared import shared_path


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:  # type: ignore[type-arg]
    # create_app prepares the process environment for Terraform; keep that inside this test.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    settings = Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9", max_body_bytes=64 * 1024)
    with TestClient(app=create_app(settings)) as client:
        yield client


def _spec() -> Path:
    return shared_path("witboost", "interface-specification-2.2.0.yml")


def test_validate_reports_every_problem_as_a_validation_result(client: TestClient) -> None:  # type: ignore[type-arg]
    body = request(descriptor(WorkloadSpec(dag_name="x.sql", bucket="Nope")))
    response = client.post("/v1/validate", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    assert result["error"]["errors"] == [
        "dataProduct.components[0].specific.dagName: must end with .py (a DAG file) or .zip (a packaged DAG); "
        "Airflow loads nothing else",
        "dataProduct.components[0].specific.bucketName: must be 3-63 characters of lowercase letters, digits, "
        "'.' and '-', starting and ending with a letter or digit",
    ]
    assert_conforms(_spec(), "/v1/validate", "post", 200, result)


def test_malformed_body_on_validate_is_invalid_not_an_error(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/validate", content=b"{not json")
    assert response.status_code == 200
    assert response.json()["valid"] is False


def test_provision_rejects_bad_descriptor_with_request_validation_error(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/provision", json=request(descriptor(WorkloadSpec(dag_name="../../x"))))
    assert response.status_code == 400
    body = response.json()
    assert body["inputErrorField"] == "dataProduct.components[0].specific.dagName"
    assert body["moreInfo"]["solutions"]
    assert_conforms(_spec(), "/v1/provision", "post", 400, body)


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "needle"),
    [
        ("post", "/v1/provision", {"descriptor": 3}, 400, "descriptorKind"),
        (
            "post",
            "/v1/unprovision",
            {"descriptorKind": "DATAPRODUCT_DESCRIPTOR", "descriptor": "x"},
            400,
            "not supported",
        ),
        ("get", "/v1/provision/nope/status", None, 400, "unknown token"),
        ("get", "/v2/validate/nope/status", None, 400, "unknown token"),
        (
            "post",
            "/v1/updateacl",
            {"refs": [], "provisionInfo": {"request": "", "result": ""}},
            400,
            '"inputErrorField":"provisionInfo.request"',
        ),
        (
            "post",
            "/v1/updateacl",
            {"refs": [], "provisionInfo": {"request": "dataProduct: {}", "result": ""}},
            500,
            "MWAA_SP_MWAA_ENVIRONMENT",
        ),
        (
            "post",
            "/v1/reverse-provisioning",
            {"useCaseTemplateId": "x", "environment": "dev"},
            400,
            '"inputErrorField":"params"',
        ),
        (
            "post",
            "/v1/reverse-provisioning",
            {"useCaseTemplateId": "x", "environment": "dev", "params": {"bucketName": "A_B", "dagKey": "../x.sql"}},
            400,
            "params.bucketName",
        ),
        ("get", "/v1/reverse-provisioning/nope/status", None, 400, "unknown token"),
    ],
)
def test_error_mapping(
    client: TestClient,  # type: ignore[type-arg]
    method: str,
    path: str,
    payload: object,
    status: int,
    needle: str,
) -> None:
    response = client.request(method.upper(), path, json=payload)
    assert response.status_code == status, response.text
    assert needle in response.text
    template = path.replace("/nope/", "/{token}/")
    assert_conforms(_spec(), template, method, status, response.json())


def test_oversized_body_is_refused_in_the_contract_shape(client: TestClient) -> None:  # type: ignore[type-arg]
    huge = request("x" * (128 * 1024))
    response = client.post("/v1/provision", json=huge)
    assert response.status_code == 400
    assert "too large" in response.json()["userMessage"]


def test_unreachable_s3_is_a_system_error(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/validate", json=request(descriptor(WorkloadSpec())))
    assert response.status_code == 500
    assert "unreachable" in response.json()["error"]


def test_health_and_docs(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/swagger/openapi.json").json()["paths"]["/v1/provision"]


def test_bearer_tokens_guard_everything_but_health(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))
    settings = Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9", api_tokens=("tok-one", "tok-two"))
    body = request(descriptor(WorkloadSpec(dag_name="x.sql")))
    with TestClient(app=create_app(settings)) as client, caplog.at_level("INFO", logger="mwaa_sp.http"):
        assert client.get("/health").status_code == 200
        missing = client.post("/v1/validate", json=body)
        assert missing.status_code == 401
        assert missing.json()["inputErrorField"] == "Authorization"
        wrong = client.post("/v1/validate", json=body, headers={"Authorization": "Bearer tok-three"})
        assert wrong.status_code == 401
        assert client.get("/workloads", headers={"Authorization": "Basic tok-one"}).status_code == 401
        right = client.post("/v1/validate", json=body, headers={"Authorization": "Bearer tok-two"})
        assert right.status_code == 200
        assert right.json()["valid"] is False
        assert len(right.headers["x-request-id"]) == 12
    lines = [r for r in caplog.records if r.name == "mwaa_sp.http"]
    assert [(r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("GET", "/health", 200),
        ("POST", "/v1/validate", 401),
        ("POST", "/v1/validate", 401),
        ("GET", "/workloads", 401),
        ("POST", "/v1/validate", 200),
    ]
    assert "tok-two" not in caplog.text
    assert "tok-three" not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://testserver"},
    ],
)
def test_another_sites_page_cannot_post_to_the_api(
    client: TestClient,  # type: ignore[type-arg]
    headers: dict[str, str],
) -> None:
    # A text/plain form body is the JSON our parser reads: only the origin check stands in the way.
    forged = client.post(
        "/drift-runs", content=b'{"reconcile": true}', headers=headers | {"Content-Type": "text/plain"}
    )
    assert forged.status_code == 403
    assert forged.json()["inputErrorField"] == "Origin"
    assert client.get("/drift-runs/unknown").status_code != 403  # reads are not refused


@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver.local"}, {"Sec-Fetch-Site": "none"}],
)
def test_clients_and_same_origin_pages_still_post(
    client: TestClient,  # type: ignore[type-arg]
    headers: dict[str, str],
) -> None:
    headers = headers | {"Host": "testserver.local"}
    response = client.post("/v1/validate", content=b"{not json", headers=headers)
    assert response.status_code == 200, response.text
