"""Playwright against Debian's Chromium and the live test server.

Playwright's own browser download does not work here, so the tests launch
/usr/bin/chromium. Without it they skip, unless ABUSE_REQUIRE_BROWSER is set (CI
sets it), in which case they fail. Screenshots go to artifacts/screenshots/.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("ABUSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"

# Playwright's sync API runs an event loop; Django refuses ORM calls from inside one
# unless told that this is deliberate (the test thread is not serving async code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("ABUSE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under artifacts/screenshots/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """Log a user in through the real login form."""
    from tests.conftest import STAFF_PASSWORD

    def log_in(user) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()

    return log_in
