"""Where the files installed beside the code live: the Jinja2 templates and the Terraform module.

In a checkout they are the repository's top-level ``templates/`` and ``terraform/``; a wheel carries
them as ``service/bundled/`` (``pyproject.toml`` maps the folders there), so an installed service
finds them from any working directory."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def _bundled(name: str) -> Path:
    installed = Path(str(importlib.resources.files("service"))) / "bundled" / name
    return installed if installed.is_dir() else _CHECKOUT / name


TEMPLATES = _bundled("templates")
"""``terraform/`` (the root module's templates) and ``ui/`` (the web view's pages)."""
TERRAFORM = _bundled("terraform")
"""The HCL modules every rendered root module calls (``workload/``)."""
