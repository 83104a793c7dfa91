from __future__ import annotations

import pytest
import yaml

from service.domain.descriptor import parse_descriptor
from service.errors import DescriptorInvalid
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.shared import shared_path


def _problems(text: str) -> list[str]:
    with pytest.raises(DescriptorInvalid) as info:
        parse_descriptor(text)
    return [p.render() for p in info.value.problems]


def test_shared_valid_sample_becomes_a_workload() -> None:
    workload = parse_descriptor(shared_path("witboost", "descriptors", "validation__descriptor_ok.yml").read_text())
    assert workload.component_id == "urn:dmb:cmp:demographic:dp-to-test-mwaa-fix:0:airflow-workload-test-fix"
    assert workload.staged_key == "source/demographic.dp-to-test-mwaa-fix.0.airbyte_snowflake_dag_custom_wit_567.py"
    assert workload.deployed_key == "dags/demographic_dp_to_test_mwaa_fix_0_airbyte_snowflake_dag_custom_wit_567.py"
    assert workload.bucket == "sandbox-qa-mwaa-eu-west-1-278435202378"
    assert workload.schedule_cron == "5 5 * * *"
    assert "dp-to-test-mwaa-fix" in workload.descriptor_yaml


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("validation__descriptor_ko_missing_component.yml", ["dataProduct.components: is missing or empty"]),
        (
            "validation__descriptor_ko_missing_specifics.yml",
            [
                f"dataProduct.components[0].specific.{f}: is missing"
                for f in ("dagName", "scheduleCron", "sourcePath", "destinationPath", "bucketName")
            ],
        ),
        ("validation__descriptor_ko_wrong_component_id_format.yml", ["dataProduct.components[0].id: "]),
        ("pr_descriptors__pr_descriptor_1_missing_component_id.yml", ["componentIdToProvision: is missing"]),
        ("pr_descriptors__pr_descriptor_1_missing_components.yml", ["dataProduct.components: is missing"]),
        (
            "pr_descriptors__pr_descriptor_1_unmatched_component.yaml",
            ["componentIdToProvision: no component"],
        ),
        ("pr_descriptors__pr_descriptor_mwaasp.yaml", ["dataProduct.components[0].kind: must be 'workload'"]),
    ],
)
def test_shared_invalid_samples_name_their_fields(sample: str, expected: list[str]) -> None:
    problems = _problems(shared_path("witboost", "descriptors", sample).read_text())
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)


def test_every_problem_is_reported_at_once() -> None:
    spec = WorkloadSpec(
        dag_name="../../x", cron="not cron", source_path="/abs", destination_path="", bucket="Bad_Bucket"
    )
    problems = _problems(descriptor(spec))
    fields = [p.split(":")[0] for p in problems]
    assert fields == [
        f"dataProduct.components[0].specific.{f}"
        for f in ("dagName", "scheduleCron", "sourcePath", "destinationPath", "bucketName")
    ]


def test_wrong_types_are_named() -> None:
    text = descriptor(WorkloadSpec()).replace('dagName: "my_dag.py"', "dagName: [1, 2]")
    assert _problems(text) == ["dataProduct.components[0].specific.dagName: must be a string, got list"]


def test_colliding_deployed_keys_are_rejected() -> None:
    a = WorkloadSpec(name="a", dag_name="my-dag.py")
    b = WorkloadSpec(name="b", dag_name="my_dag.py")
    problems = _problems(descriptor(a, b))
    assert len(problems) == 1
    assert "same S3 key as dataProduct.components[1]" in problems[0]


def test_component_of_another_data_product_is_rejected() -> None:
    text = descriptor(WorkloadSpec()).replace("id: urn:dmb:dp:finance:invoices:1", "id: urn:dmb:dp:finance:other:1")
    assert any("belongs to urn:dmb:dp:finance:invoices:1" in p for p in _problems(text))


@pytest.mark.parametrize("text", ["", "just a string", "- a\n- b\n", "dataProduct: 3\ncomponentIdToProvision: x\n"])
def test_non_descriptors_are_rejected(text: str) -> None:
    assert _problems(text)


def test_unknown_extra_fields_are_tolerated() -> None:
    spec = WorkloadSpec(extra={"sqlName": "x.sql", "futureField": "y"})
    assert parse_descriptor(descriptor(spec)).dag_name == "my_dag.py"


def test_a_2_6_enriched_descriptor_keeps_only_the_upstream_components_info() -> None:
    """Tech Adapter API 2.6: the components a workload depends on arrive with their provisioning info;
    the descriptor file beside the DAG keeps theirs (the DAG reads its upstream's connection details)
    and drops any other component's."""
    document = yaml.safe_load(descriptor(WorkloadSpec()))
    mine = document["dataProduct"]["components"][0]
    mine["dependsOn"] = ["urn:dmb:cmp:finance:invoices:1:raw-table"]
    upstream_info = {
        "publicInfo": {"table": {"type": "string", "label": "Table", "value": "raw.invoices"}},
        "privateInfo": {"jdbcUrl": "jdbc:postgresql://db:5432/raw"},
    }
    document["dataProduct"]["components"] += [
        {"kind": "storage", "id": "urn:dmb:cmp:finance:invoices:1:raw-table", "info": upstream_info},
        {"kind": "storage", "id": "urn:dmb:cmp:finance:invoices:1:unrelated", "info": {"privateInfo": {"k": "v"}}},
    ]
    workload = parse_descriptor(yaml.safe_dump(document))
    shown = yaml.safe_load(workload.descriptor_yaml)
    by_id = {c["id"]: c for c in shown["components"]}
    assert by_id["urn:dmb:cmp:finance:invoices:1:raw-table"]["info"] == upstream_info
    assert "info" not in by_id["urn:dmb:cmp:finance:invoices:1:unrelated"]
    assert by_id[workload.component_id]["dependsOn"] == ["urn:dmb:cmp:finance:invoices:1:raw-table"]
    # Without enrichment the file is the data product as sent, byte for byte as before.
    plain = parse_descriptor(descriptor(WorkloadSpec()))
    assert plain.descriptor_yaml == yaml.safe_dump(
        yaml.safe_load(descriptor(WorkloadSpec()))["dataProduct"], sort_keys=False, allow_unicode=True
    )
