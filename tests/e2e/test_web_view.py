"""The web view end to end: the service as its own process with tokens set, workloads provisioned
through real Terraform (stand-in provider, moto), and a person's path through the pages — by the
links and forms the pages offer, never by typing ids into URLs — once with an HTTP client and once
in headless Chromium (which also takes the README's screenshots).

Screenshots land in the test's temporary directory; ``UI_SCREENSHOTS_DIR=docs`` writes them where
the README shows them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from markupsafe import escape

from tests.support.browser import chrome, screenshot
from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.html import Links
from tests.support.processes import ServiceProcess, base_env, wait_until

pytestmark = pytest.mark.e2e
TOKEN = "ui-" + uuid.uuid4().hex
FINANCE = "urn:dmb:dp:finance:invoices:1"
HOSTILE_PATH = 'dags/"><img src=x onerror=alert(1)>/'
HOSTILE_CODE = "GREETING = \"</div><script>alert('dag')</script>\"\n"
HOSTILE_DESCRIPTION = "<script>alert('descriptor')</script>"
DAILY_V1 = """import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("daily_load", schedule="5 5 * * *", start_date=pendulum.datetime(2024, 1, 1)):
    BashOperator(task_id="load", bash_command="load-invoices --day {{ ds }}")
"""
DAILY_V2 = DAILY_V1.replace(
    'bash_command="load-invoices --day {{ ds }}")', 'bash_command="load-invoices --day {{ ds }} --strict", retries=3)'
)


@dataclass(frozen=True)
class Estate:
    url: str
    daily: str
    hourly: str
    odd: str
    speculative_plan: str
    gate: Gate


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def estate(moto_endpoint: str, provider_cli_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """Three workloads in two data products: one with a speculative plan waiting for review, one
    whose DAG was deleted behind Terraform's back, and one full of hostile values."""
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    home = tmp_path_factory.mktemp("web-view")
    gate = Gate(home / "gate")
    env = (
        base_env(moto_endpoint)
        | gate.env
        | {
            "TF_CLI_CONFIG_FILE": str(provider_cli_config),
            "MWAA_SP_DATA_DIR": str(home / "data"),
            "MWAA_SP_API_TOKENS": f"someone-else,{TOKEN}",
        }
    )
    service = ServiceProcess(env, home / "service.log")
    try:
        finance = [
            WorkloadSpec(name="daily-load", dag_name="daily_load.py", bucket=bucket),
            WorkloadSpec(name="hourly_sync-2", dag_name="hourly sync.py", bucket=bucket),
        ]
        for i, (spec, code) in enumerate(zip(finance, [DAILY_V1, "x = 1\n"], strict=True)):
            s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=code.encode())
            _post(f"{service.url}/v1/provision", request(descriptor(*finance, provision=i)))
        odd = WorkloadSpec(name="odd_-Name-3", dag_name="odd.py", bucket=bucket, destination_path=HOSTILE_PATH)
        marketing = {"domain": "marketing", "dp": "campaigns", "major": "2"}
        s3.put_object(Bucket=bucket, Key=staged_key(odd, **marketing), Body=HOSTILE_CODE.encode())
        hostile = descriptor(odd, domain="marketing", dp="campaigns", major="2").replace(
            "  kind: dataproduct\n", f'  kind: dataproduct\n  description: "{HOSTILE_DESCRIPTION}"\n'
        )
        _post(f"{service.url}/v1/provision", request(hostile))

        # A change waiting for review, and a deletion nobody asked for.
        s3.put_object(Bucket=bucket, Key=staged_key(finance[0]), Body=DAILY_V2.encode())
        speculative = _post(f"{service.url}/workloads/plan", request(descriptor(*finance, provision=0)))
        s3.delete_object(Bucket=bucket, Key="dags/finance_invoices_1_hourly_sync.py")
        yield Estate(
            url=service.url,
            daily=component_id(finance[0]),
            hourly=component_id(finance[1]),
            odd=component_id(odd, **marketing),
            speculative_plan=speculative["planId"],
            gate=gate,
        )
    finally:
        service.stop()


@contextmanager
def _signed_in(url: str) -> Iterator[httpx.Client]:
    """Through the login form: /ui sends a person there, a wrong token is refused, the right one
    sets the session cookie."""
    with httpx.Client(base_url=url, timeout=300) as client:
        asked = client.get("/ui")
        assert asked.status_code == 303
        assert asked.headers["location"] == "/ui/login?next=%2Fui"
        form = client.get(asked.headers["location"])
        assert form.status_code == 200
        assert 'type="password" name="token"' in form.text
        wrong = client.post("/ui/login", data={"token": "someone-else-x", "next": "/ui"})
        assert wrong.status_code == 401
        assert "That token was refused" in wrong.text
        assert client.get("/ui").status_code == 303
        right = client.post("/ui/login", data={"token": TOKEN, "next": "/ui"})
        assert right.status_code == 303
        assert right.headers["location"] == "/ui"
        yield client


def _verdict_in_row(page: str, component: str) -> str:
    row = re.search(rf'<tr data-component-id="{re.escape(component)}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {component}"
    verdict = re.search(r'data-verdict="(\w+)"', row.group(1))
    assert verdict, row.group(1)
    return verdict.group(1)


def test_links_lead_from_the_list_to_a_speculative_diff_and_a_drift_verdict(estate: Estate) -> None:
    with _signed_in(estate.url) as client:
        listing = client.get("/ui")
        assert listing.status_code == 200

        workload = client.get(Links(listing.text).href(estate.daily))
        assert workload.status_code == 200
        assert f'<h1 id="component-id">{estate.daily}</h1>' in workload.text
        plan_href = Links(workload.text).href_where(class_="plan", data_kind="speculative")
        assert plan_href.endswith(f"/plans/{estate.speculative_plan}")
        plan = client.get(plan_href)
        assert plan.status_code == 200
        assert '<div class="file">--- a/dags/finance_invoices_1_daily_load.py (deployed now)</div>' in plan.text
        old_line, new_line = DAILY_V1.splitlines()[-1], DAILY_V2.splitlines()[-1]
        assert f'<div class="del">-{escape(old_line)}</div>' in plan.text
        assert f'<div class="add">+{escape(new_line)}</div>' in plan.text
        assert f'<div class="context"> {escape(DAILY_V1.splitlines()[-2])}</div>' in plan.text
        assert '<span class="badge no">not applied</span>' in plan.text
        assert (
            '<td class="id"><code>module.workload.aws_s3_object.dag_text[0]</code></td><td class="act-update">update'
            in plan.text
        )
        assert "will be updated in-place" in plan.text

        # Drift: the deleted DAG's workload, checked from its own page's button.
        hourly = client.get(Links(listing.text).href(estate.hourly)).text
        action, hidden = re.search(
            r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="workloads" value="([^"]+)">', hourly
        ).groups()  # type: ignore[union-attr]
        # Held in Terraform's refresh (the fast path cannot vouch for a deleted DAG), the run's page
        # shows it running and refreshes itself.
        estate.gate.hold("read")
        try:
            started = client.post(action, data={"workloads": hidden})
            assert started.status_code == 303
            run_url = started.headers["location"]
            estate.gate.wait_reached("read")
            running = client.get(run_url).text
            assert 'data-status="RUNNING"' in running
            assert '<meta http-equiv="refresh" content="2">' in running
            assert '<progress max="1" value="0"></progress> 0/1' in running
        finally:
            estate.gate.release("read")
        wait_until(lambda: 'data-status="RUNNING"' not in client.get(run_url).text, what="the drift run page to finish")
        run = client.get(run_url).text
        assert 'data-status="COMPLETED"' in run
        assert _verdict_in_row(run, estate.hourly) == "drifted"
        assert "dags/finance_invoices_1_hourly_sync.py: deleted" in run

        checked = client.get(Links(run).href(estate.hourly)).text
        history = checked[checked.index('id="drift-history"') :]
        assert re.findall(r'data-verdict="(\w+)"', history)[0] == "drifted"
        assert _verdict_in_row(client.get("/ui").text, estate.hourly) == "drifted"
        drifted_only = client.get(Links(checked).href("urn:dmb:dp:finance:invoices:1"), params={"drift": "drifted"})
        assert re.findall(r'<tr data-component-id="([^"]+)">', drifted_only.text) == [estate.hourly]


def test_hostile_descriptor_values_are_shown_escaped(estate: Estate) -> None:
    with _signed_in(estate.url) as client:
        workload = client.get(Links(client.get("/ui").text).href(estate.odd))
        assert workload.status_code == 200
        assert "<img" not in workload.text
        assert (
            "s3://{}/dags/&#34;&gt;&lt;img src=x onerror=alert(1)&gt;/marketing_campaigns_2_odd.py".format(
                re.search(r"s3://([a-z0-9-]+)/", workload.text).group(1)  # type: ignore[union-attr]
            )
            in workload.text
        )
        plan = client.get(Links(workload.text).href_where(class_="plan", data_kind="provision")).text
        assert "<script" not in plan
        assert "<img" not in plan
        assert "+GREETING = &#34;&lt;/div&gt;&lt;script&gt;alert(&#39;dag&#39;)&lt;/script&gt;&#34;" in plan
        # The descriptor travels beside the DAG: its hostile description is in Terraform's plan text.
        assert "&lt;script&gt;alert(&#39;descriptor&#39;)&lt;/script&gt;" in plan


# -- in a real browser -------------------------------------------------------------------------------


def test_in_a_browser_with_screenshots(estate: Estate, tmp_path: Path) -> None:
    driver = chrome(tmp_path / "chromium")
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(driver, 60)
    try:
        driver.get(f"{estate.url}/ui")
        wait.until(ec.presence_of_element_located((By.ID, "token"))).send_keys(TOKEN)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(ec.presence_of_element_located((By.ID, "workloads")))

        # A drift run over one data product, watched until its report.
        driver.find_element(By.LINK_TEXT, "Drift runs").click()
        wait.until(ec.presence_of_element_located((By.ID, "drift-form")))
        Select(driver.find_element(By.NAME, "dataProduct")).select_by_value(FINANCE)
        driver.find_element(By.ID, "start-drift").click()
        WebDriverWait(driver, 300).until(ec.presence_of_element_located((By.ID, "report")))
        verdict = driver.find_element(By.CSS_SELECTOR, f'tr[data-component-id="{estate.hourly}"] [data-verdict]')
        assert verdict.text == "drifted"
        screenshot(driver, "ui-drift-run", tmp_path)

        driver.find_element(By.LINK_TEXT, estate.daily).click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "component-id"), estate.daily))
        screenshot(driver, "ui-workload", tmp_path)

        driver.find_element(By.CSS_SELECTOR, 'a.plan[data-kind="speculative"]').click()
        diff = wait.until(ec.presence_of_element_located((By.ID, "dag-diff")))
        added, removed = diff.find_element(By.CSS_SELECTOR, ".add"), diff.find_element(By.CSS_SELECTOR, ".del")
        assert added.text == "+" + DAILY_V2.splitlines()[-1]
        assert removed.text == "-" + DAILY_V1.splitlines()[-1]
        assert added.value_of_css_property("background-color") == "rgba(218, 251, 225, 1)"
        assert removed.value_of_css_property("background-color") == "rgba(255, 235, 233, 1)"
        assert driver.find_element(By.ID, "plan-applied").text == "not applied"
        screenshot(driver, "ui-plan", tmp_path)

        driver.find_element(By.LINK_TEXT, "Workloads").click()
        wait.until(ec.presence_of_element_located((By.ID, "workloads")))
        row = driver.find_element(By.CSS_SELECTOR, f'tr[data-component-id="{estate.hourly}"] [data-verdict]')
        assert row.text == "drifted"
        screenshot(driver, "ui-workloads", tmp_path)

        # Hostile values are text on the page, never markup, and nothing ran.
        driver.find_element(By.LINK_TEXT, estate.odd).click()
        storage = wait.until(ec.presence_of_element_located((By.ID, "storage")))
        assert '/dags/"><img src=x onerror=alert(1)>/marketing_campaigns_2_odd.py' in storage.text
        assert storage.find_elements(By.TAG_NAME, "img") == []
        driver.find_element(By.CSS_SELECTOR, 'a.plan[data-kind="provision"]').click()
        text = wait.until(ec.presence_of_element_located((By.ID, "dag-diff"))).text
        assert "+GREETING = \"</div><script>alert('dag')</script>\"" in text
        assert driver.find_elements(By.TAG_NAME, "script") == []
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 - reading it is what raises when no alert is open
    finally:
        driver.quit()
