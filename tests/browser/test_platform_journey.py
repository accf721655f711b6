"""The regulator's first visit, in a real browser: log in, read the organizations in Chinese,
switch to English, log out."""

from __future__ import annotations

import re

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing import demo_snapshot
from zerowaste.testing.browser import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_regulator_logs_in_reads_in_chinese_switches_to_english_and_logs_out(live_server, page) -> None:  # type: ignore[no-untyped-def]
    demo_snapshot.demo()
    log_in(page, live_server.url, "regulator", DEMO_PASSWORD)

    page.wait_for_url(re.compile(r"/cockpit/$"))  # a regulator's home: the cockpit, to-dos on top
    assert page.locator("#todos").count() == 1
    page.goto(f"{live_server.url}/organizations/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").first.inner_text().startswith("单位")
    rows = page.locator("#organization-table tbody tr")
    assert rows.count() == 50  # first page of the zone's organizations
    assert "北京鼎泰鹏宇环保科技有限公司" in page.content() or page.locator(".pager").count() == 1
    screenshot(page, "platform-organizations-zh")

    page.click("#lang-en")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").first.inner_text().startswith("Organizations")
    assert page.locator("#organization-table thead").inner_text().count("Unified social credit code") == 1
    screenshot(page, "platform-organizations-en")

    page.click("#logout")
    page.wait_for_url(re.compile(r"/login/$"))
    assert page.locator("#login-submit").is_visible()
    page.goto(f"{live_server.url}/organizations/")
    page.wait_for_url(re.compile(r"/login/\?next="))


def test_producer_sees_only_its_own_organization(live_server, page) -> None:  # type: ignore[no-untyped-def]
    result = demo_snapshot.demo()
    log_in(page, live_server.url, "producer", DEMO_PASSWORD)
    page.wait_for_url(re.compile(r"/$"))  # its home: its to-dos under its name
    assert page.locator("#todos").count() == 1
    producer = next(a for a in result.accounts if a["username"] == "producer")
    assert producer["organization"] in page.locator("h1").inner_text()
    page.goto(f"{live_server.url}/organizations/")
    assert page.locator("#organization-table tbody tr").count() == 1
    screenshot(page, "platform-producer-home")
