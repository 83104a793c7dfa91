"""A valid descriptor is parsed once (``service.contract.decode.workload_of``): the same text gives the
same workload, the bucket rule is asked on every call, and nothing invalid is remembered."""

from __future__ import annotations

import pytest

from service.contract.decode import workload_of
from service.contract.models import DescriptorKind, ProvisioningRequest
from service.errors import DescriptorInvalid
from tests.support.descriptors import WorkloadSpec, descriptor


def _request(text: str) -> ProvisioningRequest:
    return ProvisioningRequest(DescriptorKind.COMPONENT_DESCRIPTOR, text, False)


def test_a_valid_descriptor_is_parsed_once_and_the_bucket_rule_asked_every_time() -> None:
    text = descriptor(WorkloadSpec(name="remembered", bucket="bucket-a"))
    first = workload_of(_request(text))
    assert workload_of(_request(text)) is first
    refusals: list[str] = []

    def refuse(bucket: str) -> str | None:
        refusals.append(bucket)
        return "is not allowed"

    with pytest.raises(DescriptorInvalid) as refused:
        workload_of(_request(text), bucket_refusal=refuse)
    assert [p.field for p in refused.value.problems] == ["dataProduct.components[0].specific.bucketName"]
    assert refused.value.problems[0].message == "bucket 'bucket-a' is not allowed"
    assert refusals == ["bucket-a"]
    assert workload_of(_request(text), bucket_refusal=lambda bucket: None) is first
    # Another text (one byte more) is parsed on its own.
    assert workload_of(_request(text + "\n")) is not first


def test_an_invalid_descriptor_is_never_remembered() -> None:
    broken = descriptor(WorkloadSpec(name="broken")).replace("scheduleCron", "scheduleCronX")
    for _ in range(2):
        with pytest.raises(DescriptorInvalid) as refused:
            workload_of(_request(broken))
        assert "scheduleCron" in refused.value.problems[0].field
    refused_bucket = descriptor(WorkloadSpec(name="elsewhere", bucket="bucket-b"))
    with pytest.raises(DescriptorInvalid):
        workload_of(_request(refused_bucket), bucket_refusal=lambda bucket: "is not allowed")
    assert workload_of(_request(refused_bucket)).bucket == "bucket-b"
