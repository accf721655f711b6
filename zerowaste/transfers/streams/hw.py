"""Hazardous waste (危险废物, `hw`): the national transfer-manifest rules (危险废物转移管理办法) and the
zone's pilot (seed:4005-4033). The consignee holds an operating licence covering each code with annual
capacity left; carrier and vehicle hold transport permits; numbers keep the national 14-digit shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence, Organization, Vehicle
from zerowaste.core.services import unverified_licence_note

from .. import rules
from ..inputs import LineInput
from ..models import Transfer
from .base import TransferStream, unqualified, valid_licences

if TYPE_CHECKING:
    from zerowaste.catalog.models import CatalogEntry


@dataclass(frozen=True)
class HazardousWasteStream(TransferStream):
    def counter_prefix(self, division_code: str) -> str:
        return rules.hw_prefix(division_code)

    def number(self, *, zone_code: str, division_code: str, year: int, seq: int) -> str:
        return rules.hw_number(year, rules.hw_prefix(division_code), seq)

    def hazard_of(self, entry: CatalogEntry) -> str:
        return entry.hazard_raw

    def check_consignee(self, consignee: Organization, lines: list[LineInput], on: date) -> None:
        licences = valid_licences(consignee, "hw_operating", on)
        if not licences:
            raise Invalid.field(
                "consignee_id",
                unqualified(
                    _("%(org)s holds no hazardous-waste operating licence valid on %(date)s")
                    % {"org": consignee.name, "date": on.isoformat()},
                    consignee,
                    "hw_operating",
                    on,
                ),
            )
        for line in lines:
            if not any(
                not lic.waste_codes
                or rules.licence_code_covers(lic.waste_codes, line.waste_code, line.category)
                for lic in licences
            ):
                raise Invalid.field(
                    "consignee_id",
                    _("the licence of %(org)s does not cover %(code)s")
                    % {"org": consignee.name, "code": line.waste_code},
                )

    def check_carrier(self, carrier: Organization, on: date, field_name: str = "carrier_id") -> None:
        super().check_carrier(carrier, on, field_name)
        if not valid_licences(carrier, "hw_transport", on):
            raise Invalid.field(
                field_name,
                unqualified(
                    _("%(org)s holds no hazardous-waste transport permit valid on %(date)s")
                    % {"org": carrier.name, "date": on.isoformat()},
                    carrier,
                    "hw_transport",
                    on,
                ),
            )

    def check_capacity(self, t: Transfer, on: date) -> None:
        licences = valid_licences(t.consignee, "hw_operating", on)
        capacities = [lic.annual_capacity_t for lic in licences if lic.annual_capacity_t is not None]
        if not capacities:
            return
        capacity = sum(capacities, rules.ZERO)
        used = (
            Transfer.objects.filter(
                zone_id=t.zone_id, consignee_id=t.consignee_id, stream=self.code, planned_date__year=on.year
            )
            .exclude(state__in=[rules.DRAFT, rules.CANCELLED, rules.REFUSED])
            .exclude(pk=t.pk)
            .aggregate(s=Sum("estimated_t"))["s"]
            or rules.ZERO
        )
        if used + t.estimated_t > capacity:
            raise Invalid.field(
                "consignee_id",
                _("%(org)s has %(left)s t of its %(cap)s t annual capacity left")
                % {"org": t.consignee.name, "left": max(capacity - used, rules.ZERO), "cap": capacity},
            )

    def check_vehicle(self, vehicle: Vehicle, on: date, field_name: str = "vehicle_id") -> None:
        if not vehicle.permits.in_force(on, "hw_transport").exists():
            message = _(
                "vehicle %(plate)s runs under no hazardous-waste transport permit valid on %(date)s"
            ) % {
                "plate": vehicle.plate,
                "date": on.isoformat(),
            }
            note = unverified_licence_note(vehicle.permits.filter(kind="hw_transport"), on)
            raise Invalid.field(field_name, f"{message}: {note}" if note else message)

    def qualified_candidates(
        self, zone_id: int, receivers: QuerySet[Organization], carriers: QuerySet[Organization], on: date
    ) -> tuple[QuerySet[Organization], QuerySet[Organization]]:
        valid = Licence.objects.filter(zone_id=zone_id).in_force(on)
        receivers = receivers.filter(pk__in=valid.filter(kind="hw_operating").values("organization_id"))
        carriers = carriers.filter(pk__in=valid.filter(kind="hw_transport").values("organization_id"))
        return receivers, carriers


STREAM = HazardousWasteStream(
    code="hw",
    catalog_stream="hw",
    import_labels=("危废", "危险废物"),
    park_store_rules=True,
    park_internal_rule=True,
)
