"""Descriptor files deployed beside DAGs — this service's ``<stem>_descriptor.yaml`` or the older
provisioner's per-data-product ``<prefix>_descriptor.yaml`` — read back as the workload components
they list, each with the key its DAG is deployed under. Untrusted input: a file that does not parse
lists nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.domain import naming, safe_yaml
from service.domain.descriptor import DEFAULT_MAX_DESCRIPTOR_BYTES


@dataclass(frozen=True)
class Listed:
    component: Mapping[str, Any]
    data_product: Mapping[str, Any]
    bucket: str
    deployed_key: str

    @property
    def component_id(self) -> str:
        return str(self.component["id"])


def listed_workloads(raw: bytes) -> list[Listed]:
    try:
        document = safe_yaml.load(raw.decode("utf-8"), "descriptor", DEFAULT_MAX_DESCRIPTOR_BYTES)
    except (safe_yaml.YamlRejected, UnicodeDecodeError):
        return []
    # Ours holds the dataProduct section; the older provisioner printed its keys at the top level.
    data_product = document.get("dataProduct", document) if isinstance(document, Mapping) else None
    components = data_product.get("components") if isinstance(data_product, Mapping) else None
    if not isinstance(data_product, Mapping) or not isinstance(components, list):
        return []
    found = []
    for component in components:
        if not isinstance(component, Mapping) or component.get("kind") != "workload":
            continue
        specific = component.get("specific")
        urn = naming.parse_component_urn(str(component.get("id", "")))
        if isinstance(urn, str) or not isinstance(specific, Mapping):
            continue
        try:
            file = naming.deployed_dag_file(urn, str(specific.get("dagName", "")))
        except ValueError:
            continue
        key = naming.normalise_prefix(str(specific.get("destinationPath", ""))) + file
        found.append(Listed(component, data_product, str(specific.get("bucketName", "")), key))
    return found
