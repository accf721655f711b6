"""Building parties and transfers for tests, the isolation walk and the benchmark, through the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Vehicle, Zone
from zerowaste.testing import parties

from . import services, webhooks
from .models import RevisionRequest, Transfer, WebhookSubscription

HW_CODE = "900-041-49"
ISW_CODE = "99-01-01"


def ensure_catalogs(zone: Zone) -> None:
    from zerowaste.catalog import services as catalog

    catalog.load_standard_catalogs(Actor.system(zone), streams=["isw", "hw"])


_plates = iter(range(10000, 99999))


@dataclass
class World:
    zone: Zone
    producer: Organization
    carrier: Organization
    carrier2: Organization
    receiver: Organization
    regulator: Organization
    vehicle: Vehicle
    vehicle2: Vehicle

    def actor(self, org: Organization, role: str = "admin") -> Actor:
        return parties.actor_of(org, role)

    def data(self, stream: str = "hw", tonnes: str = "10", **extra: Any) -> dict[str, Any]:
        code = HW_CODE if stream == "hw" else ISW_CODE
        return {
            "stream": stream,
            "consignee_id": self.receiver.pk,
            "carrier_id": self.carrier.pk,
            "planned_date": timezone.localdate().isoformat(),
            "lines": [{"waste_code": code, "estimated_t": tonnes, "packaging": "桶", "package_count": 10}],
            **extra,
        }


def make_carrier(zone: Zone, *, permit: bool = True, name: str | None = None) -> tuple[Organization, Vehicle]:
    system = Actor.system(zone)
    org = parties.make_org(zone, roles=("carrier",), name=name)
    permits = []
    if permit:
        lic = core.add_licence(
            system,
            org.pk,
            kind="hw_transport",
            number=f"运{org.pk}",
            issuer="交通委",
            valid_from=date(2015, 1, 1),
            valid_to=date(2035, 12, 31),
        )
        permits = [lic.pk]
    vehicle = core.add_vehicle(
        system,
        org.pk,
        plate=f"京A{next(_plates)}",
        vehicle_type="危险货物运输车",
        capacity_kg=40000,
        permit_ids=permits,
    )
    return org, vehicle


def make_receiver(
    zone: Zone,
    *,
    codes: list[str] | None = None,
    capacity: str | None = "100000",
    licence: bool = True,
    name: str | None = None,
) -> Organization:
    org = parties.make_org(zone, roles=("receiver",), name=name)
    if licence:
        core.add_licence(
            Actor.system(zone),
            org.pk,
            kind="hw_operating",
            number=f"京环危{org.pk}",
            issuer="生态环境局",
            valid_from=date(2015, 1, 1),
            valid_to=date(2035, 12, 31),
            waste_codes=codes if codes is not None else ["HW49", "HW06", "HW34"],
            annual_capacity_t=Decimal(capacity) if capacity else None,
        )
    return org


def make_world(zone: Zone | None = None, producer: Organization | None = None) -> World:
    zone = zone or parties.make_zone()
    ensure_catalogs(zone)
    carrier, vehicle = make_carrier(zone)
    carrier2, vehicle2 = make_carrier(zone)
    return World(
        zone=zone,
        producer=producer or parties.make_org(zone, roles=("producer",)),
        carrier=carrier,
        carrier2=carrier2,
        receiver=make_receiver(zone),
        regulator=parties.make_org(zone, roles=("regulator",)),
        vehicle=vehicle,
        vehicle2=vehicle2,
    )


def advance(w: World, t: Transfer, target: str, *, received: str | None = None) -> Transfer:
    """Drive a transfer from draft to `target` through the services, as the right parties."""
    system = Actor.system(w.zone)
    path = {
        "draft": [],
        "issued": ["issue"],
        "in_transit": ["issue", "pick_up"],
        "delivered": ["issue", "pick_up", "deliver"],
        "closed": ["issue", "pick_up", "deliver", "accept"],
        "refused": ["issue", "pick_up", "deliver", "refuse"],
        "cancelled": ["issue", "cancel"],
    }[target]
    for action in path:
        data: dict[str, Any] = {}
        if action == "pick_up":
            data = {"vehicle_id": w.vehicle.pk, "quantity_seen_t": str(t.estimated_t), "driver": "张师傅"}
        elif action == "accept":
            data = {"received_t": received or str(t.estimated_t)}
        elif action in ("refuse", "cancel"):
            data = {"reason": "测试"}
        t = services.perform(system, t.pk, action, **data)
    return t


# --- The generic isolation walk (zerowaste.testing.isolation) -------------------------------------


def _world_for(org: Organization) -> World:
    zone = Zone.objects.get(pk=org.zone_id)
    w = make_world(zone, producer=org)
    if not org.roles.filter(role="producer").exists():
        from zerowaste.core.models import OrganizationRole

        OrganizationRole.objects.create(zone=zone, organization=org, role="producer")
    return w


def _transfer(org: Organization) -> Transfer:
    w = _world_for(org)
    t = services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": org.pk})
    return advance(w, t, "delivered")


def _closed_with_request(org: Organization) -> RevisionRequest:
    w = _world_for(org)
    t = services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": org.pk})
    t = advance(w, t, "closed")
    return services.request_revision(Actor.system(w.zone), t.pk, changes={"treatment": "R4"}, reason="更正")


def _number(org: Organization) -> str:
    t = _transfer(org)
    assert t.number
    return t.number


def _subscription(org: Organization) -> WebhookSubscription:
    zone = Zone.objects.get(pk=org.zone_id)
    return WebhookSubscription.objects.create(
        zone=zone, organization=org, url="http://127.0.0.1:9/hook", secret="s" * 48, active=False
    )


def _unknown_id() -> int:
    return 2**40


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "transfer_id": lambda org: _transfer(org).pk,
    "number": _number,
    "request_id": lambda org: _closed_with_request(org).pk,
    "subscription_id": lambda org: _subscription(org).pk,
}

# Bodies naming another organization would make a (legitimate) new transfer about it: point them
# at no organization so that a foreign caller's create is refused (422) without touching the owner.
ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "consignee_id": _unknown_id,
    "carrier_id": _unknown_id,
    "next_carrier_id": _unknown_id,
    "vehicle_id": _unknown_id,
    "storage_id": _unknown_id,
    "TransferIn.stream": lambda: "hw",
    "WebhookIn.url": lambda: "http://127.0.0.1:9/isolation",
}

__all__ = ["ISOLATION_PARAMS", "ISOLATION_VALUES", "World", "advance", "make_world", "webhooks"]
