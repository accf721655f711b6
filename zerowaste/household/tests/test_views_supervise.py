"""Supervision pages of household waste: the dashboard, an area, the events of one day and place, the
alarms (list, detail, resolution) and their Excel downloads — as a zone regulator, a street regulator
(its street only: another street's area or alarm is 404) and a company (refused)."""

from __future__ import annotations

import calendar
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from openpyxl import load_workbook

from zerowaste.core.models import AuditEntry, Organization, Zone
from zerowaste.household import participation, rules, supervision
from zerowaste.household.models import Alarm, DailyFlow, SiteRole, SourceQuota
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, TZ, household, send, seq

pytestmark = pytest.mark.django_db


@dataclass
class World:
    zone: Zone
    a: Registry
    b: Registry
    alarm_a: Alarm
    alarm_b: Alarm


def _day_of_traffic(reg: Registry, handover: str, *, kitchen: str, recyclable: str, vehicle_kg: str) -> None:
    """Two households hand over at the first station; the station hands its kitchen waste to the
    vehicle, which weighs `vehicle_kg` (a mismatch when it differs from the station's side)."""
    when = NOW - timedelta(hours=3)
    one, two = household(reg), household(reg)
    station = reg.station_devices[0]
    send(
        reg,
        event(station, seq(), when, weight=kitchen, quality_grade="A", source=one.code),
        event(station, seq(), when, weight=recyclable, household_class="recyclable.paper", source=two.code),
        event(
            station,
            seq(),
            when + timedelta(minutes=30),
            weight=kitchen,
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_GIVER,
            handover=handover,
            vehicle=reg.vehicle.plate,
        ),
        event(
            reg.vehicle_device,
            seq(),
            when + timedelta(minutes=30),
            weight=vehicle_kg,
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            handover=handover,
            station=reg.stations[0].code,
        ),
    )


@pytest.fixture
def world(zone: Zone) -> World:
    a, b = make_registry(zone), make_registry(zone)
    _day_of_traffic(a, "SUP-A", kitchen="40.000", recyclable="12.500", vehicle_kg="30.000")
    _day_of_traffic(b, "SUP-B", kitchen="20.000", recyclable="5.000", vehicle_kg="10.000")
    participation.refresh_month(zone.pk, (NOW - timedelta(hours=3)).astimezone(TZ).date())  # the scheduler's
    return World(
        zone,
        a,
        b,
        Alarm.objects.get(zone=zone, handover_key="SUP-A", kind=rules.ALARM_WEIGHT_MISMATCH),
        Alarm.objects.get(zone=zone, handover_key="SUP-B", kind=rules.ALARM_WEIGHT_MISMATCH),
    )


def _session(org: Organization, role: str = "admin") -> Client:
    member = parties.make_member(org, role)
    client = Client()
    client.force_login(member.user)
    return client


def zone_regulator(zone: Zone) -> Client:
    return _session(parties.make_org(zone, roles=("regulator",)))


def street_regulator(zone: Zone, reg: Registry) -> Client:
    return _session(parties.make_org(zone, roles=("regulator",), area_id=reg.street.pk))


def _day() -> str:
    return (NOW - timedelta(hours=3)).astimezone(TZ).date().isoformat()


def _state() -> dict[str, int]:
    counts = {m._meta.label: m._base_manager.count() for m in apps.get_app_config("household").get_models()}
    counts["audit"] = AuditEntry.objects.count()
    return counts


def test_zone_regulator_sees_every_street_and_its_figures(world: World) -> None:
    client = zone_regulator(world.zone)
    before = _state()
    body = client.get("/household/").content.decode()
    assert _state() == before, "a GET wrote something"
    assert world.a.community.name in body and world.b.community.name in body
    assert world.a.street.name in body
    # Kilograms households handed over, per class and in total (kitchen 40 + 20, recyclables 12.5 + 5).
    assert "77.500" in body
    assert 'id="balance"' in body and 'data-chart="household-daily"' in body
    assert 'id="household-data"' in body
    # Each community's kilograms of a class open that day's events of the class there.
    assert f"/household/events/?area={world.a.community.pk}&amp;day={_day()}&amp;class=kitchen" in body
    # The day opened is the latest with data; the mismatching stations' balance does not close.
    assert _day() in body
    # No plant received kitchen waste at a recovery plant and no quota is set: no subsidy yet.
    assert 'id="subsidy">0.00' in body.replace("\n", "")


def test_the_subsidy_is_figures_one_formula(world: World) -> None:
    """The tables' subsidy is household.figures': 300 CNY/t of kitchen waste recovered (the stations'
    kitchen waste handed to vehicles × the share the zone's kitchen plants received) and 100 CNY/t of
    reduction below the period's share of the source quota (seed:5088-5092)."""
    from zerowaste.household import figures

    SiteRole.objects.create(zone=world.zone, site=world.a.plant, role=rules.SITE_KITCHEN)
    day = date.fromisoformat(_day())
    DailyFlow.objects.create(
        zone=world.zone,
        day=day,
        node=rules.NODE_VEHICLE_SITE,
        household_class="kitchen",
        in_kg=Decimal("30.000"),
        site=world.a.plant,
        area_id=world.a.plant.area_id,
        place=f"site:{world.a.plant.pk}",
        events=1,
    )
    year_days = 366 if calendar.isleap(day.year) else 365
    SourceQuota.objects.create(zone=world.zone, year=day.year, quota_t=Decimal(year_days) / 10)  # 0.1 t a day
    actor = parties.actor_of(parties.make_org(world.zone, roles=("regulator",)))
    period = supervision.period_of(world.zone.pk, None, today=NOW.date())
    groups = supervision.street_groups(actor, period)
    total = supervision.totals(actor, period, groups, 1, True)
    zone = figures.area_figures(world.zone.pk, None, period.start, period.end)
    # Kitchen: the kitchen plant weighed in 30 kg: 0.030 t × 300 = 9.00; reduction: 0.1 t − 0.078 t
    # generated (77.5 kg to the kilogram) = 0.022 t × 100 = 2.20.
    assert total.subsidy_cny == zone.subsidy.total_cny == Decimal("11.20")
    # A community's kitchen waste recovered is its stations' kitchen waste handed to vehicles × the
    # zone's share of kitchen waste at recovery plants (here all of it): 40 kg → 12.00 CNY.
    a = next(c for g in groups for c in g.communities if c.area_id == world.a.community.pk)
    community = figures.area_figures(world.zone.pk, world.a.community.pk, period.start, period.end)
    assert a.subsidy_cny == community.subsidy.total_cny


def test_dashboard_day_and_month_and_bad_input(world: World) -> None:
    client = zone_regulator(world.zone)
    month = _day()[:7]
    assert client.get(f"/household/?month={month}").status_code == 200
    assert client.get(f"/household/?day={_day()}").status_code == 200
    bad = client.get("/household/?day=2024-13-01")
    assert bad.status_code == 400
    assert client.get("/household/?month=2024-99").status_code == 400


def test_street_regulator_sees_its_street_only(world: World) -> None:
    client = street_regulator(world.zone, world.a)
    body = client.get("/household/").content.decode()
    assert world.a.community.name in body
    assert world.b.community.name not in body
    assert client.get(f"/household/areas/{world.a.community.pk}/").status_code == 200
    assert client.get(f"/household/areas/{world.a.street.pk}/").status_code == 200
    assert client.get(f"/household/areas/{world.b.community.pk}/").status_code == 404
    assert client.get(f"/household/areas/{world.b.street.pk}/").status_code == 404
    assert client.get(f"/household/alarms/{world.alarm_a.pk}/").status_code == 200
    assert client.get(f"/household/alarms/{world.alarm_b.pk}/").status_code == 404
    alarms = client.get("/household/alarms/").content.decode()
    assert f"/household/alarms/{world.alarm_a.pk}/" in alarms
    assert f"/household/alarms/{world.alarm_b.pk}/" not in alarms
    events = client.get(f"/household/events/?area={world.b.community.pk}&day={_day()}")
    assert events.status_code == 404


def test_a_company_is_refused(world: World) -> None:
    client = _session(parties.make_org(world.zone, roles=("producer",)))
    assert client.get("/household/").status_code == 403
    assert client.get(f"/household/areas/{world.a.community.pk}/").status_code == 403
    assert client.get(f"/household/events/?area={world.a.community.pk}&day={_day()}").status_code == 403
    assert client.get(f"/household/alarms/{world.alarm_a.pk}/").status_code == 404
    assert f"/household/alarms/{world.alarm_a.pk}/" not in client.get("/household/alarms/").content.decode()


def test_nav_entry_for_regulators_only(world: World) -> None:
    regulator = zone_regulator(world.zone).get("/household/alarms/").content.decode()
    assert 'href="/household/"' in regulator.split("<main>")[0]
    company = _session(parties.make_org(world.zone, roles=("producer",)))
    assert 'href="/household/"' not in company.get("/household/alarms/").content.decode().split("<main>")[0]


def test_area_page_stations_alarms_and_events_drill_down(world: World) -> None:
    client = street_regulator(world.zone, world.a)
    body = client.get(f"/household/areas/{world.a.community.pk}/?day={_day()}").content.decode()
    assert world.a.stations[0].name in body
    assert f"/household/alarms/{world.alarm_a.pk}/" in body
    station = world.a.stations[0].pk
    link = f"/household/events/?area={world.a.community.pk}&amp;day={_day()}&amp;station={station}"
    assert link in body
    events = client.get(link.replace("&amp;", "&"))
    assert events.status_code == 200
    page = events.content.decode()
    assert page.count("<tr>") == 1 + 4  # the head, two households, both sides of the vehicle hand-over
    assert "40.000" in page and "12.500" in page
    only_kitchen = client.get(
        f"/household/events/?area={world.a.community.pk}&day={_day()}&class=kitchen"
    ).content.decode()
    assert "12.500" not in only_kitchen
    other_day = client.get(f"/household/events/?area={world.a.community.pk}&day=2001-01-01").content.decode()
    assert "empty-state" in other_day
    assert client.get("/household/events/").status_code == 200  # asks for a community and a day
    assert client.get("/household/events/?area=x").status_code == 400


def test_resolving_an_alarm_by_post(world: World) -> None:
    client = street_regulator(world.zone, world.a)
    path = f"/household/alarms/{world.alarm_a.pk}/"
    page = client.get(path).content.decode()
    assert 'id="resolve-form"' in page
    assert "30.000" in page  # the figures in words: 40 kg handed over, 30 kg received
    empty = client.post(path, {"resolution": "  "})
    assert empty.status_code == 422
    assert Alarm.objects.get(pk=world.alarm_a.pk).resolved_at is None
    done = client.post(path, {"resolution": "司机重新过磅，站点秤已校准"})
    assert done.status_code == 302
    alarm = Alarm.objects.get(pk=world.alarm_a.pk)
    assert alarm.resolved_at is not None and alarm.resolution == "司机重新过磅，站点秤已校准"
    after = client.get(path).content.decode()
    assert 'id="resolve-form"' not in after and "司机重新过磅" in after
    # Another street's alarm cannot be resolved from here.
    assert client.post(f"/household/alarms/{world.alarm_b.pk}/", {"resolution": "x"}).status_code == 404
    assert Alarm.objects.get(pk=world.alarm_b.pk).resolved_at is None


def test_a_viewer_sees_no_resolve_form(world: World) -> None:
    client = _session(parties.make_org(world.zone, roles=("regulator",)), "viewer")
    page = client.get(f"/household/alarms/{world.alarm_a.pk}/").content.decode()
    assert 'id="resolve-form"' not in page
    assert client.post(f"/household/alarms/{world.alarm_a.pk}/", {"resolution": "x"}).status_code == 403


def test_alarm_filters_and_excel(world: World) -> None:
    client = zone_regulator(world.zone)
    kinds = client.get(f"/household/alarms/?kind={rules.ALARM_WEIGHT_MISMATCH}&state=open").content.decode()
    assert f"/household/alarms/{world.alarm_a.pk}/" in kinds
    by_area = client.get(f"/household/alarms/?area={world.b.street.pk}").content.decode()
    assert f"/household/alarms/{world.alarm_b.pk}/" in by_area
    assert f"/household/alarms/{world.alarm_a.pk}/" not in by_area
    assert client.get("/household/alarms/?state=nonsense").status_code == 400
    response = client.get("/household/alarms/?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) >= 3
    assert {r[0] for r in rows[1:]} >= {world.alarm_a.pk, world.alarm_b.pk}


def test_dashboard_and_area_excel(world: World) -> None:
    client = zone_regulator(world.zone)
    response = client.get(f"/household/?day={_day()}&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    by_name = {r[1]: r for r in rows[1:]}
    community = by_name[world.a.community.name]
    assert community[2] == 3  # the station's confirmations (two households, one hand-over to the vehicle)
    assert Decimal(str(community[3])) == Decimal("40.000")  # kitchen
    assert Decimal(str(community[4])) == Decimal("12.500")  # recyclables
    area = client.get(f"/household/areas/{world.a.street.pk}/?day={_day()}&format=xlsx")
    names = [r[1] for r in load_workbook(io.BytesIO(area.content)).active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert world.a.community.name in names and world.b.community.name not in names


def test_figures_per_area(world: World) -> None:
    actor = parties.actor_of(parties.make_org(world.zone, roles=("regulator",)))
    period = supervision.period_of(world.zone.pk, None, today=NOW.date())
    assert period.day.isoformat() == _day()
    groups = supervision.street_groups(actor, period)
    a = next(c for g in groups for c in g.communities if c.area_id == world.a.community.pk)
    assert a.kg[rules.KITCHEN] == Decimal("40.000") and a.kg["total"] == Decimal("52.500")
    assert a.households == 2 and a.residents == 6 and a.participating == 2
    assert a.participation_pct == Decimal("100.0")
    assert a.per_capita_kg == Decimal("8.750")  # 52.5 kg ÷ 6 residents ÷ 1 day
    assert a.open_alarms >= 1


def test_the_owner_has_its_open_alarms_to_do_and_resolves_them(world: World) -> None:
    from zerowaste.core import home

    carrier = world.alarm_a.owner_organization
    assert carrier is not None
    member = parties.make_member(carrier, "clerk")
    actor = parties.actor_of(carrier, "clerk")
    todo = {t.key: t for t in home.todos_for(actor)}["household.alarms"]
    assert todo.count == 1 and todo.items[0].url == f"/household/alarms/{world.alarm_a.pk}/"
    client = Client()
    client.force_login(member.user)
    page = client.get(todo.items[0].url).content.decode()
    assert 'id="resolve-form"' in page
    assert client.get("/household/").status_code == 403  # the dashboard is the regulators'
    assert client.post(todo.items[0].url, {"resolution": "车载秤已校准"}).status_code == 302
    assert "household.alarms" not in {t.key for t in home.todos_for(actor)}


def test_a_communitys_staff_sees_its_community_and_resolves_its_alarms(world: World) -> None:
    from django.utils import timezone

    owned = Alarm.objects.create(
        zone=world.zone,
        kind=rules.ALARM_NOT_CLEARED,
        cause=f"test:not_cleared:{world.a.community.pk}",
        area=world.a.community,
        owner_area=world.a.community,
        station=world.a.stations[0],
        figures={"received": "40.000", "collected": "0.000", "left": "40.000"},
        raised_at=timezone.now(),
        deadline=timezone.localdate(),
    )
    staff = _session(parties.make_org(world.zone, roles=("property",), area_id=world.a.community.pk))
    body = staff.get("/household/").content.decode()
    assert 'href="/household/"' in body.split("<main>")[0]  # the main-nav entry
    assert world.a.community.name in body and world.b.community.name not in body
    assert staff.get(f"/household/areas/{world.a.community.pk}/").status_code == 200
    assert staff.get(f"/household/areas/{world.a.street.pk}/").status_code == 404
    assert staff.get(f"/household/areas/{world.b.community.pk}/").status_code == 404
    assert staff.get(f"/household/events/?area={world.a.community.pk}&day={_day()}").status_code == 200
    # The carrier's alarm on a loading at the community's station: the community sees it and may
    # settle it; the other community's is not theirs.
    assert staff.get(f"/household/alarms/{world.alarm_a.pk}/").status_code == 200
    assert staff.get(f"/household/alarms/{world.alarm_b.pk}/").status_code == 404
    assert world.alarm_a.owner_organization_id == world.a.vehicle.organization_id
    assert (
        staff.post(f"/household/alarms/{owned.pk}/", {"resolution": "已督促驿站当日清运"}).status_code == 302
    )
    owned.refresh_from_db()
    assert owned.resolved_at is not None
    # A property company registered at a street is not a community's staff.
    company = _session(parties.make_org(world.zone, roles=("property",), area_id=world.a.street.pk))
    assert company.get("/household/").status_code == 403
    assert 'href="/household/"' not in company.get("/household/alarms/").content.decode().split("<main>")[0]


def test_alarm_figures_are_written_the_one_way() -> None:
    alarm = Alarm(
        kind=rules.ALARM_WEIGHT_MISMATCH,
        figures={
            "giver": "12500.000",
            "receiver": "11000.000",
            "difference": "1500.000",
            "tolerance": "250.000",
        },
    )
    text = supervision.figures_in_words(alarm)
    assert "12,500.000" in text and "1,500.000" in text and "250.000" in text
