"""The HTTP body → a ``ProvisioningRequest``; every structural problem named by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.api import bounded_json
from service.errors import Problem, RequestInvalid

DESCRIPTOR_KINDS = ("DATAPRODUCT_DESCRIPTOR", "COMPONENT_DESCRIPTOR", "DATAPRODUCT_DESCRIPTOR_WITH_RESULTS")


@dataclass(frozen=True)
class ProvisioningRequest:
    descriptor_kind: str
    descriptor: str
    remove_data: bool


def parse_body(raw: bytes) -> ProvisioningRequest:
    body: Any = bounded_json.loads(raw, "ProvisioningRequest")
    if not isinstance(body, dict):
        raise RequestInvalid(
            "The request body is not a ProvisioningRequest",
            [Problem("body", "must be a JSON object", "Send a JSON ProvisioningRequest.")],
        )
    problems = []
    kind = body.get("descriptorKind")
    if kind not in DESCRIPTOR_KINDS:
        problems.append(
            Problem(
                "descriptorKind",
                f"must be one of {', '.join(DESCRIPTOR_KINDS)}",
                "Send COMPONENT_DESCRIPTOR.",
            )
        )
    elif kind != "COMPONENT_DESCRIPTOR":
        problems.append(
            Problem(
                "descriptorKind",
                f"{kind} is not supported: this provisioner deploys one component at a time",
                "Send COMPONENT_DESCRIPTOR with componentIdToProvision.",
            )
        )
    descriptor = body.get("descriptor")
    if not isinstance(descriptor, str):
        problems.append(Problem("descriptor", "is missing or not a string", "Send the descriptor as a YAML string."))
    remove_data = body.get("removeData", False)
    if not isinstance(remove_data, bool):
        problems.append(Problem("removeData", "must be true or false", "Send a JSON boolean."))
    if problems:
        raise RequestInvalid("The request is not a valid ProvisioningRequest", problems)
    assert isinstance(descriptor, str)
    return ProvisioningRequest(str(kind), descriptor, bool(remove_data))
