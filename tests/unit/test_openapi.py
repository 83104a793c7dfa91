"""The served /swagger/openapi.json: the official Witboost contract operation by operation and schema
by schema, typed platform-engineer endpoints, and the service's real answers fitting it.

The comparison returns every difference it finds; the mutation tests prove each kind of difference
is found, so a passing comparison means something.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.support.contract import load_spec
from tests.support.descriptors import WorkloadSpec, descriptor, request
from tests.support.shared import shared_path

Doc = dict[str, Any]
MAX_BODY = 64 * 1024


def _client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:  # type: ignore[type-arg]
    # create_app prepares the process environment for Terraform; keep that inside the test.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    settings = Settings(data_dir=data_dir, s3_endpoint="http://127.0.0.1:9", max_body_bytes=MAX_BODY)
    return TestClient(app=create_app(settings))


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with _client(tmp_path, monkeypatch) as client:
        yield client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Doc:
    """The document as served, fetched once: every test here only reads it (mutations copy it)."""
    with pytest.MonkeyPatch.context() as monkeypatch, _client(tmp_path_factory.mktemp("doc"), monkeypatch) as client:
        response = client.get("/swagger/openapi.json")
    assert response.status_code == 200
    document: Doc = response.json()
    return document


@pytest.fixture
def contract() -> Doc:
    return load_spec(shared_path("witboost", "interface-specification-2.2.0.yml"))


# -- comparing schemas --------------------------------------------------------------------------


def _resolve(doc: Doc, schema: Doc) -> tuple[str | None, Doc]:
    """(the component it names, if any; the schema itself), through ``$ref`` and the one-member
    ``oneOf`` Litestar writes for a field left out when absent (``X | UnsetType``)."""
    name = None
    while True:
        if len(schema.get("oneOf", [])) == 1:
            schema = schema["oneOf"][0]
        elif "$ref" in schema:
            ref = schema["$ref"].rsplit("/", 1)[-1]
            name = name or ref
            schema = doc["components"]["schemas"][ref]
        else:
            return name, schema


def _shape_differences(served: Doc, ours: Doc, contract: Doc, theirs: Doc, where: str) -> list[str]:
    our_name, mine = _resolve(served, ours)
    their_name, spec = _resolve(contract, theirs)
    found = []
    if their_name and our_name != their_name:
        found.append(f"{where}: schema {our_name!r}, the contract's {their_name!r}")
    if "type" in spec and mine.get("type") != spec["type"]:
        found.append(f"{where}: type {mine.get('type')!r}, the contract's {spec['type']!r}")
    if "enum" in spec and sorted(mine.get("enum", [])) != sorted(spec["enum"]):
        found.append(f"{where}: enum {mine.get('enum')}, the contract's {spec['enum']}")
    if "format" in spec and mine.get("format") != spec["format"]:
        found.append(f"{where}: format {mine.get('format')!r}, the contract's {spec['format']!r}")
    if "properties" in spec:
        ours_props, theirs_props = mine.get("properties", {}), spec["properties"]
        if set(ours_props) != set(theirs_props):
            found.append(f"{where}: properties {sorted(ours_props)}, the contract's {sorted(theirs_props)}")
        if set(mine.get("required", [])) != set(spec.get("required", [])):
            found.append(f"{where}: required {sorted(mine.get('required', []))}, the contract's {spec['required']}")
        for prop in sorted(set(ours_props) & set(theirs_props)):
            found += _shape_differences(served, ours_props[prop], contract, theirs_props[prop], f"{where}.{prop}")
    if "items" in spec:
        found += _shape_differences(served, mine.get("items", {}), contract, spec["items"], f"{where}[]")
    return found


def _content_differences(served: Doc, ours: Doc, contract: Doc, theirs: Doc, where: str) -> list[str]:
    ours_content, theirs_content = ours.get("content", {}), theirs.get("content", {})
    if set(ours_content) != set(theirs_content):
        return [f"{where}: media types {sorted(ours_content)}, the contract's {sorted(theirs_content)}"]
    found = []
    for media in theirs_content:
        found += _shape_differences(
            served, ours_content[media]["schema"], contract, theirs_content[media]["schema"], f"{where} {media}"
        )
    return found


def _operation_differences(served: Doc, ours: Doc, contract: Doc, theirs: Doc, where: str) -> list[str]:
    found = []
    if ours.get("operationId") != theirs["operationId"]:
        found.append(f"{where}: operationId {ours.get('operationId')!r}, the contract's {theirs['operationId']!r}")
    our_params = {(p["name"], p["in"], p.get("required", False)) for p in ours.get("parameters", [])}
    their_params = {(p["name"], p["in"], p.get("required", False)) for p in theirs.get("parameters", [])}
    if our_params != their_params:
        found.append(f"{where}: parameters {sorted(our_params)}, the contract's {sorted(their_params)}")
    our_body, their_body = ours.get("requestBody"), theirs.get("requestBody")
    if their_body is None and our_body is not None:
        found.append(f"{where}: documents a request body the contract does not")
    elif their_body is not None and our_body is None:
        found.append(f"{where}: no request body documented")
    elif their_body is not None and our_body is not None:
        if our_body.get("required") != their_body.get("required"):
            found.append(f"{where}: request body required={our_body.get('required')}")
        found += _content_differences(served, our_body, contract, their_body, f"{where} request")
    our_answers = ours.get("responses", {})
    their_answers = {str(status): answer for status, answer in theirs["responses"].items()}
    if set(our_answers) != set(their_answers):
        found.append(f"{where}: answers {sorted(our_answers)}, the contract's {sorted(their_answers)}")
    for status in sorted(set(our_answers) & set(their_answers)):
        found += _content_differences(served, our_answers[status], contract, their_answers[status], f"{where} {status}")
    return found


def differences(served: Doc, contract: Doc) -> list[str]:
    """Every way the served document departs from the contract on the contract's operations, and
    every operation documenting 201 (which the service never answers)."""
    found = []
    for path, operations in contract["paths"].items():
        for method, theirs in operations.items():
            ours = served["paths"].get(path, {}).get(method)
            if ours is None:
                found.append(f"{method.upper()} {path}: not in the served document")
            else:
                found += _operation_differences(served, ours, contract, theirs, f"{method.upper()} {path}")
    for path, operations in served["paths"].items():
        for method, ours in operations.items():
            if "201" in ours.get("responses", {}):
                found.append(f"{method.upper()} {path}: documents 201, which the service never answers")
    return found


def test_served_document_is_the_contract(served: Doc, contract: Doc) -> None:
    assert differences(served, contract) == []


def _swap_ref(doc: Doc, path: str, method: str, status: str, name: str) -> None:
    doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"] = {
        "$ref": f"#/components/schemas/{name}"
    }


MUTATIONS: dict[str, Callable[[Doc], None]] = {
    "an operation missing": lambda d: d["paths"].pop("/v1/reverse-provisioning/{token}/status"),
    "another operationId": lambda d: d["paths"]["/v1/provision"]["post"].update(operationId="deploy"),
    "a path parameter missing": lambda d: d["paths"]["/v1/provision/{token}/status"]["get"].pop("parameters"),
    "a request body missing": lambda d: d["paths"]["/v1/updateacl"]["post"].pop("requestBody"),
    "a request field dropped": lambda d: d["components"]["schemas"]["ProvisioningRequest"]["properties"].pop(
        "removeData"
    ),
    "a request field optional": lambda d: d["components"]["schemas"]["UpdateAclRequest"]["required"].remove("refs"),
    "a nested field dropped": lambda d: d["components"]["schemas"]["ErrorMoreInfo"]["properties"].pop("solutions"),
    "a response field required": lambda d: d["components"]["schemas"]["ValidationStatus"]["required"].append("info"),
    "an enum value dropped": lambda d: d["components"]["schemas"]["Log"]["properties"]["level"]["enum"].remove("DEBUG"),
    "a referenced enum changed": lambda d: d["components"]["schemas"]["DescriptorKind"]["enum"].pop(),
    "a format dropped": lambda d: d["components"]["schemas"]["Log"]["properties"]["timestamp"].pop("format"),
    "a type changed": lambda d: d["components"]["schemas"]["ValidationResult"]["properties"]["valid"].update(
        type="string"
    ),
    "another component": lambda d: _swap_ref(d, "/v1/provision", "post", "500", "RequestValidationError"),
    "a status code dropped": lambda d: d["paths"]["/v1/validate"]["post"]["responses"].pop("500"),
    "a status code added": lambda d: d["paths"]["/v1/validate"]["post"]["responses"].update(
        {"400": d["paths"]["/v1/provision"]["post"]["responses"]["400"]}
    ),
    "a 201 on a platform endpoint": lambda d: d["paths"]["/drift-runs"]["post"]["responses"].update(
        {"201": {"description": "Document created"}}
    ),
    "a media type changed": lambda d: d["paths"]["/v2/validate"]["post"]["responses"]["202"].update(
        content={"text/plain": {"schema": {"type": "string"}}}
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_comparison_finds_each_kind_of_difference(served: Doc, contract: Doc, mutation: str) -> None:
    changed = copy.deepcopy(served)
    MUTATIONS[mutation](changed)
    assert differences(changed, contract), f"{mutation} went unnoticed"


# -- the platform engineers' endpoints ------------------------------------------------------------


def _named(doc: Doc, schema: Doc) -> str:
    """``Workload``, ``[Workload]``, or the JSON type of an unnamed schema."""
    name, resolved = _resolve(doc, schema)
    if name:
        return name
    if resolved.get("type") == "array":
        return f"[{_named(doc, resolved['items'])}]"
    return str(resolved.get("type"))


def _answers(doc: Doc, operation: Doc) -> dict[str, str]:
    return {
        status: ", ".join(f"{media} {_named(doc, c['schema'])}" for media, c in answer.get("content", {}).items())
        for status, answer in operation["responses"].items()
    }


JSON = "application/json"
INVALID, UNKNOWN, BROKEN = f"{JSON} RequestValidationError", f"{JSON} RequestValidationError", f"{JSON} SystemError"
PLATFORM: dict[tuple[str, str], tuple[str | None, dict[str, str]]] = {
    ("get", "/workloads"): (None, {"200": f"{JSON} [WorkloadRecord]", "500": BROKEN}),
    ("get", "/workloads/{component_id}"): (None, {"200": f"{JSON} WorkloadRecord", "404": UNKNOWN, "500": BROKEN}),
    ("get", "/workloads/{component_id}/plans"): (None, {"200": f"{JSON} [Plan]", "404": UNKNOWN, "500": BROKEN}),
    ("get", "/workloads/{component_id}/plans/{plan_id}"): (
        None,
        {"200": f"{JSON} PlanDetail", "404": UNKNOWN, "500": BROKEN},
    ),
    ("post", "/workloads/plan"): (
        "ProvisioningRequest",
        {"200": f"{JSON} SpeculativePlan", "400": INVALID, "500": BROKEN},
    ),
    ("post", "/drift-runs"): (
        "DriftRunRequest",
        {"202": f"{JSON} DriftRunStarted", "400": INVALID, "404": UNKNOWN, "500": BROKEN},
    ),
    ("get", "/drift-runs"): (None, {"200": f"{JSON} [DriftRun]", "400": INVALID, "500": BROKEN}),
    ("get", "/drift-runs/{run_id}"): (None, {"200": f"{JSON} DriftRun", "400": INVALID, "500": BROKEN}),
    ("get", "/metrics"): (None, {"200": "text/plain string", "500": BROKEN}),
    ("post", "/registry/rebuild"): (None, {"200": f"{JSON} RebuildResult", "500": BROKEN}),
    ("get", "/health"): (None, {"200": f"{JSON} Health"}),
    ("get", "/ready"): (None, {"200": f"{JSON} Readiness", "503": f"{JSON} Readiness"}),
    ("get", "/build-info"): (None, {"200": f"{JSON} BuildInfo"}),
}


def test_every_served_route_is_checked(served: Doc, contract: Doc) -> None:
    """A new route must join the contract's operations or PLATFORM, so it cannot go undocumented."""
    routes = {(m, p) for p, operations in served["paths"].items() for m in operations}
    theirs = {(m, p) for p, operations in contract["paths"].items() for m in operations}
    assert routes - theirs == set(PLATFORM)


@pytest.mark.parametrize(("method", "path"), sorted(PLATFORM))
def test_platform_endpoints_are_typed(served: Doc, method: str, path: str) -> None:
    body, answers = PLATFORM[(method, path)]
    operation = served["paths"][path][method]
    assert _answers(served, operation) == answers
    documented = operation.get("requestBody")
    assert (_named(served, documented["content"][JSON]["schema"]) if documented else None) == body


def test_platform_schemas_name_their_fields(served: Doc) -> None:
    schemas = served["components"]["schemas"]
    assert set(schemas["DriftRunRequest"]["properties"]) == {"workloads", "dataProduct", "thorough", "reconcile"}
    assert schemas["DriftRunRequest"].get("required", []) == []
    assert set(schemas["PlanSummary"]["properties"]) == {"add", "change", "destroy", "import"}
    assert set(schemas["PlanDetail"]["properties"]) >= {"planId", "summary", "text", "json", "dagDiff"}
    assert _named(served, schemas["WorkloadRecord"]["properties"]["drift"]) == "WorkloadDrift"
    assert schemas["DriftRun"]["properties"]["status"]["enum"] == ["RUNNING", "COMPLETED", "FAILED"]


# -- the real answers fit the served document ------------------------------------------------------


def _assert_fits(served: Doc, method: str, path: str, response: Any) -> None:
    answers = served["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in answers, f"{method} {path} answered {status}, documented: {sorted(answers)}"
    media = response.headers["content-type"].split(";")[0]
    content = answers[status]["content"]
    assert media in content, f"{method} {path} {status} answered {media}, documented: {sorted(content)}"
    if media == JSON:
        schema = {"allOf": [content[media]["schema"]], "components": served["components"]}
        jsonschema.Draft202012Validator(schema).validate(response.json())


OVERSIZED = request("x" * (2 * MAX_BODY))
ANSWERS: list[tuple[str, str, str, object, int]] = [
    ("post", "/v1/validate", "/v1/validate", request(descriptor(WorkloadSpec(dag_name="x.sql"))), 200),
    ("post", "/v1/validate", "/v1/validate", b"{not json", 200),
    ("post", "/v1/provision", "/v1/provision", {"descriptor": 3}, 400),
    ("post", "/v1/provision", "/v1/provision", OVERSIZED, 400),
    ("post", "/v2/validate", "/v2/validate", OVERSIZED, 400),
    ("post", "/v1/updateacl", "/v1/updateacl", {"refs": "alice"}, 400),
    ("post", "/v1/reverse-provisioning", "/v1/reverse-provisioning", [], 400),
    ("get", "/v1/provision/nope/status", "/v1/provision/{token}/status", None, 400),
    ("get", "/v2/validate/nope/status", "/v2/validate/{token}/status", None, 400),
    ("get", "/workloads", "/workloads", None, 200),
    ("get", "/workloads/nope", "/workloads/{component_id}", None, 404),
    ("get", "/workloads/nope/plans/p", "/workloads/{component_id}/plans/{plan_id}", None, 404),
    ("post", "/drift-runs", "/drift-runs", {"thorough": "yes"}, 400),
    ("post", "/drift-runs", "/drift-runs", {"workloads": ["urn:dmb:cmp:no:such:1:wl"]}, 404),
    ("get", "/drift-runs/nope", "/drift-runs/{run_id}", None, 400),
    ("get", "/metrics", "/metrics", None, 200),
    ("get", "/health", "/health", None, 200),
    ("get", "/build-info", "/build-info", None, 200),
]


@pytest.mark.parametrize(("method", "url", "path", "payload", "status"), ANSWERS)
def test_answers_fit_the_served_document(
    client: TestClient,  # type: ignore[type-arg]
    served: Doc,
    method: str,
    url: str,
    path: str,
    payload: object,
    status: int,
) -> None:
    sent = {"content": payload} if isinstance(payload, bytes) else {"json": payload}
    response = client.request(method.upper(), url, **sent)
    assert response.status_code == status, response.text
    _assert_fits(served, method, path, response)


def test_a_drift_run_fits_the_served_document(client: TestClient, served: Doc) -> None:  # type: ignore[type-arg]
    started = client.post("/drift-runs", json={})
    assert started.status_code == 202
    _assert_fits(served, "post", "/drift-runs", started)
    run = client.get(f"/drift-runs/{started.json()['id']}")
    assert run.status_code == 200
    assert run.json()["options"] == {"workloads": [], "dataProduct": None, "thorough": False, "reconcile": False}
    _assert_fits(served, "get", "/drift-runs/{run_id}", run)


def test_an_oversized_body_is_invalid_input_naming_body(client: TestClient) -> None:  # type: ignore[type-arg]
    refused = client.post("/v1/provision", json=OVERSIZED)
    assert refused.status_code == 400
    assert refused.json()["inputErrorField"] == "body"
    assert f"larger than {MAX_BODY} bytes" in refused.json()["errors"][0]
    # The contract gives /v1/validate no 400: an oversized request is an invalid one.
    invalid = client.post("/v1/validate", json=OVERSIZED)
    assert invalid.status_code == 200
    assert invalid.json() == {"valid": False, "error": {"errors": [f"body: larger than {MAX_BODY} bytes"]}}
