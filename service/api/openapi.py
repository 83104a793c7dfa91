"""What each route shows in /swagger/openapi.json: its request body's type and exactly its answers.

Why the body is documented here and not by a ``data: ProvisioningRequest`` parameter: Litestar
would then decode the body itself, answering malformed input with its own 400 and naming one
problem. This service's parsers answer in the contract's shapes naming every broken field, and
``/v1/validate`` (which the contract gives no 400) reports malformed input as ``valid: false``; so
the handlers read the raw body, and the body's type reaches the document through the route's
``responses`` and ``operation_class``, the OpenAPI hooks Litestar offers per route:

* the body's type is passed as a response under a placeholder status, so Litestar's own schema
  generator registers it (and what it nests) under ``components/schemas`` by its class name;
* the route's operation class moves that entry to ``requestBody`` and keeps only the answers the
  route declares — dropping the 400 Litestar adds, in its own shape, to every route with a body or a
  path parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse, Operation, RequestBody

from service.contract.models import RequestValidationError, SystemError

_BODY_SLOT = 0
"""Not an HTTP status: the request body's type rides under it until the operation class moves it."""

_ERRORS: dict[int, tuple[type[Any], str]] = {
    400: (RequestValidationError, "Invalid input: every broken field is named"),
    404: (RequestValidationError, "Not in the registry"),
    500: (SystemError, "System problem"),
}


def _operation_class(documented: frozenset[str]) -> type[Operation]:
    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            responses = dict(self.responses or {})
            body = responses.pop(str(_BODY_SLOT), None)
            if isinstance(body, OpenAPIResponse) and body.content:
                self.request_body = RequestBody(content=body.content, required=True)
            self.responses = {status: r for status, r in responses.items() if status in documented}

    return DocumentedOperation


def documented(
    answers: Mapping[int, tuple[Any, str]],
    *,
    body: type[Any] | None = None,
    errors: Iterable[int] = (400, 500),
    media_type: MediaType = MediaType.JSON,
) -> dict[str, Any]:
    """Route decorator arguments: ``answers`` are the successful statuses with their body type and
    description (the first is the route's default status), ``errors`` the error statuses."""
    responses = {
        status: ResponseSpec(model, description=text, media_type=media_type, generate_examples=False)
        for status, (model, text) in answers.items()
    }
    for status in errors:
        model, text = _ERRORS[status]
        responses[status] = ResponseSpec(model, description=text, generate_examples=False)
    shown = frozenset(str(status) for status in responses)
    if body is not None:
        responses[_BODY_SLOT] = ResponseSpec(body, description="request body", generate_examples=False)
    return {
        "status_code": next(iter(answers)),
        "responses": responses,
        "operation_class": _operation_class(shown),
    }
