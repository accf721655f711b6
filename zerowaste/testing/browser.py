"""Playwright on Debian's Chromium (never a downloaded browser), headless, no network beyond localhost."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(
    os.environ.get("ZEROWASTE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(15000)
    yield tab
    context.close()


def screenshot(page: object, name: str, *, max_height: int | None = None) -> Path:
    """The whole page, or its top `max_height` pixels (a 2,000-row table is slow to capture whole)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    clip = None
    if max_height is not None:
        width, height = page.evaluate(  # type: ignore[attr-defined]
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
    page.screenshot(path=str(path), full_page=True, clip=clip)  # type: ignore[attr-defined]
    return path


def log_in(page: object, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("#login-submit")  # type: ignore[attr-defined]


DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


class Journey:
    """The people of a browser journey, each logged in in a browser context of their own. On a failure
    every open tab is captured (`<name>-failure-<i>-<j>`); every context is closed at the end.

        with Journey(browser, live_server.url, "hazardous-chain") as journey:
            producer = journey.page_for("producer")
    """

    def __init__(self, browser: object, base_url: str, name: str, *, locale: str = "zh-CN") -> None:
        self.browser, self.base_url, self.name, self.locale = browser, base_url, name, locale
        self.contexts: list[Any] = []

    def context(self, **options: Any) -> Any:
        context = self.browser.new_context(**{"locale": self.locale, **options})  # type: ignore[attr-defined]
        self.contexts.append(context)
        return context

    def page_for(
        self,
        username: str,
        password: str | None = None,
        *,
        viewport: dict[str, int] = DESKTOP,
        **options: Any,
    ) -> Any:
        """A logged-in tab of `username` (the demo password unless given); confirmations (运抵, 接收)
        are answered yes."""
        from zerowaste.core.demo import DEMO_PASSWORD

        page = self.context(viewport=viewport, **options).new_page()
        page.set_default_timeout(20000)
        page.on("dialog", lambda dialog: dialog.accept())
        log_in(page, self.base_url, username, password or DEMO_PASSWORD)
        page.wait_for_load_state()
        return page

    def __enter__(self) -> Journey:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if error is not None:
                for i, context in enumerate(self.contexts):
                    for j, tab in enumerate(context.pages):
                        screenshot(tab, f"{self.name}-failure-{i}-{j}")
        finally:
            for context in self.contexts:
                context.close()


def issue_manifest(
    page: Any, base_url: str, *, consignee: str, carrier: str, waste_code: str, estimated_t: str
) -> str:
    """The producer's new HW manifest by the form; its number."""
    page.goto(f"{base_url}/transfers/new/?stream=hw")
    page.select_option("#consignee_id", label=consignee)
    page.select_option("#carrier_id", label=carrier)
    page.fill("#waste_code", waste_code)
    page.fill("#estimated_t", estimated_t)
    page.click("#save-transfer")
    page.wait_for_selector("#transfer-number")
    return str(page.inner_text("#transfer-number")).strip()


def sign_pick_up(page: Any, *, vehicle_id: int, driver: str, quantity_t: str) -> None:
    """The driver's signature at pick-up, on the sign page already open."""
    page.select_option("#vehicle_id", value=str(vehicle_id))
    page.fill("#driver", driver)
    page.fill("#quantity_seen_t", quantity_t)
    page.click("#sign-pick-up")
    page.wait_for_selector("#transfer-state[data-state=in_transit]")


def accept_part(page: Any, *, received_t: str, refused_t: str, reason: str) -> None:
    """The receiver accepts part of a delivery with the reason for the rest, on the receive page."""
    page.fill("#received-t", received_t)
    page.fill("#refused-t", refused_t)
    page.fill("#refused-reason", reason)
    page.click("#accept")
    page.wait_for_selector("#transfer-state[data-state=closed]")
