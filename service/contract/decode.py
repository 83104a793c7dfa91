"""Request bodies → the contract's types, every structural problem named by its field path at once.

``msgspec.convert`` stops at the first problem; a Coordinator (or a person with curl) fixing a body
one error per round trip is what this avoids. Each field of the model is checked on its own — a
nested model field by field — and the body is converted only when nothing is wrong. What the model
cannot say (a descriptor kind this provisioner does not deploy, what ``params`` must hold) is the
operation's rule, checked on the decoded value.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import msgspec
from msgspec import Struct, UnsetType

from service.contract import json_input
from service.contract.models import (
    DescriptorKind,
    DriftRunRequest,
    ProvisionInfo,
    ProvisioningRequest,
    ReverseProvisioningRequest,
    UpdateAclRequest,
)
from service.domain.descriptor import BucketRefusal, bucket_problem, parse_descriptor
from service.domain.workload import Workload
from service.errors import DescriptorInvalid, Problem, RequestInvalid

S = TypeVar("S", bound=Struct)

LENIENT: Mapping[tuple[type[Struct], str], Any] = {
    # Witboost's clients omit these; the older provisioner took their absence as the default too.
    (ProvisioningRequest, "removeData"): False,
    (ProvisionInfo, "result"): "",
}
HINTS: Mapping[tuple[type[Struct], str], str] = {
    (ProvisioningRequest, "descriptorKind"): "Send COMPONENT_DESCRIPTOR.",
    (ProvisioningRequest, "descriptor"): "Send the descriptor as a YAML string.",
    (UpdateAclRequest, "refs"): 'Send e.g. ["user:alice_example.com"].',
    (UpdateAclRequest, "provisionInfo"): "Send {request, result}: the descriptor of the last provisioning.",
    (ReverseProvisioningRequest, "params"): "Send params: {bucketName, dagKey} of the deployed DAG.",
    (DriftRunRequest, "workloads"): 'Send ["urn:dmb:cmp:…"].',
    (DriftRunRequest, "dataProduct"): 'Send "urn:dmb:dp:…".',
}


def decode(raw: bytes, model: type[S], name: str | None = None) -> S:
    """``raw`` (a JSON body) as ``model``; :class:`RequestInvalid` lists every problem."""
    title = name or model.__name__
    body = json_input.loads(raw, title)
    problems = structure_problems(body, model)
    if problems:
        raise RequestInvalid(f"The request is not a valid {title}", problems)
    return msgspec.convert(_with_defaults(body, model), model)


@dataclass(frozen=True)
class _Field:
    name: str
    """As it is sent (``encode_name``)."""
    required: bool
    annotation: Any
    """Its type, ``| UnsetType`` left out (an absent field is handled before its type is checked)."""
    nested: type[Struct] | None


@functools.cache
def _fields(model: type[Struct]) -> tuple[_Field, ...]:
    """The model's fields with their resolved types, once per model: resolving string annotations
    (``typing.get_type_hints``) on every request cost milliseconds of the event loop's time."""
    hints = typing.get_type_hints(model)
    found = []
    for field in msgspec.structs.fields(model):
        annotation = _without_unset(hints[field.name])
        found.append(_Field(field.encode_name, field.required, annotation, _struct_of(annotation)))
    return tuple(found)


def structure_problems(body: Any, model: type[Struct], path: str = "") -> list[Problem]:
    """What keeps ``body`` from being a ``model``, field by field (nested models too)."""
    if not isinstance(body, dict):
        return [Problem(path or "body", "must be a JSON object", f"Send a JSON {model.__name__}.")]
    problems: list[Problem] = []
    for field in _fields(model):
        where = f"{path}.{field.name}" if path else field.name
        hint = HINTS.get((model, field.name), "")
        if field.name not in body:
            if field.required and (model, field.name) not in LENIENT:
                problems.append(Problem(where, "is missing", hint or "Send it as the contract requires."))
            continue
        value = body[field.name]
        if field.nested is not None and isinstance(value, dict):
            problems += structure_problems(value, field.nested, where)
            continue
        try:
            msgspec.convert(value, field.annotation)
        except msgspec.ValidationError:
            problems.append(
                Problem(where, f"must be {describe(field.annotation)}", hint or "Send it as the contract requires.")
            )
    return problems


def describe(annotation: Any) -> str:
    """What a value of ``annotation`` is, in words a caller can act on."""
    if annotation is str:
        return "a string"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, Struct):
        return f"a {annotation.__name__} object"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return f"a list of {_plural(describe(args[0]))}"
    if origin is dict:
        return "an object"
    if origin in (Union, types.UnionType):
        allowed = [a for a in args if a is not type(None)]
        text = " or ".join(describe(a) for a in allowed)
        return f"{text} or null" if len(allowed) < len(args) else text
    return f"a {getattr(annotation, '__name__', annotation)}"


def _plural(described: str) -> str:
    return {"a string": "strings", "an integer": "integers", "an object": "objects"}.get(described, described)


def _without_unset(annotation: Any) -> Any:
    """``T | UnsetType`` → ``T``: an absent field was handled before its type is checked."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (Union, types.UnionType) and UnsetType in args:
        rest = tuple(a for a in args if a is not UnsetType)
        return rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007 - built at run time
    return annotation


def _struct_of(annotation: Any) -> type[Struct] | None:
    if isinstance(annotation, type) and issubclass(annotation, Struct):
        return annotation
    return None


def _with_defaults(body: dict[str, Any], model: type[Struct]) -> dict[str, Any]:
    """``body`` with the lenient defaults of ``model`` and of its nested models filled in."""
    filled = dict(body)
    for field in _fields(model):
        if field.name not in filled and (model, field.name) in LENIENT:
            filled[field.name] = LENIENT[(model, field.name)]
        if field.nested is not None and isinstance(filled.get(field.name), dict):
            filled[field.name] = _with_defaults(filled[field.name], field.nested)
    return filled


def workload_of(request: ProvisioningRequest, bucket_refusal: BucketRefusal | None = None) -> Workload:
    """The workload a ``ProvisioningRequest`` asks for: a component descriptor only (one component at
    a time), then every rule of :func:`parse_descriptor`."""
    if request.descriptor_kind is not DescriptorKind.COMPONENT_DESCRIPTOR:
        raise RequestInvalid(
            "The request is not a valid ProvisioningRequest",
            [
                Problem(
                    "descriptorKind",
                    f"{request.descriptor_kind.value} is not supported: this provisioner deploys one component "
                    "at a time",
                    "Send COMPONENT_DESCRIPTOR with componentIdToProvision.",
                )
            ],
        )
    return _remembered(request.descriptor, bucket_refusal)


_KEPT = 256
_KEPT_MAX_TEXT = 256 * 1024
_workloads: OrderedDict[str, Workload] = OrderedDict()
_workloads_guard = threading.Lock()


def _remembered(text: str, bucket_refusal: BucketRefusal | None) -> Workload:
    """``parse_descriptor``, remembered for valid descriptors by the SHA-256 of their text: the
    Coordinator sends the same descriptor to validate, to provision and again on every release.
    Parsing is pure and the workload immutable; only the bucket rule, which can change while the
    service runs, is asked on every call. Invalid descriptors are never remembered."""
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    with _workloads_guard:
        known = _workloads.get(key)
        if known is not None:
            _workloads.move_to_end(key)
    if known is not None:
        refused = bucket_problem(known, bucket_refusal)
        if refused is not None:
            raise DescriptorInvalid([refused])
        return known
    workload = parse_descriptor(text, bucket_refusal=bucket_refusal)
    if len(text) <= _KEPT_MAX_TEXT:
        with _workloads_guard:
            _workloads[key] = workload
            while len(_workloads) > _KEPT:
                _workloads.popitem(last=False)
    return workload
