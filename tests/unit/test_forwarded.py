"""X-Forwarded-* are believed from MWAA_SP_TRUSTED_PROXIES only: from anyone else they are removed
before anything reads them (the cross-site check, the Secure cookie, the request log)."""

from __future__ import annotations

import ipaddress
from typing import Any

from service.api.middleware import forwarded
from service.api.origin import cross_site

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def _scope(peer: str, **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "client": (peer, 51000),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in scope["headers"]}


def test_a_clients_own_forwarded_headers_are_dropped() -> None:
    scope = _scope(
        "203.0.113.9",
        host="sp.internal",
        origin="https://evil.example",
        x_forwarded_host="evil.example",
        x_forwarded_proto="https",
        x_forwarded_for="10.1.2.3",
    )
    forwarded(scope, PROXIES)
    assert _headers(scope) == {"host": "sp.internal", "origin": "https://evil.example"}
    assert scope["scheme"] == "http"
    assert scope["client"] == ("203.0.113.9", 51000)
    # Without the forged X-Forwarded-Host, the other site's page is seen for what it is.
    assert cross_site(_headers(scope))


def test_a_trusted_proxys_forwarded_headers_are_believed() -> None:
    scope = _scope(
        "10.9.8.7",
        host="sp.internal",
        origin="https://sp.example",
        x_forwarded_host="sp.example",
        x_forwarded_proto="https",
        x_forwarded_for="198.51.100.4, 10.9.8.1",
    )
    forwarded(scope, PROXIES)
    assert scope["scheme"] == "https"
    assert scope["client"] == ("10.9.8.1", 51000)
    assert not cross_site(_headers(scope))  # the browser's own site, as the proxy says


def test_no_trusted_proxy_means_nobody_is_believed() -> None:
    scope = _scope("127.0.0.1", host="h", x_forwarded_host="other", x_forwarded_proto="https")
    forwarded(scope, ())
    assert _headers(scope) == {"host": "h"}
    assert scope["scheme"] == "http"
