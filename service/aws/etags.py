"""Whether S3's ETag of a deployed object is the MD5 of its bytes, bucket by bucket.

Under SSE-S3 (or no default encryption) a single-part upload's ETag is the MD5 of the bytes, so the
module configures ``etag = md5(content)``: the plan shows the new value, and an object overwritten
behind Terraform's back is uploaded again by the next apply. Under SSE-KMS, DSSE-KMS or SSE-C the
ETag is opaque (a new one for every upload of the same bytes), so a configured MD5 would differ on
every plan and re-upload every DAG on every provision; there the module tracks changes with
``source_hash`` (kept in state, never compared with S3) and drift shows as the refreshed ETag moving.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from service.errors import StorageAccessDenied
from service.settings import BucketEncryption

log = logging.getLogger("mwaa_sp.etags")

# Default encryption algorithms whose ETags are not an MD5 (GetBucketEncryption's SSEAlgorithm).
_OPAQUE_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
_CACHE_S = 300.0


def opaque_etags(algorithm: str | None) -> bool:
    """For a bucket's default ``SSEAlgorithm`` (None: no default encryption configuration)."""
    return algorithm in _OPAQUE_ALGORITHMS


class EncryptionReader(Protocol):
    def default_encryption(self, bucket: str) -> str | None: ...


class BucketEtags:
    """``MWAA_SP_BUCKET_ENCRYPTION``: ``sse-s3`` and ``kms`` decide for every bucket; ``auto`` asks
    S3 (GetBucketEncryption, remembered for five minutes per bucket). ``opaque`` raises
    ``StorageError`` when S3 cannot answer, so the operation fails rather than guessing."""

    def __init__(self, setting: BucketEncryption, s3: EncryptionReader | None) -> None:
        self.setting = setting
        self.s3 = s3
        self._known: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def opaque(self, bucket: str) -> bool:
        if self.setting != "auto":
            return self.setting == "kms"
        if self.s3 is None:
            return False
        now = time.monotonic()
        with self._lock:
            known = self._known.get(bucket)
        if known and now - known[0] < _CACHE_S:
            return known[1]
        try:
            opaque = opaque_etags(self.s3.default_encryption(bucket))
        except StorageAccessDenied as exc:
            # Without s3:GetEncryptionConfiguration, source_hash is the choice that holds on every
            # bucket: at worst a DAG overwritten behind our back waits for a drift reconcile. Any
            # other failure (throttling, an outage) is raised, not remembered: a guess would flip the
            # tracking, and so re-upload every DAG, twice.
            log.warning(
                "cannot read the bucket's default encryption; tracking changes with source_hash",
                extra={"bucket": bucket, "error": exc.message, "setting": "MWAA_SP_BUCKET_ENCRYPTION"},
            )
            opaque = True
        with self._lock:
            self._known[bucket] = (now, opaque)
        return opaque
