"""Descriptors and request bodies for tests, built as text the way Witboost sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class WorkloadSpec:
    name: str = "airflow-workload"
    dag_name: str = "my_dag.py"
    bucket: str = "mwaa-bucket"
    source_path: str = "source/"
    destination_path: str = "dags/"
    cron: str = "5 5 * * *"
    extra: dict[str, str] = field(default_factory=dict)


def component_id(spec: WorkloadSpec, domain: str = "finance", dp: str = "invoices", major: str = "1") -> str:
    return f"urn:dmb:cmp:{domain}:{dp}:{major}:{spec.name}"


def descriptor(
    *specs: WorkloadSpec, provision: int = 0, domain: str = "finance", dp: str = "invoices", major: str = "1"
) -> str:
    components = []
    for spec in specs:
        lines = [
            "    - kind: workload",
            f"      id: {component_id(spec, domain, dp, major)}",
            f"      name: {spec.name}",
            "      specific:",
            f"        dagName: {json.dumps(spec.dag_name)}",
            f"        scheduleCron: {json.dumps(spec.cron)}",
            f"        sourcePath: {json.dumps(spec.source_path)}",
            f"        destinationPath: {json.dumps(spec.destination_path)}",
            f"        bucketName: {json.dumps(spec.bucket)}",
            *[f"        {k}: {json.dumps(v)}" for k, v in spec.extra.items()],
        ]
        components.append("\n".join(lines))
    return (
        "dataProduct:\n"
        f"  id: urn:dmb:dp:{domain}:{dp}:{major}\n"
        f"  name: {dp}\n"
        f"  domain: {domain}\n"
        "  kind: dataproduct\n"
        "  version: 1.0.0\n"
        "  components:\n" + "\n".join(components) + "\n"
        f"componentIdToProvision: {component_id(specs[provision], domain, dp, major)}\n"
    )


def request(descriptor_text: str, kind: str = "COMPONENT_DESCRIPTOR") -> dict[str, object]:
    return {"descriptorKind": kind, "descriptor": descriptor_text, "removeData": False}


def staged_key(spec: WorkloadSpec, domain: str = "finance", dp: str = "invoices", major: str = "1") -> str:
    return f"{spec.source_path}{domain}.{dp}.{major}.{spec.dag_name}"
