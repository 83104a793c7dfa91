"""Every request of the real client's Postman collection, replayed against a running service; each
answer must be one the official contract documents, in its documented shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.contract import assert_conforms
from tests.support.shared import shared_path

pytestmark = pytest.mark.e2e

# What this provisioner answers to each of the collection's requests, and why.
EXPECTED = {
    ("v1", "validate"): 200,  # descriptor "Hi": a ValidationResult with valid=false
    ("v1", "provision"): 400,  # a storage component with a pre-URN id: RequestValidationError
    ("v1", "provision status"): 400,  # "a-token" was never issued
    ("v1", "unprovision"): 400,
    ("v1", "updateacl"): 400,  # its descriptor's component is an output port with a pre-URN id
    ("v1", "reverse-provisioning"): 400,  # no params (bucketName, dagKey): RequestValidationError
    ("v1", "reverse-provisioning status"): 400,
    ("v1", "swagger"): 200,
    ("v1", "build-info"): 200,
    ("v2", "validate"): 202,
    ("v2", "provision"): 400,  # the collection's name for GET /v2/validate/{token}/status
}


def _requests() -> list[tuple[str, dict[str, Any]]]:
    collection = json.loads(shared_path("witboost", "specific-provisioner-2.2.0.postman_collection.json").read_text())
    found = []
    for folder in collection["item"]:
        for item in folder["item"]:
            found.append((folder["name"], item))
    return found


def test_collection_replays_with_documented_answers(service_factory: Any) -> None:
    spec = shared_path("witboost", "interface-specification-2.2.0.yml")
    service = service_factory(
        mwaa_environment="postman-env", airflow_check="off"
    )  # the Airflow loop: test_airflow_loop.py
    replayed = set()
    for folder, item in _requests():
        req = item["request"]
        path_parts = [p if not p.startswith(":") else "a-token" for p in req["url"]["path"]]
        url = service.url + "/" + "/".join(path_parts)
        raw = (req.get("body") or {}).get("raw")
        response = httpx.request(
            req["method"],
            url,
            content=raw.encode() if raw and req["method"] != "GET" else None,
            headers={"content-type": "application/json"},
            timeout=60,
        )
        expected = EXPECTED[(folder, item["name"])]
        assert response.status_code == expected, (folder, item["name"], response.text)
        template = "/" + "/".join("{token}" if p.startswith(":") else p for p in req["url"]["path"])
        if template in load_paths(spec):
            assert_conforms(spec, template, req["method"], response.status_code, response.json())
        replayed.add((folder, item["name"]))
    assert replayed == set(EXPECTED)


def load_paths(spec_path: Any) -> set[str]:
    from tests.support.contract import load_spec

    return set(load_spec(spec_path)["paths"])
