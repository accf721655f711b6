"""Household operations (ops17): ingest counts alarms and points; `serve` starts the household
service (consumer + scheduler); the scheduled detection runs each day once; a vehicle off its planned
route raises one alarm per vehicle, day and station; the monthly red/black lists; education visits."""

from __future__ import annotations

import contextlib
import json
import socket
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from zerowaste.core import cli as core_cli
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Zone
from zerowaste.household import ingest, ops, rules
from zerowaste.household.models import Alarm, DetectRun, EducationVisit, QualityListEntry
from zerowaste.household.mqtt import ConsumerStats
from zerowaste.household.service import Service
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, TZ, at, household, last_working_day, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone, stations=3)


def _loading(
    reg: Registry, station: int, when: Any, *, giver: str = "50.000", receiver: str = "50.000"
) -> list:  # type: ignore[type-arg]
    key = f"L-{seq()}"
    return [
        event(
            reg.station_devices[station],
            seq(),
            when,
            weight=giver,
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_GIVER,
            handover=key,
            vehicle=reg.vehicle.plate,
        ),
        event(
            reg.vehicle_device,
            seq(),
            when + timedelta(minutes=1),
            weight=receiver,
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            handover=key,
            station=reg.stations[station].code,
        ),
    ]


def _json(zone: Zone, *args: str) -> Any:
    out = StringIO()
    call_command("household", *args, "--zone", zone.code, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


# --- 6. Ingest counts -----------------------------------------------------------------------------------


def test_ingest_counts_alarms_and_points_and_the_consumer_adds_them(reg: Registry) -> None:
    home = household(reg)
    drop = event(reg.station_devices[0], seq(), NOW - timedelta(hours=2), source=home.code, quality_grade="A")
    result = send(reg, drop, *_loading(reg, 0, NOW - timedelta(hours=1), receiver="40.000"))
    assert result.as_dict() == {"stored": 3, "duplicate": 0, "dead_lettered": 0, "alarms": 1, "points": 2}
    stats = ConsumerStats()
    stats.add(result)
    stats.add(ingest.IngestResult(stored=1, duplicate=0, dead_lettered=0, alarms=2, points=3))
    assert (stats.stored, stats.alarms, stats.points) == (4, 3, 5)


def test_http_batch_answers_alarms_and_points(reg: Registry) -> None:
    client = parties.api_client(parties.make_org(reg.zone, roles=("carrier",)), ("declare",))
    items = [
        {"event": e, "sig": rules.sign(reg.key(reg.station_devices[0] if i == 0 else reg.vehicle_device), e)}
        for i, e in enumerate(_loading(reg, 0, NOW - timedelta(hours=1), receiver="40.000"))
    ]
    answer = client.post("/api/household/events", {"events": items})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"stored": 2, "duplicate": 0, "dead_lettered": 0, "alarms": 1, "points": 0}


# --- 2. serve starts the household service -----------------------------------------------------------


def test_serve_runs_the_household_service_and_can_leave_the_consumer_out() -> None:
    assert core_cli.household_service_command()[-3:] == ["manage", "household", "service"]
    assert core_cli.household_service_command(consumer=False)[-2:] == ["service", "--no-consumer"]


def test_unreachable_broker_is_one_line_and_the_scheduler_still_runs(reg: Registry) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    said: list[str] = []
    service = Service(port=port, say=said.append)
    assert service.start_consumers() == 0
    assert said == [f"household consumer: MQTT broker 127.0.0.1:{port} not reachable; not consuming"]
    results = service.scheduler_once()
    assert reg.zone.code in {r.zone_code for r in results}
    assert DetectRun.objects.filter(zone=reg.zone).count() == 1
    assert Service(consume=False, say=said.append).start_consumers() == 0
    assert len(said) == 1


@pytest.mark.django_db(transaction=True)
def test_service_consumes_every_zone_when_the_broker_is_up(reg: Registry) -> None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        pytest.skip("no MQTT broker on 127.0.0.1:1883")
    service = Service(prefix_of=lambda z: f"zwtest/ops/{z.code}")
    try:
        assert service.start_consumers() == Zone.objects.count()
        assert all(c.wait_subscribed() for c in service.consumers)
        assert {c.client_id for c in service.consumers} >= {f"zw-serve-{reg.zone.code}"}
    finally:
        service.stop()
        service.shutdown()


# --- 3. Scheduled detection ---------------------------------------------------------------------------


def test_scheduled_detection_runs_a_day_once_and_escalates(reg: Registry) -> None:
    day = last_working_day()
    send(reg, event(reg.station_devices[0], seq(), at(day, 8), weight="20.000"))
    now = at(day + timedelta(days=1), 1)
    first = ops.detect_once(reg.zone, day, now=now)
    assert first.ran and first.raised >= 1
    assert Alarm.objects.filter(zone=reg.zone, kind=rules.ALARM_NOT_CLEARED).count() == 1
    again = ops.detect_once(reg.zone, day, now=now)
    assert (again.ran, again.raised) == (False, 0)
    assert DetectRun.objects.filter(zone=reg.zone, day=day).count() == 1
    # Weeks later, still unresolved: the next pass escalates it, once.
    late = now + timedelta(days=20)
    assert ops.detect_once(reg.zone, day, now=late).escalated >= 1
    assert ops.detect_once(reg.zone, day, now=late).escalated == 0
    assert Alarm.objects.filter(zone=reg.zone, escalated_at__isnull=True).count() == 0


def test_scheduler_cli_once(reg: Registry) -> None:
    rows = _json(reg.zone, "service", "--once")
    mine = [r for r in rows if r["zone"] == reg.zone.code]
    assert mine and mine[0]["ran"] is True
    again = [r for r in _json(reg.zone, "service", "--once") if r["zone"] == reg.zone.code]
    assert again[0]["ran"] is False


# --- 4. Vehicle off route -----------------------------------------------------------------------------


def test_off_route_once_per_vehicle_day_and_station(reg: Registry) -> None:
    day = last_working_day()
    system = Actor.system(reg.zone)
    ops.plan_route(system, reg.vehicle.pk, day, [reg.stations[0].pk, reg.stations[1].pk])
    assert send(reg, *_loading(reg, 0, at(day, 8))).alarms == 0  # on the route
    assert send(reg, *_loading(reg, 2, at(day, 9))).alarms == 1  # station 2 is not
    assert send(reg, *_loading(reg, 2, at(day, 10))).alarms == 0  # the same station that day: once
    (alarm,) = Alarm.objects.filter(zone=reg.zone, kind=rules.ALARM_VEHICLE_OFF_ROUTE)
    assert (alarm.vehicle_id, alarm.station_id, alarm.day) == (reg.vehicle.pk, reg.stations[2].pk, day)
    assert alarm.owner_organization_id == reg.vehicle.organization_id
    assert alarm.figures["route"] == f"{reg.stations[0].code}, {reg.stations[1].code}"
    assert reg.stations[2].code in alarm.figures_text
    # Another day without a route: no alarm.
    assert send(reg, *_loading(reg, 2, at(day - timedelta(days=7), 9))).alarms == 0


def test_route_planned_after_the_events_is_checked_by_the_day_detection(reg: Registry) -> None:
    day = last_working_day()
    send(reg, *_loading(reg, 1, at(day, 9)))
    ops.plan_route(Actor.system(reg.zone), reg.vehicle.pk, day, [reg.stations[0].pk])
    assert ops.detect_off_route_day(reg.zone.pk, day, NOW) == 1
    assert ops.detect_off_route_day(reg.zone.pk, day, NOW) == 0


def test_route_bad_input_names_the_field(reg: Registry) -> None:
    system = Actor.system(reg.zone)
    day = last_working_day()
    with pytest.raises(Invalid) as bad:
        ops.plan_route(system, reg.vehicle.pk, day, [reg.stations[0].pk, 999999])
    assert bad.value.errors[0]["field"] == "stations"
    with pytest.raises(Invalid):
        ops.plan_route(system, reg.vehicle.pk, day, [reg.stations[0].pk, reg.stations[0].pk])
    with pytest.raises(Invalid) as bad:
        ops.plan_route(system, 999999, day, [reg.stations[0].pk])
    assert bad.value.errors[0]["field"] == "vehicle"
    other_carrier = parties.actor_of(parties.make_org(reg.zone, roles=("carrier",)))
    with pytest.raises(Invalid) as bad:  # another carrier's vehicle is not one it sees
        ops.plan_route(other_carrier, reg.vehicle.pk, day, [reg.stations[0].pk])
    assert bad.value.errors[0]["field"] == "vehicle"
    producer = parties.actor_of(parties.make_org(reg.zone, roles=("producer",)))
    with pytest.raises(Forbidden):
        ops.plan_route(producer, reg.vehicle.pk, day, [reg.stations[0].pk])
    with pytest.raises(Forbidden):  # the vehicle's own carrier, but a viewer
        ops.plan_route(parties.actor_of(reg.vehicle.organization, "viewer"), reg.vehicle.pk, day, [])


def test_route_cli_and_api(reg: Registry) -> None:
    day = last_working_day()
    ids = f"{reg.stations[1].pk},{reg.stations[0].pk}"
    rows = _json(
        reg.zone, "route", "--vehicle", str(reg.vehicle.pk), "--day", day.isoformat(), "--stations", ids
    )
    assert [r["station"] for r in rows] == [reg.stations[1].code, reg.stations[0].code]
    regulator = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)))
    answer = regulator.post(
        "/api/household/routes",
        {"vehicle_id": reg.vehicle.pk, "day": day.isoformat(), "station_ids": [reg.stations[2].pk]},
    )
    assert answer.status_code == 200, answer.content
    assert [r["station"] for r in answer.json()] == [reg.stations[2].code]


# --- 5. Red/black lists and education visits ----------------------------------------------------------


def test_rank_quality() -> None:
    rows = [(1, 10, 10, 0), (2, 10, 5, 0), (3, 10, 2, 6), (4, 10, 6, 1), (5, 2, 0, 2), (6, 10, 0, 9)]
    red, black = rules.rank_quality(rows, size=2)
    assert [r[0] for r in red] == [1, 2]
    assert [r[0] for r in black] == [6, 3]  # 5 has too few graded drops


def _graded(reg: Registry, source: Any, grades: str, day: Any) -> None:
    send(
        reg,
        *[
            event(
                reg.station_devices[0],
                seq(),
                at(day, 8, i),
                weight="1.000",
                source=source.code,
                quality_grade=g,
            )
            for i, g in enumerate(grades)
        ],
    )


def test_monthly_lists_compiled_and_read(reg: Registry) -> None:
    day = last_working_day()
    good, fair, bad = household(reg), household(reg), household(reg)
    _graded(reg, good, "AAAA", day)
    _graded(reg, fair, "AAB", day)
    _graded(reg, bad, "CCB", day)
    month = day.replace(day=1)
    assert ops.compile_lists(reg.zone.pk, month) == 3
    assert ops.compile_lists(reg.zone.pk, month) == 3  # compiled again: replaced, not added
    assert QualityListEntry.objects.filter(zone=reg.zone).count() == 3
    regulator = parties.make_org(reg.zone, roles=("regulator",))
    answer = parties.api_client(regulator, ("read",)).get("/api/household/lists", month=f"{month:%Y-%m}")
    assert answer.status_code == 200, answer.content
    got = [(r["list"], r["rank"], r["source"]) for r in answer.json()]
    assert got == [("black", 1, bad.code), ("red", 1, good.code), ("red", 2, fair.code)]
    latest = parties.api_client(regulator, ("read",)).get("/api/household/lists")
    assert latest.json() == answer.json()
    assert (
        parties.api_client(regulator, ("read",)).get("/api/household/lists", month="2026-13").status_code
        == 422
    )
    carrier = parties.api_client(parties.make_org(reg.zone, roles=("carrier",)), ("read",))
    assert carrier.get("/api/household/lists").status_code == 403
    rows = _json(reg.zone, "lists", "--month", f"{month:%Y-%m}")
    assert [r["source"] for r in rows] == [bad.code, good.code, fair.code]


def _quality_alarm(reg: Registry) -> Alarm:
    source = household(reg)
    _graded(reg, source, "CCC", NOW.astimezone(TZ).date() - timedelta(days=1))
    return Alarm.objects.get(zone=reg.zone, kind=rules.ALARM_QUALITY, source=source)


def test_education_visit_resolves_the_quality_alarm(reg: Registry) -> None:
    alarm = _quality_alarm(reg)
    regulator = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)))
    visited_on = NOW.astimezone(TZ).date()
    bad = regulator.post(
        f"/api/household/alarms/{alarm.pk}/education-visit",
        {"visited_on": visited_on.isoformat(), "visited_by": " "},
    )
    assert bad.status_code == 422
    assert "visited_by" in bad.content.decode()
    answer = regulator.post(
        f"/api/household/alarms/{alarm.pk}/education-visit",
        {"visited_on": visited_on.isoformat(), "visited_by": "王楼门长", "note": "讲解厨余分类"},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["resolution_kind"] == "education_visit"
    alarm.refresh_from_db()
    assert alarm.resolved_at is not None and "王楼门长" in alarm.resolution
    assert EducationVisit.objects.get(alarm=alarm).source_id == alarm.source_id
    again = regulator.post(
        f"/api/household/alarms/{alarm.pk}/education-visit",
        {"visited_on": visited_on.isoformat(), "visited_by": "王楼门长"},
    )
    assert again.status_code == 422  # already resolved


def test_education_visit_only_for_quality_alarms_and_cli(reg: Registry) -> None:
    send(reg, *_loading(reg, 0, NOW - timedelta(hours=2), receiver="30.000"))
    mismatch = Alarm.objects.get(zone=reg.zone, kind=rules.ALARM_WEIGHT_MISMATCH)
    with pytest.raises(Invalid):
        ops.record_education_visit(
            Actor.system(reg.zone), mismatch.pk, visited_on=NOW.date() - timedelta(days=1), visited_by="x"
        )
    alarm = _quality_alarm(reg)
    row = _json(
        reg.zone, "visit", str(alarm.pk), "--on", (NOW.date() - timedelta(days=1)).isoformat(), "--by", "李"
    )
    assert row["alarm_id"] == alarm.pk
    assert Alarm.objects.get(pk=alarm.pk).resolved_at is not None


def test_lists_page(reg: Registry, client: Any) -> None:
    day = last_working_day()
    good, bad = household(reg), household(reg)
    _graded(reg, good, "AAA", day)
    _graded(reg, bad, "CCA", day)
    ops.compile_lists(reg.zone.pk, day.replace(day=1))
    regulator = parties.make_org(reg.zone, roles=("regulator",))
    client.force_login(parties.make_member(regulator).user)
    page = client.get("/household/lists/")
    assert page.status_code == 200
    text = page.content.decode()
    assert good.code in text and bad.code in text and reg.community.name in text
    assert client.get("/household/lists/?month=2026-13").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_two_consumers_storing_the_two_sides_at_once_raise_the_mismatch(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the bench: each transaction saw only its own side, so neither raised the alarm."""
    import threading

    from django.db import connection

    from zerowaste.household import alarms

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers")
    barrier = threading.Barrier(2)
    original = alarms._handover_alarms

    def meet_then_check(zone_id: int, keys: set[str]) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)  # both sides inserted, neither committed (without the lock)
        return original(zone_id, keys)

    monkeypatch.setattr(alarms, "_handover_alarms", meet_then_check)
    giver, receiver = _loading(reg, 0, NOW - timedelta(hours=1), receiver="40.000")
    results: list[int] = []

    def one(e: dict[str, Any]) -> None:
        try:
            results.append(send(reg, e).alarms)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(e,)) for e in (giver, receiver)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 1]
    assert Alarm.objects.filter(zone=reg.zone, kind=rules.ALARM_WEIGHT_MISMATCH).count() == 1
