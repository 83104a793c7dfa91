"""Reading request bodies: the handlers parse them, so bad input is answered in the contract's shapes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from service.errors import BodyTooLarge


def too_large(request: Request[Any, Any, Any]) -> BodyTooLarge:
    """Litestar's refusal of a body over ``request_max_body_size`` (MWAA_SP_MAX_BODY_BYTES), as ours."""
    return BodyTooLarge(request.route_handler.resolve_request_max_body_size() or 0)


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body; one over the cap raises :class:`BodyTooLarge`, naming ``body``."""
    try:
        return await request.body()
    except RequestEntityTooLarge as exc:
        raise too_large(request) from exc
