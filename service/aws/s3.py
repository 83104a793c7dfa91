"""The few S3 calls the service makes itself (staged DAGs, fingerprints); botocore's errors are
translated here into ``StorageError`` or ``None`` for "not there". :class:`Dispatch` tells when
reads in flight have been handed to the network."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from service.domain.deployment import ObjectFingerprint
from service.errors import StorageAccessDenied, StorageError
from service.settings import AwsAccess

_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}
_NO_ENCRYPTION_CONFIG = "ServerSideEncryptionConfigurationNotFoundError"
_DENIED = {"AccessDenied", "403", "AllAccessDisabled"}


# The attributes Read refreshes (see aws_s3_object notes): a change in any of them can make a plan.
_READ_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Metadata",
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "StorageClass",
    "VersionId",
    "WebsiteRedirectLocation",
    "BucketKeyEnabled",
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "ObjectLockLegalHoldStatus",
)


P = ParamSpec("P")
T = TypeVar("T")

_sending = threading.local()
"""This thread's read, while a :class:`Dispatch` counts it: called once it is handed to the network."""


def _handed_over(**_: Any) -> None:
    """botocore's ``before-send``: the request is built and signed, what is left is the network's.
    (It returns None: a handler that returns a response replaces the send.)"""
    arrive = getattr(_sending, "arrive", None)
    if arrive is not None:
        _sending.arrive = None
        arrive()


class Dispatch:
    """Reads counted until each has left the interpreter's hands: built, signed and handed to the
    network (botocore's ``before-send``; a retry does not count again), or ended without sending.
    Building and signing a read is the interpreter's work (about 1 ms); work that would compete for
    it can wait for this, so that reads started together go out together."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._pending = 0
        self._all_sent = threading.Event()
        self._all_sent.set()

    def track(self, call: Callable[P, T]) -> Callable[P, T]:
        """``call``, counted from now until it sends its first request or returns."""
        arrived = False
        with self._guard:
            self._pending += 1
            self._all_sent.clear()

        def arrive() -> None:
            nonlocal arrived
            with self._guard:
                if arrived:
                    return
                arrived = True
                self._pending -= 1
                if self._pending == 0:
                    self._all_sent.set()

        def tracked(*args: P.args, **kwargs: P.kwargs) -> T:
            _sending.arrive = arrive
            try:
                return call(*args, **kwargs)
            finally:
                _sending.arrive = None
                arrive()

        return tracked

    def wait(self, timeout_s: float) -> bool:
        """True once every tracked read has been sent (or ended); False if ``timeout_s`` passed first."""
        return self._all_sent.wait(timeout_s)


class S3:
    def __init__(self, aws: AwsAccess) -> None:
        # A hung endpoint costs a request at most 3 attempts × (3 s to connect + 10 s without a byte),
        # never the 120 s botocore's defaults allow; a slow transfer that keeps sending is not cut.
        config = Config(
            retries={"total_max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=10,
            s3={"addressing_style": "path"} if aws.emulator else {},
        )
        self.endpoint = aws.s3_endpoint or "AWS"
        self.client = boto3.session.Session(**aws.boto3_credentials).client(
            "s3", region_name=aws.region, endpoint_url=aws.s3_endpoint, config=config
        )
        self.client.meta.events.register("before-send.s3", _handed_over)

    def _call(self, what: str, operation: Callable[..., Any], **params: Any) -> Any:
        """One S3 call: its response, ``None`` when the object or bucket does not exist, otherwise a
        ``StorageError`` that says what was being done."""
        try:
            return operation(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "?"))
            if code in _MISSING:
                return None
            if code in _DENIED:
                raise StorageAccessDenied(f"S3 refused {what}: {code}") from exc
            raise StorageError(f"S3 refused {what}: {code}") from exc
        except EndpointConnectionError as exc:
            raise StorageError(f"S3 endpoint {self.endpoint} is unreachable while {what}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 failed while {what}: {exc}") from exc

    def bucket_exists(self, bucket: str) -> bool:
        return self._call(f"checking bucket {bucket}", self.client.head_bucket, Bucket=bucket) is not None

    def default_encryption(self, bucket: str) -> str | None:
        """The bucket's default ``SSEAlgorithm`` (AES256, aws:kms, aws:kms:dsse), None without one."""

        def read() -> Any:
            try:
                return self.client.get_bucket_encryption(Bucket=bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == _NO_ENCRYPTION_CONFIG:
                    return {}
                raise

        found = self._call(f"reading the default encryption of bucket {bucket}", read) or {}
        for rule in found.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
            if algorithm := rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"):
                return str(algorithm)
        return None

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        found = self._call(f"reading s3://{bucket}/{key}", self.client.head_object, Bucket=bucket, Key=key)
        return None if found is None else dict(found)

    def get(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        response = self._call(f"reading s3://{bucket}/{key}", self.client.get_object, Bucket=bucket, Key=key)
        if response is None:
            return None
        if int(response.get("ContentLength", 0)) > max_bytes:
            response["Body"].close()
            raise StorageError(f"s3://{bucket}/{key} is larger than {max_bytes} bytes (MWAA_SP_MAX_DAG_BYTES)")
        data: bytes = response["Body"].read()
        return data

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        def every() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [o["Key"] for page in pages for o in page.get("Contents", [])]

        found = self._call(f"listing s3://{bucket}/{prefix}", every)
        return [] if found is None else list(found)

    def delete(self, bucket: str, key: str) -> None:
        self._call(f"deleting s3://{bucket}/{key}", self.client.delete_object, Bucket=bucket, Key=key)

    def _tags(self, bucket: str, key: str) -> list[dict[str, str]] | None:
        what = f"reading tags of s3://{bucket}/{key}"
        found = self._call(what, self.client.get_object_tagging, Bucket=bucket, Key=key)
        return None if found is None else [{"Key": t["Key"], "Value": t["Value"]} for t in found.get("TagSet", [])]

    def tags(self, bucket: str, key: str) -> dict[str, str] | None:
        """An object's tags, or None when there is no such object."""
        found = self._tags(bucket, key)
        return None if found is None else {t["Key"]: t["Value"] for t in found}

    def start_fingerprints(
        self, bucket: str, keys: list[str], pool: Executor, dispatch: Dispatch | None = None
    ) -> Callable[[], dict[str, ObjectFingerprint | None]]:
        """Put HEAD and tag reads of every key in flight at once (counted by ``dispatch``); the
        returned call collects them. (This is the no-op hot path: Terraform's refresh would make the
        same reads.)"""
        counted = Dispatch() if dispatch is None else dispatch  # a count nobody waits for costs a lock
        heads = {key: pool.submit(counted.track(self.head), bucket, key) for key in keys}
        tags = {key: pool.submit(counted.track(self._tags), bucket, key) for key in keys}

        def collect() -> dict[str, ObjectFingerprint | None]:
            found: dict[str, ObjectFingerprint | None] = {}
            for key in keys:
                head, tag_set = heads[key].result(), tags[key].result()
                if head is None or tag_set is None:
                    found[key] = None
                    continue
                headers = tuple((h, str(head[h])) for h in _READ_HEADERS if h in head)
                pairs = tuple(sorted((t["Key"], t["Value"]) for t in tag_set))
                found[key] = ObjectFingerprint(str(head.get("ETag", "")).strip('"'), headers, pairs)
            return found

        return collect
