"""The CLI's client of the service: every failure one exit code, ids encoded as one path segment,
and progress on stderr (a bar on a terminal, one line per step otherwise)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from litestar.testing import transport as litestar_transport

from service import cli
from service.app import create_app
from service.cli import remote as client_module
from service.cli.exits import EXIT_FAILED, EXIT_INVALID, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_UNAVAILABLE, EXIT_USAGE
from service.cli.progress import LineSteps, steps
from service.cli.remote import ServiceClient, ServiceError
from service.settings import Settings

URL = "http://mwaa-sp.test"
CID = "urn:dmb:cmp:finance:invoices:1:wl0"


def _client(handler: Callable[[httpx.Request], httpx.Response], token: str | None = "tok") -> ServiceClient:
    return ServiceClient(URL, token, timeout_s=5, transport=httpx.MockTransport(handler))


def _failure(call: Callable[[], object]) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def _answer(status: int, body: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def test_a_refused_connection_is_unavailable_in_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    error = _failure(lambda: _client(refuse).workloads(None, None, None))
    assert error.code == EXIT_UNAVAILABLE
    assert error.lines == (f"cannot reach the service at {URL}: [Errno 111] Connection refused",)


@pytest.mark.parametrize(("token", "said"), [("wrong", "refused the token"), (None, "requires a token")])
def test_a_refused_token_is_no_permission(token: str | None, said: str) -> None:
    body = {"errors": ["Authorization: missing or unknown bearer token"]}
    error = _failure(lambda: _client(_answer(401, body), token).workloads(None, None, None))
    assert error.code == EXIT_REFUSED
    assert len(error.lines) == 1
    assert said in error.lines[0]
    assert "MWAA_SP_TOKEN" in error.lines[0]


def test_the_token_is_sent_and_ids_are_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"componentId": CID})

    client = _client(record, token="s3cret")
    client.workload(CID)
    client.plan(CID, "a/b")
    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert seen[0].url.raw_path == b"/workloads/urn%3Admb%3Acmp%3Afinance%3Ainvoices%3A1%3Awl0"
    assert seen[1].url.raw_path.endswith(b"/plans/a%2Fb")


def test_an_unknown_workload_is_a_usage_error_naming_it() -> None:
    body = {
        "errors": [f"id: {CID} is unknown"],
        "inputErrorField": "id",
        "moreInfo": {"problems": [f"id: {CID} is unknown"], "solutions": []},
    }
    error = _failure(lambda: _client(_answer(404, body)).workload(CID))
    assert (error.code, error.lines) == (EXIT_USAGE, (f"id: {CID} is unknown",))


def test_an_invalid_descriptor_is_its_own_code_with_every_problem() -> None:
    problems = ["dataProduct.components[0].specific.dagName: must end with .py", "x: y"]
    body = {"errors": problems, "inputErrorField": "dataProduct", "moreInfo": {"problems": problems}}
    error = _failure(lambda: _client(_answer(400, body)).speculative_plan("kind: nope"))
    assert (error.code, list(error.lines)) == (EXIT_INVALID, problems)


def test_the_services_own_failure_is_a_failed_operation() -> None:
    body = {"error": "terraform plan failed: boom", "moreInfo": {"problems": ["terraform plan failed: boom"]}}
    error = _failure(lambda: _client(_answer(500, body)).speculative_plan("x"))
    assert (error.code, error.lines) == (EXIT_FAILED, ("terraform plan failed: boom",))


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (502, "<html>Bad Gateway</html>"),
        (503, "<html>Service Unavailable</html>"),
        (200, "<html>a web page</html>"),
        (404, "Not here"),
    ],
)
def test_what_is_not_the_service_is_unavailable(status: int, text: str) -> None:
    error = _failure(lambda: _client(lambda request: httpx.Response(status, text=text)).workloads(None, None, None))
    assert error.code == EXIT_UNAVAILABLE
    assert len(error.lines) == 1
    assert f"answered HTTP {status}" in error.lines[0]


def test_a_gateways_timeout_is_not_finished_in_time_not_unreachable() -> None:
    # A proxy in front gave up on a long registry rebuild; the service goes on with it.
    gateway = _client(lambda request: httpx.Response(504, text="<html>504 Gateway Time-out</html>"))
    error = _failure(gateway.rebuild)
    assert error.code == EXIT_TIMEOUT
    assert len(error.lines) == 1
    assert f"POST {URL}/registry/rebuild answered HTTP 504" in error.lines[0]
    assert "may still finish on the service" in error.lines[0]


@pytest.mark.parametrize("url", ["localhost:8093", "http://mwaa-sp.test:abc", "http://[::1", "http://h:99999"])
def test_a_url_that_is_not_http_is_a_usage_error(url: str) -> None:
    error = _failure(lambda: ServiceClient(url, None, 5))
    assert error.code == EXIT_USAGE
    assert len(error.lines) == 1
    assert "\n" not in error.lines[0]
    assert repr(url) in error.lines[0]


def test_serve_ignores_the_url_in_the_environment_and_refuses_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The service and its cron job may share one env file or ConfigMap.
    monkeypatch.setenv("MWAA_SP_URL", URL)
    monkeypatch.setenv("MWAA_SP_TOKEN", "tok")
    p = cli.parser()
    args = p.parse_args(["serve"])
    cli._where(p, args)
    assert args.run is cli.serving.serve
    assert not hasattr(args, "url")
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit) as exited:
        p.parse_args(["serve", "--url", URL])
    assert exited.value.code == EXIT_USAGE
    assert "unrecognized arguments: --url" in capsys.readouterr().err


def test_serve_help_shows_serves_options_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(["serve", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "--sandbox" in shown
    for client_option in ("--url", "--token", "--timeout"):
        assert client_option not in shown


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from service import __version__

    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mwaa-sp {__version__}"


def _drift_service(runs: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """POST /drift-runs, then each GET answers the next of ``runs`` (the last one again and again)."""
    answered: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert json.loads(request.content) == {
                "workloads": [CID],
                "dataProduct": None,
                "thorough": True,
                "reconcile": False,
            }
            return httpx.Response(202, json={"id": "run1"})
        assert request.url.path == "/drift-runs/run1"
        answered.append(runs[min(len(answered), len(runs) - 1)])
        return httpx.Response(200, json=answered[-1])

    return handle


def _run(status: str, done: int, total: int, report: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "run1", "status": status, "progress": {"done": done, "total": total}, "report": report}


def test_a_drift_run_is_waited_for_with_one_line_per_step() -> None:
    report = {"exitCode": 2, "counts": {"drifted": 1, "in_sync": 2}, "workloads": []}
    client = _client(_drift_service([_run("RUNNING", 0, 3), _run("RUNNING", 1, 3), _run("COMPLETED", 3, 3, report)]))
    out = io.StringIO()
    found = client.drift([CID], None, thorough=True, reconcile=False, steps=LineSteps("checked", out))
    assert found == report
    # The poll saw 1 then 3: the step between is still a line of its own.
    assert out.getvalue().splitlines() == [
        f"drift run run1 started on {URL}",
        "checked 1/3",
        "checked 2/3",
        "checked 3/3",
    ]


def test_a_failed_drift_run_is_a_failed_check() -> None:
    client = _client(_drift_service([_run("FAILED", 1, 3, {"error": "the replica stopped"})]))
    error = _failure(
        lambda: client.drift([CID], None, thorough=True, reconcile=False, steps=LineSteps("c", io.StringIO()))
    )
    assert error.code == EXIT_FAILED
    assert error.lines == ("drift run run1 failed: the replica stopped",)


def test_a_drift_run_past_the_timeout_is_a_temporary_failure() -> None:
    client = ServiceClient(
        URL, None, timeout_s=0.01, transport=httpx.MockTransport(_drift_service([_run("RUNNING", 0, 1)]))
    )
    error = _failure(
        lambda: client.drift([CID], None, thorough=True, reconcile=False, steps=LineSteps("c", io.StringIO()))
    )
    assert error.code == EXIT_TIMEOUT
    assert "drift run run1 did not finish within 0.01 s" in error.lines[0]
    assert f"GET {URL}/drift-runs/run1" in error.lines[0]


class _Clock:
    """The client's ``time``: a monotonic clock that only the test moves (no wall-clock speed)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_timeout_bounds_the_whole_command_not_each_request(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(client_module, "time", clock)
    running = _drift_service([_run("RUNNING", 0, 1)])
    given: list[tuple[float, float]] = []

    def slow(request: httpx.Request) -> httpx.Response:
        """Each answer takes 3 s of the clock; a request given less times out when it runs out."""
        timeout = request.extensions["timeout"]
        given.append((timeout["connect"], timeout["read"]))
        if timeout["read"] < 3:
            clock.now += timeout["read"]
            raise httpx.ReadTimeout("timed out", request=request)
        clock.now += 3
        return running(request)

    started = clock.now
    client = ServiceClient(URL, None, timeout_s=10, transport=httpx.MockTransport(slow))
    error = _failure(
        lambda: client.drift([CID], None, thorough=True, reconcile=False, steps=LineSteps("c", io.StringIO()))
    )
    assert error.code == EXIT_TIMEOUT
    assert error.lines == (
        f"GET {URL}/drift-runs/run1 did not answer within --timeout (10 s); it may still finish there",
    )
    # Each request gets what is left of the 10 s (POST at 0, polls at 3, 6.2 and 9.6), so the whole
    # command ends at the deadline instead of one full timeout past it.
    assert [read for _, read in given] == pytest.approx([10, 7, 3.8, 0.4])
    assert all(connect == pytest.approx(min(10, read)) for connect, read in given)
    assert clock.now - started == pytest.approx(10)


def test_a_bar_on_a_terminal() -> None:
    out = io.StringIO()
    with steps("checked", "checking drift", stream=out, terminal=True) as progress:
        progress.note("waiting for wl0: another process is running Terraform on it")
        progress.update(2, 2)
    drawn = out.getvalue()
    assert "checking drift" in drawn
    assert "2/2" in drawn
    assert "waiting for wl0" in drawn
    assert "checked 2/2" not in drawn  # the line mode's text, not a bar


def test_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    with steps("checked", "checking drift", stream=out) as progress:
        progress.update(1, 2)
        progress.update(2, 2)
    assert out.getvalue() == "checked 1/2\nchecked 2/2\n"


# -- against the real application, in process ------------------------------------------------------


@pytest.fixture
def app_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:  # type: ignore[type-arg]
    # create_app prepares the process environment for Terraform; keep that inside this test.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    settings = Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9", api_tokens=("tok",))
    with TestClient(app=create_app(settings)) as client:
        yield client


def _service(app_client: TestClient, token: str | None) -> ServiceClient:  # type: ignore[type-arg]
    transport = litestar_transport.TestClientTransport(app_client)
    return ServiceClient(str(app_client.base_url), token, 30, transport=transport)  # type: ignore[arg-type]


def test_against_the_application(app_client: TestClient) -> None:  # type: ignore[type-arg]
    service = _service(app_client, "tok")
    assert service.workloads(None, None, None) == []
    unknown = _failure(lambda: service.workload(CID))
    assert (unknown.code, unknown.lines) == (EXIT_USAGE, (f"id: {CID} is unknown",))
    no_plan = _failure(lambda: service.plan(CID, "p1"))
    assert (no_plan.code, no_plan.lines) == (EXIT_USAGE, (f"id: plan p1 of {CID} is unknown",))
    assert service.rebuild() == []
    empty = service.drift([], None, thorough=False, reconcile=False, steps=LineSteps("checked", io.StringIO()))
    assert (empty["exitCode"], empty["counts"]) == (0, {})
    refused = _failure(lambda: _service(app_client, "nope").workloads(None, None, None))
    assert refused.code == EXIT_REFUSED
    documented = app_client.get("/swagger/openapi.json", headers={"Authorization": "Bearer tok"}).json()
    answer = documented["paths"]["/registry/rebuild"]["post"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"].endswith("/RebuildResult")
