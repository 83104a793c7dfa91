"""Witboost refs → IAM principals, and proof that each exists before anything is applied.

Refs: ``user:<name>_<domain>`` is the user ``<name>@<domain>`` (the last ``_`` stands for ``@``),
``group:<name>`` a group, a ref with no prefix a user. Each kind maps to an IAM principal through a
template (``MWAA_SP_ACL_USER_PRINCIPAL`` = ``user:{user}``, ``MWAA_SP_ACL_GROUP_PRINCIPAL`` =
``group:{group}`` by default; ``role:…`` maps to IAM roles, as on IAM Identity Center), or through a
Python entry point of the group ``mwaa_sp.principal_mappers`` (``MWAA_SP_ACL_PRINCIPAL_MAPPER``): a
callable ``(ref) -> "user:<n>" | "group:<n>" | "role:<n>" | None`` for an organisation's own directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal

from service.errors import ConfigurationError, DescriptorInvalid, Problem

Kind = Literal["user", "group", "role"]
_KINDS = ("user", "group", "role")
# IAM names: alphanumerics and +=,.@_- (users, groups, roles alike).
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
ENTRY_POINT_GROUP = "mwaa_sp.principal_mappers"


@dataclass(frozen=True, order=True)
class Principal:
    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_principal(text: str) -> Principal | None:
    kind, sep, name = text.partition(":")
    if not sep or kind not in _KINDS or not _IAM_NAME.fullmatch(name):
        return None
    return Principal(kind, name)  # type: ignore[arg-type]


def template_mapper(user_template: str, group_template: str) -> Callable[[str], str | None]:
    def mapper(ref: str) -> str | None:
        kind, sep, value = ref.partition(":")
        if not sep:
            kind, value = "user", ref
        if kind == "user":
            name, at, domain = value.rpartition("_")
            if not at or not name or not domain:
                return None
            return user_template.format(user=f"{name}@{domain}", name=name, domain=domain)
        if kind == "group" and value:
            return group_template.format(group=value)
        return None

    return mapper


def load_mapper(name: str | None, user_template: str, group_template: str) -> Callable[[str], str | None]:
    if name is None:
        return template_mapper(user_template, group_template)
    found = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == name]
    if not found:
        raise ConfigurationError(f"MWAA_SP_ACL_PRINCIPAL_MAPPER={name}: no entry point {name!r} in {ENTRY_POINT_GROUP}")
    mapper: Callable[[str], str | None] = found[0].load()
    return mapper


def map_refs(
    refs: Sequence[str], mapper: Callable[[str], str | None], exists: Callable[[Principal], bool]
) -> dict[Principal, str]:
    """Every ref's principal, checked to exist, with the field of its (first) ref — ``refs[i]`` —
    sorted by principal; otherwise every ref that fails, by name (400)."""
    problems: list[Problem] = []
    found: list[tuple[int, Principal]] = []
    for index, ref in enumerate(refs):
        mapped = mapper(ref)
        principal = parse_principal(mapped) if mapped else None
        if principal is None:
            problems.append(
                Problem(
                    f"refs[{index}]",
                    f"{ref!r} cannot be mapped to an IAM principal",
                    "Use user:<name>_<domain> or group:<name>.",
                )
            )
        elif not exists(principal):
            problems.append(
                Problem(
                    f"refs[{index}]",
                    f"{ref!r} is the IAM {principal.kind} {principal.name!r}, which does not exist",
                    "Create it first, or fix the ref.",
                )
            )
        else:
            found.append((index, principal))
    if problems:
        raise DescriptorInvalid(problems)
    fields: dict[Principal, str] = {}
    for index, principal in found:
        fields.setdefault(principal, f"refs[{index}]")
    return dict(sorted(fields.items()))
