"""IAM policy JSON as the real provider handles it: validation (``verify.ValidIAMPolicyJSON``),
normalisation (``structure.NormalizeJsonString`` and ``verify.LegacyPolicyNormalize``) and
equivalence (``awspolicyequivalence.PoliciesAreEquivalent``), per ``aws_iam_notes.md``.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import json
from typing import Any

_VERSION = '"Version":"2012-10-17"'


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def validation_error(document: str) -> str | None:
    """``verify.ValidIAMPolicyJSON``'s message, or None when the document is acceptable."""
    if not document:
        return "policy contains an invalid JSON: empty document"
    if document[0].isspace():
        return "policy contains an invalid JSON policy: leading space characters are not allowed"
    if document[0] == '"':
        return "policy contains a JSON-encoded string, not a JSON-encoded object"
    if document[0] == "[":
        return "policy contains a JSON array, not a JSON object"
    if document[0] != "{":
        return "policy contains an invalid JSON policy: not a JSON object"
    try:
        json.loads(document, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        return f'"policy" contains duplicate JSON keys: duplicate key "{exc}"'
    except json.JSONDecodeError as exc:
        return f"policy contains an invalid JSON policy: {exc.msg}, at byte offset {exc.pos}"
    return None


def normalize(document: str) -> str:
    """Go's json.Unmarshal + json.Marshal: compact, keys sorted, ``<>&`` escaped."""
    compact = json.dumps(json.loads(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return compact.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def legacy_normalize(document: str) -> str:
    """``verify.LegacyPolicyNormalize``: normalised, with ``"Version":"2012-10-17"`` moved first."""
    compact = normalize(document)
    data = json.loads(compact)
    if not isinstance(data, dict) or data.get("Version") != "2012-10-17":
        return compact
    rest = compact[1:-1].replace(_VERSION + ",", "", 1).replace("," + _VERSION, "", 1).replace(_VERSION, "", 1)
    return "{" + _VERSION + ("," + rest if rest else "") + "}"


def _as_list(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return sorted(
        json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower() if isinstance(v, bool) else str(v)
        for v in values
    )


def _principal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: sorted(set(_as_list(v)) - {""}) for k, v in value.items() if _as_list(v) != [""]}
    return str(value)


def _statement(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    folded = {k.lower(): v for k, v in raw.items()}
    out: dict[str, Any] = {"sid": folded.get("sid"), "effect": str(folded.get("effect", "")).lower()}
    for key in ("action", "notaction", "resource", "notresource"):
        if key in folded:
            out[key] = _as_list(folded[key])
    if "condition" in folded:
        condition = folded["condition"]
        out["condition"] = (
            {op: {k: _as_list(v) for k, v in (body or {}).items()} for op, body in condition.items()}
            if isinstance(condition, dict)
            else condition
        )
    for key in ("principal", "notprincipal"):
        if key in folded:
            out[key] = _principal(folded[key])
    return out


def _canonical(document: str) -> Any:
    text = document.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    data = json.loads(text or "{}")
    if not isinstance(data, dict):
        raise ValueError("not an object")
    folded = {k.lower(): v for k, v in data.items()}
    statements = folded.get("statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return (
        folded.get("version"),
        folded.get("id"),
        sorted(json.dumps(_statement(s), sort_keys=True) for s in statements),
    )


def equivalent(a: str | None, b: str | None) -> bool:
    """``SuppressEquivalentPolicyDiffs``: "" and "{}" are equal; parse errors are not equivalent."""
    a, b = (a or "").strip() or "{}", (b or "").strip() or "{}"
    if a == b:
        return True
    try:
        return bool(_canonical(a) == _canonical(b))
    except (ValueError, TypeError):
        return False
