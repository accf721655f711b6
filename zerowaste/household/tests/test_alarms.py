"""Alarms: each kind raised exactly once per cause — when detection runs twice, when the events'
duplicates arrive again, when both sides come in separate batches — resolution required, escalation
past the deadline."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Zone
from zerowaste.core.workdays import add_working_days
from zerowaste.household import alarms, rules
from zerowaste.household.models import Alarm
from zerowaste.household.testing import Registry, event, make_registry

from .helpers2 import NOW, TZ, at, household, last_working_day, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _kinds(zone: Zone) -> list[str]:
    return sorted(Alarm.objects.filter(zone=zone).values_list("kind", flat=True))


def _loading(reg: Registry, handover: str, giver_kg: str, receiver_kg: str, when=None) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    when = when or NOW - timedelta(hours=3)
    station, terminal = reg.stations[0], reg.station_devices[0]
    giver = event(
        terminal,
        seq(),
        when,
        weight=giver_kg,
        node=rules.NODE_STATION_VEHICLE,
        side=rules.SIDE_GIVER,
        handover=handover,
        vehicle=reg.vehicle.plate,
    )
    receiver = event(
        reg.vehicle_device,
        seq(),
        when + timedelta(minutes=1),
        weight=receiver_kg,
        node=rules.NODE_STATION_VEHICLE,
        side=rules.SIDE_RECEIVER,
        handover=handover,
        station=station.code,
    )
    return [giver, receiver]


def test_weight_mismatch_once_whatever_the_batches_and_duplicates(reg: Registry) -> None:
    giver, receiver = _loading(reg, "LOAD-1", "100.000", "90.000")
    assert send(reg, giver).alarms == 0  # one side only: nothing to compare yet
    assert send(reg, receiver).alarms == 1
    assert send(reg, giver, receiver).duplicate == 2  # a device re-uploads its buffer
    (alarm,) = Alarm.objects.filter(zone=reg.zone)
    assert alarm.kind == rules.ALARM_WEIGHT_MISMATCH
    assert alarm.owner_organization_id == reg.vehicle.organization_id
    assert alarm.figures == {
        "giver": "100.000",
        "receiver": "90.000",
        "difference": "10.000",
        "tolerance": "2.000",
    }
    with translation.override("en"):
        assert alarm.figures_text.startswith("100.000 kg handed over, 90.000 kg received: 10.000 kg apart")
    with translation.override("zh-hans"):
        assert (
            alarm.figures_text
            == "交出 100.000 千克，接收 90.000 千克：相差 10.000 千克（允许误差 2.000 千克）"
        )
    # A second consumer detecting the same hand-over raises nothing more.
    assert alarms.raise_alarms(reg.zone.pk, alarms._handover_alarms(reg.zone.pk, {"LOAD-1"}), NOW) == 0
    assert Alarm.objects.filter(zone=reg.zone).count() == 1


def test_within_tolerance_no_alarm(reg: Registry) -> None:
    send(reg, *_loading(reg, "LOAD-2", "100.000", "98.500"))  # 1.5 kg < 2 % of 100 kg
    assert _kinds(reg.zone) == []


def test_mixed_loading_once(reg: Registry) -> None:
    when = NOW - timedelta(hours=2)
    trip = [
        event(
            reg.vehicle_device,
            seq(),
            when,
            weight="800.000",
            household_class=cls,
            node=rules.NODE_VEHICLE_SITE,
            side=rules.SIDE_GIVER,
            handover="TRIP-1",
            site=reg.plant.pk,
        )
        for cls in ("kitchen", "other")
    ]
    assert send(reg, *trip).alarms == 1
    send(reg, *trip)
    assert _kinds(reg.zone) == [rules.ALARM_MIXED_LOADING]
    assert Alarm.objects.get(zone=reg.zone).figures["classes"] == "kitchen, other"


def test_bin_over_capacity_once_per_bin_and_day(reg: Registry) -> None:
    heavy = [
        event(
            reg.station_devices[0],
            seq(),
            NOW - timedelta(hours=2, minutes=i),
            weight="300.000",
            bin=reg.bin.chip,
        )
        for i in range(2)
    ]
    assert send(reg, *heavy).alarms == 1  # 240 L of kitchen waste: at most 192 kg
    send(reg, *heavy)
    (alarm,) = Alarm.objects.filter(zone=reg.zone)
    assert (alarm.kind, alarm.bin_id, alarm.station_id) == (
        rules.ALARM_OVER_CAPACITY,
        reg.bin.pk,
        reg.stations[0].pk,
    )
    assert alarm.figures == {"weight": "300.000", "capacity": "240", "limit": "192.000"}


def test_repeated_quality_failures_once(reg: Registry) -> None:
    source = household(reg)

    def failed(minutes: int) -> dict:  # type: ignore[type-arg]
        return event(
            reg.station_devices[0],
            seq(),
            NOW - timedelta(hours=5, minutes=minutes),
            weight="2.000",
            source=source.code,
            quality_grade="C",
            impurities=["plastic_rubber"],
        )

    assert send(reg, failed(1), failed(2)).alarms == 0  # 2 < 3
    assert send(reg, failed(3)).alarms == 1
    assert send(reg, failed(4)).alarms == 0  # still the same episode within 30 days
    (alarm,) = Alarm.objects.filter(zone=reg.zone)
    assert (alarm.kind, alarm.source_id, alarm.owner_area_id) == (
        rules.ALARM_QUALITY,
        source.pk,
        reg.community.pk,
    )


def test_not_cleared_and_idle_once_when_detection_runs_twice(reg: Registry) -> None:
    day = last_working_day()
    send(
        reg,
        event(reg.station_devices[0], seq(), at(day, 8), weight="20.000"),
        event(
            reg.vehicle_device,
            seq(),
            at(day, 9),
            weight="5.000",
            household_class="other",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            station=reg.stations[1].code,
        ),
    )
    first = alarms.detect_day(reg.zone.pk, day)
    # Kitchen waste left at station 0; the vehicle idle 9:00-19:00; two balances that do not close:
    # station 0 (20 kg in, nothing out) and the vehicle (5 kg taken at station 1, nothing delivered).
    assert first.raised == 4
    assert alarms.detect_day(reg.zone.pk, day).raised == 0
    found = list(Alarm.objects.filter(zone=reg.zone).order_by("kind", "cause"))
    assert [a.kind for a in found] == sorted(
        [
            rules.ALARM_MASS_BALANCE,
            rules.ALARM_MASS_BALANCE,
            rules.ALARM_NOT_CLEARED,
            rules.ALARM_VEHICLE_IDLE,
        ]
    )
    by_kind = {a.kind: a for a in found}
    assert by_kind[rules.ALARM_NOT_CLEARED].figures == {
        "received": "20.000",
        "collected": "0.000",
        "left": "20.000",
    }
    assert by_kind[rules.ALARM_NOT_CLEARED].owner_area_id == reg.community.pk
    assert by_kind[rules.ALARM_VEHICLE_IDLE].figures == {"hours": "10.0", "limit": "3"}
    assert by_kind[rules.ALARM_VEHICLE_IDLE].owner_organization_id == reg.vehicle.organization_id
    balances = {
        (a.station_id, a.vehicle_id, a.household_class) for a in found if a.kind == rules.ALARM_MASS_BALANCE
    }
    assert balances == {(reg.stations[0].pk, None, "kitchen"), (None, reg.vehicle.pk, "other")}


def test_resolution_required_and_once(reg: Registry) -> None:
    send(reg, *_loading(reg, "LOAD-3", "50.000", "40.000"))
    alarm = Alarm.objects.get(zone=reg.zone)
    system = Actor.system(reg.zone)
    for blank in ("", "   "):
        with pytest.raises(Invalid) as refused:
            alarms.resolve(system, alarm.pk, blank)
        assert refused.value.errors[0]["field"] == "resolution"
    alarm.refresh_from_db()
    assert alarm.resolved_at is None and alarm.resolution == ""
    done = alarms.resolve(system, alarm.pk, "重新过磅，车载秤校准后一致")
    assert done.state == "resolved" and done.resolution == "重新过磅，车载秤校准后一致"
    with pytest.raises(Invalid):
        alarms.resolve(system, alarm.pk, "again")


def test_escalation_after_the_deadline_to_the_street(reg: Registry) -> None:
    send(reg, *_loading(reg, "LOAD-4", "50.000", "40.000"))
    alarm = Alarm.objects.get(zone=reg.zone)
    raised_on = alarm.raised_at.astimezone(TZ).date()
    assert alarm.deadline == add_working_days(raised_on, rules.ALARM_DEADLINE_WORKING_DAYS[alarm.kind])
    assert alarms.escalate_overdue(reg.zone.pk, alarm.deadline) == 0  # due today: not yet late
    assert alarms.escalate_overdue(reg.zone.pk, alarm.deadline + timedelta(days=1)) == 1
    assert alarms.escalate_overdue(reg.zone.pk, alarm.deadline + timedelta(days=2)) == 0  # once
    alarm.refresh_from_db()
    assert alarm.state == "escalated" and alarm.escalated_to_id == reg.street.pk
    # A resolved alarm is never escalated.
    send(reg, *_loading(reg, "LOAD-5", "50.000", "40.000"))
    other = Alarm.objects.get(zone=reg.zone, handover_key="LOAD-5")
    alarms.resolve(Actor.system(reg.zone), other.pk, "已核实")
    assert alarms.escalate_overdue(reg.zone.pk, other.deadline + timedelta(days=30)) == 0


def test_cause_is_unique_per_zone_not_across_zones(reg: Registry, other_zone: Zone) -> None:
    draft = alarms.AlarmDraft(rules.ALARM_NOT_CLEARED, "not_cleared:station:1:2026-01-05", None, {})
    assert alarms.raise_alarms(reg.zone.pk, [draft, draft], NOW) == 1
    assert alarms.raise_alarms(reg.zone.pk, [draft], NOW) == 0
    assert alarms.raise_alarms(other_zone.pk, [draft], NOW) == 1
    assert Decimal(1) == Alarm.objects.filter(zone=reg.zone).count()
