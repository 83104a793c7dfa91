"""The web view: server-rendered pages under ``/ui`` for platform engineers.

It reads through :class:`PlatformOperations` (the object the JSON API uses), renders with Jinja2 with
autoescape on (descriptor values are hostile), and loads nothing from outside the service: one
inline stylesheet, no script at all (a running drift run refreshes its page with a meta tag).
Authentication is the middleware's (``MWAA_SP_API_TOKENS``); this module only offers the token form.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import MethodNotAllowedException, NotFoundException, PermissionDeniedException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from service import resources
from service.api import docs, session
from service.api.bulkheads import Bulkheads
from service.api.failures import Failure
from service.api.origin import cross_site
from service.api.scopes import require_reconcile, token_of
from service.aws.airflow import AirflowUi
from service.domain.naming import dag_id_of
from service.operations.platform import PlatformOperations
from service.settings import Settings
from service.store.sessions import SessionStore
from service.ui import views

log = logging.getLogger("mwaa_sp.ui")
# The forms hold a token, a few ids and flags: far less than the JSON API's MWAA_SP_MAX_BODY_BYTES,
# so the web view refuses big bodies before reading them (request_max_body_size below).
_FORM_MAX_BYTES = 64 * 1024

_ENV = Environment(
    loader=FileSystemLoader(resources.TEMPLATES / "ui"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(
    workload_url=views.workload_url,
    plan_url=views.plan_url,
    drift_run_url=views.drift_run_url,
    list_url=views.list_url,
    verdict=views.verdict,
    summary=views.summary,
    VERDICTS=views.VERDICTS,
)
_ENV.filters.update(when=views.when)

# No script may run, whatever a descriptor smuggles into a page; styles only from the page itself;
# component ids in URLs must not leak to the S3 console or Airflow through the Referer.
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _page(template: str, settings: Settings, status: int = 200, **context: Any) -> Response[str]:
    html = _ENV.get_template(template).render(signed_in=bool(settings.api_tokens), **context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=_HEADERS)


def error_page(request: Request[Any, Any, Any], failure: Failure, exc: BaseException) -> Response[str]:
    """The web view's answer to any failure (mapped by ``service.api.failures``): an HTML page."""
    title = {"not found": "Not found", "refused": "Refused", "failed": "The service failed"}[failure.kind]
    message = failure.message
    if isinstance(exc, NotFoundException | MethodNotAllowedException):
        # The router's own answer (no route there): its detail says nothing a person can use.
        message = f"The web view has no page at {request.url.path}"
    html = _ENV.get_template("error.html.j2").render(
        signed_in=False, title=title, message=message, status=failure.status, path=request.url.path
    )
    return Response(html, status_code=failure.status, media_type=MediaType.HTML, headers=_HEADERS)


def _cross_site(request: Request[Any, Any, Any]) -> bool:
    """A form posted from another site. SameSite=Strict keeps the session cookie off such posts when
    tokens are set; without tokens this is what stops another site from starting drift runs."""
    return cross_site({name.lower(): value for name, value in request.headers.items()})


async def _form(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    if _cross_site(request):
        raise PermissionDeniedException(
            "This form was posted from another site; open the web view and submit it there."
        )
    try:
        raw = await request.body()
    except RequestEntityTooLarge as exc:
        raise RequestEntityTooLarge(f"The form is larger than {_FORM_MAX_BYTES // 1024} KiB") from exc
    return parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)


def _first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _workload_page_data(
    operations: PlatformOperations, airflow: AirflowUi, component_id: str, plans_cursor: str | None
) -> dict[str, Any]:
    workload = views.as_json(operations.workload(component_id))
    plans = operations.plans_of(component_id, cursor=plans_cursor, limit=views.PAGE_SIZE)
    return {
        "workload": workload,
        "plans": [views.as_json(p) for p in plans.items],
        "older_plans": f"{views.workload_url(component_id)}?{urlencode({'plans': plans.next})}" if plans.next else None,
        "history": operations.drift_history(component_id),
        "airflow_url": airflow.dag_url(dag_id_of(workload["dagKey"])) if workload["deployed"] else None,
    }


class UiController(Controller):
    path = "/ui"
    include_in_schema = False
    request_max_body_size = _FORM_MAX_BYTES

    @get("/", include_in_schema=False)
    async def workloads(
        self,
        operations: NamedDependency[PlatformOperations],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
        data_product: Annotated[str | None, QueryParameter(name="dataProduct")] = None,
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        drift: Annotated[str | None, QueryParameter(name="drift")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    ) -> Response[str]:
        shown, data_products = await asyncio.gather(
            bulkheads.reads.run(
                operations.workloads, data_product, status, drift, cursor=cursor, limit=views.PAGE_SIZE
            ),
            bulkheads.reads.run(operations.data_products),
        )
        chosen = {"dataProduct": data_product or "", "status": status or "", "drift": drift or ""}
        return _page(
            "workloads.html.j2",
            settings,
            workloads=[views.as_json(w) for w in shown.items],
            next_page=views.list_url(**chosen, cursor=shown.next) if shown.next else None,
            data_products=data_products,
            statuses=views.STATUSES,
            chosen=chosen,
        )

    @get("/workloads/{component_id:str}", include_in_schema=False)
    async def workload(
        self,
        component_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        settings: NamedDependency[Settings],
        airflow: NamedDependency[AirflowUi],
        bulkheads: NamedDependency[Bulkheads],
        plans: Annotated[str | None, QueryParameter(name="plans")] = None,
    ) -> Response[str]:
        data = await bulkheads.reads.run(_workload_page_data, operations, airflow, component_id, plans)
        workload = data["workload"]
        region = settings.aws_region
        links = {
            "dag": views.s3_console(workload["bucket"], workload["dagKey"], region),
            "descriptor": views.s3_console(workload["bucket"], workload["descriptorKey"], region),
            "folder": views.s3_console(workload["bucket"], views.folder(workload["dagKey"]), region),
        }
        return _page(
            "workload.html.j2",
            settings,
            **data,
            links=links,
            dag_id=dag_id_of(workload["dagKey"]),
            changes=views.drift_changes,
            mwaa_environment=settings.mwaa_environment,
        )

    @get("/workloads/{component_id:str}/plans/{plan_id:str}", include_in_schema=False)
    async def plan(
        self,
        component_id: FromPath[str],
        plan_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[str]:
        # The first read of a stored plan runs `terraform show` (through the workload's door).
        plan = views.as_json(await bulkheads.operations.run(operations.plan, component_id, plan_id))
        return _page(
            "plan.html.j2",
            settings,
            plan=plan,
            component_id=component_id,
            diff=views.diff_lines(plan["dagDiff"]),
            resources=views.resource_rows(plan["json"]),
        )

    @get("/drift-runs", include_in_schema=False)
    async def drift_runs(
        self,
        operations: NamedDependency[PlatformOperations],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
        workload: Annotated[str | None, QueryParameter(name="workload")] = None,
        data_product: Annotated[str | None, QueryParameter(name="dataProduct")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    ) -> Response[str]:
        data_products, runs = await asyncio.gather(
            bulkheads.reads.run(operations.data_products),
            bulkheads.reads.run(operations.drift_runs_page, cursor=cursor, limit=views.PAGE_SIZE),
        )
        return _page(
            "drift_runs.html.j2",
            settings,
            data_products=data_products,
            runs=[views.as_json(r) for r in runs.items],
            next_page=f"/ui/drift-runs?{urlencode({'cursor': runs.next})}" if runs.next else None,
            chosen={"workload": workload or "", "dataProduct": data_product or ""},
        )

    @post("/drift-runs", include_in_schema=False)
    async def start_drift_run(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Redirect:
        form = await _form(request)
        # One id per line (or comma) of the text box, or the hidden field of a workload's page.
        workloads = [
            w.strip() for v in form.get("workloads", []) for w in v.replace(",", "\n").splitlines() if w.strip()
        ]
        reconcile = bool(_first(form, "reconcile"))
        require_reconcile(token_of(request.scope.get("state", {})), reconcile)
        run_id = await bulkheads.operations.run(
            operations.start_drift_run,
            workloads,
            _first(form, "dataProduct") or None,
            thorough=bool(_first(form, "thorough")),
            reconcile=reconcile,
        )
        return Redirect(views.drift_run_url(run_id), status_code=303)

    @get("/drift-runs/{run_id:str}", include_in_schema=False)
    async def drift_run(
        self,
        run_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[str]:
        run = views.as_json(await bulkheads.reads.run(operations.drift_run, run_id))
        report = run["report"] or {}
        return _page(
            "drift_run.html.j2",
            settings,
            run=run,
            report=report,
            verdicts=report.get("workloads") or [],
            changes=views.drift_changes,
            airflow_checked=settings.airflow_check != "off",
        )

    @get("/api", include_in_schema=False)
    async def api_docs(self) -> Response[str]:
        """The API's Swagger UI inside the web view, where its session cookie reaches."""
        html = docs.page("/ui/api/openapi.json", "/ui/api/assets")
        return Response(html, media_type=MediaType.HTML, headers=docs.HEADERS | {"cache-control": "no-store"})

    @get("/api/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
    def api_docs_asset(self, name: FromPath[str]) -> Response[bytes]:
        return docs.asset(name)

    @get("/api/openapi.json", include_in_schema=False, sync_to_thread=False)
    def api_document(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        return Response(request.app.openapi_schema.to_schema(), headers=docs.HEADERS)

    @get("/login", include_in_schema=False)
    async def login_form(
        self, settings: NamedDependency[Settings], next_page: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Response[str]:
        return _page(
            "login.html.j2",
            settings,
            next_page=views.safe_next(next_page),
            refused=False,
            open_view=not settings.api_tokens,
        )

    @post("/login", include_in_schema=False)
    async def login(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        sessions: NamedDependency[SessionStore],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[Any]:
        form = await _form(request)
        next_page = views.safe_next(_first(form, "next"))
        if not settings.api_tokens:
            return Redirect(next_page, status_code=303)
        token = _first(form, "token")
        if not session.token_matches(token, tuple(t.secret for t in settings.tokens)):
            log.warning("web view: a token was refused")
            return _page("login.html.j2", settings, 401, next_page=next_page, refused=True, open_view=False)
        session_id, _ = await bulkheads.reads.run(sessions.open, session.LIFETIME_S)
        cookie = Cookie(
            key=session.COOKIE,
            value=session.issue(token, session_id),
            path=session.UI_PREFIX,
            max_age=session.LIFETIME_S,
            httponly=True,
            # Strict: a page on another site cannot post a form that carries it (CSRF).
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return Redirect(next_page, status_code=303, cookies=[cookie])

    @post("/logout", include_in_schema=False)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        sessions: NamedDependency[SessionStore],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Redirect:
        await _form(request)
        # Closed on the server: a copy of the cookie is worth nothing after this.
        cookie = session.from_header(request.headers.get("cookie", "").encode("latin-1"))
        secrets = tuple(t.secret.encode() for t in settings.tokens)
        opened = session.verify(cookie, secrets) if cookie else None
        if opened is not None:
            await bulkheads.reads.run(sessions.close, opened[0])
        gone = Cookie(
            key=session.COOKIE,
            value="",
            path=session.UI_PREFIX,
            max_age=0,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return Redirect("/ui/login", status_code=303, cookies=[gone])

    # An unknown address under /ui is a person's typo or a stale bookmark: an HTML page, not the JSON
    # API's 404. Litestar's router never backtracks, so a catch-all at /ui alone misses addresses that
    # start like a page (/ui/workloads/x/y): each prefix the pages above share needs its own.
