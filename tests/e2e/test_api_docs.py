"""The API's documentation works on an air-gapped cluster: headless Chromium with no network but
loopback renders every contract operation from ``/swagger`` (Swagger UI from the installed package,
under a Content-Security-Policy allowing this service's scripts only), and with tokens set the same
page opens inside the web view with its session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import chrome

pytestmark = pytest.mark.e2e
CONTRACT = {
    ("post", "/v1/validate"),
    ("post", "/v2/validate"),
    ("get", "/v2/validate/{token}/status"),
    ("post", "/v1/provision"),
    ("post", "/v1/unprovision"),
    ("get", "/v1/provision/{token}/status"),
    ("post", "/v1/updateacl"),
    ("post", "/v1/reverse-provisioning"),
    ("get", "/v1/reverse-provisioning/{token}/status"),
}
TOKEN = "docs-reader-secret-0123456789"


def _rendered_operations(driver: Any, url: str) -> set[tuple[str, str]]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
    found = set()
    for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.lower()
        path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
        found.add((method, path))
    return found


def _violations(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_swagger_renders_offline_and_under_its_policy(service_factory: Any, tmp_path: Path) -> None:
    service = service_factory()
    page = httpx.get(f"{service.url}/swagger", timeout=30)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "cdn" not in page.text
    assert "https://" not in page.text
    driver = chrome(tmp_path / "chromium")
    try:
        assert _rendered_operations(driver, f"{service.url}/swagger") >= CONTRACT
        assert _violations(driver) == []
    finally:
        driver.quit()


def test_with_tokens_the_docs_open_in_the_web_view(service_factory: Any, tmp_path: Path) -> None:
    service = service_factory(api_tokens=f"docs:reader:{TOKEN}")
    assert httpx.get(f"{service.url}/swagger", timeout=30).status_code == 401  # a browser has no bearer token
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chrome(tmp_path / "chromium")
    try:
        driver.get(f"{service.url}/ui/api")  # sent to the token form, and back afterwards
        WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.ID, "token"))).send_keys(TOKEN)
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 60).until(ec.url_to_be(f"{service.url}/ui/api"))
        assert _rendered_operations(driver, f"{service.url}/ui/api") >= CONTRACT
        assert _violations(driver) == []
    finally:
        driver.quit()
