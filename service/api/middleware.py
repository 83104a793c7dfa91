"""ASGI middleware: forwarded headers from trusted proxies only, optional bearer-token
authentication, and one structured log line per request."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from service.api import session
from service.api.docs import HEADERS as DOCS_HEADERS
from service.api.origin import UNSAFE_METHODS, cross_site
from service.api.scopes import TOKEN_STATE, allowed
from service.contract import bodies
from service.errors import ClientError, Problem
from service.settings import ApiToken
from service.store.sessions import SessionStore

log = logging.getLogger("mwaa_sp.http")
# The web view's login page must answer without a token: it is where the token is given.
_OPEN_PATHS = ("/health", "/ready", "/ui/login")


def _cross_site_refused() -> bytes:
    error = ClientError(
        "Requests sent by a browser from another site are refused",
        [Problem("Origin", "another site, or a page without an origin", "Call the API from a client, not a web page.")],
    )
    return msgspec.json.encode(bodies.request_validation_error(error.message, error.problems))


def _forged(scope: Scope) -> bool:
    """An unsafe request to the JSON API from another site's page (the web view answers its own
    forms with a page of its own)."""
    if scope.get("method") not in UNSAFE_METHODS or session.is_ui(scope["path"]):
        return False
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return cross_site(headers)


def _beyond_scope(token: ApiToken, method: str, path: str) -> bytes:
    error = ClientError(
        f"Token {token.name} ({token.scope}) may not {method} {path}",
        [
            Problem(
                "Authorization",
                f"the token's scope, {token.scope}, does not cover {method} {path}",
                "Use a token whose scope covers it (coordinator: the contract; reader: reads; admin: all).",
            )
        ],
    )
    return msgspec.json.encode(bodies.request_validation_error(error.message, error.problems))


def _unauthorised() -> bytes:
    error = ClientError(
        "A valid bearer token is required",
        [Problem("Authorization", "missing or unknown bearer token", "Send 'Authorization: Bearer <token>'.")],
    )
    return msgspec.json.encode(bodies.request_validation_error(error.message, error.problems))


_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")


def forwarded(scope: Scope, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> None:
    """Believe a request's ``X-Forwarded-*`` only when its peer is a configured proxy
    (MWAA_SP_TRUSTED_PROXIES): then the scheme and client come from them; from anyone else they
    are removed, so nothing downstream (the cross-site check, the Secure cookie) reads a client's
    own claim about where it is."""
    client = scope.get("client")
    peer = client[0] if client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        address = None
    headers = scope.get("headers", [])
    if address is None or not any(address in network for network in trusted):
        scope["headers"] = [(k, v) for k, v in headers if k.lower() not in _FORWARDED]
        return
    named = {k.lower(): v.decode("latin-1") for k, v in headers}
    proto = named.get(b"x-forwarded-proto", "").split(",")[0].strip().lower()
    if proto in ("http", "https"):
        scope["scheme"] = proto
    hops = [h.strip() for h in named.get(b"x-forwarded-for", "").split(",") if h.strip()]
    if hops and client:
        scope["client"] = (hops[-1], client[1])


class RequestMiddleware:
    """Checks ``Authorization: Bearer`` against MWAA_SP_API_TOKENS (constant-time, every endpoint but
    ``/health``, ``/ready`` and the web view's login page; under ``/ui`` an open session's cookie
    counts too) and logs method, path, status, duration and a request id — never headers or bodies."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: tuple[ApiToken, ...],
        sessions: SessionStore,
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.tokens = tokens
        self._secrets = tuple(t.secret.encode() for t in tokens)
        self.sessions = sessions
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        # Session lookups are database reads: off the event loop, on a pool of their own.
        self._lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mwaa-sp-sessions")

    async def _token(self, scope: Scope) -> ApiToken | None:
        """The token a request presents — a bearer header, or under ``/ui`` an open session's cookie."""
        headers = dict(scope.get("headers", []))
        scheme, _, presented = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and presented:
            # compare_digest against every token, without stopping early, so timing reveals nothing.
            matches = [hmac.compare_digest(presented, secret) for secret in self._secrets]
            if any(matches):
                return self.tokens[matches.index(True)]
        if not session.is_ui(scope["path"]):
            return None
        cookie = session.from_header(headers.get(b"cookie", b""))
        opened = session.verify(cookie, self._secrets) if cookie is not None else None
        if opened is None:
            return None
        session_id, index = opened
        alive = await asyncio.get_running_loop().run_in_executor(self._lookups, self.sessions.active, session_id)
        return self.tokens[index] if alive else None

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if session.is_ui(scope["path"]):
            # A person, not a client: send them to the token form, and back here afterwards.
            # The path as sent (still percent-encoded): a component id's '?' or '#' must stay in it.
            # Some servers leave the query on raw_path, against the ASGI spec; a bare '?' ends a path.
            raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
            query = scope.get("query_string", b"")
            back = (raw + (b"?" + query if query else b"")).decode("latin-1")
            location = f"/ui/login?next={quote(back, safe='')}"
            headers = [(b"location", location.encode("latin-1")), (b"content-type", b"text/plain; charset=utf-8")]
            status, body = 303, b"A token is required: see /ui/login\n"
        else:
            headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
            status, body = 401, _unauthorised()
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    async def _answer(send: Send, status: int, body: bytes) -> None:
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(6)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        docs = scope["path"] == "/swagger" or scope["path"].startswith("/swagger/")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if docs:  # the docs' pages: scripts of this service only (service.api.docs)
                    extra += [(k.encode(), v.encode()) for k, v in DOCS_HEADERS.items()]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        forwarded(scope, self.trusted)
        try:
            if _forged(scope):
                await self._answer(send_with_id, 403, _cross_site_refused())
            elif not self.tokens or scope["path"] in _OPEN_PATHS:
                await self.app(scope, receive, send_with_id)
            elif (token := await self._token(scope)) is None:
                await self._refuse(scope, send_with_id)
            elif not allowed(token.scope, str(scope.get("method")), scope["path"]):
                await self._answer(send_with_id, 403, _beyond_scope(token, str(scope.get("method")), scope["path"]))
            else:
                scope.setdefault("state", {})[TOKEN_STATE] = token
                await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
