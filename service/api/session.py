"""The web view's session cookie: proof that the browser presented one of MWAA_SP_API_TOKENS.

The cookie holds an expiry, a session id and an HMAC of both keyed by the token, never the token
itself: it stops working when its token is removed from the setting, when it expires, and when its
session is closed — signing out deletes the session's row (``service.store.sessions``), so a copy
of the cookie dies with it, and every sign-in opens a session of its own. A stolen cookie does not
open the JSON API (the middleware accepts it under ``/ui`` only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

COOKIE = "mwaa_sp_ui"
LIFETIME_S = 12 * 3600
UI_PREFIX = "/ui"
# Far beyond any real expiry, and far below int()'s digit limit (a forged cookie must not raise).
_EXPIRES_MAX_DIGITS = 16
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def is_ui(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _mac(token: bytes, expires: int, session_id: str) -> str:
    return hmac.new(token, f"mwaa-sp-ui-session:{expires}:{session_id}".encode(), hashlib.sha256).hexdigest()


def issue(token: str, session_id: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME_S
    return f"{expires}.{session_id}.{_mac(token.encode(), expires, session_id)}"


def verify(value: str, tokens: tuple[bytes, ...], now: float | None = None) -> tuple[str, int] | None:
    """The session id a cookie names and which of ``tokens`` signed it, when it is well-formed,
    unexpired and signed by one of them (pure: whether the session is still open is the store's)."""
    expires_text, _, rest = value.partition(".")
    session_id, _, mac = rest.partition(".")
    # isdigit() alone accepts '²' and other digits int() refuses: a forged cookie is no session, not a 500.
    digits = expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= _EXPIRES_MAX_DIGITS
    if not digits or not mac or not _SESSION_ID.fullmatch(session_id):
        return None
    expires = int(expires_text)
    current = now if now is not None else time.time()
    if not current < expires <= current + LIFETIME_S:
        return None
    # Every token is tried, without stopping early, so timing says nothing about which one matched.
    matches = [hmac.compare_digest(mac.encode(), _mac(token, expires, session_id).encode()) for token in tokens]
    return (session_id, matches.index(True)) if any(matches) else None


def token_matches(presented: str, secrets: tuple[str, ...]) -> bool:
    matches = [hmac.compare_digest(presented.encode(), secret.encode()) for secret in secrets]
    return bool(presented) and any(matches)


def from_header(cookie_header: bytes) -> str | None:
    """Our cookie's value in a Cookie header, or None.

    Parsed by hand: SimpleCookie stops at the first cookie it finds illegal (a sibling set by another
    application, e.g. ``a={"x":1, "y":2}`` or ``x=a b``), which would hide ours and sign the person out.
    """
    for pair in cookie_header.decode("latin-1").split(";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip() == COOKIE:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None
