"""IAM policy documents the way the real provider treats them (aws_iam_notes.md): validation,
LegacyPolicyNormalize, and equivalence (no diff between equivalent documents)."""

from __future__ import annotations

import json

import pytest

from mwaa_sp_standin.iam_policy import plan
from mwaa_sp_standin.policy_json import equivalent, legacy_normalize, normalize, validation_error

DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["b:Y", "a:X"], "Resource": "arn:aws:airflow:r:1:role/e/Viewer"}],
}


def test_normalisation() -> None:
    text = json.dumps(DOC, indent=2)
    assert normalize(text) == (
        '{"Statement":[{"Action":["b:Y","a:X"],"Effect":"Allow","Resource":"arn:aws:airflow:r:1:role/e/Viewer"}],'
        '"Version":"2012-10-17"}'
    )
    assert legacy_normalize(text).startswith('{"Version":"2012-10-17","Statement":')
    assert normalize('{"a":"<&>"}') == r'{"a":"\u003c\u0026\u003e"}'


@pytest.mark.parametrize(
    "other",
    [
        {**DOC, "Statement": DOC["Statement"][0]},  # one object equals a one-element array
        {"Version": "2012-10-17", "Statement": [{**DOC["Statement"][0], "Action": ["a:X", "b:Y"]}]},  # order
        {"Version": "2012-10-17", "Statement": [{**DOC["Statement"][0], "Effect": "allow"}]},  # Effect case
        {
            "Version": "2012-10-17",
            "Statement": [{**DOC["Statement"][0], "Resource": [DOC["Statement"][0]["Resource"]]}],
        },
    ],
)
def test_equivalent_documents(other: dict[str, object]) -> None:
    assert equivalent(json.dumps(DOC), json.dumps(other))


@pytest.mark.parametrize(
    "other",
    [
        {"Statement": DOC["Statement"]},  # no Version is not "2012-10-17"
        {**DOC, "Statement": [{**DOC["Statement"][0], "Sid": "x"}]},
        {**DOC, "Statement": [{**DOC["Statement"][0], "Resource": "arn:aws:airflow:r:1:role/e/viewer"}]},
        {**DOC, "Statement": [{**DOC["Statement"][0], "Action": ["a:X", "b:Y", "a:X"]}]},  # duplicates count
    ],
)
def test_different_documents(other: dict[str, object]) -> None:
    assert not equivalent(json.dumps(DOC), json.dumps(other))


def test_validation_messages() -> None:
    assert validation_error(json.dumps(DOC)) is None
    assert validation_error(" {}") is not None
    assert validation_error("[]") == "policy contains a JSON array, not a JSON object"
    assert validation_error('{"a":1,"a":2}') == '"policy" contains duplicate JSON keys: duplicate key "a"'


def test_plan_keeps_the_state_text_for_an_equivalent_document_and_replaces_on_principal_change() -> None:
    prior = {
        "id": "alice:p",
        "name": "p",
        "name_prefix": "",
        "policy": legacy_normalize(json.dumps(DOC)),
        "user": "alice",
    }
    reordered = json.dumps({**DOC, "Statement": DOC["Statement"][0]})
    config = {"name": "p", "policy": reordered, "user": "alice"}
    planned, replace = plan("aws_iam_user_policy", prior, dict(prior) | {"policy": reordered}, config)
    assert planned == prior
    assert replace == []
    _, replace = plan("aws_iam_user_policy", prior, dict(prior) | {"user": "bob"}, config | {"user": "bob"})
    assert replace == ["user"]


def test_import_ids_are_principal_colon_name() -> None:
    from tf.utils import Diagnostics

    from mwaa_sp_standin.iam_policy import import_state

    diags = Diagnostics()
    assert import_state("aws_iam_user_policy", object(), "no-separator", diags) is None
    assert "expected <principal>:<name>" in diags.diagnostics[0].detail
