"""JSON request bodies, parsed with bounds: untrusted input becomes a value or a problem naming ``body``.

``json.loads`` alone answers hostile bodies with exceptions the handlers never expected (and so
with a 500): a nesting deep enough to exhaust the recursion limit raises ``RecursionError``, an
integer of more than 4,300 digits ``ValueError``, and ``"\\ud800"`` decodes into a string that no
later ``encode`` accepts. Here every such body is refused up front, with the field it breaks.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from service.errors import Problem, RequestInvalid

MAX_DEPTH = 32
"""Levels of nested objects and arrays, the body itself the first: deeper than any body of the
contract needs (a descriptor travels as one string)."""
MAX_NUMBER_CHARS = 64
"""Digits of a JSON number: far beyond any count or flag, far below int()'s 4,300-digit limit."""
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(text: str) -> float | int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused("body", f"a number of more than {MAX_NUMBER_CHARS} characters")
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        if not math.isfinite(value):
            raise _Refused("body", f"the number {text} is out of range")
        return value
    return int(text)


def _constant(name: str) -> Any:
    raise _Refused("body", f"{name} is not JSON")


def _child(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def _check(value: Any) -> None:
    """Depth and text of every value, without recursion (the depth is what is being bounded)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, dict | list) and level > MAX_DEPTH:
            raise _Refused(path or "body", f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _Refused(path or "body", "contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise _Refused(path or "body", "has a key with a lone UTF-16 surrogate, which is not text")
                stack.append((child, _child(path, key), level + 1))
        elif isinstance(item, list):
            stack.extend((child, _child(path, i), level + 1) for i, child in enumerate(item))


def loads(raw: bytes, what: str = "request") -> Any:
    """The body's value; ``RequestInvalid`` naming the broken field (``body`` for the body as a whole)."""
    solution = f"Send the {what} as well-formed JSON (UTF-8)."
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_constant)
        _check(value)
    except _Refused as exc:
        raise RequestInvalid(
            f"The {what} body is not acceptable JSON", [Problem(exc.field, str(exc), solution)]
        ) from exc
    except UnicodeDecodeError as exc:
        raise RequestInvalid(
            f"The {what} body is not UTF-8", [Problem("body", f"not UTF-8 text: {exc.reason}", solution)]
        ) from exc
    except RecursionError as exc:
        raise RequestInvalid(
            f"The {what} body nests too deep",
            [Problem("body", f"nesting deeper than {MAX_DEPTH} levels", solution)],
        ) from exc
    except ValueError as exc:  # json.JSONDecodeError included
        raise RequestInvalid(
            f"The {what} body is not JSON", [Problem("body", f"not valid JSON: {exc}", solution)]
        ) from exc
    return value
