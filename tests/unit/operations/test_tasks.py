"""Task launching (``service.operations.tasks``): a token only for a request that parses, every task
ends with its outcome in the store, and the answers are the contract's types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.contract.models import DescriptorKind, ProvisioningRequest, ProvisioningStatus
from service.errors import DescriptorInvalid, RequestInvalid
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.harness import harness


def _request(text: str, kind: DescriptorKind = DescriptorKind.COMPONENT_DESCRIPTOR) -> ProvisioningRequest:
    return ProvisioningRequest(kind, text, False)


def test_a_provision_task_ends_completed_with_the_contracts_body(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        h.stage(WorkloadSpec())
        token, future = h.parts.launcher.start("provision", _request(descriptor(WorkloadSpec())))
        body = future.result(60)
        assert isinstance(body, ProvisioningStatus)
        assert body.status == "COMPLETED"
        assert body.info.private_info["planSummary"] == {"add": 2, "change": 0, "destroy": 0, "import": 0}  # type: ignore[union-attr]
        assert h.parts.launcher.status(token) == body


def test_a_failed_run_ends_failed_naming_why_and_is_recorded(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        # No staged DAG: the run fails inside the door (the token already exists).
        token, future = h.parts.launcher.start("provision", _request(descriptor(WorkloadSpec())))
        with pytest.raises(DescriptorInvalid):
            future.result(60)
        status = h.parts.launcher.status(token)
        assert status.status == "FAILED"
        assert "does not exist" in status.result
        entry = h.parts.registry.get("urn:dmb:cmp:finance:invoices:1:airflow-workload")
        assert entry is not None
        assert entry.last_status == "FAILED"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        pytest.param(_request("dataProduct: [", DescriptorKind.COMPONENT_DESCRIPTOR), "descriptor", id="bad-yaml"),
        pytest.param(_request("x: 1", DescriptorKind.DATAPRODUCT_DESCRIPTOR), "descriptorKind", id="kind"),
    ],
)
def test_a_refused_request_gets_no_token(tmp_path: Path, request_: ProvisioningRequest, field: str) -> None:
    with harness(tmp_path) as h:
        with pytest.raises((DescriptorInvalid, RequestInvalid)) as refused:
            h.parts.launcher.start("provision", request_)
        assert refused.value.problems[0].field.startswith(field)
        assert h.terraform.commands == []


def test_async_validation_reports_a_malformed_body_in_its_result(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        token, future = h.parts.launcher.start_validation(json.dumps({"descriptor": 3}).encode())
        done = future.result(60)
        assert done.status == "COMPLETED"
        assert h.parts.launcher.validation_status(token) == done
        result = done.info.public_info  # type: ignore[union-attr]
        assert result.valid is False
        assert any(e.startswith("descriptorKind: is missing") for e in result.error.errors)  # type: ignore[union-attr]
        assert any(e.startswith("descriptor: must be a string") for e in result.error.errors)  # type: ignore[union-attr]


def test_an_abandoned_task_body_fits_its_kind(tmp_path: Path) -> None:
    with harness(tmp_path) as h:
        launcher = type(h.parts.launcher)
        assert launcher.abandoned("provision").status == "FAILED"  # type: ignore[attr-defined]
        assert launcher.abandoned("validate").info.public_info.valid is False  # type: ignore[attr-defined]
        assert launcher.abandoned("reverse").updates == {}  # type: ignore[attr-defined]
