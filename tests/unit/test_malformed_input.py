"""Malformed input never answers 500: JSON nested past any bound, numbers of thousands of digits,
lone surrogates, NaN, invalid UTF-8, YAML values its constructors cannot build (``2001-13-45``) —
every POST answers the contract's 400 naming ``body`` or the field (``/v1/validate``: ``valid:
false``), and an async validation of any of them ends."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from service.app import create_app
from service.contract import json_input as bounded_json
from service.domain import safe_yaml
from service.errors import RequestInvalid
from service.settings import Settings
from tests.support.descriptors import WorkloadSpec, descriptor

PROVISIONING = "COMPONENT_DESCRIPTOR"


def _request(descriptor_json: str) -> bytes:
    return f'{{"descriptorKind": "{PROVISIONING}", "descriptor": {descriptor_json}, "removeData": false}}'.encode()


# Bodies no JSON parser should turn into a 500 (each is one raw body).
HOSTILE_BODIES = st.one_of(
    st.integers(33, 20_000).map(lambda n: _request("[" * n + "]" * n)),
    st.integers(33, 20_000).map(lambda n: ('{"descriptor": ' + '{"a": ' * n + "1" + "}" * n + "}").encode()),
    st.integers(65, 20_000).map(lambda n: _request("1" + "0" * n)),
    st.integers(65, 5_000).map(lambda n: _request("1." + "5" * n + "e99999")),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]).map(_request),
    st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\ud83d"']).map(_request),
    st.sampled_from(['{"\\ud800": 1}']).map(lambda v: f'{{"descriptor": "x", "params": {v}}}'.encode()),
    st.binary(min_size=1, max_size=40).map(lambda b: b'{"descriptor": "' + b"\xff\xfe" + b + b'"}'),
)

# YAML values whose safe constructors raise from inside PyYAML (ValueError, AttributeError…).
BAD_SCALARS = st.one_of(
    st.tuples(st.integers(2000, 2100), st.integers(13, 99), st.integers(32, 99)).map(lambda t: f"{t[0]}-{t[1]}-{t[2]}"),
    st.integers(4_400, 8_000).map(lambda n: "9" * n),
    st.sampled_from(
        ["!!timestamp x", "!!float x", "!!int x", "!!binary 'A'", "!!bool maybe", "!!timestamp 2001-02-30"]
    ),
)


def _descriptor_with(value: str) -> str:
    text = descriptor(WorkloadSpec())
    return text.replace("  kind: dataproduct\n", f"  kind: dataproduct\n  createdAt: {value}\n")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    saved = dict(os.environ)
    try:
        # Nothing may reach S3 or Terraform: the endpoint is a closed port.
        app = create_app(Settings(data_dir=tmp_path_factory.mktemp("malformed"), s3_endpoint="http://127.0.0.1:9"))
        with TestClient(app=app) as test_client:
            yield test_client
    finally:
        os.environ.clear()
        os.environ.update(saved)


POSTS = [
    "/v1/provision",
    "/v1/unprovision",
    "/v1/updateacl",
    "/v1/reverse-provisioning",
    "/workloads/plan",
    "/drift-runs",
]


def _assert_everywhere_refused(client: TestClient, raw: bytes) -> None:  # type: ignore[type-arg]
    validated = client.post("/v1/validate", content=raw)
    assert validated.status_code == 200, validated.text
    assert validated.json()["valid"] is False
    for path in POSTS:
        answer = client.post(path, content=raw)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["errors"], path
    started = client.post("/v2/validate", content=raw)
    assert started.status_code == 202, started.text
    token = started.json()
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"/v2/validate/{token}/status").json()
        if status["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, "an async validation of a malformed body stayed RUNNING"
        time.sleep(0.05)
    assert status["status"] == "COMPLETED", status
    assert status["info"]["publicInfo"]["valid"] is False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=HOSTILE_BODIES)
def test_hostile_json_bodies_are_refused_everywhere(client: TestClient, raw: bytes) -> None:  # type: ignore[type-arg]
    _assert_everywhere_refused(client, raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=BAD_SCALARS)
def test_yaml_values_that_cannot_be_built_are_named(client: TestClient, value: str) -> None:  # type: ignore[type-arg]
    raw = _request(json.dumps(_descriptor_with(value)))
    validated = client.post("/v1/validate", content=raw).json()
    assert validated["valid"] is False
    [error] = validated["error"]["errors"]
    assert error.startswith("descriptor: not valid YAML: "), error
    assert error.endswith("(line 6)"), error  # createdAt is the descriptor's sixth line
    refused = client.post("/v1/provision", content=raw)
    assert refused.status_code == 400
    assert refused.json()["inputErrorField"] == "descriptor"


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        # The body is level 1, its descriptor array level 2: the 33rd level is the descriptor's 31st array.
        (_request("[" * 40 + "]" * 40), "descriptor" + "[0]" * 31, "nesting deeper than 32 levels"),
        (_request("[" * 5000 + "]" * 5000), "body", "nesting deeper than 32 levels"),
        (_request("9" * 5000), "body", "a number of more than 64 characters"),
        (_request("NaN"), "body", "NaN is not JSON"),
        (_request("1e999"), "body", "the number 1e999 is out of range"),
        (_request('"\\ud800"'), "descriptor", "lone UTF-16 surrogate"),
        (b'{"descriptor": "\xff"}', "body", "not UTF-8 text"),
        (b"{", "body", "not valid JSON"),
    ],
)
def test_each_bound_names_what_broke_it(raw: bytes, field: str, says: str) -> None:
    with pytest.raises(RequestInvalid) as refused:
        bounded_json.loads(raw)
    [problem] = refused.value.problems
    assert problem.field == field
    assert says in problem.message


def test_bounds_are_exact() -> None:
    within = _request("[" * 31 + "]" * 31)  # the body is level 1, its descriptor 31 more: 32 in all
    assert bounded_json.loads(within)["descriptor"] is not None
    with pytest.raises(RequestInvalid, match="acceptable JSON"):
        bounded_json.loads(_request("[" * 32 + "]" * 32))
    assert bounded_json.loads(_request("1" * 64))["descriptor"] == int("1" * 64)
    with pytest.raises(RequestInvalid):
        bounded_json.loads(_request("1" * 65))


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=30,
    )
)
def test_any_json_value_within_the_bounds_reads_back_as_itself(value: Any) -> None:
    text = json.dumps(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates: refused by design, covered above
    try:
        parsed = bounded_json.loads(text.encode())
    except RequestInvalid as refused:
        why = refused.problems[0].message
    else:
        assert parsed == value
        return
    assert why.startswith(("nesting deeper", "a number of more than", "contains a lone"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_yaml_or_a_named_refusal(text: str) -> None:
    try:
        safe_yaml.load(text, "descriptor", 10_000)
    except safe_yaml.YamlRejected as refused:
        field = refused.problem.field
    else:
        return
    assert field == "descriptor"
