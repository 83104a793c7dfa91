"""Reading request bodies ourselves, so size limits and malformed JSON answer in the spec's shapes."""

from __future__ import annotations

from litestar import Request

from service.errors import Problem, RequestInvalid
from service.request import ProvisioningRequest, parse_body


async def read_body(request: Request, max_bytes: int) -> bytes:  # type: ignore[type-arg]
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestInvalid(
                "The request body is too large",
                [Problem("body", f"larger than {max_bytes} bytes", "Send a smaller descriptor.")],
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def provisioning_request(request: Request, max_bytes: int) -> ProvisioningRequest:  # type: ignore[type-arg]
    return parse_body(await read_body(request, max_bytes))
