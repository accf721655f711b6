"""A park's "1+4" regime end to end: registration, stations, logs, discharges, the day's status, the
missing-log alarms (raised once, resolved with a resolution), pages, API, CLI and who may do what."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Organization, Zone
from zerowaste.household import alarms, park, park_rules, rules
from zerowaste.household.models import Alarm, ParkStation, StationLog
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


@dataclass
class Park:
    zone: Zone
    street: Area
    park: Area
    operator: Organization
    enterprise: Organization
    stations: dict[str, ParkStation]


def make_park(zone: Zone, n: int = 1) -> Park:
    street = Area.objects.create(zone=zone, code=f"PS{n}", name=f"园区街道{n}", kind="street")
    area = Area.objects.create(zone=zone, code=f"PK{n}", name=f"亦城财富中心{n}", kind="park", parent=street)
    operator = parties.make_org(zone, roles=("park_operator",), name=f"园区运营{n}", area_id=area.pk)
    enterprise = parties.make_org(zone, roles=("producer",), name=f"园区企业{n}", area_id=area.pk)
    system = Actor.system(zone)
    stations = {
        kind: park.add_station(
            system,
            area.code,
            kind=kind,
            code=f"P{n}-{kind[:3].upper()}",
            name=f"{label}{n}",
            compactor_model="KJ-10" if kind == park_rules.COMPACTOR else "",
            in_service_from=park.today(zone.pk) - timedelta(days=35),
        )
        for kind, label in park_rules.STATION_KIND_CHOICES
    }
    return Park(zone, street, area, operator, enterprise, stations)


@pytest.fixture
def p(zone: Zone) -> Park:
    return make_park(zone)


def local(zone: Zone, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), park.zone_tz(zone.pk))


def full_day(p: Park, day: date, *, skip: tuple[str, ...] = ()) -> None:
    """Every daily requirement of every station met on `day` (minus those named in `skip`)."""
    system = Actor.system(p.zone)
    tz = park.zone_tz(p.zone.pk)
    for station in p.stations.values():
        for req in park_rules.requirements_for(station.kind):
            if req.per != park_rules.PER_DAY or req.key in skip:
                continue
            for i in range(req.minimum):
                hour = 13 if req.slot == park_rules.ROUND_13 else 16 if req.slot else 8 + i
                park.record_log(
                    system,
                    station.pk,
                    kind=req.log_kind,
                    at=datetime.combine(day, time(hour, 5), tz),
                    slot=req.slot,
                )


def yesterday(zone: Zone) -> date:
    return park.today(zone.pk) - timedelta(days=1)


# --- Services -----------------------------------------------------------------------------------------


def test_register_and_discharge(p: Park) -> None:
    operator = parties.actor_of(p.operator)
    e = park.register_enterprise(
        operator,
        p.park.code,
        organization_id=p.enterprise.pk,
        waste_classes=["kitchen", "other"],
        expected_kg={"kitchen": "12.5"},
        contact_name="王经理",
        contact_phone="13800000000",
    )
    assert (e.waste_classes, e.expected_kg) == ("kitchen,other", {"kitchen": "12.500"})
    day = park.today(p.zone.pk)
    park.record_discharge(
        operator,
        e.pk,
        station_id=p.stations["digester"].pk,
        household_class="kitchen",
        quantity_kg="10.25",
        day=day,
    )
    [kitchen, other] = park.discharges(operator, p.park, day, day)
    assert (str(kitchen["kg"]), str(kitchen["expected_kg"])) == ("10.250", "12.500")
    assert other["expected_kg"] is None
    with pytest.raises(Invalid) as bad:
        park.record_discharge(
            operator,
            e.pk,
            station_id=p.stations["digester"].pk,
            household_class="recyclable",
            quantity_kg="1",
            day=day,
        )
    assert bad.value.errors[0]["field"] == "household_class"
    with pytest.raises(Invalid) as bad:
        park.record_discharge(
            operator,
            e.pk,
            station_id=p.stations["digester"].pk,
            household_class="kitchen",
            quantity_kg="1.0001",
            day=day,
        )
    assert bad.value.errors[0]["field"] == "quantity_kg"


def test_an_organization_outside_the_park_cannot_be_registered(p: Park) -> None:
    outsider = parties.make_org(p.zone, roles=("producer",))
    with pytest.raises(Invalid) as bad:
        park.register_enterprise(
            parties.actor_of(p.operator), None, organization_id=outsider.pk, waste_classes=["other"]
        )
    assert bad.value.errors[0]["field"] == "organization_id"
    with pytest.raises(Invalid) as bad:
        park.register_enterprise(
            parties.actor_of(p.operator), None, organization_id=p.enterprise.pk, waste_classes=["glass"]
        )
    assert bad.value.errors[0]["field"] == "waste_classes"


def test_compactor_model_and_load(p: Park) -> None:
    system = Actor.system(p.zone)
    with pytest.raises(Invalid) as bad:
        park.add_station(
            system, p.park.code, kind="compactor", code="X1", name="挤压站", compactor_model="KJ-9"
        )
    assert bad.value.errors[0]["field"] == "compactor_model"
    compactor = p.stations["compactor"]  # a KJ-10: 10 m³
    log = park.record_log(system, compactor.pk, kind="clearance", volume_m3="9.5", quantity_kg="800")
    assert (str(log.volume_m3), str(log.quantity_kg)) == ("9.50", "800.000")
    with pytest.raises(Invalid) as bad:
        park.record_log(system, compactor.pk, kind="clearance", volume_m3="10.5")
    assert bad.value.errors[0]["field"] == "volume_m3"
    assert StationLog.objects.filter(station=compactor).count() == 1


def test_log_input_is_checked(p: Park) -> None:
    system = Actor.system(p.zone)
    station = p.stations["reinspection"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "sweeping"}, "kind"),
        ({"kind": "round", "slot": "15:00"}, "slot"),
        ({"kind": "cleaning", "slot": "13:00"}, "slot"),
        ({"kind": "cleaning", "at": park.timezone.now() + timedelta(hours=1)}, "at"),
        ({"kind": "cleaning", "result": "pass"}, "result"),
        ({"kind": "inspection", "result": "maybe"}, "result"),
        ({"kind": "inspection"}, "result"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as bad:
            park.record_log(system, station.pk, **kwargs)
        assert bad.value.errors[0]["field"] == field, kwargs
    assert not StationLog.objects.filter(station=station).exists()
    log = park.record_log(system, station.pk, kind="round", at=local(p.zone, yesterday(p.zone), 16, 10))
    assert log.slot == "16:00"
    log = park.record_log(system, station.pk, kind="inspection", result="fail", quantity_kg="3.2")
    assert log.result == "fail"


def test_who_may(p: Park, zone: Zone) -> None:
    other = make_park(zone, 2)
    station = p.stations["digester"].pk
    # The operator records; its viewer reads only; another park's operator does not see this park.
    park.record_log(parties.actor_of(p.operator), station, kind="cleaning")
    with pytest.raises(Forbidden):
        park.record_log(parties.actor_of(p.operator, "viewer"), station, kind="cleaning")
    with pytest.raises(NotFound):
        park.record_log(parties.actor_of(other.operator), station, kind="cleaning")
    with pytest.raises(NotFound):
        park.park_of(parties.actor_of(other.operator), p.park.code)
    # A zone regulator reads every park but records nothing; a street regulator reads its street's.
    zone_reg = parties.actor_of(parties.make_org(zone, roles=("regulator",)))
    assert {a.code for a in park.visible_parks(zone_reg)} == {p.park.code, other.park.code}
    with pytest.raises(Forbidden):
        park.record_log(zone_reg, station, kind="cleaning")
    street_org = parties.make_org(zone, roles=("regulator",), area_id=p.street.pk)
    street_reg = actor_for_membership(parties.make_member(street_org, jurisdiction=p.street))
    assert [a.code for a in park.visible_parks(street_reg)] == [p.park.code]
    # An enterprise of the park sees no park pages.
    assert not park.visible_parks(parties.actor_of(p.enterprise)).exists()


# --- Alarms -------------------------------------------------------------------------------------------


def test_missing_logs_raise_alarms_once(p: Park) -> None:
    day = yesterday(p.zone)
    full_day(p, day, skip=("cleaning", "round_16"))
    park.record_log(
        Actor.system(p.zone), p.stations["reinspection"].pk, kind="cleaning", at=local(p.zone, day, 9)
    )
    raised = park.check_day(p.zone.pk, day)
    found = {(a.kind, a.figures.get("done")) for a in Alarm.objects.filter(zone=p.zone)}
    assert raised == 5  # four stations cleaned too little, and no 16:00 round
    assert (rules.ALARM_PARK_CLEANING, "1") in found
    assert (rules.ALARM_PARK_ROUND, "0") in found
    assert park.check_day(p.zone.pk, day) == 0  # raised exactly once per cause
    # The daily pass of `household detect` runs the same check: nothing new either.
    assert alarms.detect_day(p.zone.pk, day).raised == 0
    alarm = Alarm.objects.get(zone=p.zone, kind=rules.ALARM_PARK_ROUND)
    assert alarm.owner_organization_id == p.operator.pk and alarm.area_id == p.park.pk
    assert "16:00" in alarm.figures_text
    done = alarms.resolve(parties.actor_of(p.operator), alarm.pk, "补记收运，已提醒指导员")
    assert done.state == "resolved"
    with pytest.raises(Invalid):
        alarms.resolve(parties.actor_of(p.operator), alarm.pk, "")


def test_nothing_is_owed_before_a_station_is_in_service(zone: Zone) -> None:
    area = Area.objects.create(zone=zone, code="NEW", name="新园区", kind="park")
    parties.make_org(zone, roles=("park_operator",), area_id=area.pk)
    station = park.add_station(Actor.system(zone), "NEW", kind="digester", code="N-1", name="新降解站")
    assert station.in_service_from == park.today(zone.pk)
    assert park.check_day(zone.pk, yesterday(zone)) == 0
    [status] = park.day_status(Actor.system(zone), area, yesterday(zone))
    assert status.met and not status.rows
    with pytest.raises(Invalid) as bad:
        park.add_station(
            Actor.system(zone),
            "NEW",
            kind="digester",
            code="N-2",
            name="旧站",
            in_service_from=park.today(zone.pk) - timedelta(days=90),
        )
    assert bad.value.errors[0]["field"] == "in_service_from"


def test_detect_raises_park_alarms(p: Park) -> None:
    day = yesterday(p.zone)
    assert alarms.detect_day(p.zone.pk, day).raised >= 4 * 2  # no cleaning, no disinfection anywhere
    assert Alarm.objects.filter(zone=p.zone, kind=rules.ALARM_PARK_CLEARANCE).count() == 2


def test_pest_control_is_judged_on_saturday(p: Park) -> None:
    saturday = yesterday(p.zone)
    while saturday.weekday() != 5:
        saturday -= timedelta(days=1)
    monday = saturday - timedelta(days=5)
    full_day(p, saturday)
    park.record_log(
        Actor.system(p.zone), p.stations["digester"].pk, kind="pest_control", at=local(p.zone, saturday, 10)
    )
    park.check_day(p.zone.pk, saturday)
    pests = Alarm.objects.filter(zone=p.zone, kind=rules.ALARM_PARK_PEST_CONTROL)
    assert pests.count() == 3  # the digester had its pest control
    assert monday.isoformat() in pests.first().figures_text  # type: ignore[union-attr]


def test_a_complete_day_raises_nothing(p: Park) -> None:
    day = yesterday(p.zone)
    full_day(p, day)
    # Only a Saturday closes a week: then the four stations' missing pest control is all there is.
    assert park.check_day(p.zone.pk, day) == (4 if day.weekday() == 5 else 0)
    assert not Alarm.objects.filter(zone=p.zone).exclude(kind=rules.ALARM_PARK_PEST_CONTROL).exists()
    statuses = park.day_status(Actor.system(p.zone), p.park, day)
    assert all(s.rows and all(r["met"] for r in s.rows if r["per"] == "day") for s in statuses)


# --- Pages ----------------------------------------------------------------------------------------------


def _client(org: Organization, role: str = "admin") -> Client:
    client = Client()
    client.force_login(parties.make_member(org, role).user)
    return client


def test_day_page_and_one_tap(p: Park) -> None:
    client = _client(p.operator)
    page = client.get("/household/park/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "亦城财富中心1" in body and "park_round" not in body and "reinspection" not in body
    assert 'name="kind" value="cleaning"' in body  # today: one-tap buttons
    before = StationLog.objects.count()
    response = client.post(
        "/household/park/log/", {"station": p.stations["compactor"].pk, "kind": "cleaning"}, follow=True
    )
    assert response.status_code == 200 and StationLog.objects.count() == before + 1
    assert "1 / 6" in response.content.decode()
    # A bad tap writes nothing and says why.
    response = client.post(
        "/household/park/log/", {"station": p.stations["compactor"].pk, "kind": "x"}, follow=True
    )
    assert StationLog.objects.count() == before + 1
    assert "kind" in response.content.decode()
    # A viewer sees the checklist without buttons and may not record.
    viewer = _client(p.operator, "viewer")
    assert 'name="kind"' not in viewer.get("/household/park/").content.decode()
    viewer.post("/household/park/log/", {"station": p.stations["compactor"].pk, "kind": "cleaning"})
    assert StationLog.objects.count() == before + 1


def test_discharge_form(p: Park) -> None:
    park.register_enterprise(
        Actor.system(p.zone), p.park.code, organization_id=p.enterprise.pk, waste_classes=["other", "kitchen"]
    )
    client = _client(p.operator)
    assert 'id="park-discharge-form"' in client.get("/household/park/").content.decode()
    enterprise = park.enterprises(Actor.system(p.zone), p.park)[0]
    response = client.post(
        "/household/park/discharge/",
        {"enterprise": enterprise.pk, "household_class": "other", "quantity_kg": "35.5"},
        follow=True,
    )
    assert response.status_code == 200
    [row] = enterprise.discharges.all()
    assert (row.station_id, str(row.quantity_kg)) == (p.stations["compactor"].pk, "35.500")
    # A class the enterprise did not register: nothing written, the field named.
    response = client.post(
        "/household/park/discharge/",
        {"enterprise": enterprise.pk, "household_class": "recyclable", "quantity_kg": "3"},
        follow=True,
    )
    assert enterprise.discharges.count() == 1 and "household_class" in response.content.decode()


def test_pages_open_on_the_latest_day_and_month(p: Park) -> None:
    day = yesterday(p.zone)
    full_day(p, day, skip=("clearance",))
    client = _client(p.operator)
    body = client.get("/household/park/").content.decode()
    assert day.isoformat() in body
    assert 'name="kind"' not in body  # a past day: no buttons
    month = client.get("/household/park/month/").content.decode()
    assert 'id="park-month"' in month
    assert client.get("/household/park/month/?period=2026-13").status_code == 200


def test_pages_for_others(p: Park, zone: Zone) -> None:
    enterprise = _client(p.enterprise)
    assert 'id="no-park"' in enterprise.get("/household/park/").content.decode()
    other = make_park(zone, 3)
    foreign = _client(other.operator)
    assert foreign.get(f"/household/park/?park={p.park.code}").status_code == 404
    response = foreign.post(
        "/household/park/log/", {"station": p.stations["compactor"].pk, "kind": "cleaning"}
    )
    assert response.status_code == 404
    regulator = _client(parties.make_org(zone, roles=("regulator",)))
    body = regulator.get(f"/household/park/?park={p.park.code}").content.decode()
    assert "亦城财富中心1" in body and 'name="kind"' not in body


# --- API -------------------------------------------------------------------------------------------------


def test_api(p: Park, zone: Zone) -> None:
    api = parties.api_client(p.operator)
    made = api.post(
        "/api/household/park/logs", {"station_id": p.stations["reinspection"].pk, "kind": "cleaning"}
    )
    assert made.status_code == 201, made.content
    status = api.get("/api/household/park/status").json()
    assert status["park"] == p.park.code and len(status["stations"]) == 4
    reinspection = next(s for s in status["stations"] if s["kind"] == "reinspection")
    assert {r["key"]: r["done"] for r in reinspection["requirements"]}["cleaning"] == 1
    bad = api.post("/api/household/park/logs", {"station_id": p.stations["reinspection"].pk, "kind": "nap"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    reg = api.post(
        "/api/household/park/enterprises",
        {
            "organization_id": p.enterprise.pk,
            "waste_classes": ["recyclable"],
            "expected_kg": {"recyclable": "5"},
        },
    )
    assert reg.status_code == 201, reg.content
    assert [e["organization"] for e in api.get("/api/household/park/enterprises").json()] == ["园区企业1"]
    dis = api.post(
        "/api/household/park/discharges",
        {
            "enterprise_id": reg.json()["id"],
            "station_id": p.stations["recyclables"].pk,
            "household_class": "recyclable",
            "quantity_kg": "4.5",
            "day": park.today(zone.pk).isoformat(),
        },
    )
    assert dis.status_code == 201, dis.content
    # Another park's operator: not found; a read token: refused.
    other = make_park(zone, 4)
    foreign = parties.api_client(other.operator)
    assert foreign.get("/api/household/park/status", park=p.park.code).status_code == 404
    assert (
        foreign.post(
            "/api/household/park/logs", {"station_id": p.stations["reinspection"].pk, "kind": "cleaning"}
        ).status_code
        == 404
    )
    reader = parties.api_client(p.operator, ["read"])
    assert (
        reader.post(
            "/api/household/park/logs", {"station_id": p.stations["reinspection"].pk, "kind": "cleaning"}
        ).status_code
        == 403
    )
    assert reader.get("/api/household/park/status").status_code == 200


# --- CLI --------------------------------------------------------------------------------------------------


def _run(zone: Zone, *args: str) -> Any:
    out = StringIO()
    call_command("household", *args, "--zone", zone.code, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_cli(p: Park) -> None:
    zone = p.zone
    day = yesterday(zone)
    station = _run(
        zone,
        "park",
        "station",
        "P1-EXTRA",
        "--kind",
        "compactor",
        "--name",
        "二号挤压站",
        "--model",
        "KJ-14",
        "--park",
        p.park.code,
    )
    assert station["compactor_model"] == "KJ-14"
    log = _run(zone, "park", "log", str(station["id"]), "--kind", "clearance", "--m3", "13.5", "--kg", "900")
    assert log["kind"] == "clearance"
    registered = _run(
        zone,
        "park",
        "register",
        str(p.enterprise.pk),
        "--classes",
        "kitchen,other",
        "--expected",
        "kitchen=8",
        "--park",
        p.park.code,
    )
    assert registered["expected"] == {"kitchen": "8.000"}
    status = _run(zone, "park", "status", "--park", p.park.code)
    assert len(status["stations"]) == 5
    first = _run(zone, "park-check", "--day", day.isoformat())
    assert first["raised"] > 0
    assert _run(zone, "park-check", "--day", day.isoformat())["raised"] == 0


# --- Demo -------------------------------------------------------------------------------------------------


def test_demo_step(zone: Zone) -> None:
    """The step gives the pilot park its four stations, registered enterprises, a month of logs with a
    couple of misses (raised as alarms once), quickly."""
    import time as clock

    from zerowaste.core.demo import DemoContext
    from zerowaste.household.demo_park import build_park_regime

    area = Area.objects.create(zone=zone, code="biomed", name="生物医药园", kind="park")
    operator = parties.make_org(zone, roles=("park_operator",), area_id=area.pk)
    producers = [parties.make_org(zone, roles=("producer",), area_id=area.pk) for _i in range(7)]
    ctx = DemoContext(zone=zone, seed=1, scale=1, actor=Actor.system(zone))
    ctx.areas["biomed"] = area
    ctx.organizations = {"park_operator": [operator], "hazardous:park_producer": producers}
    started = clock.monotonic()
    build_park_regime(ctx)
    assert clock.monotonic() - started < 5
    assert ParkStation.objects.filter(zone=zone, park=area).count() == 4
    assert StationLog.objects.filter(zone=zone).count() > 30 * 4 * 9
    kinds = set(Alarm.objects.filter(zone=zone).values_list("kind", flat=True))
    assert {rules.ALARM_PARK_CLEANING, rules.ALARM_PARK_ROUND, rules.ALARM_PARK_PEST_CONTROL} <= kinds
    assert Alarm.objects.filter(zone=zone).count() <= 4  # a couple of misses, not noise
    missed = park.today(zone.pk) - timedelta(days=3)  # the compactor's short day
    page = _client(operator).get(f"/household/park/month/?period={missed:%Y-%m}")
    assert page.status_code == 200 and 'class="tag warn"' in page.content.decode()
