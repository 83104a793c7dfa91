"""The one mapping from exceptions to HTTP: a status, a kind and a message for a person, and the
contract's error body for a client. The JSON API answers the body; the web view (``service.ui``)
renders the same status and message as a page. Tracebacks are logged for 5xx only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from litestar.exceptions import HTTPException
from sqlalchemy.exc import SQLAlchemyError

from service.contract import bodies
from service.contract.models import RequestValidationError, SystemError
from service.errors import ClientError, MwaaSpError, TokenUnknown, WorkloadUnknown
from service.store.database import unreachable

log = logging.getLogger("mwaa_sp.http")


@dataclass(frozen=True)
class Failure:
    status: int
    kind: Literal["not found", "refused", "failed"]
    message: str
    body: RequestValidationError | SystemError


def failure_of(exc: BaseException) -> Failure:
    """What a request that raised ``exc`` is answered with."""
    if isinstance(exc, ClientError):
        unknown = isinstance(exc, WorkloadUnknown | TokenUnknown)
        body = bodies.request_validation_error(exc.message, exc.problems)
        return Failure(exc.status_code, "not found" if unknown else "refused", exc.message, body)
    if isinstance(exc, MwaaSpError):
        log.error("request failed: %s", exc.message)
        return Failure(500, "failed", exc.message, bodies.system_error(exc.message))
    if isinstance(exc, HTTPException):
        message = str(exc.detail)
        if exc.status_code < 500:
            wrapped = ClientError(message)
            body = bodies.request_validation_error(message, wrapped.problems)
            return Failure(exc.status_code, "not found" if exc.status_code == 404 else "refused", message, body)
        return Failure(exc.status_code, "failed", message, bodies.system_error(message))
    if isinstance(exc, SQLAlchemyError) and unreachable(exc):
        log.error("database unreachable", extra={"error": str(exc).split("\n")[0]})
        message = "the service's database does not answer; retry later"
        return Failure(500, "failed", message, bodies.system_error(message))
    log.exception("unexpected error", exc_info=exc)
    message = f"internal error: {type(exc).__name__}"
    return Failure(500, "failed", message, bodies.system_error(message))
