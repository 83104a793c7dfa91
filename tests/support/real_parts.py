"""What a test does when a real part it needs (PostgreSQL, Chromium, libfaketime, tini) is missing:
on a user's machine it skips with a message saying what to install; under ``CI=true`` it fails,
because a green CI run must have run every test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(what: str) -> NoReturn:
    """Skip (a user's machine) or fail (CI) because ``what`` — a sentence naming the part — is missing."""
    if under_ci():
        pytest.fail(f"{what} (CI=true: a test whose real part is missing fails instead of skipping)")
    pytest.skip(what)
