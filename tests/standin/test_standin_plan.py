"""Planning, validation and provider configuration of the stand-in, without Terraform or S3.

These pin the SDKv2 semantics the Terraform end-to-end tests rely on, one rule at a time.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.types import Unknown
from tf.utils import Diagnostics, read_dynamic_value

from mwaa_sp_standin.aws_provider import AwsStandinProvider
from mwaa_sp_standin.config import resolve_provider_settings
from mwaa_sp_standin.s3_object import S3Object
from mwaa_sp_standin.s3_object_plan import StandinPlanContext
from mwaa_sp_standin.servicer import StandinServicer, encode_value
from mwaa_sp_standin.values import clean_key, object_arn, parse_import_id
from tests.standin.helpers import ALL_ATTRS, config, make_provider

# The notes' "Plan at create" list: unknown unless configured.
CREATE_UNKNOWN = {
    "id",
    "arn",
    "etag",
    "version_id",
    "content_type",
    "acl",
    "bucket_key_enabled",
    "kms_key_id",
    "server_side_encryption",
    "storage_class",
    "checksum_crc32",
    "checksum_crc32c",
    "checksum_crc64nvme",
    "checksum_sha1",
    "checksum_sha256",
}


def plan(
    provider: AwsStandinProvider, cfg: dict[str, Any], prior: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[list[str]]]:
    ctx = StandinPlanContext(Diagnostics(), "aws_s3_object", set(), config=cfg)
    planned = S3Object(provider).plan(ctx, prior, dict(cfg))
    assert planned is not None
    assert not ctx.diagnostics.has_errors()
    return planned, ctx.requires_replace


def applied_state(**overrides: Any) -> dict[str, Any]:
    """A state as the stand-in writes it after creating ``content = "print(1)"`` (notes' table)."""
    state = config(content="print(1)", tags={"team": "x"})
    state.update(
        {
            "id": "bkt/dags/a.py",
            "region": "us-east-1",
            "arn": "arn:aws:s3:::bkt/dags/a.py",
            "acl": None,
            "bucket_key_enabled": False,
            "cache_control": "",
            "content_disposition": "",
            "content_encoding": "",
            "content_language": "",
            "content_type": "application/octet-stream",
            "etag": "186bdbe41e79ea696410ba0a9e8d2762",
            "force_destroy": False,
            "kms_key_id": None,
            "metadata": None,
            "object_lock_legal_hold_status": "",
            "object_lock_mode": "",
            "object_lock_retain_until_date": "",
            "server_side_encryption": "",
            "storage_class": "STANDARD",
            "tags_all": {"team": "x"},
            "version_id": "",
            "website_redirect": "",
            **{name: "" for name in ALL_ATTRS if name.startswith("checksum_") and name != "checksum_algorithm"},
        }
    )
    state.update(overrides)
    return state


@pytest.fixture
def provider(provider_env: None) -> AwsStandinProvider:
    return make_provider()


# -- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "cleaned"),
    [
        ("/a/b//c///d/////e/", "a/b/c/d/e/"),
        ("/", ""),
        ("./index.html", "index.html"),
        ("/index.html", "index.html"),
        ("first//second///third//", "first/second/third/"),
        ("plain/key.py", "plain/key.py"),
    ],
)
def test_clean_key(key: str, cleaned: str) -> None:
    assert clean_key(key) == cleaned


def test_parse_import_id() -> None:
    assert parse_import_id("bkt/dags/a.py") == ("bkt", "dags/a.py")
    assert parse_import_id("s3://bkt/dags/a.py") == ("bkt", "dags/a.py")
    assert parse_import_id("s3://b//k") == ("b", "/k")
    with pytest.raises(ValueError, match="should be in format <bucket>/<key>"):
        parse_import_id("just-a-bucket")


def test_object_arn_uses_cleaned_key_and_partition() -> None:
    assert object_arn("us-east-1", "bkt", "/a//b") == "arn:aws:s3:::bkt/a/b"
    assert object_arn("cn-north-1", "bkt", "k") == "arn:aws-cn:s3:::bkt/k"
    ap = "arn:aws:s3:us-east-1:123456789012:accesspoint/ap"
    assert object_arn("us-east-1", ap, "k") == f"{ap}/k"


# -- create plans ------------------------------------------------------------------------------------


def test_create_plan_unknowns_match_the_notes(provider: AwsStandinProvider) -> None:
    planned, replace = plan(provider, config(content="print(1)", tags={"team": "x"}))
    assert replace == []
    unknown = {k for k, v in planned.items() if v is Unknown}
    assert unknown == CREATE_UNKNOWN
    assert planned["region"] == "us-east-1"
    assert planned["force_destroy"] is False
    assert planned["tags_all"] == {"team": "x"}
    assert planned["content"] == "print(1)"
    assert planned["cache_control"] is None


def test_create_plan_shows_configured_etag_and_content_type(provider: AwsStandinProvider) -> None:
    planned, _ = plan(provider, config(content="x", etag="9dd4e461268c8034f5c8564e155c67a6", content_type="text/plain"))
    assert planned["etag"] == "9dd4e461268c8034f5c8564e155c67a6"
    assert planned["content_type"] == "text/plain"
    assert planned["version_id"] is Unknown


def test_create_plan_tags_all_unknown_without_any_tags(provider: AwsStandinProvider) -> None:
    planned, _ = plan(provider, config(content="x"))
    assert planned["tags_all"] is Unknown
    assert planned["tags"] is None


def test_create_plan_merges_default_tags_resource_wins(provider_env: None) -> None:
    provider = make_provider(default_tags=[{"tags": {"owner": "platform", "team": "default"}}])
    planned, _ = plan(provider, config(tags={"team": "x"}))
    assert planned["tags_all"] == {"owner": "platform", "team": "x"}


def test_override_provider_suppresses_default_tags(provider_env: None) -> None:
    provider = make_provider(default_tags=[{"tags": {"owner": "platform"}}])
    planned, _ = plan(provider, config(tags={"team": "x"}, override_provider=[{"default_tags": [{"tags": {}}]}]))
    assert planned["tags_all"] == {"team": "x"}


def test_ignore_tags_are_left_out_of_tags_all(provider_env: None) -> None:
    provider = make_provider(ignore_tags=[{"keys": ["skip"], "key_prefixes": ["tmp-"]}])
    planned, _ = plan(provider, config(tags={"team": "x", "skip": "1", "tmp-a": "2"}))
    assert planned["tags_all"] == {"team": "x"}


def test_configured_region_is_planned(provider: AwsStandinProvider) -> None:
    planned, _ = plan(provider, config(region="eu-west-1"))
    assert planned["region"] == "eu-west-1"


# -- update plans ------------------------------------------------------------------------------------


def test_unchanged_configuration_plans_exactly_the_prior_state(provider: AwsStandinProvider) -> None:
    prior = applied_state()
    planned, replace = plan(provider, config(content="print(1)", tags={"team": "x"}), prior)
    assert replace == []
    assert planned == prior


def test_empty_strings_and_maps_equal_null_like_the_sdk(provider: AwsStandinProvider) -> None:
    prior = applied_state(metadata={}, tags={}, tags_all={}, cache_control="")
    planned, _ = plan(provider, config(content="print(1)", metadata=None, tags=None), prior)
    assert planned == prior


def test_content_change_keeps_stale_etag_and_unknown_version(provider: AwsStandinProvider) -> None:
    prior = applied_state()
    planned, replace = plan(provider, config(content="print(2)", tags={"team": "x"}), prior)
    assert replace == []
    assert planned["content"] == "print(2)"
    assert planned["etag"] == prior["etag"]  # the legacy-SDK stale etag, as the real provider plans it
    assert planned["version_id"] is Unknown
    assert planned["id"] == prior["id"]


def test_configured_etag_change_is_planned_as_the_new_value(provider: AwsStandinProvider) -> None:
    prior = applied_state(etag="186bdbe41e79ea696410ba0a9e8d2762")
    new_md5 = "3d2172418ce305c7d16d4b05597c6a59"
    planned, _ = plan(provider, config(content="print(2)", etag=new_md5, tags={"team": "x"}), prior)
    assert planned["etag"] == new_md5
    assert planned["version_id"] is Unknown


def test_source_hash_change_makes_etag_and_version_unknown(provider: AwsStandinProvider) -> None:
    prior = applied_state(content=None, source="a.zip", source_hash="old")
    planned, replace = plan(provider, config(source="a.zip", source_hash="new", tags={"team": "x"}), prior)
    assert replace == []
    assert planned["etag"] is Unknown
    assert planned["version_id"] is Unknown
    assert planned["source_hash"] == "new"


def test_source_file_change_without_hash_change_is_no_change(provider: AwsStandinProvider) -> None:
    prior = applied_state(content=None, source="a.zip", source_hash="same")
    planned, _ = plan(provider, config(source="a.zip", source_hash="same", tags={"team": "x"}), prior)
    assert planned == prior


def test_removing_optional_computed_value_keeps_it(provider: AwsStandinProvider) -> None:
    prior = applied_state(content_type="text/x-python")
    planned, _ = plan(provider, config(content="print(1)", tags={"team": "x"}), prior)
    assert planned["content_type"] == "text/x-python"
    assert planned == prior


def test_tag_change_is_in_place_without_new_version(provider: AwsStandinProvider) -> None:
    prior = applied_state()
    planned, replace = plan(provider, config(content="print(1)", tags={"team": "y"}), prior)
    assert replace == []
    assert planned["tags"] == {"team": "y"}
    assert planned["tags_all"] == {"team": "y"}
    assert planned["version_id"] == ""
    assert planned["etag"] == prior["etag"]


def test_removing_all_tags_makes_tags_all_unknown(provider: AwsStandinProvider) -> None:
    planned, _ = plan(provider, config(content="print(1)"), applied_state())
    assert planned["tags"] is None
    assert planned["tags_all"] is Unknown


@pytest.mark.parametrize("attribute", ["bucket", "key"])
def test_bucket_or_key_change_replaces(provider: AwsStandinProvider, attribute: str) -> None:
    prior = applied_state()
    cfg = config(content="print(1)", tags={"team": "x"})
    cfg[attribute] = "other"
    planned, replace = plan(provider, cfg, prior)
    assert replace == [[attribute]]
    assert planned["id"] is Unknown
    assert planned["etag"] is Unknown
    assert planned[attribute] == "other"


def test_region_change_replaces(provider: AwsStandinProvider) -> None:
    planned, replace = plan(
        provider, config(content="print(1)", tags={"team": "x"}, region="eu-west-1"), applied_state()
    )
    assert replace == [["region"]]
    assert planned["region"] == "eu-west-1"


def test_force_destroy_change_is_state_only_update(provider: AwsStandinProvider) -> None:
    prior = applied_state()
    planned, replace = plan(provider, config(content="print(1)", tags={"team": "x"}, force_destroy=True), prior)
    assert replace == []
    assert planned["force_destroy"] is True
    assert planned["version_id"] == ""


def test_unknown_content_is_planned_unknown(provider: AwsStandinProvider) -> None:
    planned, _ = plan(provider, config(content=Unknown, tags={"team": "x"}), applied_state())
    assert planned["content"] is Unknown
    assert planned["version_id"] is Unknown


# -- the servicer ----------------------------------------------------------------------------------------


def _plan_request(prior: dict[str, Any] | None, cfg: dict[str, Any] | None) -> pb.PlanResourceChange.Request:
    return pb.PlanResourceChange.Request(
        type_name="aws_s3_object",
        prior_state=encode_value(prior),
        proposed_new_state=encode_value(cfg),
        config=encode_value(cfg),
    )


def test_servicer_create_plan_goes_through_the_resource(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    cfg = config(content="x", etag="9dd4e461268c8034f5c8564e155c67a6")
    response = servicer.PlanResourceChange(_plan_request(None, cfg), None)
    assert not response.diagnostics
    assert response.legacy_type_system
    planned = read_dynamic_value(response.planned_state)
    assert planned["etag"] == "9dd4e461268c8034f5c8564e155c67a6"
    assert planned["force_destroy"] is False
    assert planned["id"] is Unknown
    assert planned["region"] == "us-east-1"
    assert set(planned) == {*ALL_ATTRS, "override_provider"}


def test_servicer_no_change_returns_prior_state_bytes(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    prior = applied_state()
    request = _plan_request(prior, config(content="print(1)", tags={"team": "x"}))
    response = servicer.PlanResourceChange(request, None)
    assert response.planned_state.msgpack == request.prior_state.msgpack
    assert list(response.requires_replace) == []


def test_servicer_replacement_reports_requires_replace(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    response = servicer.PlanResourceChange(
        _plan_request(applied_state(), config(key="new.py", content="print(1)", tags={"team": "x"})), None
    )
    assert [[s.attribute_name for s in p.steps] for p in response.requires_replace] == [["key"]]


def test_servicer_destroy_plan_is_null(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    response = servicer.PlanResourceChange(_plan_request(applied_state(), None), None)
    assert not response.diagnostics
    assert msgpack.unpackb(response.planned_state.msgpack) is None


def test_servicer_upgrade_normalises_state_without_warning(provider: AwsStandinProvider) -> None:
    import json

    servicer = StandinServicer(provider)
    raw = {k: v for k, v in applied_state().items() if k != "checksum_crc64nvme"} | {"obsolete": 1}
    response = servicer.UpgradeResourceState(
        pb.UpgradeResourceState.Request(
            type_name="aws_s3_object", version=0, raw_state=pb.RawState(json=json.dumps(raw).encode())
        ),
        None,
    )
    assert list(response.diagnostics) == []  # no "Using default upgrade" warning
    upgraded = read_dynamic_value(response.upgraded_state)
    assert "obsolete" not in upgraded
    assert upgraded["checksum_crc64nvme"] is None
    assert upgraded["etag"] == raw["etag"]


def test_servicer_import_parses_both_id_forms(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    for import_id in ("bkt/dags/a.py", "s3://bkt/dags/a.py"):
        response = servicer.ImportResourceState(
            pb.ImportResourceState.Request(type_name="aws_s3_object", id=import_id), None
        )
        (imported,) = response.imported_resources
        state = read_dynamic_value(imported.state)
        assert (state["bucket"], state["key"], state["region"]) == ("bkt", "dags/a.py", "us-east-1")
        assert state["id"] == "bkt/dags/a.py"
    bad = servicer.ImportResourceState(pb.ImportResourceState.Request(type_name="aws_s3_object", id="nokey"), None)
    assert list(bad.imported_resources) == []
    assert bad.diagnostics[0].severity == pb.Diagnostic.ERROR


def test_servicer_metadata_lists_the_resources(provider: AwsStandinProvider) -> None:
    response = StandinServicer(provider).GetMetadata(pb.GetMetadata.Request(), None)
    assert [r.type_name for r in response.resources] == [
        "aws_s3_object",
        "aws_iam_user_policy",
        "aws_iam_group_policy",
        "aws_iam_role_policy",
    ]
    assert response.server_capabilities.plan_destroy


# -- validation ------------------------------------------------------------------------------------------


def _validate(cfg: dict[str, Any]) -> list[tuple[str, Any]]:
    diags = Diagnostics()
    S3Object(AwsStandinProvider(environ={})).validate(diags, "aws_s3_object", cfg)
    return [(d.summary, d.path) for d in diags.diagnostics if d.severity == "error"]


def test_valid_configuration_has_no_diagnostics() -> None:
    assert _validate(config(content="x", acl="private", metadata={"owner": "me"}, tags={"a": "b"})) == []


@pytest.mark.parametrize(
    ("values", "summary", "path"),
    [
        ({"bucket": ""}, "bucket must not be empty, got ", ["bucket"]),
        ({"key": ""}, "key must not be empty, got ", ["key"]),
        ({"metadata": {"Owner": "x"}}, 'Metadata must be lowercase only. Offending key: "Owner"', ["metadata"]),
        ({"acl": "open"}, "expected acl to be one of", ["acl"]),
        ({"checksum_algorithm": "MD5"}, "expected checksum_algorithm to be one of", ["checksum_algorithm"]),
        ({"storage_class": "COLD"}, "expected storage_class to be one of", ["storage_class"]),
        ({"kms_key_id": "not-an-arn"}, '"kms_key_id" (not-an-arn) is an invalid ARN', ["kms_key_id"]),
        ({"tags": {f"k{i}": "v" for i in range(11)}}, "Too many tags", ["tags"]),
        (
            {"object_lock_retain_until_date": "tomorrow"},
            'expected "object_lock_retain_until_date" to be a valid RFC3339 date',
            ["object_lock_retain_until_date"],
        ),
        (
            {"override_provider": [{"default_tags": [{"tags": {"a": "b"}}]}]},
            "expected the number of items in tags to be between 0 and 0, got 1",
            ["override_provider", (0,), "default_tags", (0,), "tags"],
        ),
    ],
)
def test_invalid_configuration_is_reported(values: dict[str, Any], summary: str, path: list[Any]) -> None:
    errors = _validate(config(**values))
    assert any(s.startswith(summary) and p == path for s, p in errors), errors


def test_unknown_values_are_not_validated() -> None:
    assert _validate(config(acl=Unknown, metadata=Unknown, bucket=Unknown)) == []


# -- provider configuration ------------------------------------------------------------------------


def _settings(cfg: dict[str, Any], env: dict[str, str]) -> Any:
    diags = Diagnostics()
    settings = resolve_provider_settings(diags, cfg, env)
    return settings, [d.summary for d in diags.diagnostics if d.severity == "error"]


def test_region_comes_from_config_then_environment() -> None:
    env = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-central-1"}
    assert _settings({"region": "us-west-2"}, env)[0].region == "us-west-2"
    assert _settings({}, env)[0].region == "eu-west-1"
    assert _settings({}, {"AWS_DEFAULT_REGION": "eu-central-1"})[0].region == "eu-central-1"


def test_missing_region_is_an_error(provider_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    settings, errors = _settings({}, {})
    assert settings is None
    assert errors == ["Missing AWS region"]


def test_s3_endpoint_precedence() -> None:
    env = {"AWS_ENDPOINT_URL_S3": "http://a", "TF_AWS_S3_ENDPOINT": "http://b", "AWS_S3_ENDPOINT": "http://c"}
    base = {"region": "us-east-1"}
    assert _settings(base | {"endpoints": [{"s3": "http://cfg", "s3api": "http://alias"}]}, env)[0].s3_endpoint == (
        "http://cfg"
    )
    assert _settings(base | {"endpoints": [{"s3": None, "s3api": "http://alias"}]}, env)[0].s3_endpoint == (
        "http://alias"
    )
    assert _settings(base, env)[0].s3_endpoint == "http://a"
    assert _settings(base, {"TF_AWS_S3_ENDPOINT": "http://b", "AWS_S3_ENDPOINT": "http://c"})[0].s3_endpoint == (
        "http://b"
    )
    assert _settings(base, {"AWS_S3_ENDPOINT": "http://c"})[0].s3_endpoint == "http://c"
    assert _settings(base, {})[0].s3_endpoint is None


def test_default_tags_from_environment_config_wins() -> None:
    env = {"TF_AWS_DEFAULT_TAGS_owner": "env", "TF_AWS_DEFAULT_TAGS_cost": "42"}
    settings, _ = _settings({"region": "us-east-1", "default_tags": [{"tags": {"owner": "cfg"}}]}, env)
    assert settings.default_tags == {"owner": "cfg", "cost": "42"}


def test_invalid_region_unless_validation_is_skipped() -> None:
    assert _settings({"region": "mars"}, {})[1] == ["invalid AWS Region: mars"]
    assert _settings({"region": "mars", "skip_region_validation": True}, {})[0].region == "mars"


def test_provider_validation_reports_bad_values() -> None:
    diags = Diagnostics()
    AwsStandinProvider(environ={}).validate_config(
        diags,
        {
            "retry_mode": "sometimes",
            "skip_metadata_api_check": "maybe",
            "allowed_account_ids": ["1"],
            "forbidden_account_ids": ["2"],
        },
    )
    paths = sorted(str(d.path) for d in diags.diagnostics)
    assert paths == sorted(
        [
            "['allowed_account_ids']",
            "['forbidden_account_ids']",
            "['retry_mode']",
            "['skip_metadata_api_check']",
        ]
    )


def test_servicer_turns_exceptions_into_diagnostics(provider: AwsStandinProvider) -> None:
    servicer = StandinServicer(provider)
    request = _plan_request(None, config())
    request.type_name = "aws_s3_bucket"  # not served: the lookup raises inside the servicer
    response = servicer.PlanResourceChange(request, None)
    (diag,) = response.diagnostics
    assert diag.severity == pb.Diagnostic.ERROR
    assert diag.summary == "Stand-in provider internal error"


def test_servicer_configure_reports_missing_region(
    provider_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    servicer = StandinServicer(AwsStandinProvider(environ={}))
    response = servicer.ConfigureProvider(
        pb.ConfigureProvider.Request(config=encode_value({"skip_credentials_validation": True})), None
    )
    assert [d.summary for d in response.diagnostics] == ["Missing AWS region"]
    assert list(response.diagnostics[0].attribute.steps)[0].attribute_name == "region"
