"""Reading request bodies: the handlers parse them, so bad input is answered in the contract's shapes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from service.errors import BodyTooLarge, Problem, RequestInvalid

BODY_TIMEOUT_STATE = "body_timeout_s"
"""The app state's key for MWAA_SP_BODY_TIMEOUT."""


def too_large(request: Request[Any, Any, Any]) -> BodyTooLarge:
    """Litestar's refusal of a body over ``request_max_body_size`` (MWAA_SP_MAX_BODY_BYTES), as ours."""
    return BodyTooLarge(request.route_handler.resolve_request_max_body_size() or 0)


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body; one over the cap raises :class:`BodyTooLarge`, one that does not arrive within
    MWAA_SP_BODY_TIMEOUT (a client trickling bytes) :class:`RequestInvalid`, both naming ``body``."""
    timeout = float(request.app.state.get(BODY_TIMEOUT_STATE, 60))
    try:
        return await asyncio.wait_for(request.body(), timeout)
    except RequestEntityTooLarge as exc:
        raise too_large(request) from exc
    except TimeoutError as exc:
        raise RequestInvalid(
            "The request body did not arrive in time",
            [Problem("body", f"not received within {timeout:g} s (MWAA_SP_BODY_TIMEOUT)", "Send the body at once.")],
        ) from exc
