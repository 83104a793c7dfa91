"""Reading the environment: typed values out of ``MWAA_SP_*`` strings, each refusal naming its variable."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from service.errors import ConfigurationError

StateBackendKind = Literal["local", "s3"]
Scope = Literal["coordinator", "reader", "admin"]
SCOPES: tuple[Scope, ...] = ("coordinator", "reader", "admin")
BucketEncryption = Literal["auto", "sse-s3", "kms"]
AirflowCheckMode = Literal["off", "warn", "fail", "rollback"]
AIRFLOW_CHECK_MODES: tuple[AirflowCheckMode, ...] = ("off", "warn", "fail", "rollback")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def integer(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


class Boto3Credentials(TypedDict, total=False):
    """Keyword arguments of ``boto3.session.Session``: explicit credentials, or none (the credential chain)."""

    aws_access_key_id: str
    aws_secret_access_key: str


@dataclass(frozen=True)
class ApiToken:
    """A bearer token of MWAA_SP_API_TOKENS: who (its name: logs, who reviewed a plan) and what it may."""

    name: str
    scope: Scope
    secret: str = field(repr=False)


def api_tokens(entries: tuple[str, ...]) -> tuple[ApiToken, ...]:
    """``name:scope:secret`` entries (scope coordinator, reader or admin); an entry of another form is
    a secret of the older setting, with every power (``admin``), named ``token<n>``."""
    found: list[ApiToken] = []
    for number, entry in enumerate(entries, start=1):
        name, scope, secret = (entry.split(":", 2) + ["", ""])[:3]
        if scope in SCOPES and name and secret:
            found.append(ApiToken(name, scope, secret))
        else:
            found.append(ApiToken(f"token{number}", "admin", entry))
    names = [t.name for t in found]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ConfigurationError(f"MWAA_SP_API_TOKENS names {', '.join(doubled)} more than once")
    return tuple(found)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(env: Mapping[str, str]) -> str:
    """MWAA_SP_LOG_LEVEL (read before the rest, so that even a bad setting is logged as JSON)."""
    level = env.get("MWAA_SP_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"MWAA_SP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def airflow_check(env: Mapping[str, str]) -> AirflowCheckMode:
    """MWAA_SP_AIRFLOW_CHECK; by default ``fail`` where there is an environment to ask, else ``off``."""
    default: AirflowCheckMode = "fail" if env.get("MWAA_SP_MWAA_ENVIRONMENT") else "off"
    raw = env.get("MWAA_SP_AIRFLOW_CHECK", "").strip().lower() or default
    for mode in AIRFLOW_CHECK_MODES:
        if raw == mode:
            if mode != "off" and not env.get("MWAA_SP_MWAA_ENVIRONMENT"):
                raise ConfigurationError(
                    f"MWAA_SP_AIRFLOW_CHECK={mode} needs MWAA_SP_MWAA_ENVIRONMENT (the environment to ask)"
                )
            return mode
    raise ConfigurationError(f"MWAA_SP_AIRFLOW_CHECK must be one of {', '.join(AIRFLOW_CHECK_MODES)}, got {raw!r}")


def secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from ``NAME`` or from the file ``NAME_FILE`` names (a mounted Kubernetes Secret), not both."""
    path = env.get(f"{name}_FILE")
    if path is None:
        return env.get(name)
    if env.get(name) is not None:
        raise ConfigurationError(f"set {name} or {name}_FILE, not both")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{name}_FILE {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from exc


def tokens(env: Mapping[str, str]) -> tuple[str, ...]:
    entries = tuple(t.strip() for t in (secret(env, "MWAA_SP_API_TOKENS") or "").split(",") if t.strip())
    api_tokens(entries)  # refused here, at start-up, rather than at the first request
    return entries


def listed(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """A comma-separated list; None when the variable is unset (an empty value is an empty list)."""
    raw = env.get(name)
    if raw is None:
        return None
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def quotas(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    found = []
    for item in listed(env, name) or ():
        kind, equals, figure = item.partition("=")
        if not equals or kind.strip() not in ("user", "group", "role") or not figure.strip().isdigit():
            raise ConfigurationError(f"{name}: {item!r} is not <user|group|role>=<characters>")
        found.append((kind.strip(), int(figure)))
    return tuple(found)


def networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    found = listed(env, name) or ()
    for item in found:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {item!r} is not an IP address or network") from exc
    return found
