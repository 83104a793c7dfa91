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
from http.cookies import CookieError, SimpleCookie

COOKIE = "mwaa_sp_ui"
LIFETIME_S = 12 * 3600
UI_PREFIX = "/ui"


def is_ui(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _mac(token: bytes, expires: int) -> str:
    return hmac.new(token, f"mwaa-sp-ui-session:{expires}".encode(), hashlib.sha256).hexdigest()


def issue(token: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME_S
    return f"{expires}.{_mac(token.encode(), expires)}"


def valid(value: str, tokens: tuple[bytes, ...], now: float | None = None) -> bool:
    expires_text, _, mac = value.partition(".")
    if not expires_text.isdigit() or not mac:
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
    try:
        jar = SimpleCookie(cookie_header.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value
