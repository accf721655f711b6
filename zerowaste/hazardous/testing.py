"""Building a pilot park for tests and the isolation walk, through the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from zerowaste.core.authz import Actor
from zerowaste.core.models import Area, Organization, OrganizationRole, Vehicle, Zone
from zerowaste.testing import parties
from zerowaste.transfers.testing import ensure_catalogs, make_carrier, make_receiver

from . import services
from .models import Container, IdentificationReport, Inspection, Store, TreatmentFacility


@dataclass
class Park:
    zone: Zone
    park: Area
    other_park: Area
    operator: Organization
    producer: Organization
    producer2: Organization
    outsider: Organization
    receiver: Organization
    carrier: Organization
    vehicle: Vehicle
    regulator: Organization
    store: Store

    @property
    def system(self) -> Actor:
        return Actor.system(self.zone)

    def actor(self, org: Organization, role: str = "admin") -> Actor:
        return parties.actor_of(org, role)

    def collect(self, **extra: Any) -> Container:
        data = {
            "producer_id": self.producer.pk,
            "waste_code": "900-041-49",
            "quantity_kg": 120,
            "bay": "A",
            "analysis_report": "检测报告2021-001",
            "packaging": "吨桶",
            **extra,
        }
        return services.record_collection(self.system, self.store.pk, data=data)


_n = iter(range(1, 10**6))


def make_park(zone: Zone | None = None, operator: Organization | None = None) -> Park:
    zone = zone or parties.make_zone()
    ensure_catalogs(zone)
    n = next(_n)
    park = Area.objects.create(zone=zone, code=f"park{n}", name=f"生物医药园{n}", kind="park")
    other = Area.objects.create(zone=zone, code=f"other{n}", name=f"其他园区{n}", kind="park")
    if operator is None:
        operator = parties.make_org(zone, roles=("park_operator",), area_id=park.pk)
    else:
        if not operator.roles.filter(role="park_operator").exists():
            OrganizationRole.objects.create(zone=zone, organization=operator, role="park_operator")
        operator.area_id = park.pk
        operator.save(update_fields=["area"])
    producer = parties.make_org(zone, roles=("producer",), area_id=park.pk)
    producer2 = parties.make_org(zone, roles=("producer",), area_id=park.pk)
    outsider = parties.make_org(zone, roles=("producer",), area_id=other.pk)
    receiver = make_receiver(zone, codes=["HW49", "HW06", "HW34", "HW35", "HW08", "HW17"])
    carrier, vehicle = make_carrier(zone)
    regulator = parties.make_org(zone, roles=("regulator",))
    system = Actor.system(zone)
    store = services.create_store(
        system,
        data={
            "operator_id": operator.pk,
            "code": f"S{n}",
            "name": f"园区危废仓库{n}",
            "capacity_t": "100",
            "bays": ["A", "B", "C"],
            "insurance_policy": "PICC-2021-001",
            "insurance_valid_to": "2035-12-31",
            "technicians": 3,
        },
    )
    services.add_contract(
        system,
        store.pk,
        data={
            "receiver_id": receiver.pk,
            "number": f"HT{n}",
            "categories": ["HW49", "HW06", "HW34", "HW35", "HW08", "HW17"],
            "valid_from": "2015-01-01",
            "valid_to": "2035-12-31",
        },
    )
    return Park(
        zone,
        park,
        other,
        operator,
        producer,
        producer2,
        outsider,
        receiver,
        carrier,
        vehicle,
        regulator,
        store,
    )


# --- The isolation walk ----------------------------------------------------------------------------


def _park_of(org: Organization) -> Park:
    """A park operated by `org` (the owner has one of everything)."""
    store = Store.objects.filter(zone_id=org.zone_id, operator=org).first()
    zone = Zone.objects.get(pk=org.zone_id)
    if store is None:
        return make_park(zone, operator=org)
    p = make_park(zone)
    p.store = store
    return p


def _container(org: Organization) -> Container:
    p = _park_of(org)
    producer = parties.make_org(p.zone, roles=("producer",), area_id=p.store.park_id)
    return p.collect(producer_id=producer.pk)


def _report(org: Organization) -> IdentificationReport:
    if not org.roles.filter(role="producer").exists():
        OrganizationRole.objects.create(zone_id=org.zone_id, organization=org, role="producer")
    ensure_catalogs(Zone.objects.get(pk=org.zone_id))
    system = Actor.system(Zone.objects.get(pk=org.zone_id))
    return services.file_report(system, data={**REPORT_DATA, "producer_id": org.pk})


def _inspection(org: Organization) -> Inspection:
    system = Actor.system(Zone.objects.get(pk=org.zone_id))
    return services.record_inspection(system, data={"organization_id": org.pk, "result": "passed"})


def make_facility(
    org: Organization,
    *,
    codes: list[str] | None = None,
    licence_codes: list[str] | None = None,
    mode: str = "own_plant",
    activity: str = "disposal",
    method: str = "焚烧",
    shared_with: list[int] | None = None,
    valid_from: date = date(2015, 1, 1),
    valid_to: date = date(2035, 12, 31),
) -> TreatmentFacility:
    """A facility of `org`'s plant with its site and HW operating licence (seed:3925-3935)."""
    from zerowaste.core import services as core
    from zerowaste.core.models import Site

    from . import facilities

    zone = Zone.objects.get(pk=org.zone_id)
    ensure_catalogs(zone)
    if not org.roles.filter(role="producer").exists():
        OrganizationRole.objects.create(zone=zone, organization=org, role="producer")
    n = next(_n)
    site = Site.objects.create(zone=zone, organization=org, name=f"厂区{n}", kind="plant")
    system = Actor.system(zone)
    licence = core.add_licence(
        system,
        org.pk,
        kind="hw_operating",
        number=f"京环危自{n}",
        issuer="生态环境局",
        valid_from=valid_from,
        valid_to=valid_to,
        waste_codes=licence_codes if licence_codes is not None else ["HW49", "HW06"],
    )
    return facilities.register_facility(
        system,
        data={
            "operator_id": org.pk,
            "site_id": site.pk,
            "mode": mode,
            "activity": activity,
            "method": method,
            "waste_codes": codes or ["HW49"],
            "eia_approval_number": f"京环审[2019]{n}号",
            "eia_approval_date": "2019-06-01",
            "licence_id": licence.pk,
            "shared_with": shared_with or [],
        },
    )


REPORT_DATA: dict[str, Any] = {
    "waste_name": "沾染微量试剂的废包装袋",
    "waste_code": "900-041-49",
    "agency": "北京某鉴别机构",
    "basics": "委托方概况、被鉴别物情况",
    "process": "鉴别方案、采样检测、报告编制",
    "testing": "检测项目和方法、采样记录和检测结果",
    "analysis": "危险特性分析：不具有危险特性",
    "annexes": "鉴别方案及评估意见、检测报告",
    "expert_opinion": "专家组全体成员签字同意",
    "conclusion": "not_hazardous",
}

ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "hw_store_id": lambda org: _park_of(org).store.pk,
    "hw_container_id": lambda org: _container(org).pk,
    "hw_report_id": lambda org: _report(org).pk,
    "hw_inspection_id": lambda org: _inspection(org).pk,
    "hw_facility_id": lambda org: make_facility(org).pk,
}

ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "HazardousCollectionIn.waste_code": lambda: "900-041-49",
    "HazardousReportIn.waste_code": lambda: "",
    "HazardousReportIn.conclusion": lambda: "hazardous",
    "HazardousInspectionIn.result": lambda: "passed",
}

__all__ = ["ISOLATION_PARAMS", "ISOLATION_VALUES", "Decimal", "Park", "date", "make_facility", "make_park"]
