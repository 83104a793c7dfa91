"""Debian's Chromium, headless, driven by selenium — with no network but this machine's loopback,
so a page that fetches anything from elsewhere (a CDN, fonts) shows it by not working."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_parts import missing

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def chrome(profile: Path) -> Any:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the [test] extra)")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        missing(
            f"no Chromium here ({CHROMIUM}, {CHROMEDRIVER}): install Debian's chromium and chromium-driver "
            "to run the browser test (.ci/run does)"
        )
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        # No network but loopback: every other host is unresolvable, and anything else goes to a
        # proxy that is not there. Chromium's own background traffic is off.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def screenshot(driver: Any, name: str, out: Path) -> Path:
    """The page down to the end of its content (at most 2400 px), at the width a person would use."""
    bottom = int(driver.execute_script("return Math.ceil(document.body.getBoundingClientRect().bottom)"))
    clip = {"x": 0, "y": 0, "width": 1400, "height": min(max(bottom + 16, 600), 2400), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = out / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    published = os.environ.get("UI_SCREENSHOTS_DIR")
    if published:
        shutil.copyfile(path, Path(published) / path.name)
    return path
