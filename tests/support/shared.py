"""Where the repository and ../shared (the Witboost contract, samples, provider facts) are. ../shared
is read-only and absent on a user's clone: tests that read it skip cleanly then."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file of ../shared; skip cleanly on a clone without it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared (Witboost contract, samples, provider facts) is not beside the repo")
    return path
