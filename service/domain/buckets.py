"""Which buckets a descriptor may name: the allow-list (``MWAA_SP_ALLOWED_BUCKETS``), never the state bucket.

Every DAG is code the MWAA environment runs with its own permissions, and the service's credentials
reach more buckets than any one team should (the Terraform states among them). So a descriptor's
``bucketName`` is checked against a list an operator sets, before any S3 call is made for it — a
refusal says nothing about whether the bucket exists.

Default, when the setting is absent: the MWAA environment's own source bucket
(``MWAA_SP_MWAA_ENVIRONMENT``, read with GetEnvironment), the sandbox's bucket in the sandbox, and
otherwise every bucket (said loudly at start-up).
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable

from service.errors import ConfigurationError, Problem

log = logging.getLogger("mwaa_sp.buckets")
_RETRY_AFTER_S = 30.0

SourceBucket = Callable[[], str]
"""Reads the MWAA environment's source bucket (GetEnvironment); raises when it cannot be had."""


def bucket_of_arn(arn: str) -> str:
    """``arn:aws:s3:::name`` → ``name`` (GetEnvironment's ``SourceBucketArn``)."""
    prefix, sep, name = arn.rpartition(":::")
    if not sep or not prefix.startswith("arn:") or not name:
        raise ValueError(f"not an S3 bucket ARN: {arn!r}")
    return name


class BucketPolicy:
    """``allowed``: names or globs; ``None`` means every bucket. ``source`` (GetEnvironment) is asked
    once, when ``allowed`` is not set, the first time a bucket is checked; a failure is retried later
    and meanwhile refuses every bucket (failing closed, as a ``ConfigurationError``)."""

    def __init__(
        self,
        allowed: tuple[str, ...] | None,
        state_bucket: str | None,
        source: SourceBucket | None = None,
    ) -> None:
        self._allowed = allowed
        self._state_bucket = state_bucket
        self._source = source
        self._lock = threading.Lock()
        self._failed_at = float("-inf")
        self._error = ""

    @property
    def everything(self) -> bool:
        return self._allowed is None and self._source is None

    def allowed(self) -> tuple[str, ...] | None:
        """The patterns in force (``None``: every bucket)."""
        with self._lock:
            if self._allowed is None and self._source is not None:
                if time.monotonic() - self._failed_at < _RETRY_AFTER_S:
                    raise ConfigurationError(self._error)
                try:
                    self._allowed = (self._source(),)
                except Exception as exc:  # noqa: BLE001 - reported as the refusal's reason, retried later
                    self._failed_at = time.monotonic()
                    self._error = (
                        "the MWAA environment's source bucket could not be read (GetEnvironment), so no bucket "
                        f"is allowed until it can: {exc}; set MWAA_SP_ALLOWED_BUCKETS to name the buckets"
                    )
                    log.error("no bucket is allowed", extra={"error": str(exc)})
                    raise ConfigurationError(self._error) from exc
                log.info("allowed buckets", extra={"buckets": list(self._allowed)})
            return self._allowed

    def refusal(self, bucket: str) -> str | None:
        """Why a descriptor may not name ``bucket``, or None. Never an S3 call: whether it exists is
        nobody's business when it is not allowed."""
        if self._state_bucket and bucket == self._state_bucket:
            return "is the bucket of the service's Terraform states; DAGs are never deployed there"
        patterns = self.allowed()
        if patterns is None or any(fnmatch.fnmatchcase(bucket, p) for p in patterns):
            return None
        return "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"

    def problems(self, bucket: str, field: str) -> list[Problem]:
        why = self.refusal(bucket)
        if why is None:
            return []
        return [Problem(field, f"bucket {bucket!r} {why}", "Use the MWAA environment's DAG bucket.")]
