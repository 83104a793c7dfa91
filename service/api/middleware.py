"""ASGI middleware: optional bearer-token authentication and one structured log line per request."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from service.errors import ClientError, Problem, request_validation_error

log = logging.getLogger("mwaa_sp.http")
_OPEN_PATHS = ("/health",)


def _unauthorised() -> bytes:
    error = ClientError(
        "A valid bearer token is required",
        [Problem("Authorization", "missing or unknown bearer token", "Send 'Authorization: Bearer <token>'.")],
    )
    return json.dumps(request_validation_error(error)).encode()


class RequestMiddleware:
    """Checks ``Authorization: Bearer`` against MWAA_SP_API_TOKENS (constant-time, every endpoint but
    ``/health``) and logs method, path, status, duration and a request id — never headers or bodies."""

    def __init__(self, app: ASGIApp, tokens: tuple[str, ...]) -> None:
        self.app = app
        self.tokens = tuple(t.encode() for t in tokens)

    def _authorised(self, scope: Scope) -> bool:
        if not self.tokens or scope["path"] in _OPEN_PATHS:
            return True
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        scheme, _, presented = header.partition(b" ")
        if scheme.lower() != b"bearer" or not presented:
            return False
        # compare_digest against every token, without stopping early, so timing reveals nothing.
        matches = [hmac.compare_digest(presented, token) for token in self.tokens]
        return any(matches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(6)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if self._authorised(scope):
                await self.app(scope, receive, send_with_id)
            else:
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
                await send_with_id(start)
                await send_with_id({"type": "http.response.body", "body": _unauthorised(), "more_body": False})
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
