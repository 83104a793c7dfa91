"""``aws_iam_user_policy``, ``aws_iam_group_policy`` and ``aws_iam_role_policy``: inline IAM policies
with the real provider's schema and SDKv2 behaviour (``shared/terraform/aws_iam_notes.md``).

- id ``<principal>:<name>``; import by the same string, split at the first ``:``;
- ``policy`` stored as ``LegacyPolicyNormalize(policy)``; an equivalent document is no diff
  (``SuppressEquivalentPolicyDiffs``, on refresh too: Read keeps the state's text while equivalent);
- create and update are the same ``Put<P>Policy``; ``name``, ``name_prefix`` and the principal force
  replacement; an unset name is generated (``terraform-`` + 26 characters) at apply;
- Read of a policy that is gone (or whose principal is gone) removes it from state; Delete ignores
  NoSuchEntity.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tf.schema import Attribute, Schema
from tf.types import String, Unknown
from tf.utils import Diagnostics

from mwaa_sp_standin import policy_json

PRINCIPALS = {"aws_iam_user_policy": "user", "aws_iam_group_policy": "group", "aws_iam_role_policy": "role"}
TYPES = tuple(PRINCIPALS)
_API = {"user": "User", "group": "Group", "role": "Role"}
_NAME_RE = re.compile(r"^[\w+=,.@-]*$")
_GENERATED_SUFFIX = re.compile(r"[0-9a-f]{26}$")
State = dict[str, Any]


def schema(type_name: str) -> Schema:
    principal = PRINCIPALS[type_name]
    return Schema(
        version=0,
        attributes=[
            Attribute("id", String(), computed=True, description='"<principal>:<policy name>"'),
            Attribute("name", String(), optional=True, computed=True, requires_replace=True),
            Attribute("name_prefix", String(), optional=True, computed=True, requires_replace=True),
            Attribute("policy", String(), required=True, description="The inline policy document (JSON)."),
            Attribute(principal, String(), required=True, requires_replace=True),
        ],
    )


def attributes(type_name: str) -> tuple[str, ...]:
    return ("id", "name", "name_prefix", "policy", PRINCIPALS[type_name])


def complete(type_name: str, state: Mapping[str, Any]) -> State:
    return {k: state.get(k) for k in attributes(type_name)}


def validate(type_name: str, config: Mapping[str, Any], diags: Diagnostics) -> None:
    policy = config.get("policy")
    if isinstance(policy, str):
        problem = policy_json.validation_error(policy)
        if problem:
            diags.add_error("Invalid policy", problem, path=["policy"])
    if config.get("name") and config.get("name_prefix"):
        diags.add_error("Conflicting configuration arguments", '"name": conflicts with name_prefix', path=["name"])
    if type_name != "aws_iam_role_policy":
        return
    name, prefix, role = config.get("name"), config.get("name_prefix"), config.get("role")
    if isinstance(name, str) and not (1 <= len(name) <= 128 and _NAME_RE.match(name)):
        diags.add_error("Invalid value", f'"name" must match [\\w+=,.@-] and be 1-128 characters, got {name!r}')
    if isinstance(prefix, str) and not (1 <= len(prefix) <= 102 and _NAME_RE.match(prefix)):
        diags.add_error("Invalid value", f'"name_prefix" must be 1-102 characters, got {prefix!r}')
    if isinstance(role, str) and role.startswith("arn:"):
        diags.add_error("Invalid value", '"role" must be the role\'s name not its ARN', path=["role"])


def _known(value: Any) -> bool:
    return value is not None and value is not Unknown


def plan(type_name: str, prior: State | None, proposed: State, config: Mapping[str, Any]) -> tuple[State, list[str]]:
    """The planned state and the attributes that force replacement (SDKv2's diff)."""
    principal = PRINCIPALS[type_name]
    replace = []
    if prior is not None:
        for attr in ("name", "name_prefix", principal):
            wanted = config.get(attr)
            if _known(wanted) and wanted != prior.get(attr):
                replace.append(attr)
    base = prior if prior is not None and not replace else None
    planned = complete(type_name, proposed)
    policy = config.get("policy")
    if _known(policy):
        keep = base is not None and policy_json.equivalent(base.get("policy"), policy)
        planned["policy"] = base["policy"] if keep and base is not None else policy_json.legacy_normalize(str(policy))
    for attr in ("name", "name_prefix"):
        if not _known(config.get(attr)):
            planned[attr] = base.get(attr) if base is not None else Unknown
    planned["id"] = base["id"] if base is not None else Unknown
    return planned, replace


def _iam_call(client: Any, verb: str, principal: str, **kwargs: Any) -> Any:
    return getattr(client, f"{verb}_{principal}_policy")(**{f"{_API[principal]}Name": kwargs.pop("who")}, **kwargs)


def _is_missing(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchEntity", "NoSuchEntityException")


def _name_prefix(name: str) -> str:
    return name[:-26] if len(name) > 26 and _GENERATED_SUFFIX.search(name) else ""


def _generated(prefix: str) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f"{prefix}{stamp}{int(time.time() * 10000) % 10000:04d}{secrets.token_hex(4)}"


def apply(type_name: str, client: Any, planned: State, diags: Diagnostics) -> State | None:
    """Create or update: Put<P>Policy, then Read."""
    principal = PRINCIPALS[type_name]
    name = planned.get("name")
    if not _known(name):
        prefix = planned.get("name_prefix")
        name = _generated(prefix if _known(prefix) and prefix else "terraform-")
    who = str(planned[principal])
    document = policy_json.legacy_normalize(str(planned["policy"]))
    try:
        _iam_call(client, "put", principal, who=who, PolicyName=name, PolicyDocument=document)
    except Exception as exc:
        diags.add_error(f"putting IAM {_API[principal]} Policy ({name})", str(exc))
        return None
    state = complete(type_name, {"id": f"{who}:{name}", "name": name, principal: who, "policy": document})
    return read(type_name, client, state, diags)


def read(type_name: str, client: Any, state: State, diags: Diagnostics) -> State | None:
    principal = PRINCIPALS[type_name]
    who, _, name = str(state["id"]).partition(":")
    try:
        found = _iam_call(client, "get", principal, who=who, PolicyName=name)
    except Exception as exc:
        if _is_missing(exc):
            return None  # [WARN] not found, removing from state
        diags.add_error(f"reading IAM {_API[principal]} Policy ({state['id']})", str(exc))
        return state
    remote_doc = found["PolicyDocument"]
    remote = urllib.parse.unquote(remote_doc) if isinstance(remote_doc, str) else _json(remote_doc)
    current = state.get("policy")
    policy = current if _known(current) and policy_json.equivalent(current, remote) else remote
    return complete(
        type_name,
        {
            "id": state["id"],
            "name": name,
            "name_prefix": _name_prefix(name),
            principal: who,
            "policy": policy_json.legacy_normalize(str(policy)),
        },
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def delete(type_name: str, client: Any, prior: State, diags: Diagnostics) -> None:
    principal = PRINCIPALS[type_name]
    who, _, name = str(prior["id"]).partition(":")
    try:
        _iam_call(client, "delete", principal, who=who, PolicyName=name)
    except Exception as exc:
        if not _is_missing(exc):
            diags.add_error(f"deleting IAM {_API[principal]} Policy ({prior['id']})", str(exc))


def import_state(type_name: str, client: Any, import_id: str, diags: Diagnostics) -> State | None:
    who, sep, name = import_id.partition(":")
    if not sep or not who or not name:
        diags.add_error("Invalid import ID", f"unexpected format of ID ({import_id}), expected <principal>:<name>")
        return None
    found = read(type_name, client, complete(type_name, {"id": import_id}), diags)
    if found is None and not diags.has_errors():
        diags.add_error("Cannot import non-existent remote object", f"no IAM policy {import_id}")
    return found
