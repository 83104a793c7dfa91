"""Every outbound AWS call is bounded: connect and read timeouts, and few attempts, so a hung
endpoint costs one request seconds rather than botocore's defaults (60 s reads, and more tries)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.aws.iam import Iam
from service.aws.mwaa import MwaaEnvironment
from service.aws.s3 import S3
from service.settings import Settings


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"})


def _bounds(client: object) -> tuple[float, float, int]:
    config = client.meta.config  # type: ignore[attr-defined]
    return config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]


def test_s3_iam_sts_and_mwaa_calls_are_bounded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9")
    assert _bounds(S3(settings.aws).client) == (3, 10, 3)
    iam = Iam(settings.aws)
    assert _bounds(iam.client) == (3, 10, 3)
    assert _bounds(iam.sts) == (3, 10, 3)
    assert _bounds(MwaaEnvironment("env", "us-east-1", None)._client()) == (3, 10, 2)  # noqa: SLF001
