"""Phone pages (ADR 0056): a keeper records a household's drop (stored once even if posted twice), a
driver confirms the station's hand-over, a keeper of another station is answered 404, the resident's
token page shows the balance (a bad token 404), a merchant redeems; all through the device ingest."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Zone
from zerowaste.household import field, resident, rules
from zerowaste.household.models import (
    Alarm,
    DailyFlow,
    Device,
    FieldConfirmation,
    HandoverEvent,
    PointsAccount,
    Source,
)
from zerowaste.household.testing import Registry, make_registry
from zerowaste.testing import parties

from .helpers2 import circle, household

pytestmark = pytest.mark.django_db


@dataclass
class Field:
    reg: Registry
    home: Source
    keeper_org: Organization
    keeper: Client
    driver: Client
    plant: Client


def _client(org: Organization, role: str = "admin") -> Client:
    client = Client()
    client.force_login(parties.make_member(org, role).user)
    return client


@pytest.fixture
def fld(zone: Zone) -> Field:
    reg = make_registry(zone)
    keeper_org = parties.make_org(zone, roles=("property",), area_id=reg.street.pk)
    reg.stations[0].operator = keeper_org
    reg.stations[0].save(update_fields=["operator"])
    return Field(
        reg,
        household(reg),
        keeper_org,
        _client(keeper_org),
        _client(reg.vehicle.organization),
        _client(reg.plant.organization),
    )


def _drop(fld: Field, token: str = "tok-1", **extra: str) -> dict[str, str]:
    return {
        "token": token,
        "node": rules.NODE_SOURCE_STATION,
        "side": rules.SIDE_RECEIVER,
        "station": fld.reg.stations[0].code,
        "source": fld.home.code,
        "household_class": "kitchen",
        "weight_kg": "2.350",
        "quality_grade": "A",
        **extra,
    }


def test_keeper_scans_a_household_and_records_its_drop_once(fld: Field) -> None:
    page = fld.keeper.get(f"/household/scan/source/{fld.home.code}")
    assert page.status_code == 200
    body = page.content.decode()
    assert fld.home.code in body and 'name="weight_kg"' in body and 'name="token"' in body
    assert "source_station" not in body.replace('value="source_station"', "")  # no raw node names shown

    first = fld.keeper.post("/household/field/confirm/", _drop(fld))
    again = fld.keeper.post("/household/field/confirm/", _drop(fld))  # the double submit
    assert first.status_code == again.status_code == 302
    events = HandoverEvent.objects.filter(zone=fld.reg.zone, source=fld.home)
    assert events.count() == 1
    ev = events.get()
    assert (ev.node, ev.side, ev.weight_kg, ev.quality_grade) == (
        "source_station",
        "receiver",
        Decimal("2.350"),
        "A",
    )
    device = Device.objects.get(pk=ev.device_id)
    assert (device.kind, device.station_id) == (rules.DEVICE_APP, fld.reg.stations[0].pk)
    assert FieldConfirmation.objects.filter(zone=fld.reg.zone).count() == 1
    flow = DailyFlow.objects.get(
        zone=fld.reg.zone, node="source_station", place=f"station:{fld.reg.stations[0].pk}"
    )
    assert (flow.in_kg, flow.events) == (Decimal("2.350"), 1)
    assert PointsAccount.objects.get(source=fld.home).balance == rules.POINTS_PER_GRADE["A"]

    home = fld.keeper.get("/household/field/").content.decode()
    assert fld.home.code in home and "2.350" in home


def test_bad_input_names_the_field_and_stores_nothing(fld: Field) -> None:
    response = fld.keeper.post("/household/field/confirm/", _drop(fld, weight_kg="2.3456"))
    assert response.status_code == 422
    body = response.content.decode()
    assert "form-errors" in body and ("重量" in body or "Weight" in body)
    response = fld.keeper.post(
        "/household/field/confirm/", _drop(fld, token="tok-2", household_class="recyclable.paper")
    )
    assert response.status_code == 422  # a grade is for kitchen waste only
    assert not HandoverEvent.objects.filter(zone=fld.reg.zone).exists()
    assert not FieldConfirmation.objects.exists()


def test_keeper_hands_over_and_driver_confirms_then_plant(fld: Field) -> None:
    station, vehicle = fld.reg.stations[0], fld.reg.vehicle
    form = fld.keeper.get(f"/household/field/confirm/?node=station_vehicle&side=giver&station={station.code}")
    assert form.status_code == 200 and 'name="vehicle"' in form.content.decode()
    assert vehicle.plate not in form.content.decode()  # not the zone's fleet: typed, or recently seen
    posted = fld.keeper.post(
        "/household/field/confirm/",
        {
            "token": "give-1",
            "node": "station_vehicle",
            "side": "giver",
            "station": station.code,
            "vehicle": vehicle.plate,
            "household_class": "kitchen",
            "weight_kg": "120.000",
        },
    )
    assert posted.status_code == 302
    giver = HandoverEvent.objects.get(zone=fld.reg.zone, node="station_vehicle", side="giver")

    home = fld.driver.get("/household/field/").content.decode()
    assert giver.handover_key in home  # waiting for the driver
    form = fld.driver.get(f"/household/field/confirm/?handover={giver.handover_key}")
    assert form.status_code == 200 and "120.000" in form.content.decode()
    data = {
        "token": "recv-1",
        "node": "station_vehicle",
        "side": "receiver",
        "handover": giver.handover_key,
        "station": station.code,
        "vehicle": vehicle.plate,
        "household_class": "kitchen",
        "weight_kg": "119.800",
    }
    assert fld.driver.post("/household/field/confirm/", data).status_code == 302
    receiver = HandoverEvent.objects.get(zone=fld.reg.zone, node="station_vehicle", side="receiver")
    assert receiver.handover_key == giver.handover_key and receiver.vehicle_id == vehicle.pk
    assert Device.objects.get(pk=receiver.device_id).vehicle_id == vehicle.pk
    assert giver.handover_key not in fld.driver.get("/household/field/").content.decode()
    # The same side again under another token is refused by name.
    again = fld.driver.post("/household/field/confirm/", {**data, "token": "recv-2"})
    assert again.status_code == 422
    assert not Alarm.objects.filter(zone=fld.reg.zone, kind=rules.ALARM_WEIGHT_MISMATCH).exists()

    # At the plant: the driver hands over, the plant's clerk weighs 10 kg less → a mismatch alarm.
    fld.driver.post(
        "/household/field/confirm/",
        {
            "token": "give-2",
            "node": "vehicle_site",
            "side": "giver",
            "vehicle": vehicle.plate,
            "site": str(fld.reg.plant.pk),
            "household_class": "kitchen",
            "weight_kg": "119.800",
        },
    )
    trip = HandoverEvent.objects.get(zone=fld.reg.zone, node="vehicle_site", side="giver")
    assert trip.handover_key in fld.plant.get("/household/field/").content.decode()
    fld.plant.post(
        "/household/field/confirm/",
        {
            "token": "recv-3",
            "node": "vehicle_site",
            "side": "receiver",
            "handover": trip.handover_key,
            "vehicle": vehicle.plate,
            "site": str(fld.reg.plant.pk),
            "household_class": "kitchen",
            "weight_kg": "109.800",
        },
    )
    alarm = Alarm.objects.get(zone=fld.reg.zone, kind=rules.ALARM_WEIGHT_MISMATCH)
    assert alarm.owner_organization_id == vehicle.organization_id
    home = fld.driver.get("/household/field/").content.decode()
    assert f'id="alarm-{alarm.pk}"' in home
    resolved = fld.driver.post(f"/household/field/alarms/{alarm.pk}/resolve/", {"resolution": "复秤确认"})
    assert resolved.status_code == 302
    alarm.refresh_from_db()
    assert alarm.resolved_at is not None and alarm.resolution == "复秤确认"


def test_a_keeper_of_another_station_is_answered_404(fld: Field, zone: Zone) -> None:
    other_org = parties.make_org(zone, roles=("property",), area_id=fld.reg.street.pk)
    other = make_registry(zone)
    other.stations[0].operator = other_org
    other.stations[0].save(update_fields=["operator"])
    stranger = _client(other_org)
    assert stranger.get(f"/household/scan/source/{fld.home.code}").status_code == 404
    assert stranger.get(f"/household/scan/bin/{fld.reg.bin.chip}").status_code == 404
    response = stranger.post("/household/field/confirm/", _drop(fld, token="x-1"))
    assert response.status_code == 404
    assert not HandoverEvent.objects.filter(zone=zone, source=fld.home).exists()
    # A viewer of the keeping organization may look but not confirm.
    viewer = _client(fld.keeper_org, role="viewer")
    assert viewer.post("/household/field/confirm/", _drop(fld, token="x-2")).status_code == 403


def test_keeper_scans_the_station_bin_to_hand_over(fld: Field) -> None:
    response = fld.keeper.get(f"/household/scan/bin/{fld.reg.bin.chip}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="station_vehicle"' in body and 'id="vehicle"' in body
    typed = fld.keeper.get(
        "/household/field/scan/", {"q": f"https://zw.example/household/scan/bin/{fld.reg.bin.chip}"}
    )
    assert typed.status_code == 302 and typed["Location"].endswith(f"/household/scan/bin/{fld.reg.bin.chip}")
    typed = fld.keeper.get("/household/field/scan/", {"q": fld.home.code})
    assert typed["Location"].endswith(f"/household/scan/source/{fld.home.code}")


def test_resident_page_by_token_and_a_bad_token_404(fld: Field) -> None:
    fld.keeper.post("/household/field/confirm/", _drop(fld))
    merchant = circle(fld.reg)
    url = resident.resident_url(fld.home)
    assert url.startswith("/household/points/")
    page = Client().get(url)  # no login
    assert page.status_code == 200
    body = page.content.decode()
    assert fld.home.code in body and fld.reg.community.name in body and merchant.name in body
    assert 'id="balance">2<' in body
    assert Client().get(url[:-3] + "xx/").status_code == 404
    assert Client().get(f"/household/points/{fld.home.code}/").status_code == 404


def test_merchant_redeems_by_scanned_token_and_refusals_in_words(fld: Field, zone: Zone) -> None:
    fld.keeper.post("/household/field/confirm/", _drop(fld))
    merchant = circle(fld.reg)
    shop = parties.make_org(zone, roles=("producer",), area_id=fld.reg.street.pk)
    merchant.organization = shop
    merchant.save(update_fields=["organization"])
    clerk = _client(shop, role="clerk")
    assert clerk.get("/household/field/redeem/").status_code == 200
    too_much = clerk.post(
        "/household/field/redeem/",
        {"code": resident.resident_url(fld.home), "points": "5", "merchant": str(merchant.pk)},
    )
    assert too_much.status_code == 422 and "form-errors" in too_much.content.decode()
    ok = clerk.post(
        "/household/field/redeem/",
        {"code": resident.resident_token(fld.home), "points": "2", "merchant": str(merchant.pk)},
    )
    assert ok.status_code == 302
    assert PointsAccount.objects.get(source=fld.home).balance == 0
    unknown = clerk.post(
        "/household/field/redeem/", {"code": "NOPE", "points": "1", "merchant": str(merchant.pk)}
    )
    assert unknown.status_code == 422


def test_service_confirm_is_idempotent_by_token(fld: Field) -> None:
    actor = Actor(zone_id=fld.reg.zone.pk, organization=fld.keeper_org, member_role="admin")
    kwargs = {
        "token": "svc-1",
        "node": rules.NODE_SOURCE_STATION,
        "side": rules.SIDE_RECEIVER,
        "household_class": "recyclable.paper",
        "weight_kg": "3.000",
        "station": fld.reg.stations[0].code,
        "source": fld.home.code,
    }
    first = field.confirm(actor, **kwargs)  # type: ignore[arg-type]
    second = field.confirm(actor, **kwargs)  # type: ignore[arg-type]
    assert first.stored and not second.stored and first.seq == second.seq
    assert first.points == 3
    third = field.confirm(actor, **{**kwargs, "token": "svc-2"})  # type: ignore[arg-type]
    assert third.seq == first.seq + 1
    assert HandoverEvent.objects.filter(zone=fld.reg.zone, source=fld.home).count() == 2


def test_api_handover_is_the_same_confirmation(fld: Field) -> None:
    api = parties.ApiClient(parties.token_for(fld.keeper_org), Client())
    body = {
        "token": "api-1",
        "node": "source_station",
        "side": "receiver",
        "household_class": "kitchen",
        "weight_kg": "1.250",
        "station": fld.reg.stations[0].code,
        "source": fld.home.code,
        "quality_grade": "B",
    }
    first = api.post("/api/household/handovers", body)
    assert first.status_code == 200, first.content
    assert first.json()["stored"] is True and first.json()["points"] == 1
    second = api.post("/api/household/handovers", body)
    assert second.status_code == 200 and second.json()["stored"] is False
    assert second.json()["seq"] == first.json()["seq"]
    bad = api.post("/api/household/handovers", {**body, "token": "api-2", "weight_kg": "-1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "weight_kg"
    driver = parties.ApiClient(parties.token_for(fld.reg.vehicle.organization), Client())
    assert driver.post("/api/household/handovers", {**body, "token": "api-3"}).status_code == 404
    assert HandoverEvent.objects.filter(zone=fld.reg.zone, source=fld.home).count() == 1


def test_an_unknown_typed_code_is_said_on_the_home(fld: Field) -> None:
    typed = fld.keeper.get("/household/field/scan/", {"q": "NO-SUCH-CODE"})
    assert typed.status_code == 302
    home = fld.keeper.get(typed["Location"])
    assert 'id="scan-error"' in home.content.decode()


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_store_once_per_token_and_seqs_never_collide() -> None:
    zone = parties.make_zone()
    reg = make_registry(zone)
    keeper_org = parties.make_org(zone, roles=("property",), area_id=reg.street.pk)
    reg.stations[0].operator = keeper_org
    reg.stations[0].save(update_fields=["operator"])
    home = household(reg)
    actor = Actor(zone_id=zone.pk, organization=keeper_org, member_role="clerk")
    barrier = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(token: str) -> None:
        try:
            barrier.wait()
            done = field.confirm(
                actor,
                token=token,
                node=rules.NODE_SOURCE_STATION,
                side=rules.SIDE_RECEIVER,
                household_class="kitchen",
                weight_kg="1.000",
                station=reg.stations[0].code,
                source=home.code,
            )
            result = "stored" if done.stored else "again"
        except BaseException as exc:
            result = f"error:{exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    tokens = ["same"] * 6 + [f"own-{i}" for i in range(6)]
    threads = [threading.Thread(target=submit, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["again"] * 5 + ["stored"] * 7
    seqs = sorted(HandoverEvent.objects.filter(zone=zone, source=home).values_list("seq", flat=True))
    assert seqs == list(range(1, 8))
    assert Device.objects.filter(zone=zone, kind=rules.DEVICE_APP).count() == 1
