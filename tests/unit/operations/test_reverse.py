"""Reverse provisioning (``service.operations.reverse``) against a fake Terraform and S3: the
original dagName comes back from the older provisioner's descriptor and the import is planned, not
applied; another data product's key, a missing key, a managed key and an untrusted descriptor are
each a FAILED status saying why; a bad request names every field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.contract.models import ReverseProvisioningRequest, ReverseProvisioningStatus
from service.errors import RequestInvalid
from service.operations.ownership import COMPONENT_TAG
from service.operations.reverse import reverse_request
from tests.support.descriptors import WorkloadSpec, component_id, descriptor
from tests.support.harness import BUCKET, Harness, harness

ORIGINAL = "nightly-load v2.py"  # sanitising is lossy: '-' and ' ' both become '_'
DEPLOYED = "dags/finance_invoices_1_nightly_load_v2.py"
OLD_DESCRIPTOR = "dags/finance_invoices_1_descriptor.yaml"
SPEC = WorkloadSpec(name="nightly", dag_name=ORIGINAL, cron="15 3 * * 1-5")


def _body(key: str = DEPLOYED, system: str = "system:finance.invoices.1", **params: Any) -> ReverseProvisioningRequest:
    return ReverseProvisioningRequest(
        use_case_template_id="urn:dmb:utm:mwaa-workload-template:0.0.0",
        environment="development",
        params={"bucketName": BUCKET, "dagKey": key, **params},
        catalog_info={"metadata": {"name": "finance.invoices.1.nightly"}, "spec": {"system": system}},
    )


def _older_provisioner_layout(h: Harness, descriptor_tags: dict[str, str] | None = None) -> None:
    data_product = yaml.safe_load(descriptor(SPEC, WorkloadSpec(name="other", dag_name="other.py")))["dataProduct"]
    h.s3.put(BUCKET, OLD_DESCRIPTOR, yaml.safe_dump(data_product).encode(), descriptor_tags)
    h.s3.put(BUCKET, DEPLOYED, b"from airflow import DAG\npassword = 'planted'\n")


def _reverse(h: Harness, body: ReverseProvisioningRequest) -> ReverseProvisioningStatus:
    return h.parts.reverse.run(reverse_request(body, h.parts.reverse.buckets))


def _said(status: ReverseProvisioningStatus) -> str:
    return "\n".join(entry.message for entry in status.logs)


def test_the_original_dag_name_comes_back_and_the_import_is_planned_not_applied(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        _older_provisioner_layout(h)
        answer = _reverse(h, _body())
        assert answer.status == "COMPLETED", _said(answer)
        assert answer.updates["spec.mesh.specific.dagName"] == ORIGINAL
        assert answer.updates["spec.mesh.specific.scheduleCron"] == "15 3 * * 1-5"
        assert "module.workload.aws_s3_object.dag_text[0] will be imported" in _said(answer)
        assert "planted" not in _said(answer)
        assert [c for c in h.terraform.commands if c in ("plan", "apply")] == ["plan"]
        assert h.s3.objects[(BUCKET, DEPLOYED)].tags == {}  # nothing applied: still untagged
        # The next provision adopts the DAG: it is then this service's, and a second reverse is refused.
        h.s3.put(BUCKET, f"source/finance.invoices.1.{ORIGINAL}", b"from airflow import DAG\n")
        workload = h.stage(SPEC, b"from airflow import DAG\n")
        h.provision(workload)
        assert h.s3.objects[(BUCKET, DEPLOYED)].tags[COMPONENT_TAG] == component_id(SPEC)
        again = _reverse(h, _body())
        assert again.status == "FAILED"
        assert f"already managed by this service, as {component_id(SPEC)}" in _said(again)


def test_another_data_products_key_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.s3.put(BUCKET, "dags/sales_orders_1_load.py", b"secret = 1\n")
        answer = _reverse(h, _body("dags/sales_orders_1_load.py"))
        assert answer.status == "FAILED"
        assert "is not a DAG of urn:dmb:dp:finance:invoices:1" in _said(answer)
        assert h.terraform.commands == []


def test_a_missing_key_is_a_clear_failure(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        answer = _reverse(h, _body())
        assert answer.status == "FAILED"
        assert f"s3://{BUCKET}/{DEPLOYED} does not exist" in _said(answer)


def test_a_descriptor_tagged_by_another_component_is_not_trusted(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        _older_provisioner_layout(h, {COMPONENT_TAG: "urn:dmb:cmp:sales:orders:1:load"})
        answer = _reverse(h, _body())
        assert answer.status == "FAILED"
        assert "its original dagName cannot be recovered" in _said(answer)
        assert h.terraform.commands == []


def test_a_dag_no_descriptor_names_is_refused(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        _older_provisioner_layout(h)
        h.s3.put(BUCKET, "dags/finance_invoices_1_unknown.py", b"x = 1\n")
        answer = _reverse(h, _body("dags/finance_invoices_1_unknown.py"))
        assert answer.status == "FAILED"
        assert "names a workload deployed as finance_invoices_1_unknown.py" in _said(answer)


def test_a_bad_request_names_every_field(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        body = ReverseProvisioningRequest(
            use_case_template_id="t",
            environment="development",
            params={"bucketName": "other-bucket", "dagKey": "dags/../x.txt", "skipSafetyChecks": "yes"},
            catalog_info={"spec": {"system": "system:finance"}},
        )
        with pytest.raises(RequestInvalid) as raised:
            reverse_request(body, h.parts.reverse.buckets)
        fields = sorted(p.field for p in raised.value.problems)
        assert fields == ["catalogInfo.spec.system", "params.bucketName", "params.dagKey", "params.skipSafetyChecks"]
