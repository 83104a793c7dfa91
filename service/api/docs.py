"""The OpenAPI document's pages, served from what is installed — nothing fetched from a CDN.

Swagger UI comes from a pinned wheel that ships its assets (``swagger-ui-py``, Apache-2.0, Swagger UI
5 with its licence), so ``/swagger`` renders on an air-gapped cluster; the page's only script of our
own is a file too, so a Content-Security-Policy can forbid every script not served by this service.
The same page is under the web view (``/ui/api``), where its session cookie opens it when
MWAA_SP_API_TOKENS is set — a browser sends no bearer token.
"""

from __future__ import annotations

import html
import importlib.resources
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath

_SWAGGER = Path(str(importlib.resources.files("swagger_ui"))) / "static"
_OURS = Path(str(importlib.resources.files("service.api"))) / "assets"
ASSETS = {
    "swagger-ui.css": (_SWAGGER / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (_SWAGGER / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-init.js": (_OURS / "swagger-init.js", "text/javascript; charset=utf-8"),
    "LICENSE": (_SWAGGER / "LICENSE", "text/plain; charset=utf-8"),
}
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def page(spec: str, assets: str) -> str:
    """The Swagger UI page for the document at ``spec``, its files under ``assets``."""
    spec, assets = html.escape(spec, quote=True), html.escape(assets, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mwaa-sp: the API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""


def asset(name: str) -> Response[bytes]:
    found = ASSETS.get(name)
    if found is None:
        raise NotFoundException(f"no asset {name!r}")
    path, media = found
    return Response(path.read_bytes(), media_type=media, headers=HEADERS | {"cache-control": "max-age=86400"})


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
def swagger_asset(name: FromPath[str]) -> Response[bytes]:
    return asset(name)


class OfflineSwaggerUI(OpenAPIRenderPlugin):
    """``/swagger``: Swagger UI from the installed assets (``/swagger/assets/…``)."""

    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        base = request.url.path.rstrip("/")
        return page(self.get_openapi_json_route(request), f"{base}/assets").encode()

    def receive_router(self, router: Router) -> None:
        router.register(swagger_asset)
