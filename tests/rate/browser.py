"""Headless Debian Chromium through Selenium and Debian's version-matched chromedriver.

Nothing is downloaded at run time: both binaries come from apt (tools/install_browser.sh). A
missing browser fails the test (CI must run it) unless CARELORA_SKIP_BROWSER=1 says to skip.
"""
import os

import pytest

CHROMIUM = os.environ.get("CARELORA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CARELORA_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=en-US")


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: run tools/install_browser.sh (apt-get install chromium chromium-driver)"
    if os.environ.get("CARELORA_SKIP_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message)


def chrome(user_data_dir: str, width: int = 1280, height: int = 900):
    """A headless Chromium with a fresh profile in user_data_dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
