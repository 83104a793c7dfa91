"""The few S3 calls the service makes itself (staged DAGs, fingerprints); botocore's errors are
translated here into ``StorageError`` or ``None`` for "not there"."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

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
        self, bucket: str, keys: list[str], pool: Executor
    ) -> Callable[[], dict[str, ObjectFingerprint | None]]:
        """Put HEAD and tag reads of every key in flight at once; the returned call collects them.
        (This is the no-op hot path: Terraform's refresh would make the same reads.)"""
        heads = {key: pool.submit(self.head, bucket, key) for key in keys}
        tags = {key: pool.submit(self._tags, bucket, key) for key in keys}

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
