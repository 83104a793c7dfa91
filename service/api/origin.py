"""Whether a request was sent by a browser on behalf of another site (cross-site request forgery).

Witboost's Coordinator, curl and cron jobs send neither ``Sec-Fetch-Site`` nor ``Origin``; a browser
sends at least one on every POST. Without bearer tokens a browser needs no credentials at all, so
a page on another site could otherwise start drift runs or a registry rebuild with a plain form
(``enctype="text/plain"`` bodies are read as JSON by our parsers).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site(headers: Mapping[str, str]) -> bool:
    """``headers`` with lower-case names. ``Sec-Fetch-Site: none`` is a person's own navigation."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    host = headers.get("x-forwarded-host") or headers.get("host")
    return origin == "null" or urlsplit(origin).netloc != host
