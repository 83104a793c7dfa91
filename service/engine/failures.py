"""One place that recognises what a Terraform failure means, from Terraform's own diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

_UNREACHABLE = (
    "connection refused",
    "could not connect to the endpoint",
    "connect timeout",
    "no such host",
    "dial tcp",
    "failed to establish a new connection",
    "endpoint url",
)
_STATE_LOCK = ("error acquiring the state lock",)


def classify(diagnostics: Sequence[str]) -> str | None:
    """A short cause to put in front of the diagnostics, when one is recognisable."""
    text = " ".join(diagnostics).lower()
    if any(marker in text for marker in _STATE_LOCK):
        return "the workload's Terraform state is locked by another run"
    if any(marker in text for marker in _UNREACHABLE):
        return "the S3 endpoint was unreachable"
    return None
