"""Check response bodies against the official Witboost contract in ../shared (not one we generate)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml


@functools.cache
def load_spec(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def assert_conforms(spec_path: Path, path: str, method: str, status: int, body: Any) -> None:
    """``body`` is one of the documented responses of ``method path`` with ``status``."""
    spec = load_spec(spec_path)
    responses = spec["paths"][path][method.lower()]["responses"]
    assert status in responses, f"{method} {path} answered {status}, documented: {sorted(responses)}"
    schema = responses[status]["content"]["application/json"]["schema"]
    wrapper = {"allOf": [schema], "components": spec["components"]}
    jsonschema.Draft4Validator(wrapper).validate(body)
