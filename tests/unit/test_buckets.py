"""Which buckets a descriptor may name: the allow-list (names and globs), never the state bucket,
failing closed while the MWAA environment's bucket cannot be read."""

from __future__ import annotations

import pytest

from service.domain.buckets import BucketPolicy, bucket_of_arn
from service.errors import ConfigurationError


def test_names_and_globs_are_allowed_and_nothing_else() -> None:
    policy = BucketPolicy(("mwaa-prod", "team-*-dags"), "states")
    assert policy.refusal("mwaa-prod") is None
    assert policy.refusal("team-a-dags") is None
    assert policy.refusal("mwaa-prod2") == "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"
    assert policy.refusal("team-a-dags-x") is not None
    [problem] = policy.problems("other", "dataProduct.components[0].specific.bucketName")
    assert problem.field == "dataProduct.components[0].specific.bucketName"
    assert problem.message == "bucket 'other' is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"


def test_the_state_bucket_is_refused_whatever_the_list_says() -> None:
    for allowed in (None, ("*",), ("states",)):
        refusal = BucketPolicy(allowed, "states").refusal("states")
        assert refusal == "is the bucket of the service's Terraform states; DAGs are never deployed there"
    assert BucketPolicy(None, None).refusal("anything") is None


def test_the_environments_bucket_is_read_once_and_a_failure_fails_closed() -> None:
    calls: list[int] = []

    def source() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("GetEnvironment: AccessDenied")
        return "mwaa-env-bucket"

    policy = BucketPolicy(None, None, source)
    assert not policy.everything
    with pytest.raises(ConfigurationError, match="no bucket is allowed until it can"):
        policy.refusal("mwaa-env-bucket")
    with pytest.raises(ConfigurationError):  # not asked again at once
        policy.refusal("mwaa-env-bucket")
    assert len(calls) == 1
    policy._failed_at = float("-inf")  # noqa: SLF001 - the retry delay has passed
    assert policy.refusal("mwaa-env-bucket") is None
    assert policy.refusal("other") is not None
    assert len(calls) == 2
    policy.refusal("mwaa-env-bucket")
    assert len(calls) == 2


def test_bucket_of_arn() -> None:
    assert bucket_of_arn("arn:aws:s3:::my-mwaa-bucket") == "my-mwaa-bucket"
    assert bucket_of_arn("arn:aws-cn:s3:::b.c") == "b.c"
    for bad in ("my-bucket", "arn:aws:s3:::", "s3:::x"):
        with pytest.raises(ValueError, match="not an S3 bucket ARN"):
            bucket_of_arn(bad)
