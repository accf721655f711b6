"""Every page each demo account reaches, in a real browser at a laptop's 1440 px and a phone's 390 px:
a screenshot of each (var/screenshots/layout-<width>-<account>-<route>.png) and no horizontal overflow
of the page itself (issue 16, item 9). A wide table inside a sideways-scrolling wrapper is fine; a page
the reader has to pan is not.

The pages come from the spider (links a person can click, one visit per URL-conf route, as the first
account that reaches it; every account's menu is measured),
walked with a Django test Client on the same committed database the live server serves. All failures
are reported at once.
"""

from __future__ import annotations

import re

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing import demo_snapshot
from zerowaste.testing.browser import log_in, screenshot
from zerowaste.testing.spider import Visit, crawl, demo_usernames, logged_in, route_of

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"laptop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
NAV_HEIGHT = "() => Math.round(document.querySelector('.main-nav').getBoundingClientRect().height)"
# The outermost elements that stick out past the right edge, outside any sideways-scrolling box: named
# in the failure so that the fix starts at the right place.
CULPRITS = """() => {
  const limit = window.innerWidth, found = [];
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.classList.length ? "." + [...el.classList].join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    if (el.getBoundingClientRect().right <= limit + 0.5 || scrolls(el)) continue;
    if (found.some((f) => f.contains(el))) continue;
    found.push(el);
  }
  const right = (el) => Math.round(el.getBoundingClientRect().right);
  return found.slice(0, 4).map((el) => name(el) + " (" + right(el) + "px)");
}"""
SHOTS_PER_PAGE = 2  # screens: the top of a long page shows its layout; capturing 2,000 rows whole is slow


def _pages_by_account() -> dict[str, list[Visit]]:
    from django.test import Client

    pages = {"anonymous": crawl(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), "/exchange/", per_route=1)}
    for username in demo_usernames():
        pages[username] = crawl(logged_in(username, DEMO_PASSWORD), "/", per_route=1)
    for username, path in _decision_pages():
        if path not in {v.path for v in pages[username]}:
            pages[username].append(Visit(path, route_of(path) or path, 200, "text/html", ""))
    # A route's layout is its template's: each route is shown once, as the first account that reaches
    # it (the regulator first, who sees the most columns and rows), not once per account.
    shown: set[str] = set()
    by_account: dict[str, list[Visit]] = {}
    for account, visits in pages.items():
        by_account[account] = [v for v in visits if v.is_html and v.route not in shown]
        shown |= {v.route for v in by_account[account]}
    return by_account


def _decision_pages() -> list[tuple[str, str]]:
    """The receiver's page with its decisions and the driver's phone page, which a crawl reaches only
    when the first manifest it opens is in the right state: a delivered manifest of the demo's HW
    receiver (one is delivered for the test when none is) and a manifest the demo's carrier carries."""
    from zerowaste.core.authz import Actor
    from zerowaste.transfers import services
    from zerowaste.transfers.models import Transfer

    received = Transfer.objects.filter(consignee__memberships__user__username="hw-receiver").order_by("pk")
    delivered = received.filter(state="delivered").first()
    if delivered is None:
        moving = received.filter(state="in_transit").first()
        assert moving is not None, "the demo has no manifest on its way to the HW receiver"
        delivered = services.perform(Actor.system(moving.zone), moving.pk, "deliver")
    carried = Transfer.objects.filter(
        current_carrier__memberships__user__username="carrier", state__in=("issued", "in_transit")
    ).order_by("pk")
    pages = [("hw-receiver", f"/transfers/{delivered.pk}/receive/")]
    pages += [("carrier", f"/transfers/{t.pk}/sign/") for t in carried[:1]]
    return pages


def _shot_name(width: str, account: str, route: str) -> str:
    return f"layout-{width}-{account}-" + (re.sub(r"[^A-Za-z0-9]+", "-", route).strip("-") or "home")


def test_no_page_overflows_sideways_at_1440_or_390_px(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import Error as PlaywrightError

    demo_snapshot.demo()
    pages = _pages_by_account()
    assert sum(len(v) for v in pages.values()) > 40, "the crawl found too few pages to judge the layout"
    failures: list[str] = []
    for width, viewport in VIEWPORTS.items():
        for account, visits in pages.items():
            context = browser.new_context(locale="zh-CN", viewport=viewport)
            try:
                tab = context.new_page()
                tab.set_default_timeout(20000)
                if account != "anonymous":
                    log_in(tab, live_server.url, account, DEMO_PASSWORD)
                    tab.wait_for_url(lambda url: "/login/" not in url)
                    nav_height = tab.evaluate(NAV_HEIGHT)
                    if width == "phone" and nav_height > 40:
                        failures.append(f"{account}: the menu takes {nav_height}px at 390 px, not one line")
                for visit in visits:
                    where = f"{width} {viewport['width']}px, {account}: {visit.path}"
                    try:
                        tab.goto(live_server.url + visit.path)
                        excess = tab.evaluate(OVERFLOW)
                        name = _shot_name(width, account, visit.route)
                        screenshot(tab, name, max_height=SHOTS_PER_PAGE * viewport["height"])
                    except PlaywrightError as exc:
                        failures.append(f"{where} could not be shown: {str(exc).splitlines()[0]}")
                        continue
                    if excess > 0:
                        culprits = ", ".join(tab.evaluate(CULPRITS))
                        failures.append(f"{where} is {excess}px wider than the screen: {culprits}")
            finally:
                context.close()
    failures += _refusal_asks_first(browser, live_server.url)
    assert not failures, "layout faults:\n" + "\n".join(failures)


def _refusal_asks_first(browser, base: str) -> list[str]:  # type: ignore[no-untyped-def]
    """In a real browser (the page's scripts under its CSP), 拒收 asks first; declining writes nothing."""
    from zerowaste.transfers.models import Transfer

    path = next(p for account, p in _decision_pages() if account == "hw-receiver")
    transfer = Transfer.objects.get(pk=int(path.split("/")[2]))
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS["phone"])
    questions: list[str] = []
    try:
        tab = context.new_page()
        log_in(tab, base, "hw-receiver", DEMO_PASSWORD)
        tab.wait_for_url(lambda url: "/login/" not in url)
        tab.goto(base + path)
        tab.fill("#refuse-reason", "包装破损")
        tab.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        tab.click("#refuse")
        tab.wait_for_timeout(300)
    finally:
        context.close()
    transfer.refresh_from_db()
    if not questions or transfer.state != "delivered":
        return [f"{path}: 拒收 did not ask before refusing ({questions}, state {transfer.state})"]
    return []
