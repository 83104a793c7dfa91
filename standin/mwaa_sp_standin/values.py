"""Small pure helpers of the stand-in (unit-tested directly).

S3 keys and ARNs, equality under the SDKv2 "legacy type system" rules, Terraform's unknown values,
and the Go-style parsing (booleans, durations, RFC3339) the real provider does.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tf.schema import Attribute
from tf.types import Bool, Map, Unknown

__all__ = [
    "State",
    "StandinError",
    "clean_key",
    "contains_unknown",
    "duration_seconds",
    "format_rfc3339",
    "given",
    "go_quote_list",
    "has_zero_value",
    "known",
    "object_arn",
    "override_flat",
    "parse_go_bool",
    "parse_import_id",
    "parse_rfc3339",
    "partition_of",
    "sdk_equal",
    "unknown_as_null",
]

State = dict[str, Any]


class StandinError(Exception):
    """An error with the summary/detail of the diagnostic the real provider would report."""

    def __init__(self, summary: str, detail: str = "", path: list[Any] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.path = path


# --------------------------------------------------------------------------------------------------
# S3 keys and ARNs
# --------------------------------------------------------------------------------------------------


def clean_key(key: str) -> str:
    """The key S3 API calls use: drop one leading "./", all leading "/", collapse runs of "/".

    The state keeps the key as configured; only API calls use the cleaned form (SDK v1 compatible).
    """
    if key.startswith("./"):
        key = key[2:]
    return re.sub(r"/+", "/", key.lstrip("/"))


def parse_import_id(import_id: str) -> tuple[str, str]:
    """``bucket/key`` or ``s3://bucket/key`` → (bucket, key); split at the first "/"."""
    rest = import_id.removeprefix("s3://")
    bucket, sep, key = rest.partition("/")
    if not sep or not bucket or not key:
        raise ValueError(f"id {import_id} should be in format <bucket>/<key> or s3://<bucket>/<key>")
    return bucket, key


def partition_of(region: str) -> str:
    for prefix, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ):
        if region.startswith(prefix):
            return partition
    return "aws"


def object_arn(region: str, bucket: str, key: str) -> str:
    """``arn:<partition>:s3:::<bucket>/<cleaned key>``; an access-point ARN bucket gets "/<key>"."""
    if bucket.startswith("arn:"):
        return f"{bucket}/{clean_key(key)}"
    return f"arn:{partition_of(region)}:s3:::{bucket}/{clean_key(key)}"


# --------------------------------------------------------------------------------------------------
# Unknown values and SDKv2 equality
# --------------------------------------------------------------------------------------------------


def contains_unknown(value: Any) -> bool:
    if value is Unknown:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


def unknown_as_null(value: Any) -> Any:
    """SDKv2 turns whatever is still unknown after apply into null (cty.UnknownAsNull)."""
    if value is Unknown:
        return None
    if isinstance(value, dict):
        return {k: unknown_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unknown_as_null(v) for v in value]
    return value


def known(config: Mapping[str, Any], name: str) -> Any:
    """The configured value, or None when it is null or still unknown."""
    value = config.get(name)
    return None if value is Unknown else value


def _flat(attr: Attribute, value: Any) -> Any:
    """A value as SDKv2's flatmap sees it: null equals the type's zero value."""
    if isinstance(attr.type, Map):
        return dict(value or {})
    if isinstance(attr.type, Bool):
        return bool(value)
    return "" if value is None else value


def sdk_equal(attr: Attribute, a: Any, b: Any) -> bool:
    """Equality under the legacy SDK's rules ("" == null, false == null, {} == null)."""
    if contains_unknown(a) or contains_unknown(b):
        return False
    return bool(_flat(attr, a) == _flat(attr, b))


def override_flat(value: Any) -> list[Any]:
    """``override_provider`` normalised the way the SDK compares nested lists."""
    out = []
    for item in value or []:
        dts = [{"tags": dict((dt or {}).get("tags") or {})} for dt in (item or {}).get("default_tags") or []]
        out.append({"default_tags": dts})
    return out


def given(state: Mapping[str, Any], name: str) -> Any:
    """SDKv2 ``d.GetOk``: the value if it is set and not the zero value, else None."""
    value = state.get(name)
    if value is Unknown or value in (None, "", False) or value == {}:
        return None
    return value


def has_zero_value(tags: Mapping[str, Any]) -> bool:
    return any(v is None or v == "" for v in tags.values())


# --------------------------------------------------------------------------------------------------
# Go-style formats
# --------------------------------------------------------------------------------------------------


def go_quote_list(values: Iterable[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def parse_go_bool(value: str) -> bool | None:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def format_rfc3339(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def duration_seconds(value: str) -> int:
    """Go duration strings as used by assume_role ("1h", "15m", "1h30m")."""
    if not value or _DURATION_RE.sub("", value):
        raise ValueError(f"invalid duration {value!r}")
    scale = {"h": 3600, "m": 60, "s": 1}
    return int(sum(float(n) * scale[u] for n, u in _DURATION_RE.findall(value)))
