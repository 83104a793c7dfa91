"""Witboost refs → IAM principals: the default templates, role mapping, and a pluggable mapper."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from service.domain import principals
from service.domain.principals import Principal, load_mapper, parse_principal, template_mapper
from service.errors import ConfigurationError


def test_default_templates() -> None:
    mapper = template_mapper("user:{user}", "group:{group}")
    assert mapper("user:alice_example.com") == "user:alice@example.com"
    assert mapper("user:first_last_example.com") == "user:first_last@example.com"  # the last _ is the @
    assert mapper("sergio.mejia_agilelab.it") == "user:sergio.mejia@agilelab.it"  # no prefix: a user
    assert mapper("group:data-eng") == "group:data-eng"
    assert mapper("user:nodomain") is None
    assert mapper("team:x") is None


def test_identity_center_roles() -> None:
    mapper = template_mapper("role:AWSReservedSSO_{name}", "role:AWSReservedSSO_{group}")
    assert mapper("group:analysts") == "role:AWSReservedSSO_analysts"
    assert parse_principal("role:AWSReservedSSO_analysts") == Principal("role", "AWSReservedSSO_analysts")
    assert parse_principal("role:has space") is None
    assert parse_principal("policy:x") is None


def test_a_mapper_from_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [EntryPoint("directory", "tests.unit.test_principals:_directory", principals.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(
        principals, "entry_points", lambda group: found if group == principals.ENTRY_POINT_GROUP else []
    )
    mapper = load_mapper("directory", "user:{user}", "group:{group}")
    assert mapper("user:alice_example.com") == "role:people-alice"
    with pytest.raises(ConfigurationError, match="no entry point 'other'"):
        load_mapper("other", "user:{user}", "group:{group}")


_GROUP = principals.ENTRY_POINT_GROUP


def _directory(ref: str) -> Any:
    return "role:people-" + ref.split(":")[1].split("_")[0]


def test_an_iam_failure_is_a_clear_system_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    from pathlib import Path

    from service.aws.iam import Iam
    from service.domain.principals import map_refs
    from service.errors import StorageError
    from service.settings import Settings

    monkeypatch.setattr(os, "environ", {**os.environ, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"})
    iam = Iam(Settings(data_dir=Path("/nonexistent"), iam_endpoint="http://127.0.0.1:9").aws)  # nothing answers there
    with pytest.raises(StorageError, match="IAM could not be asked whether the user 'alice@example.com' exists"):
        map_refs(["user:alice_example.com"], template_mapper("user:{user}", "group:{group}"), iam.exists)


def test_refs_name_their_principals_fields() -> None:
    from service.domain.principals import Principal, map_refs

    fields = map_refs(
        ["group:eng", "user:bob_example.com", "bob_example.com", "user:alice_example.com"],
        template_mapper("user:{user}", "group:{group}"),
        lambda principal: True,
    )
    assert fields == {
        Principal("group", "eng"): "refs[0]",
        Principal("user", "alice@example.com"): "refs[3]",
        Principal("user", "bob@example.com"): "refs[1]",
    }
