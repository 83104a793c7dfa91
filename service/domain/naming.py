"""Pure naming rules: component URNs, S3 keys, bucket names, cron expressions.

Each ``check_*`` returns ``None`` when the value is fine or a sentence saying what is wrong; callers
attach the field path. The deployed names are byte-identical to the older Scala provisioner's, so
Airflow keeps DAG ids (and their run history) when a workload moves to this service.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from croniter import croniter

S3_MAX_KEY_BYTES = 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_MAJOR = re.compile(r"^[0-9]{1,9}$")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
DAG_SUFFIXES = (".py", ".zip")
AIRFLOW_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)


@dataclass(frozen=True)
class ComponentUrn:
    """``urn:dmb:cmp:<domain>:<dataproduct>:<major>:<name>``."""

    domain: str
    data_product: str
    major: str
    name: str

    @property
    def dotted_prefix(self) -> str:
        """How the CI pipeline prefixes staged DAGs: ``<domain>.<dataproduct>.<major>``."""
        return f"{self.domain}.{self.data_product}.{self.major}"

    @property
    def data_product_id(self) -> str:
        return f"urn:dmb:dp:{self.domain}:{self.data_product}:{self.major}"


def parse_component_urn(value: str) -> ComponentUrn | str:
    """The URN's parts, or a sentence explaining why it is not a component URN."""
    parts = value.split(":")
    if len(parts) != 7 or parts[:3] != ["urn", "dmb", "cmp"]:
        return f"{value!r} is not a component URN of the form urn:dmb:cmp:<domain>:<dataproduct>:<major>:<name>"
    domain, data_product, major, name = parts[3:]
    for label, segment in (("domain", domain), ("data product", data_product), ("name", name)):
        if not _SEGMENT.fullmatch(segment):
            return (
                f"the {label} segment {segment!r} must be 1-63 letters, digits, '-' or '_' "
                "and start with a letter or digit"
            )
    if not _MAJOR.fullmatch(major):
        return f"the major version segment {major!r} must be a non-negative integer"
    return ComponentUrn(domain, data_product, major, name)


def sanitise(value: str) -> str:
    """Every character outside ``[A-Za-z0-9_]`` becomes ``_`` (Airflow imports DAG files as modules)."""
    return _NOT_IDENTIFIER.sub("_", value)


def dag_suffix(dag_name: str) -> str | None:
    return next((s for s in DAG_SUFFIXES if dag_name.endswith(s) and len(dag_name) > len(s)), None)


def deployed_dag_file(urn: ComponentUrn, dag_name: str) -> str:
    """``<sanitised domain.dataproduct.major>_<sanitised DAG stem><.py|.zip>``."""
    suffix = dag_suffix(dag_name)
    if suffix is None:
        raise ValueError(f"dagName {dag_name!r} has no .py/.zip suffix")
    stem = dag_name[: -len(suffix)]
    return f"{sanitise(urn.dotted_prefix)}_{sanitise(stem)}{suffix}"


def dag_id_of(dag_file: str) -> str:
    """Airflow's DAG id of a deployed DAG file, given its name or its S3 key.

    Airflow names a DAG file's module after the file, and the older SP's users rely on that name;
    the registry keeps only the key, so the web view derives it from that and must agree with
    ``Workload.dag_id``.
    """
    return dag_file.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def descriptor_file(deployed_dag: str) -> str:
    """The descriptor travels next to its DAG, named after the DAG file so nothing is shared."""
    stem = deployed_dag.rsplit(".", 1)[0]
    return f"{stem}_descriptor.yaml"


def normalise_prefix(path: str) -> str:
    """``a//b/`` → ``a/b/``; empty stays empty (bucket root)."""
    parts = [p for p in path.split("/") if p]
    return "/".join(parts) + "/" if parts else ""


def check_path(path: str, allow_empty: bool) -> str | None:
    if path == "" or path.strip("/") == "":
        return None if allow_empty and path == "" else "must name a folder, e.g. 'dags/'"
    if path.startswith("/"):
        return "must be relative to the bucket: remove the leading '/'"
    if "\\" in path:
        return "must use '/' as separator, not '\\'"
    if _CONTROL.search(path):
        return "must not contain control characters"
    if any(part in (".", "..") for part in path.split("/")):
        return "must not contain '.' or '..' segments"
    if len(path.encode("utf-8")) > S3_MAX_KEY_BYTES:
        return f"is longer than {S3_MAX_KEY_BYTES} bytes"
    return None


def check_dag_name(name: str) -> str | None:
    if name.strip() == "":
        return "must not be empty"
    if "/" in name or "\\" in name:
        return "must be a file name, not a path ('/' and '\\' are not allowed)"
    if _CONTROL.search(name):
        return "must not contain control characters"
    if name in (".", "..") or name.startswith(".."):
        return "must not start with '..'"
    if dag_suffix(name) is None:
        return "must end with .py (a DAG file) or .zip (a packaged DAG); Airflow loads nothing else"
    return None


def check_bucket(name: str) -> str | None:
    """S3 general-purpose bucket naming rules."""
    if name.startswith("arn:"):
        return "must be a bucket name, not an ARN"
    if not _BUCKET.fullmatch(name):
        return (
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    if name.startswith(_BUCKET_RESERVED_PREFIXES) or name.endswith(_BUCKET_RESERVED_SUFFIXES):
        return "uses a prefix or suffix that S3 reserves"
    return None


def check_cron(expr: str) -> str | None:
    value = expr.strip()
    if value in AIRFLOW_PRESETS:
        return None
    if len(value.split()) != 5:
        return "must be a 5-field cron expression (minute hour day month weekday) or an Airflow preset like @daily"
    if not croniter.is_valid(value):
        return f"{expr!r} is not a valid cron expression"
    return None


def check_key(key: str) -> str | None:
    if len(key.encode("utf-8")) > S3_MAX_KEY_BYTES:
        return f"the resulting S3 key is longer than {S3_MAX_KEY_BYTES} bytes"
    return None
