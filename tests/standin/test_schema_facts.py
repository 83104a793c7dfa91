"""The stand-in's schemas, as Terraform receives them, match the recorded facts of hashicorp/aws 6.x.

The facts (``../shared/terraform/aws_s3_object_schema.json``) are read at run time; the test is
skipped when that directory is absent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.utils import Diagnostics

from mwaa_sp_standin import iam_policy
from mwaa_sp_standin.aws_provider import AwsStandinProvider
from mwaa_sp_standin.s3_object import S3Object
from mwaa_sp_standin.s3_object_plan import UPLOAD_TRIGGERS, StandinPlanContext
from mwaa_sp_standin.schema import RESOURCE_ATTRIBUTES, provider_schema
from mwaa_sp_standin.servicer import StandinServicer
from tests.standin.helpers import load_facts

pytestmark = pytest.mark.shared

_NESTING = {
    pb.Schema.NestedBlock.NestingMode.LIST: "list",
    pb.Schema.NestedBlock.NestingMode.SET: "set",
    pb.Schema.NestedBlock.NestingMode.SINGLE: "single",
    pb.Schema.NestedBlock.NestingMode.MAP: "map",
    pb.Schema.NestedBlock.NestingMode.GROUP: "group",
}


def _fact_type(text: str) -> Any:
    """ "map(string)" → ["map", "string"], the JSON type notation Terraform's protocol uses."""
    if "(" in text:
        kind, inner = text.split("(", 1)
        return [kind, _fact_type(inner.rstrip(")"))]
    return text


def _attr_view(attr: pb.Schema.Attribute) -> dict[str, Any]:
    return {
        "type": json.loads(attr.type),
        "required": attr.required,
        "optional": attr.optional,
        "computed": attr.computed,
        "sensitive": attr.sensitive,
        "deprecated": attr.deprecated,
    }


def _fact_attr_view(fact: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": _fact_type(fact["type"]),
        "required": bool(fact["required"]),
        "optional": bool(fact["optional"]),
        "computed": bool(fact["computed"]),
        "sensitive": bool(fact.get("sensitive")),
        "deprecated": fact.get("deprecated") is not None,
    }


def _block_view(block: pb.Schema.Block) -> dict[str, Any]:
    return {
        "attributes": {a.name: _attr_view(a) for a in block.attributes},
        "blocks": {
            nb.type_name: {
                "nesting": _NESTING[nb.nesting],
                "min_items": nb.min_items,
                "max_items": nb.max_items,
                **_block_view(nb.block),
            }
            for nb in block.block_types
        },
    }


def _fact_block_view(attributes: list[dict[str, Any]], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "attributes": {a["name"]: _fact_attr_view(a) for a in attributes},
        "blocks": {
            b["name"]: {
                "nesting": b["nesting"],
                "min_items": b.get("min_items") or 0,
                "max_items": b.get("max_items") or 0,
                **_fact_block_view(b.get("attributes", []), b.get("blocks", [])),
            }
            for b in blocks
        },
    }


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return load_facts()


@pytest.fixture(scope="module")
def schema_response() -> pb.GetProviderSchema.Response:
    """The schema exactly as the servicer sends it to Terraform."""
    servicer = StandinServicer(AwsStandinProvider(environ={}))
    response = servicer.GetProviderSchema(pb.GetProviderSchema.Request(), None)
    assert not response.diagnostics
    return response


def test_provider_configuration_schema_matches_facts(facts: dict[str, Any], schema_response: Any) -> None:
    provider = facts["provider"]
    expected = _fact_block_view(provider["attributes"], provider["blocks"])
    actual = _block_view(schema_response.provider.block)
    assert sorted(actual["attributes"]) == sorted(expected["attributes"])
    for name, view in expected["attributes"].items():
        assert actual["attributes"][name] == view, name
    assert sorted(actual["blocks"]) == sorted(expected["blocks"])
    for name, view in expected["blocks"].items():
        assert actual["blocks"][name] == view, name


def test_provider_meta_schema_matches_facts(facts: dict[str, Any], schema_response: Any) -> None:
    expected = {a["name"]: _fact_attr_view(a) for a in facts["provider"]["provider_meta"]}
    actual = {a.name: _attr_view(a) for a in schema_response.provider_meta.block.attributes}
    assert actual == expected


def test_s3_object_schema_matches_facts(facts: dict[str, Any], schema_response: Any) -> None:
    resource = facts["resource"]
    assert set(schema_response.resource_schemas) == {resource["name"], *iam_policy.TYPES}
    schema = schema_response.resource_schemas[resource["name"]]
    assert schema.version == resource["schema_version"]
    expected = _fact_block_view(resource["attributes"], resource["blocks"])
    actual = _block_view(schema.block)
    assert sorted(actual["attributes"]) == sorted(expected["attributes"])
    for name, view in expected["attributes"].items():
        assert actual["attributes"][name] == view, name
    assert actual["blocks"] == expected["blocks"]


def test_force_new_attributes_match_facts(facts: dict[str, Any]) -> None:
    """Terraform's protocol has no force-new flag; the stand-in's schema objects carry it (and the
    plan tests check that changing them really plans a replacement)."""
    expected = {a["name"] for a in facts["resource"]["attributes"] if a["force_new"]}
    actual = {a.name for a in RESOURCE_ATTRIBUTES if a.requires_replace}
    assert actual == expected == {"bucket", "key", "region"}
    replacement = {t.split(" ")[0] for t in facts["resource"]["replacement_triggers"]}
    assert replacement == expected


def test_provider_attributes_never_force_new(facts: dict[str, Any]) -> None:
    assert not any(a["force_new"] for a in facts["provider"]["attributes"])
    assert not any(a.requires_replace for a in provider_schema().attributes)


def _conflict_pairs(facts: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["name"], other) for a in facts["resource"]["attributes"] for other in a.get("conflicts_with", [])]


def test_conflicts_with_produce_diagnostics(facts: dict[str, Any]) -> None:
    pairs = _conflict_pairs(facts)
    assert ("content", "source") in pairs  # the facts really list conflicts
    resource = S3Object(AwsStandinProvider(environ={}))
    for name, other in pairs:
        config = {key: None for key in (a.name for a in RESOURCE_ATTRIBUTES)}
        config.update({"bucket": "b", "key": "k", name: "x", other: "arn:aws:kms:us-east-1:1:key/k"})
        config["override_provider"] = []
        diags = Diagnostics()
        resource.validate(diags, "aws_s3_object", config)
        messages = [(d.summary, d.detail, d.path) for d in diags.diagnostics]
        assert ("Conflicting configuration arguments", f'"{name}": conflicts with {other}', [name]) in messages


def test_in_place_upload_triggers_match_facts(facts: dict[str, Any]) -> None:
    assert set(UPLOAD_TRIGGERS) == set(facts["resource"]["in_place_upload_triggers"])


def test_force_destroy_default_matches_facts(facts: dict[str, Any]) -> None:
    """force_destroy's Default (false) appears in the create plan; no other attribute has one."""
    defaults = {a["name"]: a["default"] for a in facts["resource"]["attributes"] if a["default"] is not None}
    assert defaults == {"force_destroy": False}
    provider = AwsStandinProvider(environ={})
    provider.configure_provider(
        Diagnostics(),
        {"region": "us-east-1", "skip_credentials_validation": True, "skip_requesting_account_id": True},
    )
    ctx = StandinPlanContext(Diagnostics(), "aws_s3_object", set(), config={"bucket": "b", "key": "k"})
    planned = S3Object(provider).plan(ctx, None, {})
    assert planned is not None
    assert {name: planned[name] for name in defaults} == defaults


@pytest.mark.parametrize("type_name", iam_policy.TYPES)
def test_iam_inline_policy_schemas_match_facts(type_name: str, schema_response: Any) -> None:
    """``../shared/terraform/aws_iam_schema.json``: attributes, types, flags and force-new."""
    from tests.support.shared import shared_path

    facts = json.loads(shared_path("terraform", "aws_iam_schema.json").read_text(encoding="utf-8"))
    resource = facts[f"related_resource_{type_name}"]
    schema = schema_response.resource_schemas[type_name]
    assert schema.version == resource["schema_version"]
    expected = _fact_block_view(resource["attributes"], resource["blocks"])
    assert _block_view(schema.block) == expected
    force_new = {a["name"] for a in resource["attributes"] if a["force_new"]}
    assert {a.name for a in iam_policy.schema(type_name).attributes if a.requires_replace} == force_new
