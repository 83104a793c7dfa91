"""The HTTP server's connections: bounded in time, so idle or trickling sockets cannot pile up.

Uvicorn closes a keep-alive connection that stays idle after a response, but not one that never
sends a complete request: a client that connects and sends nothing, or sends its headers a byte at a
time, holds its socket forever (3,000 such sockets were held in a test). Here every connection
must deliver a request's headers within ``header_timeout_s`` of connecting or of its previous
response, or it is closed; a body must arrive within MWAA_SP_BODY_TIMEOUT (``service.api.body``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class _BoundedH11(H11Protocol):
    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        waiting_for = self.cycle
        handle: asyncio.TimerHandle = self.loop.call_later(self.header_timeout_s, self._expired, waiting_for)
        self._header_timer = handle

    def _expired(self, waiting_for: Any) -> None:
        # No new request's headers since the timer was armed (the cycle is still the old one).
        if self.cycle is waiting_for and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._header_timer.cancel()
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)


def bounded_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """The h11 protocol class, closing connections that send no request headers in time."""
    return type("BoundedH11Protocol", (_BoundedH11,), {"header_timeout_s": float(header_timeout_s)})
