"""The CLI's client of a running service (``MWAA_SP_URL``, ``MWAA_SP_TOKEN``): the same commands over
the service's HTTP API, with nothing opened locally — no database, no data directory, no AWS.

Every failure is one :class:`ServiceError` carrying the CLI's exit code (``service.cli.exits``): the
service unreachable 69, the token refused 77, an unknown workload 64, an invalid descriptor 65, the
service's own failure 1, ``--timeout`` passed (or a gateway's 504) 75."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from service.cli.exits import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_REFUSED,
    EXIT_TIMEOUT,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    ExitError,
)
from service.cli.progress import Steps

_CONNECT_TIMEOUT_S = 10.0
_POLL_FIRST_S, _POLL_MAX_S = 0.2, 2.0


class ServiceError(ExitError):
    pass


def _segment(value: str) -> str:
    # Component ids are URNs (':'), and a plan id is the caller's text: neither may add a path segment.
    return quote(value, safe="")


def check_url(url: str) -> str:
    """The service's base URL without a trailing slash; a usage error unless it is http(s)://host."""
    wanted = f"MWAA_SP_URL / --url must be the service's http(s):// URL, got {url!r}"
    try:
        parts = urlsplit(url)
        # urlsplit checks the port only when asked, and httpx is stricter still: a URL that fails
        # either is a usage error here, not a traceback at the first request.
        parts.port  # noqa: B018
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ServiceError([f"{wanted} ({_one_line(str(exc))})"], EXIT_USAGE) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServiceError([wanted], EXIT_USAGE)
    return url.rstrip("/")


def _problems(body: Any) -> list[str]:
    """The lines of the service's error shapes: RequestValidationError's problems, SystemError's error."""
    if not isinstance(body, dict):
        return []
    more = body.get("moreInfo")
    for found in (more.get("problems") if isinstance(more, dict) else None, body.get("errors")):
        if isinstance(found, list) and found:
            return [str(p) for p in found]
    for key in ("error", "userMessage"):
        if isinstance(body.get(key), str):
            return [body[key]]
    return []


_PAGE = 500
_NEXT = re.compile(r'<[^>]*[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"')


def next_cursor(link: str) -> str | None:
    """The next page's cursor in a ``Link`` header, None on the last page."""
    found = _NEXT.search(link)
    return unquote(found.group(1)) if found else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ServiceClient:
    """A typed client of the service's platform-engineer endpoints (the CLI's remote backend).

    One client per command: ``timeout_s`` (``--timeout``) bounds the whole command from the client's
    creation on, every request and poll included, not each request."""

    def __init__(
        self, url: str, token: str | None, timeout_s: float, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = check_url(url)
        self.token = token
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, transport=transport)

    def close(self) -> None:
        self.http.close()

    # -- one method per endpoint ------------------------------------------------------------------

    def workloads(self, data_product: str | None, status: str | None, drift: str | None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"dataProduct": data_product, "status": status, "drift": drift}.items() if v}
        return self._every("/workloads", params)

    def workload(self, component_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/workloads/{_segment(component_id)}"))

    def plans_of(self, component_id: str) -> list[dict[str, Any]]:
        return self._every(f"/workloads/{_segment(component_id)}/plans", {})

    def _every(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every page of a list: the service answers a page at a time, the next one's cursor in the
        ``Link: <…>; rel="next"`` header."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page, cursor = self._page(path, params | ({"cursor": cursor} if cursor else {}))
            found += page
            if cursor is None:
                return found

    def _page(self, path: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
        body, headers = self._call("GET", path, params=params | {"limit": str(_PAGE)}, with_headers=True)
        return list(body), next_cursor(headers.get("link", ""))

    def plan(self, component_id: str, plan_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/workloads/{_segment(component_id)}/plans/{_segment(plan_id)}"))

    def speculative_plan(self, descriptor: str) -> dict[str, Any]:
        # Nothing said before the answer: an unreachable service or a refused token stays one line.
        body = {"descriptorKind": "COMPONENT_DESCRIPTOR", "descriptor": descriptor, "removeData": False}
        # The envelope is ours and always well-formed: a 400 here is about the descriptor.
        return dict(self._call("POST", "/workloads/plan", json=body, invalid=EXIT_INVALID))

    def start_drift_run(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool
    ) -> str:
        body = {"workloads": workloads, "dataProduct": data_product, "thorough": thorough, "reconcile": reconcile}
        return str(self._call("POST", "/drift-runs", json=body)["id"])

    def drift_run(self, run_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/drift-runs/{_segment(run_id)}"))

    def rebuild(self) -> list[str]:
        """Synchronous: the service answers when every state is read (no steps to show meanwhile)."""
        return [str(c) for c in self._call("POST", "/registry/rebuild")["componentIds"]]

    # -- a drift run, waited for ------------------------------------------------------------------

    def drift(
        self, workloads: list[str], data_product: str | None, *, thorough: bool, reconcile: bool, steps: Steps
    ) -> dict[str, Any]:
        """Start a drift run on the service's queue and wait for its report (verdicts land in the
        service's registry whatever happens to this process)."""
        run_id = self.start_drift_run(workloads, data_product, thorough=thorough, reconcile=reconcile)
        steps.note(f"drift run {run_id} started on {self.url}")
        pause = _POLL_FIRST_S
        while True:
            run = self.drift_run(run_id)
            progress = run.get("progress") or {}
            steps.update(int(progress.get("done") or 0), int(progress.get("total") or 0))
            if run.get("status") == "COMPLETED":
                return dict(run["report"])
            if run.get("status") != "RUNNING":
                why = (run.get("report") or {}).get("error") or f"status {run.get('status')}"
                raise ServiceError([f"drift run {run_id} failed: {why}"], EXIT_FAILED)
            if time.monotonic() + pause > self.deadline:
                raise ServiceError(
                    [
                        f"drift run {run_id} did not finish within {self.timeout_s:g} s; it goes on in the service "
                        f"and its verdicts land in the registry (GET {self.url}/drift-runs/{run_id})"
                    ],
                    EXIT_TIMEOUT,
                )
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    # -- transport and errors -----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        invalid: int = EXIT_USAGE,
        with_headers: bool = False,
    ) -> Any:
        """The answer's JSON (with its headers, ``with_headers``); a :class:`ServiceError` with its exit
        code otherwise. ``invalid``: the exit code of a 400 from this endpoint."""
        where = f"{method} {self.url}{path}"
        # What is left of --timeout, not all of it again: a poll just before the deadline must not
        # stretch the command to twice --timeout. The floor keeps a last request possible at all.
        left = max(0.1, self.deadline - time.monotonic())
        timeout = httpx.Timeout(left, connect=min(_CONNECT_TIMEOUT_S, left))
        try:
            response = self.http.request(method, path, json=json, params=params, timeout=timeout)
        except httpx.ConnectTimeout as exc:
            raise ServiceError(
                [f"cannot reach the service at {self.url}: connection timed out"], EXIT_UNAVAILABLE
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServiceError(
                [f"{where} did not answer within --timeout ({self.timeout_s:g} s); it may still finish there"],
                EXIT_TIMEOUT,
            ) from exc
        except httpx.HTTPError as exc:
            reason = _one_line(str(exc)) or type(exc).__name__
            raise ServiceError([f"cannot reach the service at {self.url}: {reason}"], EXIT_UNAVAILABLE) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        status, problems = response.status_code, _problems(body)
        if status < 300 and body is not None:
            return (body, response.headers) if with_headers else body
        if status in (401, 403):
            hint = "set MWAA_SP_TOKEN (or --token) to one of its MWAA_SP_API_TOKENS"
            what = "refused the token" if self.token else "requires a token"
            raise ServiceError([f"the service at {self.url} {what} (HTTP {status}): {hint}"], EXIT_REFUSED)
        if status == 404 and isinstance(body, dict) and body.get("inputErrorField"):
            raise ServiceError(problems, EXIT_USAGE)  # the service's own "no such workload or plan"
        if status == 504:
            # A gateway's own read timeout, shorter than --timeout: the request reached the service,
            # which goes on with it (a registry rebuild runs to its end). Not "unreachable".
            raise ServiceError(
                [
                    f"{where} answered HTTP 504 (a gateway's timeout): not finished within the gateway's time, "
                    "it may still finish on the service; retry later, or raise the proxy's read timeout"
                ],
                EXIT_TIMEOUT,
            )
        if status in (502, 503) or not problems or status == 404:
            # A gateway with the service down behind it, or something that is not the service (a wrong
            # host or path in MWAA_SP_URL, a service older than this CLI).
            said = "; ".join(problems) or _one_line(response.text)[:200] or response.reason_phrase
            raise ServiceError(
                [f"{where} answered HTTP {status}, not as the service would ({said}): is MWAA_SP_URL right?"],
                EXIT_UNAVAILABLE,
            )
        if status == 400:
            raise ServiceError(problems, invalid)
        raise ServiceError(problems, EXIT_USAGE if status < 500 else EXIT_FAILED)
