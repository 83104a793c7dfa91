from __future__ import annotations

import pytest

from service.domain import naming


def test_component_urn_parts() -> None:
    urn = naming.parse_component_urn("urn:dmb:cmp:demographic:dp-to-test-mwaa-fix:0:airflow-workload-test-fix")
    assert isinstance(urn, naming.ComponentUrn)
    assert urn.dotted_prefix == "demographic.dp-to-test-mwaa-fix.0"
    assert urn.data_product_id == "urn:dmb:dp:demographic:dp-to-test-mwaa-fix:0"


@pytest.mark.parametrize(
    "value",
    [
        "urn:dmb:cmp:demographic:dp-to-test-mwaa-fix",
        "domain:marketing.Marketing-Invoice-1.1",
        "urn:dmb:cmp:a:b:x:name",
        "urn:dmb:cmp:a:..:1:name",
        "urn:dmb:cmp:a:b/c:1:name",
        "urn:dmb:dp:a:b:1:name",
        "urn:dmb:cmp:a:b:1:",
    ],
)
def test_component_urn_rejections(value: str) -> None:
    assert isinstance(naming.parse_component_urn(value), str)


def test_deployed_names_match_the_older_provisioner() -> None:
    urn = naming.ComponentUrn("demographic", "dp-to-test-mwaa-fix", "0", "wl")
    dag = naming.deployed_dag_file(urn, "airbyte-snowflake.dag.py")
    assert dag == "demographic_dp_to_test_mwaa_fix_0_airbyte_snowflake_dag.py"
    assert naming.descriptor_file(dag) == "demographic_dp_to_test_mwaa_fix_0_airbyte_snowflake_dag_descriptor.yaml"
    assert naming.deployed_dag_file(urn, "pkg.zip") == "demographic_dp_to_test_mwaa_fix_0_pkg.zip"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("dag.py", True),
        ("dag.zip", True),
        ('${file("/etc/passwd")}', False),
        ("../../x", False),
        ("dag.sql", False),
        (".py", False),
        ("a\nb.py", False),
        ("", False),
    ],
)
def test_dag_name_rules(name: str, ok: bool) -> None:
    assert (naming.check_dag_name(name) is None) is ok


@pytest.mark.parametrize(
    ("path", "allow_empty", "ok"),
    [
        ("dags/", False, True),
        ("a//b", False, True),
        ("", True, True),
        ("", False, False),
        ("/dags", False, False),
        ("dags/../etc", False, False),
        ("dags\\x", False, False),
        ("d\x00", False, False),
        ("x" * 1100, False, False),
    ],
)
def test_path_rules(path: str, allow_empty: bool, ok: bool) -> None:
    assert (naming.check_path(path, allow_empty) is None) is ok


def test_prefix_normalisation() -> None:
    assert naming.normalise_prefix("a//b/") == "a/b/"
    assert naming.normalise_prefix("dags") == "dags/"
    assert naming.normalise_prefix("") == ""


@pytest.mark.parametrize(
    ("bucket", "ok"),
    [
        ("sandbox-qa-mwaa-eu-west-1-278435202378", True),
        ("my.bucket.name", True),
        ("ab", False),
        ("Upper", False),
        ("arn:aws:s3:::bucket", False),
        ("192.168.1.1", False),
        ("a..b", False),
        ("xn--bucket", False),
        ("bucket-s3alias", False),
        ("-bucket", False),
    ],
)
def test_bucket_rules(bucket: str, ok: bool) -> None:
    assert (naming.check_bucket(bucket) is None) is ok


@pytest.mark.parametrize(
    ("expr", "ok"),
    [
        ("5 5 * * *", True),
        ("@daily", True),
        ("0 0 1 1 *", True),
        ("61 * * * *", False),
        ("* * * *", False),
        ("0 0 * * * *", False),
        ("@sometimes", False),
    ],
)
def test_cron_rules(expr: str, ok: bool) -> None:
    assert (naming.check_cron(expr) is None) is ok
