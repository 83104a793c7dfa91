"""Create/read/update/delete of ``aws_s3_object`` against an in-process moto S3 (no Terraform).

Faster and more precise than going through Terraform: each test checks one behaviour of the notes
(state after create, key cleaning, multipart etag, tag-only updates, Read of missing objects, ...).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tf.iface import CreateContext, DeleteContext, ReadContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from mwaa_sp_standin.aws_provider import AwsStandinProvider
from mwaa_sp_standin.s3_calls import PART_SIZE
from mwaa_sp_standin.s3_object import S3Object
from mwaa_sp_standin.s3_object_plan import StandinPlanContext
from tests.standin.helpers import config, make_provider

BUCKET = "standin-bucket"
VERSIONED = "standin-versioned"


@pytest.fixture
def s3(provider_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.create_bucket(Bucket=VERSIONED)
        client.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture
def provider(s3: Any) -> AwsStandinProvider:
    return make_provider()


def create(provider: AwsStandinProvider, **values: Any) -> dict[str, Any]:
    """Plan and apply a create, the way Terraform drives the resource."""
    resource = S3Object(provider)
    cfg = config(bucket=BUCKET) | values
    ctx = StandinPlanContext(Diagnostics(), "aws_s3_object", set(), config=cfg)
    planned = resource.plan(ctx, None, dict(cfg))
    assert planned is not None
    diags = Diagnostics()
    state = resource.create(CreateContext(diags, "aws_s3_object"), planned)
    assert not diags.has_errors(), str(diags)
    assert state is not None
    return state


def update(provider: AwsStandinProvider, prior: dict[str, Any], **values: Any) -> dict[str, Any]:
    resource = S3Object(provider)
    cfg = config(bucket=prior["bucket"], key=prior["key"]) | values
    ctx = StandinPlanContext(Diagnostics(), "aws_s3_object", set(), config=cfg)
    planned = resource.plan(ctx, prior, dict(cfg))
    assert planned is not None
    assert ctx.requires_replace == []
    diags = Diagnostics()
    state = resource.update(UpdateContext(diags, "aws_s3_object"), prior, planned)
    assert not diags.has_errors(), str(diags)
    assert state is not None
    return state


def read(provider: AwsStandinProvider, state: dict[str, Any]) -> dict[str, Any] | None:
    diags = Diagnostics()
    result = S3Object(provider).read(ReadContext(diags, "aws_s3_object"), state)
    assert not diags.has_errors(), str(diags)
    return result


def test_state_after_create_matches_the_notes(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, key="dags/a.py", content="{anything will do }")
    assert state["id"] == f"{BUCKET}/dags/a.py"
    assert state["etag"] == "7b006ff4d70f68cc65061acf2f802e6f"  # from the notes / acceptance tests
    assert state["arn"] == f"arn:aws:s3:::{BUCKET}/dags/a.py"
    assert state["acl"] is None
    assert state["kms_key_id"] is None
    assert state["bucket_key_enabled"] is False
    assert state["content_type"] == "application/octet-stream"
    assert state["storage_class"] == "STANDARD"
    assert state["version_id"] == ""
    assert state["force_destroy"] is False
    for name in ("cache_control", "content_disposition", "content_encoding", "content_language", "website_redirect"):
        assert state[name] == "", name
    for name in ("checksum_crc32", "checksum_crc32c", "checksum_crc64nvme", "checksum_sha1", "checksum_sha256"):
        assert state[name] == "", name
    for name in ("object_lock_legal_hold_status", "object_lock_mode", "object_lock_retain_until_date"):
        assert state[name] == "", name
    assert state["tags_all"] == {}
    assert not any(v is Unknown for v in state.values())
    assert s3.get_object(Bucket=BUCKET, Key="dags/a.py")["Body"].read() == b"{anything will do }"
    # A refresh of the untouched object changes nothing.
    assert read(provider, state) == state


def test_empty_object_when_no_body_is_configured(provider: AwsStandinProvider) -> None:
    state = create(provider, key="empty")
    assert state["etag"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_key_is_cleaned_for_api_calls_but_kept_in_state(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, key="/a/b//c///d/////e/", content="x")
    assert state["key"] == "/a/b//c///d/////e/"
    assert state["id"] == f"{BUCKET}//a/b//c///d/////e/"
    assert state["arn"] == f"arn:aws:s3:::{BUCKET}/a/b/c/d/e/"
    assert s3.get_object(Bucket=BUCKET, Key="a/b/c/d/e/")["Body"].read() == b"x"


def test_content_base64_is_decoded(provider: AwsStandinProvider, s3: Any) -> None:
    payload = bytes(range(256))
    state = create(provider, key="bin", content_base64=base64.b64encode(payload).decode())
    assert s3.get_object(Bucket=BUCKET, Key="bin")["Body"].read() == payload
    assert state["etag"] == hashlib.md5(payload).hexdigest()  # noqa: S324 - S3's etag is an MD5


def test_bad_base64_fails_at_apply(provider: AwsStandinProvider) -> None:
    resource = S3Object(provider)
    cfg = config(bucket=BUCKET, content_base64="not base64!")
    planned = resource.plan(StandinPlanContext(Diagnostics(), "t", set(), config=cfg), None, cfg)
    diags = Diagnostics()
    assert resource.create(CreateContext(diags, "aws_s3_object"), planned or {}) is None
    assert diags.diagnostics[0].summary.startswith("decoding content_base64:")


def test_source_file_with_headers_metadata_and_tags(provider_env: None, s3: Any, tmp_path: Path) -> None:
    provider = make_provider(default_tags=[{"tags": {"owner": "platform"}}])
    blob = tmp_path / "dag.zip"
    blob.write_bytes(b"PK\x03\x04" + bytes(1000))
    state = create(
        provider,
        key="dags/dag.zip",
        source=str(blob),
        source_hash="h1",
        content_type="application/zip",
        cache_control="no-cache",
        metadata={"component": "c1"},
        tags={"team": "x"},
    )
    head = s3.head_object(Bucket=BUCKET, Key="dags/dag.zip")
    assert head["ContentType"] == "application/zip"
    assert head["CacheControl"] == "no-cache"
    assert head["Metadata"] == {"component": "c1"}
    assert state["metadata"] == {"component": "c1"}
    tag_set = s3.get_object_tagging(Bucket=BUCKET, Key="dags/dag.zip")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tag_set} == {"owner": "platform", "team": "x"}
    assert state["tags"] == {"team": "x"}
    assert state["tags_all"] == {"owner": "platform", "team": "x"}
    assert state["etag"] == hashlib.md5(blob.read_bytes()).hexdigest()  # noqa: S324


def test_large_body_uses_5_mib_multipart_parts(provider: AwsStandinProvider, s3: Any) -> None:
    payload = b"a" * (PART_SIZE + 1)
    state = create(provider, key="big", content_base64=base64.b64encode(payload).decode())
    part_md5s = [hashlib.md5(payload[:PART_SIZE]).digest(), hashlib.md5(payload[PART_SIZE:]).digest()]  # noqa: S324
    assert state["etag"] == hashlib.md5(b"".join(part_md5s)).hexdigest() + "-2"  # noqa: S324
    assert s3.head_object(Bucket=BUCKET, Key="big")["ContentLength"] == len(payload)


@pytest.mark.parametrize(
    ("algorithm", "attribute", "value"),
    [
        ("CRC32", "checksum_crc32", "q/d4Ig=="),
        ("SHA256", "checksum_sha256", "1uxomN6H3axuWzYRcIp6ocLSmCkzScwabCmaHbcUnTg="),
    ],
)
def test_checksum_algorithm_fills_its_checksum(
    provider: AwsStandinProvider, algorithm: str, attribute: str, value: str
) -> None:
    state = create(provider, key="sum", content="ABCDEFGHIJKLMNOPQRSTUVWXYZ", checksum_algorithm=algorithm)
    assert state[attribute] == value  # the notes' values for this body
    others = {"checksum_crc32", "checksum_crc32c", "checksum_crc64nvme", "checksum_sha1", "checksum_sha256"}
    assert {state[name] for name in others - {attribute}} == {""}


def test_content_update_reuploads_and_versions(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, bucket=VERSIONED, key="v.py", content="v1")
    assert state["version_id"] != ""
    updated = update(provider, state, bucket=VERSIONED, content="v2")
    assert updated["version_id"] not in ("", state["version_id"])
    assert updated["etag"] == hashlib.md5(b"v2").hexdigest()  # noqa: S324
    assert updated["content_type"] == state["content_type"]  # the prior value was sent again
    versions = s3.list_object_versions(Bucket=VERSIONED, Prefix="v.py")["Versions"]
    assert len(versions) == 2


def test_tag_only_update_does_not_upload(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, bucket=VERSIONED, key="t.py", content="v1", tags={"a": "1"})
    updated = update(provider, state, bucket=VERSIONED, content="v1", tags={"a": "2", "b": "3"})
    assert updated["version_id"] == state["version_id"]
    assert len(s3.list_object_versions(Bucket=VERSIONED, Prefix="t.py")["Versions"]) == 1
    tag_set = s3.get_object_tagging(Bucket=VERSIONED, Key="t.py")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tag_set} == {"a": "2", "b": "3"}
    assert updated["tags_all"] == {"a": "2", "b": "3"}
    removed = update(provider, updated, bucket=VERSIONED, content="v1")
    assert s3.get_object_tagging(Bucket=VERSIONED, Key="t.py")["TagSet"] == []
    assert removed["tags_all"] == {}


def test_read_of_missing_object_or_bucket_drops_it(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, key="gone.py", content="x")
    s3.delete_object(Bucket=BUCKET, Key="gone.py")
    assert read(provider, state) is None
    assert read(provider, state | {"bucket": "no-such-bucket-standin"}) is None


def test_read_reports_drift_of_tags_and_etag(provider_env: None, s3: Any) -> None:
    provider = make_provider(default_tags=[{"tags": {"owner": "platform"}}])
    state = create(provider, key="drift.py", content="x", tags={"team": "x"})
    s3.put_object(Bucket=BUCKET, Key="drift.py", Body=b"changed", Tagging="owner=platform&team=y&extra=1")
    refreshed = read(provider, state)
    assert refreshed is not None
    assert refreshed["etag"] == hashlib.md5(b"changed").hexdigest()  # noqa: S324
    assert refreshed["tags_all"] == {"owner": "platform", "team": "y", "extra": "1"}
    assert refreshed["tags"] == {"team": "y", "extra": "1"}  # default tags are not resource tags
    assert refreshed["content"] == "x"  # never read back


def test_delete_of_versioned_object_removes_all_versions(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, bucket=VERSIONED, key="d.py", content="v1")
    state = update(provider, state, bucket=VERSIONED, content="v2")
    create(provider, bucket=VERSIONED, key="d.py.keep", content="other")  # same prefix, other key
    diags = Diagnostics()
    S3Object(provider).delete(DeleteContext(diags, "aws_s3_object"), state)
    assert not diags.has_errors()
    listing = s3.list_object_versions(Bucket=VERSIONED, Prefix="d.py")
    keys = {v["Key"] for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]}
    assert keys == {"d.py.keep"}


def test_delete_of_unversioned_object(provider: AwsStandinProvider, s3: Any) -> None:
    state = create(provider, key="/x//y", content="v1")
    diags = Diagnostics()
    S3Object(provider).delete(DeleteContext(diags, "aws_s3_object"), state)
    assert not diags.has_errors()
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    # Deleting again (already gone) is not an error.
    S3Object(provider).delete(DeleteContext(diags, "aws_s3_object"), state)
    assert not diags.has_errors()


def test_too_many_tags_after_merging_defaults_fail_at_apply(provider_env: None, s3: Any) -> None:
    provider = make_provider(default_tags=[{"tags": {f"d{i}": "v" for i in range(5)}}])
    resource = S3Object(provider)
    cfg = config(bucket=BUCKET, tags={f"r{i}": "v" for i in range(6)})
    planned = resource.plan(StandinPlanContext(Diagnostics(), "t", set(), config=cfg), None, cfg)
    diags = Diagnostics()
    assert resource.create(CreateContext(diags, "aws_s3_object"), planned or {}) is None
    assert "Object tags cannot be greater than 10" in diags.diagnostics[0].summary
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
