"""The web view in process: escaping of hostile values, links for odd component ids, the diff as a
diff, filters, and the token guard (login form, session cookie, what it opens and what it does not).

The registry and plan store are filled directly (plans already rendered), so nothing here runs
Terraform or reaches S3; tests/e2e/test_web_view.py drives the real thing.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.api import session
from service.app import create_app
from service.domain import review
from service.domain.deployment import ChangeSummary
from service.domain.descriptor import parse_descriptor
from service.settings import Settings
from service.store.registry import DRIFT_HISTORY_KEPT
from service.store.sessions import SessionStore
from service.ui import views
from service.wiring import Components, build
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.html import Links

HOSTILE_PATH = 'dags/"><script>alert(1)</script>/'
ODD_ID = "urn:dmb:cmp:finance:invoices:1:odd ?#%&=+<b>é"
TOKEN = "tok-" + "a" * 28


def _verdict(component_id: str, status: str, what: str = "deleted") -> dict[str, Any]:
    changes = [] if status == "in_sync" else [{"address": "a", "key": "dags/<k>.py", "what": what}]
    return {
        "componentId": component_id,
        "status": status,
        "method": "fast",
        "checkedAt": "",
        "changes": changes,
        "ignored": [],
        "reconciled": None,
        "error": None,
    }


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Components:
    # build() prepares the process environment for Terraform; keep that inside this test.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    return build(Settings(data_dir=tmp_path, s3_endpoint="http://127.0.0.1:9"))


@pytest.fixture
def estate(parts: Components) -> dict[str, str]:
    """Three workloads: a hostile destination path with a stored plan, an id with odd characters
    (only ever reachable through the registry), and one of another data product never checked."""
    hostile = parse_descriptor(descriptor(WorkloadSpec(destination_path=HOSTILE_PATH)))
    odd = dataclasses.replace(
        hostile, component_id=ODD_ID, urn=dataclasses.replace(hostile.urn, name="odd"), destination_path="dags/odd/"
    )
    other = parse_descriptor(descriptor(WorkloadSpec(name="other"), dp="sales"))
    summary = {"add": 2, "change": 0, "destroy": 0, "import": 0}
    for workload in (hostile, odd, other):
        parts.registry.record(workload, "states/k", "provision", "COMPLETED", summary, None)
    plan_json = {
        "resource_changes": [
            {
                "address": "module.workload.aws_s3_object.dag_text[0]",
                "change": {
                    "actions": ["update"],
                    "before": {"content": "x = 1\nkeep = True\n"},
                    "after": {"content": "x = '</div><script>alert(2)</script>'\nkeep = True\n"},
                },
            },
            {
                "address": "module.workload.aws_s3_object.descriptor",
                "change": {"actions": ["no-op"], "importing": {"id": "mwaa-bucket/dags/d.yaml"}},
            },
            {"address": "data.aws_caller_identity.me", "change": {"actions": ["read"]}},
        ]
    }
    artifact = review.build(
        "speculative", ChangeSummary(0, 1, 0, 0), "  ~ content = <<-EOT <script>x</script>", plan_json, "k.py", b"x"
    )
    plan_id = parts.operations.plans.save(hostile.component_id, artifact, applied=False)
    odd_plan = parts.operations.plans.save(ODD_ID, artifact, applied=True)
    parts.registry.record_drift(hostile.component_id, "in_sync", _verdict(hostile.component_id, "in_sync"))
    parts.registry.record_drift(hostile.component_id, "drifted", _verdict(hostile.component_id, "drifted"))
    parts.registry.record_drift(ODD_ID, "missing", _verdict(ODD_ID, "missing"))
    return {"hostile": hostile.component_id, "other": other.component_id, "plan": plan_id, "odd_plan": odd_plan}


@pytest.fixture
def client_for(parts: Components) -> Iterator[Callable[..., TestClient]]:  # type: ignore[type-arg]
    opened: list[TestClient] = []  # type: ignore[type-arg]

    def open_client(tokens: tuple[str, ...] = (), base_url: str = "http://testserver.local") -> TestClient:  # type: ignore[type-arg]
        settings = dataclasses.replace(parts.settings, api_tokens=tokens)
        client = TestClient(app=create_app(settings, dataclasses.replace(parts, settings=settings)), base_url=base_url)
        client.__enter__()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.__exit__(None, None, None)


def _no_markup_from_data(html: str) -> None:
    assert "<script" not in html
    assert "<b>" not in html


def test_hostile_values_are_escaped_on_every_page(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    client = client_for()
    listing = client.get("/ui")
    workload = client.get(views.workload_url(estate["hostile"]))
    plan = client.get(views.plan_url(estate["hostile"], estate["plan"]))
    for page in (listing, workload, plan):
        assert page.status_code == 200, page.text
        _no_markup_from_data(page.text)
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "dags/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/" in workload.text
    assert "&lt;/div&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in plan.text
    assert "content = &lt;&lt;-EOT &lt;script&gt;x&lt;/script&gt;" in plan.text
    # Inside an attribute too: the S3 console link carries the key percent-encoded.
    s3_link = next(a["href"] for a, _ in Links(workload.text).found if a.get("id") == "s3-dag")
    assert "prefix=dags%2F%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2F" in s3_link


def test_unknown_workload_is_a_404_page_with_the_id_escaped(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    page = client_for().get("/ui/workloads/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<img" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt; is not in the registry" in page.text


def test_odd_component_id_is_reached_by_its_links(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    client = client_for()
    href = Links(client.get("/ui").text).href(ODD_ID)
    assert href == "/ui/workloads/urn%3Admb%3Acmp%3Afinance%3Ainvoices%3A1%3Aodd%20%3F%23%25%26%3D%2B%3Cb%3E%C3%A9"
    page = client.get(href)
    assert page.status_code == 200
    assert '<h1 id="component-id">urn:dmb:cmp:finance:invoices:1:odd ?#%&amp;=+&lt;b&gt;é</h1>' in page.text
    plan_href = Links(page.text).href(estate["odd_plan"])
    plan = client.get(plan_href)
    assert plan.status_code == 200
    assert '<span class="badge yes">applied</span>' in plan.text
    assert Links(plan.text).href(ODD_ID) == href


def test_plan_page_shows_the_diff_as_a_diff_and_the_resource_table(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    page = client_for().get(views.plan_url(estate["hostile"], estate["plan"])).text
    assert '<div class="del">-x = 1</div>' in page
    assert '<div class="add">+x = &#39;&lt;/div&gt;&lt;script&gt;alert(2)&lt;/script&gt;&#39;</div>' in page
    assert '<div class="context"> keep = True</div>' in page
    assert '<div class="hunk">@@ -1,2 +1,2 @@</div>' in page
    rows = re.findall(
        r"<tr><td class=\"id\"><code>(.*?)</code></td><td class=\"act-[^\"]+\">(.*?)</td><td>(.*?)</td>", page
    )
    assert rows == [
        ("module.workload.aws_s3_object.dag_text[0]", "update", "—"),
        ("module.workload.aws_s3_object.descriptor", "no-op", "yes: <code>mwaa-bucket/dags/d.yaml</code>"),
    ]
    assert '<span class="badge no">not applied</span>' in page


def test_workload_page_lists_plans_and_drift_history_newest_first(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    page = client_for().get(views.workload_url(estate["hostile"])).text
    history = page[page.index('id="drift-history"') :]
    assert re.findall(r'data-verdict="(\w+)"', history) == ["drifted", "in_sync"]
    assert "dags/&lt;k&gt;.py: deleted" in history
    assert Links(page).href(estate["plan"]) == views.plan_url(estate["hostile"], estate["plan"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"hostile", "odd", "other"}),
        ("?drift=unchecked", {"other"}),
        ("?drift=drifted", {"hostile"}),
        ("?drift=missing", {"odd"}),
        ("?dataProduct=urn:dmb:dp:finance:sales:1", {"other"}),
        ("?status=FAILED", set()),
    ],
)
def test_list_filters(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
    query: str,
    expected: set[str],
) -> None:
    names = {estate["hostile"]: "hostile", ODD_ID: "odd", estate["other"]: "other"}
    page = client_for().get(f"/ui{query}").text
    shown = {names[re.sub("&amp;", "&", i).replace("&lt;", "<").replace("&gt;", ">")] for i in _row_ids(page)}
    assert shown == expected


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-component-id="([^"]*)">', page)


def test_ui_is_not_in_the_openapi_document(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    paths = client_for().get("/swagger/openapi.json").json()["paths"]
    assert "/workloads" in paths
    assert [p for p in paths if p.startswith("/ui")] == []


# -- the token guard ---------------------------------------------------------------------------------


def test_without_tokens_the_view_is_open(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    client = client_for()
    assert client.get("/ui", follow_redirects=False).status_code == 200
    assert "no API tokens set" in client.get("/ui/login").text


def test_with_tokens_the_view_asks_for_one_and_refuses_a_wrong_one(
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    client = client_for((TOKEN, "other-token"))
    first = client.get("/ui/drift-runs?dataProduct=x", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/login?next=%2Fui%2Fdrift-runs%3FdataProduct%3Dx"
    form = client.get(first.headers["location"])
    assert form.status_code == 200
    assert 'name="token"' in form.text
    assert 'value="/ui/drift-runs?dataProduct=x"' in form.text

    wrong = client.post("/ui/login", data={"token": TOKEN + "x", "next": "/ui"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "That token was refused" in wrong.text
    assert "set-cookie" not in wrong.headers
    assert client.get("/ui", follow_redirects=False).status_code == 303

    right = client.post("/ui/login", data={"token": TOKEN, "next": "/ui/drift-runs"}, follow_redirects=False)
    assert right.status_code == 303
    assert right.headers["location"] == "/ui/drift-runs"
    cookie = right.headers["set-cookie"]
    assert TOKEN not in cookie
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/ui"):
        assert flag.lower() in cookie.lower()
    assert "secure" not in cookie.lower()
    assert client.get("/ui", follow_redirects=False).status_code == 200
    # The cookie opens the web view only, never the JSON API.
    api = client.get("/workloads")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/json")


def test_after_signing_in_a_person_lands_on_the_page_they_asked_for(
    estate: dict[str, str],
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    client = client_for((TOKEN,))
    asked = views.workload_url(ODD_ID)
    sent = client.get(asked, follow_redirects=False)
    assert sent.status_code == 303
    form = client.get(sent.headers["location"]).text
    next_page = re.search(r'name="next" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    signed_in = client.post(
        "/ui/login", data={"token": TOKEN, "next": html.unescape(next_page)}, follow_redirects=False
    )
    assert signed_in.headers["location"] == asked
    landed = client.get(signed_in.headers["location"])
    assert landed.status_code == 200
    assert "odd ?#%&amp;=+&lt;b&gt;é</h1>" in landed.text


def test_the_session_cookie_is_secure_over_https(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    client = client_for((TOKEN,), base_url="https://testserver.local")
    right = client.post("/ui/login", data={"token": TOKEN}, follow_redirects=False)
    assert "; secure" in right.headers["set-cookie"].lower()


def test_bearer_header_opens_the_view_and_health_stays_open(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    client = client_for((TOKEN,))
    assert client.get("/ui", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/ui", headers={"Authorization": "Bearer nope"}, follow_redirects=False).status_code == 303
    assert client.get("/health").status_code == 200


def _wrong_mac(cookie: str) -> str:
    return f"{cookie[:-1]}{'0' if cookie[-1] != '0' else '1'}"


def _open(parts: Components) -> str:
    """A session opened in the store, as a sign-in opens one."""
    return SessionStore(parts.engine).open(session.LIFETIME_S)[0]


@pytest.mark.parametrize(
    "forge",
    [
        lambda sid: "forged",
        lambda sid: _wrong_mac(session.issue(TOKEN, sid)),
        lambda sid: session.issue("not-a-configured-token", sid),
        lambda sid: session.issue(TOKEN, sid, now=0),  # expired long ago
        # Signed with the right token, but valid for longer than any session this service issues.
        lambda sid: session.issue(TOKEN, sid, now=time.time() + 10 * session.LIFETIME_S),
        lambda sid: session.issue(TOKEN, "never-opened-session-id"),  # signed, but no such session
    ],
    ids=["garbage", "wrong-mac", "unknown-token", "expired", "expiry-too-far", "unknown-session"],
)
def test_forged_or_expired_cookies_are_refused(
    parts: Components,
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
    forge: Callable[[str], str],
) -> None:
    client = client_for((TOKEN,))
    client.cookies.set(session.COOKIE, forge(_open(parts)))
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_the_refused_cookies_differ_from_a_valid_one_only_where_labelled() -> None:
    """The parametrised cases above would pass for the wrong reason if the MAC case had a bad expiry
    or the expiry case a bad MAC: each must fail its own check only."""
    tokens = (TOKEN.encode(),)
    sid = "a-session-id-of-24-chars"
    good = session.issue(TOKEN, sid)
    assert session.verify(good, tokens) == (sid, 0)
    assert session.verify(_wrong_mac(good), tokens) is None
    later = time.time() + 10 * session.LIFETIME_S
    assert session.verify(session.issue(TOKEN, sid, now=later), tokens, now=later) == (sid, 0)
    assert session.verify(session.issue(TOKEN, sid, now=later), tokens) is None
    # The MAC covers the session id: a signed cookie cannot be pointed at another session.
    expires, _, rest = good.partition(".")
    mac = rest.rpartition(".")[2]
    assert session.verify(f"{expires}.another-session-id-here.{mac}", tokens) is None


@pytest.mark.parametrize(
    "value",
    ["².ab", "¹²³.ab", "", ".", "123", "123.", ".ab", "é.ab", "1" * 5000 + ".ab", "٣.ab", "-1.ab", " 1.ab"],
)
def test_a_hostile_cookie_value_is_no_session_never_a_crash(
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
    value: str,
) -> None:
    client = client_for((TOKEN,))
    # The raw header, so the client's cookie jar neither quotes nor drops what a browser might send.
    header = f"{session.COOKIE}={value}".encode()
    response = client.get("/ui", headers={b"cookie": header}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui"
    assert session.verify(value, (TOKEN.encode(),)) is None


@pytest.mark.parametrize(
    "sibling",
    ['a={"x":1, "y":2}', "x=a b", "broken", 'q="unterminated', "=nameless"],
    ids=["json-value", "space-in-value", "no-equals", "open-quote", "no-name"],
)
def test_a_sibling_cookie_that_python_finds_illegal_does_not_hide_ours(
    parts: Components,
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
    sibling: str,
) -> None:
    client = client_for((TOKEN,))
    ours = f"{session.COOKIE}={session.issue(TOKEN, _open(parts))}"
    for header in (f"{sibling}; {ours}", f"{ours}; {sibling}"):
        assert client.get("/ui", headers={"Cookie": header}, follow_redirects=False).status_code == 200, header


def test_cookie_header_parsing() -> None:
    value = session.issue(TOKEN, "a-session-id-of-24-chars")
    assert session.from_header(f'a={{"x":1, "y":2}}; {session.COOKIE}={value}'.encode()) == value
    assert session.from_header(f'x=a b;{session.COOKIE}="{value}" ; z=1'.encode()) == value
    assert session.from_header(f"{session.COOKIE}x={value}; x{session.COOKIE}={value}".encode()) is None
    assert session.from_header(b"") is None
    assert session.from_header(session.COOKIE.encode()) is None


def test_a_cookie_issued_for_a_token_opens_the_view(
    parts: Components,
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    client = client_for((TOKEN,))
    client.cookies.set(session.COOKIE, session.issue(TOKEN, _open(parts)))
    assert client.get("/ui", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui", "/workloads", "/uix", "/\\evil"])
def test_login_never_redirects_outside_the_view(client_for: Callable[..., TestClient], target: str) -> None:  # type: ignore[type-arg]
    client = client_for((TOKEN,))
    response = client.post("/ui/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
    assert response.headers["location"] == "/ui"


def test_signing_out_clears_the_cookie_and_closes_the_view(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    client = client_for((TOKEN,))
    client.post("/ui/login", data={"token": TOKEN}, follow_redirects=False)
    assert client.get("/ui", follow_redirects=False).status_code == 200
    out = client.post("/ui/logout", data={}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"
    cleared = out.headers["set-cookie"].lower()
    assert cleared.startswith(f"{session.COOKIE}=")
    assert "max-age=0" in cleared
    assert "path=/ui" in cleared
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session_on_the_server_and_each_sign_in_is_its_own(
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    first, second = client_for((TOKEN,)), client_for((TOKEN,))
    cookies = []
    for client in (first, second):
        signed_in = client.post("/ui/login", data={"token": TOKEN}, follow_redirects=False)
        cookies.append(session.from_header(signed_in.headers["set-cookie"].split(";")[0].encode()))
    assert cookies[0] != cookies[1]  # two sign-ins in the same second: two sessions
    copy = client_for((TOKEN,))
    copy.cookies.set(session.COOKIE, str(cookies[0]))
    assert copy.get("/ui", follow_redirects=False).status_code == 200
    first.post("/ui/logout", data={}, follow_redirects=False)
    # The copy taken before signing out is worth nothing now; the other session is untouched.
    assert copy.get("/ui", follow_redirects=False).status_code == 303
    assert second.get("/ui", follow_redirects=False).status_code == 200


def test_a_form_posted_from_another_site_is_refused(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    client = client_for()
    # Origin: null is what a sandboxed frame or a redirect chain sends: no site to trust.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = client.post("/ui/drift-runs", data={"dataProduct": ""}, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, headers
        assert "posted from another site" in refused.text
    same = client.post(
        "/ui/drift-runs", data={}, headers={"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 200
    assert same.url.path.startswith("/ui/drift-runs/")


def test_a_form_larger_than_the_web_view_takes_is_refused_unread(
    parts: Components,
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    # Below the JSON API's body cap: only the web view's own, smaller limit can refuse it.
    assert parts.settings.max_body_bytes > 65 * 1024
    client = client_for()
    big = client.post("/ui/drift-runs", data={"dataProduct": "x" * 65 * 1024}, follow_redirects=False)
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("text/html")
    assert "The form is larger than 64 KiB" in big.text
    assert parts.operations.drift_runs_page().items == []


@pytest.mark.parametrize(
    "path",
    [
        "/ui/nope",
        "/ui/a/b/c",
        "/ui/workloads",
        "/ui/workloads/x/nope",
        "/ui/workloads/x/plans",
        "/ui/workloads/x/plans/p/nope",
        "/ui/drift-runs/x/nope",
        "/ui/login/nope",
    ],
)
def test_an_address_under_ui_without_a_page_is_an_html_404(
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
    path: str,
) -> None:
    page = client_for().get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert f"The web view has no page at {path}<" in page.text


def test_a_post_where_no_form_is_an_html_page(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    page = client_for().post("/ui/nope", content=b"x=1", headers={"Sec-Fetch-Site": "same-origin"})
    assert page.status_code in (404, 405)
    assert page.headers["content-type"].startswith("text/html")
    assert "The web view has no page at /ui/nope<" in page.text


def test_the_404_page_escapes_the_address(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    page = client_for().get("/ui/workloads/x/%3Cb%3Enope")
    assert page.status_code == 404
    _no_markup_from_data(page.text)
    assert "The web view has no page at /ui/workloads/x/&lt;b&gt;nope<" in page.text


def test_a_page_only_for_posts_is_an_html_405(client_for: Callable[..., TestClient]) -> None:  # type: ignore[type-arg]
    page = client_for().get("/ui/logout")
    assert page.status_code == 405
    assert page.headers["content-type"].startswith("text/html")


def test_an_address_without_a_page_says_only_that_without_a_token(
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    # The router answers before authentication (as for the JSON API): a 404 page, nothing more.
    sent = client_for((TOKEN,)).get("/ui/nope", follow_redirects=False)
    assert sent.status_code == 404
    assert "The web view has no page at /ui/nope<" in sent.text
    assert "Sign out" not in sent.text


# -- pieces ------------------------------------------------------------------------------------------


def test_drift_history_keeps_the_newest(parts: Components) -> None:
    workload = parse_descriptor(descriptor(WorkloadSpec()))
    parts.registry.record(workload, "states/k", "provision", "COMPLETED", None, None)
    for i in range(DRIFT_HISTORY_KEPT + 5):
        parts.registry.record_drift(workload.component_id, "in_sync", {"n": i})
    history = parts.registry.drift_history(workload.component_id)
    assert len(history) == DRIFT_HISTORY_KEPT
    assert [h["report"]["n"] for h in history[:2]] == [DRIFT_HISTORY_KEPT + 4, DRIFT_HISTORY_KEPT + 3]


def test_diff_lines_classify_a_binary_summary_as_a_note() -> None:
    assert views.diff_lines("binary, md5 a → b\n") == [views.DiffLine("note", "binary, md5 a → b")]


def test_the_workload_page_names_the_dag_as_airflow_does(
    estate: dict[str, str],
    parts: Components,
    client_for: Callable[..., TestClient],  # type: ignore[type-arg]
) -> None:
    # The page has only the registry's key; the id must still be the one the provisioner reports.
    workload = parse_descriptor(descriptor(WorkloadSpec(name="other"), dp="sales"))
    assert workload.component_id == estate["other"]
    entry = parts.registry.get(workload.component_id)
    assert entry is not None
    assert entry.dag_key == workload.deployed_key
    assert "/" in entry.dag_key  # the folder must not leak into the id
    page = client_for().get(views.workload_url(workload.component_id)).text
    assert f"DAG id <code>{workload.dag_id}</code>" in page
    assert workload.dag_id == workload.deployed_file.rsplit(".", 1)[0]
