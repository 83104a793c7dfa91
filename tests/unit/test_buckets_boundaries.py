"""The bucket allow-list at its edges: ARNs, globs, the state bucket, and the retry delay after
GetEnvironment failed (exactly 30 s), with what is logged."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from service.domain import buckets
from service.domain.buckets import BucketPolicy, bucket_of_arn
from service.errors import ConfigurationError, Problem


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        pytest.param("arn:aws:s3:::b", "b", id="one-character"),
        pytest.param("arn:aws-us-gov:s3:::my.bucket-1", "my.bucket-1", id="gov-partition"),
    ],
)
def test_bucket_of_arn(arn: str, name: str) -> None:
    assert bucket_of_arn(arn) == name


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param("arn:aws:s3:::b:::", id="trailing-separator"),
        pytest.param("ARN:aws:s3:::b", id="upper-arn"),
        pytest.param(":::b", id="no-prefix"),
        pytest.param("arn:aws:s3::b", id="two-colons"),
        pytest.param("", id="empty"),
    ],
)
def test_not_a_bucket_arn(arn: str) -> None:
    with pytest.raises(ValueError, match="^not an S3 bucket ARN: ") as info:
        bucket_of_arn(arn)
    assert str(info.value) == f"not an S3 bucket ARN: {arn!r}"


@pytest.mark.parametrize(
    ("patterns", "bucket", "allowed"),
    [
        pytest.param(("mwaa-*",), "mwaa-", True, id="star-matches-nothing"),
        pytest.param(("mwaa-?",), "mwaa-a", True, id="question-one"),
        pytest.param(("mwaa-?",), "mwaa-ab", False, id="question-not-two"),
        pytest.param(("Mwaa",), "mwaa", False, id="case-sensitive"),
        pytest.param(("a", "b"), "b", True, id="second-pattern"),
        pytest.param((), "a", False, id="empty-list-allows-nothing"),
    ],
)
def test_globs(patterns: tuple[str, ...], bucket: str, allowed: bool) -> None:
    refusal = BucketPolicy(patterns, None).refusal(bucket)
    assert refusal == (None if allowed else "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)")


def test_every_bucket_when_nothing_is_set() -> None:
    policy = BucketPolicy(None, "")
    assert policy.everything
    assert policy.allowed() is None
    assert policy.refusal("") is None  # an empty state bucket name is no state bucket
    assert policy.problems("any", "f") == []
    assert not BucketPolicy(("a",), None).everything


def test_problems_are_exact() -> None:
    assert BucketPolicy(("a",), "states").problems("states", "x.bucketName") == [
        Problem(
            "x.bucketName",
            "bucket 'states' is the bucket of the service's Terraform states; DAGs are never deployed there",
            "Use the MWAA environment's DAG bucket.",
        )
    ]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_failed_read_is_retried_exactly_30_seconds_later(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _Clock()
    monkeypatch.setattr(buckets, "time", SimpleNamespace(monotonic=clock.monotonic))
    answers: list[object] = [RuntimeError("AccessDenied"), "env-bucket"]

    def source() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, str)
        return answer

    expected = (
        "the MWAA environment's source bucket could not be read (GetEnvironment), so no bucket is allowed until "
        "it can: AccessDenied; set MWAA_SP_ALLOWED_BUCKETS to name the buckets"
    )
    policy = BucketPolicy(None, None, source)
    with caplog.at_level(logging.INFO, logger="mwaa_sp.buckets"), pytest.raises(ConfigurationError) as first:
        policy.allowed()
    assert first.value.message == expected
    [record] = caplog.records
    assert (record.levelno, record.getMessage(), record.__dict__["error"]) == (
        logging.ERROR,
        "no bucket is allowed",
        "AccessDenied",
    )
    caplog.clear()
    clock.now = 1029.999
    with pytest.raises(ConfigurationError) as again:
        policy.refusal("env-bucket")
    assert again.value.message == expected
    assert len(answers) == 1  # not asked again yet
    clock.now = 1030.0
    with caplog.at_level(logging.INFO, logger="mwaa_sp.buckets"):
        assert policy.allowed() == ("env-bucket",)
    assert answers == []
    [record] = caplog.records
    assert (record.levelno, record.getMessage(), record.__dict__["buckets"]) == (
        logging.INFO,
        "allowed buckets",
        ["env-bucket"],
    )
    assert policy.refusal("env-bucket") is None


def test_an_environment_bucket_read_at_once_is_never_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    clock.now = 0.0  # a fresh clock: no failure ever happened, whatever the monotonic origin
    monkeypatch.setattr(buckets, "time", SimpleNamespace(monotonic=clock.monotonic))
    calls: list[int] = []
    policy = BucketPolicy(None, None, lambda: calls.append(1) or "env")
    assert policy.allowed() == ("env",)
    assert policy.refusal("other") == "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"
    assert calls == [1]
