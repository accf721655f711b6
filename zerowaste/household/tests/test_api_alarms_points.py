"""HTTP API of slice 2: alarms (list with filters, a street regulator's street only, resolve), the
mass balance, a household's points and redemption — with the 401/403/404/422 answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from zerowaste.core.models import Zone
from zerowaste.household import points, rules
from zerowaste.household.models import Alarm, PointsEntry
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, circle, household, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _mismatch(reg: Registry, handover: str) -> Alarm:
    when = NOW - timedelta(hours=2)
    send(
        reg,
        event(
            reg.station_devices[0],
            seq(),
            when,
            weight="60.000",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_GIVER,
            handover=handover,
            vehicle=reg.vehicle.plate,
        ),
        event(
            reg.vehicle_device,
            seq(),
            when,
            weight="50.000",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            handover=handover,
            station=reg.stations[0].code,
        ),
    )
    return Alarm.objects.get(zone=reg.zone, handover_key=handover)


def test_alarms_listed_filtered_and_resolved(reg: Registry, zone: Zone) -> None:
    mine = _mismatch(reg, "API-1")
    other = make_registry(zone)
    theirs = _mismatch(other, "API-2")
    regulator = parties.api_client(parties.make_org(zone, roles=("regulator",)), ("read",))
    everyone = regulator.get("/api/household/alarms").json()["items"]
    assert {a["id"] for a in everyone} == {mine.pk, theirs.pk}
    assert all("60.000" in a["figures"] and "50.000" in a["figures"] for a in everyone)
    street = parties.make_org(zone, roles=("regulator",), area_id=reg.street.pk)
    seen = parties.api_client(street, ("read",)).get("/api/household/alarms", kind="weight_mismatch").json()
    assert [a["id"] for a in seen["items"]] == [mine.pk]
    assert regulator.get("/api/household/alarms", kind="idle_vehicle").status_code == 422
    assert regulator.get("/api/household/alarms", state="resolved").json()["items"] == []
    # The owner (the vehicle's operator) sees its own and resolves it.
    owner = parties.api_client(reg.vehicle.organization)
    assert [a["id"] for a in owner.get("/api/household/alarms").json()["items"]] == [mine.pk]
    empty = owner.post(f"/api/household/alarms/{mine.pk}/resolve", {"resolution": "  "})
    assert empty.status_code == 422 and "resolution" in empty.content.decode()
    missing = owner.post(f"/api/household/alarms/{mine.pk}/resolve", {})
    assert missing.status_code == 422
    done = owner.post(f"/api/household/alarms/{mine.pk}/resolve", {"resolution": "车载秤已校准"})
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["resolution"]) == ("resolved", "车载秤已校准")
    # Another street's alarm is not even there for it.
    assert owner.post(f"/api/household/alarms/{theirs.pk}/resolve", {"resolution": "x"}).status_code == 404
    assert regulator.get("/api/household/alarms", state="resolved").json()["items"][0]["id"] == mine.pk


def test_alarm_refusals(reg: Registry) -> None:
    alarm = _mismatch(reg, "API-3")
    assert Client().get("/api/household/alarms").status_code == 401
    anonymous = Client().post(
        f"/api/household/alarms/{alarm.pk}/resolve", {"resolution": "x"}, content_type="application/json"
    )
    assert anonymous.status_code == 401
    reader = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)), ("read",))
    assert reader.post(f"/api/household/alarms/{alarm.pk}/resolve", {"resolution": "x"}).status_code == 403
    admin = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)))
    assert admin.post("/api/household/alarms/999999999/resolve", {"resolution": "x"}).status_code == 404
    assert admin.get("/api/household/alarms", day="someday").status_code == 422
    assert admin.get("/api/household/balance").status_code == 422  # day is required
    alarm.refresh_from_db()
    assert alarm.resolved_at is None


def test_points_read_and_redeem_with_an_idempotency_key(reg: Registry) -> None:
    home = household(reg)
    merchant = circle(reg)
    send(
        reg,
        event(
            reg.station_devices[0],
            seq(),
            NOW - timedelta(hours=1),
            source=home.code,
            weight="12.000",
            household_class="recyclable.paper",
        ),
    )
    community = parties.api_client(parties.make_org(reg.zone, roles=("regulator",), area_id=reg.community.pk))
    ledger = community.get(f"/api/household/points/{home.code}")
    assert ledger.status_code == 200
    assert ledger.json()["balance"] == 12
    assert ledger.json()["entries"][0]["event"].startswith(reg.station_devices[0].code + "#")
    body = {"points": 5, "merchant_id": merchant.pk}
    first = community.post(f"/api/household/points/{home.code}/redeem", body, idempotency_key="redeem-1")
    again = community.post(f"/api/household/points/{home.code}/redeem", body, idempotency_key="redeem-1")
    assert first.status_code == again.status_code == 200, first.content
    assert first.json() == again.json() and first.json()["balance_after"] == 7
    assert PointsEntry.objects.filter(source=home, reason=rules.POINTS_REDEMPTION).count() == 1
    # 422: more than the balance, a bad number; 404: no such household, or one outside the jurisdiction.
    over = community.post(
        f"/api/household/points/{home.code}/redeem", {"points": 8, "merchant_id": merchant.pk}
    )
    assert over.status_code == 422 and "points" in over.content.decode()
    assert (
        community.post(
            f"/api/household/points/{home.code}/redeem", {"points": 0, "merchant_id": 1}
        ).status_code
        == 422
    )
    assert community.get("/api/household/points/NOPE").status_code == 404
    other = make_registry(reg.zone)
    stranger = parties.api_client(
        parties.make_org(reg.zone, roles=("regulator",), area_id=other.community.pk)
    )
    assert stranger.get(f"/api/household/points/{home.code}").status_code == 404
    assert stranger.post(f"/api/household/points/{home.code}/redeem", body).status_code == 404
    # 403: a read-only token; 401: no token.
    reader = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)), ("read",))
    assert reader.post(f"/api/household/points/{home.code}/redeem", body).status_code == 403
    assert Client().get(f"/api/household/points/{home.code}").status_code == 401
    # The merchant's own organization may redeem there.
    shop_org = parties.make_org(reg.zone, roles=("producer",))
    shop = points.add_merchant(
        __import__("zerowaste.core.authz", fromlist=["Actor"]).Actor.system(reg.zone),
        name="物业服务中心",
        latitude=merchant.latitude,
        longitude=merchant.longitude,
        organization_id=shop_org.pk,
    )
    paid = parties.api_client(shop_org).post(
        f"/api/household/points/{home.code}/redeem", {"points": 2, "merchant_id": shop.pk}
    )
    assert paid.status_code == 200 and paid.json()["balance_after"] == 5
