"""What each token scope may do (pure): the Coordinator's token runs the contract, a reader reads and
checks drift, an admin does everything.

- ``coordinator``: the contract's operations and their status polls — what Witboost's Coordinator
  calls — and nothing of the platform engineers' endpoints.
- ``reader``: every ``GET`` (registry, plans, drift runs, metrics, the web view, the OpenAPI
  document) and starting a drift run without ``reconcile`` (checked by the handler: it is in the body).
- ``admin``: everything, the speculative plans a review gate accepts and reconciles included.
"""

from __future__ import annotations

import re
from typing import Any

from service.errors import BeyondScope
from service.settings import ApiToken, Scope

_CONTRACT = re.compile(
    r"^(POST (/v1/validate|/v2/validate|/v1/provision|/v1/unprovision|/v1/updateacl|/v1/reverse-provisioning)"
    r"|GET (/v2/validate|/v1/provision|/v1/reverse-provisioning)/[^/]+/status)$"
)
TOKEN_STATE = "mwaa_sp_token"  # noqa: S105 - a state key, not a secret
"""Where a request's authenticated token (:class:`ApiToken`) waits for its handler (``scope["state"]``)."""
_ANYONE = frozenset({"/build-info"})
_READER_POSTS = frozenset({"/drift-runs", "/ui/drift-runs", "/ui/logout"})


def allowed(scope: Scope, method: str, path: str) -> bool:
    if scope == "admin" or path in _ANYONE:
        return True
    if _CONTRACT.match(f"{method} {path}"):
        return scope == "coordinator"
    if scope != "reader":
        return False
    return method in ("GET", "HEAD") or (method == "POST" and path in _READER_POSTS)


def require_reconcile(token: ApiToken | None, reconcile: bool) -> None:
    """A reader may check drift, not repair it (the body says which)."""
    if reconcile and token is not None and token.scope != "admin":
        raise BeyondScope(token.name, token.scope, "start a drift run with reconcile")


def token_of(state: Any) -> ApiToken | None:
    """The token that authenticated a request (None without MWAA_SP_API_TOKENS)."""
    found = state.get(TOKEN_STATE) if hasattr(state, "get") else None
    return found if isinstance(found, ApiToken) else None
