"""Property-based hostile input: whatever the descriptor, the answer is the contract's error shape
(never a traceback), it names a field, and nothing is written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.support.contract import assert_conforms
from tests.support.descriptors import WorkloadSpec, descriptor, request
from tests.support.shared import shared_path

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["../../x", "/etc/passwd", '${file("/etc/passwd")}', "%{ if true }", "a\nb", "\x00", "é" * 300]),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
FIELDS = ("dagName", "scheduleCron", "sourcePath", "destinationPath", "bucketName")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    saved = dict(os.environ)
    data = tmp_path_factory.mktemp("hostile")
    try:
        # Nothing may reach S3 or Terraform: the endpoint is a closed port, so a write would fail loudly.
        app = create_app(Settings(data_dir=data, s3_endpoint="http://127.0.0.1:9"))
        with TestClient(app=app) as test_client:
            test_client.app.state["data"] = data
            yield test_client
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _post(client: TestClient, body: Any) -> Any:  # type: ignore[type-arg]
    return client.post("/v1/provision", content=json.dumps(body).encode())


def _assert_rejected(client: TestClient, body: Any, response: Any = None) -> dict[str, Any]:  # type: ignore[type-arg]
    response = response or _post(client, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["errors"]
    assert answer["moreInfo"]["solutions"]
    assert_conforms(shared_path("witboost", "interface-specification-2.2.0.yml"), "/v1/provision", "post", 400, answer)
    assert not (client.app.state["data"] / "workloads").exists()
    return dict(answer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=TREES)
def test_any_yaml_document_is_rejected_cleanly(client: TestClient, tree: Any) -> None:  # type: ignore[type-arg]
    _assert_rejected(client, request(yaml.safe_dump(tree)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_is_rejected_cleanly(client: TestClient, text: str) -> None:  # type: ignore[type-arg]
    _assert_rejected(client, request(text))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=TREES)
def test_a_wrong_value_at_any_field_is_named(client: TestClient, field: str, value: Any) -> None:  # type: ignore[type-arg]
    document = yaml.safe_load(descriptor(WorkloadSpec()))
    document["dataProduct"]["components"][0]["specific"][field] = value
    valid_string = isinstance(value, str) and value in {"my_dag.py", "5 5 * * *", "source/", "dags/", "mwaa-bucket"}
    if valid_string:
        return
    try:
        text = yaml.safe_dump(document)
    except yaml.YAMLError:
        return
    response = _post(client, request(text))
    if response.status_code == 500:
        # A value that passes every rule reaches S3 (a closed port here): a SystemError, not a crash.
        assert "S3" in response.json()["error"]
        return
    answer = _assert_rejected(client, request(text), response)
    assert f"dataProduct.components[0].specific.{field}" in " ".join(answer["errors"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=TREES)
def test_any_json_body_is_rejected_cleanly(client: TestClient, body: Any) -> None:  # type: ignore[type-arg]
    if isinstance(body, dict) and isinstance(body.get("descriptor"), str):
        return
    _assert_rejected(client, body)
