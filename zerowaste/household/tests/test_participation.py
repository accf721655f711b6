"""Residents' participation from the live records (households with ≥ 1 drop in the month): the service
is idempotent, the scheduler's pass, the CLI, the API and the page run it, pages read the month
figure; and a resident's points link expires (HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.signing import Signer, TimestampSigner, b62_encode
from django.test import Client, override_settings

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import AuditEntry, Zone
from zerowaste.household import ops, participation, resident, supervision
from zerowaste.household.models import ParticipationMonth
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, TZ, household, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _drops(reg: Registry, n: int, *, twice: int = 0) -> None:
    """`n` households drop once this month, `twice` of them a second time."""
    when = NOW - timedelta(hours=2)
    station = reg.station_devices[0]
    homes = [household(reg) for _i in range(n)]
    events = [event(station, seq(), when, weight="1.500", quality_grade="A", source=h.code) for h in homes]
    events += [event(station, seq(), when, weight="0.500", source=h.code) for h in homes[:twice]]
    send(reg, *events)


def _month() -> Any:
    return (NOW - timedelta(hours=2)).astimezone(TZ).date().replace(day=1)


def test_refresh_counts_households_once_and_is_idempotent(reg: Registry) -> None:
    household(reg)  # registered, no drop
    _drops(reg, 3, twice=2)
    first = participation.refresh_month(reg.zone.pk, _month())
    assert (first.communities, first.households) == (1, 3)
    again = participation.refresh_month(reg.zone.pk, _month())
    assert again == first
    rows = ParticipationMonth.objects.filter(zone=reg.zone)
    assert [(r.community_id, r.households) for r in rows] == [(reg.community.pk, 3)]
    assert AuditEntry.objects.filter(action="household.participation_refresh").count() == 2
    # The page figures read the month: 3 of 4 households.
    actor = parties.actor_of(parties.make_org(reg.zone, roles=("regulator",)))
    period = supervision.period_of(reg.zone.pk, None, today=NOW.date())
    community = next(
        c
        for g in supervision.street_groups(actor, period)
        for c in g.communities
        if c.area_id == reg.community.pk
    )
    assert (community.participating, community.households) == (3, 4)
    row = next(r for r in participation.month_rows(actor, _month()) if r.community_id == reg.community.pk)
    assert (row.participating, row.households, str(row.rate_pct)) == (3, 4, "75.0")


def test_the_scheduler_pass_refreshes_the_days_month(reg: Registry) -> None:
    _drops(reg, 2)
    day = (NOW - timedelta(hours=2)).astimezone(TZ).date()
    result = ops.detect_once(reg.zone, day, now=NOW)
    assert result.ran and result.participating == 2
    assert result.as_dict()["participating"] == 2
    assert ParticipationMonth.objects.get(zone=reg.zone, community=reg.community).households == 2


def test_cli_recomputes_and_shows(reg: Registry) -> None:
    _drops(reg, 2)
    out = StringIO()
    month = f"{_month():%Y-%m}"
    call_command(
        "household",
        "participation",
        "--month",
        month,
        "--zone",
        reg.zone.code,
        "--format",
        "json",
        stdout=out,
    )
    rows = json.loads(out.getvalue())
    mine = next(r for r in rows if r["community"] == reg.community.code)
    assert (mine["participating"], mine["households"], mine["rate_pct"]) == (2, 2, "100.0")
    with pytest.raises(Invalid):
        participation.parse_month("2020-13")


def test_api_and_page(reg: Registry) -> None:
    _drops(reg, 1)
    regulator_org = parties.make_org(reg.zone, roles=("regulator",))
    api = parties.api_client(regulator_org)
    done = api.post("/api/household/participation", {"month": f"{_month():%Y-%m}"})
    assert done.status_code == 200 and done.json()["households"] == 1
    assert api.post("/api/household/participation", {"month": "2020-13"}).status_code == 422
    rows = api.get(f"/api/household/participation?month={_month():%Y-%m}").json()
    assert [r["participating"] for r in rows if r["community"] == reg.community.code] == [1]
    # A company is refused; a street regulator reads but does not recompute.
    company = parties.api_client(parties.make_org(reg.zone, roles=("producer",)))
    assert company.get("/api/household/participation").status_code == 403
    street = parties.make_org(reg.zone, roles=("regulator",), area_id=reg.street.pk)
    with pytest.raises(Forbidden):
        participation.refresh_for(parties.actor_of(street), _month())
    # The page: the table, and the form for a zone regulator, which recomputes.
    client = Client()
    client.force_login(parties.make_member(regulator_org).user)
    before = AuditEntry.objects.count()
    page = client.get(f"/household/participation/?month={_month():%Y-%m}")
    assert page.status_code == 200 and AuditEntry.objects.count() == before
    body = page.content.decode()
    assert reg.community.name in body and 'id="participation-refresh"' in body
    posted = client.post("/household/participation/", {"month": f"{_month():%Y-%m}"})
    assert posted.status_code == 302 and AuditEntry.objects.count() == before + 1
    assert client.get("/household/participation/?month=2020-99").status_code in (400, 422)


def test_system_actor_may_refresh(reg: Registry) -> None:
    assert participation.refresh_for(Actor.system(reg.zone), _month()).households == 0


# --- Resident tokens expire -----------------------------------------------------------------------------


def test_resident_token_expires(reg: Registry) -> None:
    home = household(reg)
    client = Client()
    fresh = resident.resident_url(home)
    assert client.get(fresh).status_code == 200
    old = mock.patch.object(
        TimestampSigner, "timestamp", lambda _self: b62_encode(int(time.time()) - 181 * 86400)
    )
    with old:
        issued_long_ago = resident.resident_url(home)
    expired = client.get(issued_long_ago)
    assert expired.status_code == 410
    assert 'id="balance"' not in expired.content.decode()  # nothing of the household's points
    assert "过期" in expired.content.decode()
    with override_settings(HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS=365):
        assert client.get(issued_long_ago).status_code == 200
    # A token of before tokens carried their time is expired; a forged one is 404; each URL is fresh.
    untimed = Signer(salt=resident.SALT).sign(home.code)
    assert client.get(f"/household/points/{untimed}/").status_code == 410
    assert client.get(f"/household/points/{untimed}x/").status_code == 404
    assert resident.code_of_scan(untimed) == home.code == resident.code_of_scan(fresh)
