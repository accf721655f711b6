"""Refusals and missing pages are pages of the site: its frame, the reason, a way back."""

from __future__ import annotations

import pytest
from django.test import Client

from zerowaste.core.models import Zone
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def _client(org, role: str = "admin") -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(parties.make_member(org, role).user)
    return client


def test_a_refusal_is_a_page_with_its_reason_and_the_navigation(zone: Zone, producer) -> None:  # type: ignore[no-untyped-def]
    response = _client(producer).get("/cockpit/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="error-403"' in html and 'class="main-nav"' in html and 'href="/"' in html
    assert "驾驶舱仅供监管部门使用" in html  # the service's own reason, in the UI language


def test_a_missing_page_is_a_page_of_the_site(zone: Zone, producer) -> None:  # type: ignore[no-untyped-def]
    response = _client(producer).get("/exchange/proposals/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'id="error-404"' in html and 'class="main-nav"' in html
    assert "/exchange/proposals/999999/" in html
    anonymous = Client().get("/no-such-page/")
    assert anonymous.status_code == 404 and 'id="error-404"' in anonymous.content.decode()


def test_the_navigation_offers_indicators_and_cockpit_to_regulators_only(
    zone: Zone,
    producer,
    regulator,  # type: ignore[no-untyped-def]
) -> None:
    producer_page = _client(producer).get("/exchange/").content.decode()
    assert 'href="/indicators/"' not in producer_page and 'href="/cockpit/"' not in producer_page
    regulator_page = _client(regulator).get("/exchange/").content.decode()
    assert 'href="/indicators/"' in regulator_page and 'href="/cockpit/"' in regulator_page
