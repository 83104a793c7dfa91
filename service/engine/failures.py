"""One place that recognises what a Terraform failure means, from Terraform's own diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import EndpointUnreachable, StateLocked, TerraformFailed

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


def failure(step: str, diagnostics: Sequence[str]) -> TerraformFailed:
    """The error to raise for a failed Terraform ``step``: the most specific class that fits."""
    text = " ".join(diagnostics).lower()
    if any(marker in text for marker in _STATE_LOCK):
        return StateLocked(step, diagnostics)
    if any(marker in text for marker in _UNREACHABLE):
        return EndpointUnreachable(step, diagnostics)
    return TerraformFailed(step, diagnostics)
