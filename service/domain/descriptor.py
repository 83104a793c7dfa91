"""Descriptor → workload: parse the YAML safely and apply every rule, reporting all problems at once.

Field paths are dot paths into the request (``descriptor`` is the YAML string, so its inner paths
start at ``dataProduct``/``componentIdToProvision``), e.g. ``dataProduct.components[2].specific.dagName``.
Unknown extra fields are tolerated: newer Witboost releases enrich descriptors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml

from service.domain import naming, safe_yaml
from service.domain.workload import Workload
from service.errors import DescriptorInvalid, Problem

SPECIFIC_FIELDS = ("dagName", "scheduleCron", "sourcePath", "destinationPath", "bucketName")
DEFAULT_MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, field: str, message: str, solution: str) -> None:
        self.items.append(Problem(field, message, solution))


def _specific_strings(specific: Mapping[Any, Any], base: str, problems: _Problems) -> dict[str, str] | None:
    values: dict[str, str] = {}
    for name in SPECIFIC_FIELDS:
        field = f"{base}.{name}"
        if name not in specific or specific[name] is None:
            problems.add(field, "is missing", f"Add specific.{name} to the workload component.")
        elif not isinstance(specific[name], str):
            problems.add(
                field,
                f"must be a string, got {type(specific[name]).__name__}",
                f"Quote specific.{name} so YAML reads it as a string.",
            )
        else:
            values[name] = specific[name]
    return values if len(values) == len(SPECIFIC_FIELDS) else None


def _workload_from_component(
    component: Mapping[Any, Any],
    field: str,
    urn: naming.ComponentUrn,
    descriptor_yaml: str,
    problems: _Problems,
) -> Workload | None:
    """Apply the value rules of one workload component; ``None`` when any is broken."""
    specific = component.get("specific")
    if not isinstance(specific, Mapping):
        problems.add(
            f"{field}.specific",
            "is missing or not a mapping",
            "Add a specific section with dagName, scheduleCron, sourcePath, destinationPath and bucketName.",
        )
        return None
    before = len(problems.items)
    values = _specific_strings(specific, f"{field}.specific", problems)
    if values is None:
        return None
    checks = (
        (
            "dagName",
            naming.check_dag_name(values["dagName"]),
            "Use a file name like my_dag.py or my_dag.zip.",
        ),
        ("scheduleCron", naming.check_cron(values["scheduleCron"]), "Use e.g. '5 5 * * *' or '@daily'."),
        (
            "sourcePath",
            naming.check_path(values["sourcePath"], True),
            "Use a relative folder like 'source/'.",
        ),
        (
            "destinationPath",
            naming.check_path(values["destinationPath"], False),
            "Use the MWAA DAG folder, e.g. 'dags/'.",
        ),
        ("bucketName", naming.check_bucket(values["bucketName"]), "Use the MWAA environment's bucket name."),
    )
    for name, message, solution in checks:
        if message:
            problems.add(f"{field}.specific.{name}", message, solution)
    if len(problems.items) > before:
        return None
    workload = Workload(
        component_id=str(component["id"]),
        urn=urn,
        dag_name=values["dagName"],
        schedule_cron=values["scheduleCron"].strip(),
        source_path=naming.normalise_prefix(values["sourcePath"]),
        destination_path=naming.normalise_prefix(values["destinationPath"]),
        bucket=values["bucketName"],
        descriptor_yaml=descriptor_yaml,
        field=field,
    )
    for name, key in (("sourcePath", workload.staged_key), ("destinationPath", workload.deployed_key)):
        message = naming.check_key(key)
        if message:
            problems.add(f"{field}.specific.{name}", message, "Shorten the path or the DAG name.")
            return None
    return workload


def _other_workloads(components: list[Any], skip: int, descriptor_yaml: str) -> list[tuple[int, Workload]]:
    """The data product's other valid workload components, to catch deployed-key collisions."""
    found = []
    for index, component in enumerate(components):
        if index == skip or not isinstance(component, Mapping) or component.get("kind") != "workload":
            continue
        urn = naming.parse_component_urn(str(component.get("id", "")))
        if isinstance(urn, str):
            continue
        other = _workload_from_component(component, "", urn, descriptor_yaml, _Problems())
        if other is not None:
            found.append((index, other))
    return found


BucketRefusal = Callable[[str], str | None]
"""Why a descriptor may not name a bucket (``service.domain.buckets``), or None."""


def bucket_problem(workload: Workload, bucket_refusal: BucketRefusal | None) -> Problem | None:
    """The problem a refused bucket makes (the workload's ``bucketName``), or None."""
    refused = bucket_refusal(workload.bucket) if bucket_refusal is not None else None
    if not refused:
        return None
    return Problem(
        f"{workload.field}.specific.bucketName",
        f"bucket {workload.bucket!r} {refused}",
        "Use the MWAA environment's DAG bucket.",
    )


def parse_descriptor(
    text: str, max_bytes: int = DEFAULT_MAX_DESCRIPTOR_BYTES, bucket_refusal: BucketRefusal | None = None
) -> Workload:
    """The workload the descriptor asks to provision; ``DescriptorInvalid`` lists every broken rule.
    With ``bucket_refusal``, a bucket it refuses is one of them (the workload is to be deployed)."""
    problems = _Problems()
    try:
        document = safe_yaml.load(text, "descriptor", max_bytes)
    except safe_yaml.YamlRejected as exc:
        raise DescriptorInvalid([exc.problem]) from exc
    if not isinstance(document, Mapping):
        raise DescriptorInvalid(
            [
                Problem(
                    "descriptor",
                    "must be a YAML mapping with dataProduct and componentIdToProvision",
                    "Send a COMPONENT_DESCRIPTOR: the data product plus the id of the component to provision.",
                )
            ]
        )
    data_product = document.get("dataProduct")
    component_id = document.get("componentIdToProvision")
    if not isinstance(component_id, str) or not component_id:
        problems.add(
            "componentIdToProvision",
            "is missing or not a string",
            "Name the component to provision with its id.",
        )
    if not isinstance(data_product, Mapping):
        problems.add("dataProduct", "is missing or not a mapping", "Include the whole data product descriptor.")
        raise DescriptorInvalid(problems.items)
    components = data_product.get("components")
    if not isinstance(components, list) or not components:
        problems.add(
            "dataProduct.components",
            "is missing or empty",
            "List the data product's components, including the workload to provision.",
        )
        raise DescriptorInvalid(problems.items)
    if problems.items:
        raise DescriptorInvalid(problems.items)
    assert isinstance(component_id, str)

    matches = [i for i, c in enumerate(components) if isinstance(c, Mapping) and c.get("id") == component_id]
    if not matches:
        problems.add(
            "componentIdToProvision",
            f"no component in dataProduct.components has id {component_id!r}",
            "Use the id of one of the data product's components.",
        )
        raise DescriptorInvalid(problems.items)
    if len(matches) > 1:
        problems.add(
            "dataProduct.components",
            f"{len(matches)} components share the id {component_id!r}",
            "Give every component a unique id.",
        )
    index = matches[0]
    field = f"dataProduct.components[{index}]"
    component = components[index]

    if component.get("kind") != "workload":
        problems.add(
            f"{field}.kind",
            f"must be 'workload', got {component.get('kind')!r}",
            "This provisioner deploys workload components (Airflow DAGs) only.",
        )
    parsed_urn = naming.parse_component_urn(component_id)
    urn = None
    if isinstance(parsed_urn, str):
        problems.add(
            f"{field}.id", parsed_urn, "Use the id Witboost assigns: urn:dmb:cmp:<domain>:<dp>:<major>:<name>."
        )
    else:
        urn = parsed_urn
    dp_id = data_product.get("id")
    if urn is not None and isinstance(dp_id, str) and dp_id.startswith("urn:dmb:dp:") and dp_id != urn.data_product_id:
        problems.add(
            f"{field}.id",
            f"belongs to {urn.data_product_id}, not to this data product {dp_id}",
            "Provision the component with the descriptor of the data product it belongs to.",
        )
    descriptor_yaml = yaml.safe_dump(_shared_view(data_product, component), sort_keys=False, allow_unicode=True)
    workload = None
    if urn is not None:
        workload = _workload_from_component(component, field, urn, descriptor_yaml, problems)
    refused = bucket_problem(workload, bucket_refusal) if workload is not None else None
    if refused is not None:
        problems.items.append(refused)
    if workload is not None:
        mine = {(workload.bucket, workload.deployed_key), (workload.bucket, workload.descriptor_key)}
        for other_index, other in _other_workloads(components, index, descriptor_yaml):
            theirs = {(other.bucket, other.deployed_key), (other.bucket, other.descriptor_key)}
            if mine & theirs:
                problems.add(
                    f"{field}.specific.dagName",
                    f"deploys to the same S3 key as dataProduct.components[{other_index}] "
                    f"({workload.deployed_key}); names differing only in characters outside [A-Za-z0-9_] collide",
                    "Rename one of the DAGs.",
                )
    if problems.items or workload is None:
        raise DescriptorInvalid(problems.items)
    return workload


def _shared_view(data_product: Mapping[str, Any], component: Mapping[str, Any]) -> dict[str, Any]:
    """The data product as the descriptor file beside the DAG shows it. Tech Adapter API 2.6 enriches
    the components this one depends on with their provisioning ``info`` (publicInfo, privateInfo):
    kept there, so the DAG can read its upstream components' connection details; removed from every
    other component, whose details this DAG has no business reading."""
    depends_on = component.get("dependsOn")
    upstream = {d for d in depends_on if isinstance(d, str)} if isinstance(depends_on, list) else set()
    shown = []
    for other in data_product.get("components") or []:
        if isinstance(other, Mapping) and "info" in other and other.get("id") not in upstream:
            other = {k: v for k, v in other.items() if k != "info"}
        shown.append(other)
    return {**data_product, "components": shown}
