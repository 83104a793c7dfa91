"""The web view's session cookie: proof that the browser presented one of MWAA_SP_API_TOKENS.

The cookie holds an expiry and an HMAC keyed by the token, never the token itself: any replica
that knows the tokens can check it (no session store to share), it stops working when its token is
removed from the setting or when it expires, and a stolen cookie does not open the JSON API (the
middleware accepts it under ``/ui`` only).
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "mwaa_sp_ui"
LIFETIME_S = 12 * 3600
UI_PREFIX = "/ui"
# Far beyond any real expiry, and far below int()'s digit limit (a forged cookie must not raise).
_EXPIRES_MAX_DIGITS = 16


def is_ui(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _mac(token: bytes, expires: int) -> str:
    return hmac.new(token, f"mwaa-sp-ui-session:{expires}".encode(), hashlib.sha256).hexdigest()


def issue(token: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME_S
    return f"{expires}.{_mac(token.encode(), expires)}"


def valid(value: str, tokens: tuple[bytes, ...], now: float | None = None) -> bool:
    expires_text, _, mac = value.partition(".")
    # isdigit() alone accepts '²' and other digits int() refuses: a forged cookie is no session, not a 500.
    digits = expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= _EXPIRES_MAX_DIGITS
    if not digits or not mac:
        return False
    expires = int(expires_text)
    current = now if now is not None else time.time()
    if not current < expires <= current + LIFETIME_S:
        return False
    # Every token is tried, without stopping early, so timing says nothing about which one matched.
    matches = [hmac.compare_digest(mac.encode(), _mac(token, expires).encode()) for token in tokens]
    return any(matches)


def token_matches(presented: str, tokens: tuple[str, ...]) -> bool:
    matches = [hmac.compare_digest(presented.encode(), token.encode()) for token in tokens]
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
