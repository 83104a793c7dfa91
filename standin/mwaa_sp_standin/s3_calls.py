"""The S3 API calls of ``aws_s3_object`` that need no provider state.

Reading the body to upload, the upload itself (single or multipart, like the AWS SDK's upload
manager), retention and tag updates, deleting every version of a key, and recognising "not found".

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Mapping
from typing import Any

from mwaa_sp_standin.s3_object_plan import ATTRS, MAX_OBJECT_TAGS
from mwaa_sp_standin.values import StandinError, State, clean_key, given, parse_rfc3339, sdk_equal

__all__ = [
    "PART_SIZE",
    "delete_all_versions",
    "is_not_found",
    "object_tags",
    "read_body",
    "update_retention",
    "update_tags",
    "upload",
]

# The AWS SDK v2 upload manager's default part size; larger bodies go multipart (etag "<md5>-<n>").
PART_SIZE = 5 * 1024 * 1024

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def _client_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) or None
    return None


def is_not_found(exc: BaseException) -> bool:
    return _client_error_code(exc) in _NOT_FOUND_CODES


def read_body(state: Mapping[str, Any]) -> bytes:
    """The bytes to upload: the ``source`` file, ``content`` (UTF-8) or ``content_base64``."""
    if source := given(state, "source"):
        path = os.path.expanduser(source)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise StandinError(f"opening S3 object source ({path}): {exc}", path=["source"]) from exc
    if content := given(state, "content"):
        return str(content).encode("utf-8")
    if content_b64 := given(state, "content_base64"):
        try:
            return base64.b64decode(content_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise StandinError(f"decoding content_base64: {exc}", path=["content_base64"]) from exc
    return b""


def upload(client: Any, bucket: str, key: str, body: bytes, args: Mapping[str, Any]) -> None:
    """PutObject, or a multipart upload for a body larger than :data:`PART_SIZE`."""
    if len(body) <= PART_SIZE:
        client.put_object(Bucket=bucket, Key=key, Body=body, **args)
        return
    # Like the SDK's upload manager: 5 MiB parts, so the ETag is "<md5 of part md5s>-<parts>".
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **args)["UploadId"]
    part_args = {"ChecksumAlgorithm": args["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in args else {}
    try:
        parts = []
        for number, offset in enumerate(range(0, len(body), PART_SIZE), start=1):
            part = client.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body[offset : offset + PART_SIZE],
                **part_args,
            )
            entry = {"ETag": part["ETag"], "PartNumber": number}
            entry.update({k: v for k, v in part.items() if k.startswith("Checksum") and k != "ChecksumType"})
            parts.append(entry)
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    except Exception:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def update_retention(client: Any, prior: State, state: State) -> None:
    mode_attr, date_attr = ATTRS["object_lock_mode"], ATTRS["object_lock_retain_until_date"]
    if sdk_equal(mode_attr, prior.get("object_lock_mode"), state.get("object_lock_mode")) and sdk_equal(
        date_attr, prior.get("object_lock_retain_until_date"), state.get("object_lock_retain_until_date")
    ):
        return
    bucket, key = state["bucket"], clean_key(state["key"])
    old_date = given(prior, "object_lock_retain_until_date")
    new_date = given(state, "object_lock_retain_until_date")
    retention: dict[str, Any] = {}
    if mode := given(state, "object_lock_mode"):
        retention["Mode"] = mode
    if new_date:
        retention["RetainUntilDate"] = parse_rfc3339(new_date)
    # Clearing the date or moving it earlier needs the governance bypass.
    bypass = bool(old_date) and (not new_date or parse_rfc3339(new_date) < parse_rfc3339(old_date))
    extra = {"BypassGovernanceRetention": True} if bypass else {}
    client.put_object_retention(Bucket=bucket, Key=key, Retention=retention, **extra)


def object_tags(client: Any, bucket: str, key: str) -> dict[str, str]:
    tag_set = client.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
    return {t["Key"]: t["Value"] for t in tag_set}


def update_tags(client: Any, bucket: str, key: str, old: Mapping[str, str], new: Mapping[str, str]) -> None:
    """ObjectUpdateTags: write ``new`` plus tags nobody manages (ignored/system), or delete all."""
    remote = object_tags(client, bucket, key)
    unmanaged = {k: v for k, v in remote.items() if k not in old and k not in new}
    if new or unmanaged:
        if len({**new, **unmanaged}) > MAX_OBJECT_TAGS:
            raise StandinError(
                f"updating tags of S3 Object ({bucket}/{key}): InvalidTag: Object tags cannot be "
                f"greater than {MAX_OBJECT_TAGS}",
                path=["tags_all"],
            )
        tag_set = [{"Key": k, "Value": v} for k, v in {**unmanaged, **new}.items()]
        client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})
    elif old:
        client.delete_object_tagging(Bucket=bucket, Key=key)


def delete_all_versions(client: Any, bucket: str, key: str, force: bool) -> None:
    """Delete every version and delete marker of exactly ``key`` (state had a version_id)."""
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if entry.get("Key") != key:
                continue
            version = entry["VersionId"]
            try:
                client.delete_object(Bucket=bucket, Key=key, VersionId=version)
            except Exception as exc:
                if is_not_found(exc):
                    continue
                if not force:
                    raise
                # force_destroy: lift a legal hold and bypass governance retention, then retry.
                try:
                    client.put_object_legal_hold(Bucket=bucket, Key=key, VersionId=version, LegalHold={"Status": "OFF"})
                except Exception as hold_exc:
                    print(f"[WARN] lifting legal hold on {key}@{version}: {hold_exc}", file=sys.stderr)
                client.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)
