"""Which change tracking a bucket gets: MD5 ``etag`` or ``source_hash`` (opaque ETags)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.aws.etags import BucketEtags, opaque_etags
from service.domain.descriptor import parse_descriptor
from service.errors import ConfigurationError, StorageAccessDenied, StorageError
from service.settings import Settings
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.rendering import rendered


class Reader:
    def __init__(self, answers: dict[str, str | None | StorageError]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def default_encryption(self, bucket: str) -> str | None:
        self.calls.append(bucket)
        answer = self.answers[bucket]
        if isinstance(answer, StorageError):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("algorithm", "opaque"), [(None, False), ("AES256", False), ("aws:kms", True), ("aws:kms:dsse", True)]
)
def test_only_kms_algorithms_have_opaque_etags(algorithm: str | None, opaque: bool) -> None:
    assert opaque_etags(algorithm) is opaque


def test_auto_asks_each_bucket_once_and_falls_back_to_source_hash_when_refused() -> None:
    reader = Reader({"plain": "AES256", "kms": "aws:kms", "denied": StorageAccessDenied("S3 refused …: AccessDenied")})
    etags = BucketEtags("auto", reader)
    assert [etags.opaque(b) for b in ("plain", "kms", "denied", "plain", "kms", "denied")] == [
        False,
        True,
        True,
        False,
        True,
        True,
    ]
    assert reader.calls == ["plain", "kms", "denied"]


def test_an_outage_is_raised_and_not_remembered() -> None:
    reader = Reader({"flaky": StorageError("S3 endpoint … is unreachable")})
    etags = BucketEtags("auto", reader)
    for _ in range(2):
        with pytest.raises(StorageError, match="unreachable"):
            etags.opaque("flaky")
    assert reader.calls == ["flaky", "flaky"]
    reader.answers["flaky"] = "AES256"
    assert etags.opaque("flaky") is False


@pytest.mark.parametrize(("setting", "opaque"), [("sse-s3", False), ("kms", True)])
def test_a_setting_decides_without_asking(setting: str, opaque: bool) -> None:
    reader = Reader({})
    assert BucketEtags(setting, reader).opaque("any") is opaque  # type: ignore[arg-type]
    assert reader.calls == []


def test_the_setting_is_read_and_checked() -> None:
    assert Settings.from_env({"MWAA_SP_BUCKET_ENCRYPTION": "KMS"}).bucket_encryption == "kms"
    assert Settings.from_env({}).bucket_encryption == "auto"
    with pytest.raises(ConfigurationError, match="MWAA_SP_BUCKET_ENCRYPTION"):
        Settings.from_env({"MWAA_SP_BUCKET_ENCRYPTION": "aes"})


def test_the_flag_travels_as_a_value(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    workload = parse_descriptor(descriptor(WorkloadSpec(bucket="enc")))
    kms = rendered(settings, workload, b"x = 1\n", BucketEtags("auto", Reader({"enc": "aws:kms"})))
    plain = rendered(settings, workload, b"x = 1\n", BucketEtags("auto", Reader({"enc": None})))
    assert json.loads(kms.text("terraform.tfvars.json"))["workload"]["opaque_etags"] is True
    assert json.loads(plain.text("terraform.tfvars.json"))["workload"]["opaque_etags"] is False
    assert kms.text("main.tf") == plain.text("main.tf")
    assert kms.digest != plain.digest


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [("AccessDenied", 403, StorageAccessDenied), ("SlowDown", 503, StorageError)],
)
def test_s3_tells_a_refusal_from_an_outage(code: str, status: int, expected: type[StorageError]) -> None:
    from botocore.stub import Stubber

    from service.aws.s3 import S3

    s3 = S3(Settings(s3_endpoint="http://127.0.0.1:9", emulator=True).aws)
    with Stubber(s3.client) as stub:
        stub.add_client_error("get_bucket_encryption", service_error_code=code, http_status_code=status)
        with pytest.raises(StorageError) as raised:
            s3.default_encryption("b")
    assert type(raised.value) is expected
    assert code in raised.value.message


def test_s3_reads_the_default_algorithm_or_none() -> None:
    from botocore.stub import Stubber

    from service.aws.s3 import S3

    s3 = S3(Settings(s3_endpoint="http://127.0.0.1:9", emulator=True).aws)
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}
    with Stubber(s3.client) as stub:
        stub.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": [rule]}})
        stub.add_client_error(
            "get_bucket_encryption", service_error_code="ServerSideEncryptionConfigurationNotFoundError"
        )
        assert s3.default_encryption("b") == "aws:kms:dsse"
        assert s3.default_encryption("b") is None
