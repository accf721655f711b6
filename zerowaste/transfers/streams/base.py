"""What a waste stream tells the transfer engine: one object per stream, behind one interface.

The engine (`machine`, `drafts`, `checks`, …) knows the life of a transfer and no stream by name. At
each step it asks the transfer's stream what more must hold: at draft and issue (the consignee, the
carrier, a park store, a park-internal hand-over, the consignee's capacity), at pick-up and hand-over
(the vehicle, the next carrier), at delivery and at receipt. The stream also gives its numbering, its
deadlines, its weighing tolerance and road limit (zone settings over `rules.DEFAULT_STREAM_SETTINGS`)
and the catalog its waste codes come from. A new stream is one module here, registered in
`streams/__init__.py`, plus its catalog data and tests (ADR 0057).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence, Organization, Vehicle
from zerowaste.core.services import unverified_note_of

from .. import rules
from ..inputs import LineInput, _hazard_characteristics

if TYPE_CHECKING:
    from zerowaste.catalog.models import CatalogEntry

    from ..machine import Step
    from ..models import Transfer


def valid_licences(org: Organization, kind: str, on: date) -> list[Licence]:
    """The organization's licences of `kind` that qualify on `on`: verified, in force, not revoked."""
    return list(Licence.objects.filter(organization=org).in_force(on, kind))


def unqualified(message: str, org: Organization, kind: str, on: date) -> str:
    """A refusal, with why a licence the organization entered does not count (pending, rejected)."""
    note = unverified_note_of(org.pk, kind, on)
    return f"{message}: {note}" if note else message


def check_park_store(storage: Organization | None, lines: list[LineInput]) -> None:
    """A pilot-park store takes no infectious or highly toxic waste (seed:4009-4012)."""
    if storage is None:
        return
    if not storage.roles.filter(role="park_operator").exists():
        raise Invalid.field("storage_id", _("%(org)s runs no pilot-park store") % {"org": storage.name})
    for line in lines:
        fault = rules.park_store_fault(_hazard_characteristics(line.hazard), line.highly_toxic)
        if fault:
            raise Invalid.field("storage_id", f"{line.waste_code}: {fault}")


def check_not_park_internal(consignor: Organization, consignee: Organization) -> None:
    """Inside a pilot park's red line a hand-over to the park operator is a collection (seed:4005)."""
    if (
        consignor.area_id
        and consignor.area_id == consignee.area_id
        and consignee.roles.filter(role="park_operator").exists()
    ):
        raise Invalid.field(
            "consignee_id", _("inside the park's red line this is a collection, not a manifest")
        )


@dataclass(frozen=True)
class TransferStream:
    """The interface, with the defaults a stream without a rule of its own keeps.

    `code` is the transfer's `stream` value; `catalog_stream` the catalog whose codes its lines take;
    `import_labels` the words a sheet may write in the stream column for it; `park_store_rules` and
    `park_internal_rule` whether the pilot-park store and red-line rules (seed:4005-4012) apply.
    """

    code: str
    catalog_stream: str
    import_labels: tuple[str, ...] = ()
    park_store_rules: bool = False
    park_internal_rule: bool = False

    # --- Numbering ---------------------------------------------------------------------------------

    def counter_prefix(self, division_code: str) -> str:
        """The part of the number its yearly sequence counts within (beside zone, stream and year)."""
        return ""

    def number(self, *, zone_code: str, division_code: str, year: int, seq: int) -> str:
        return rules.isw_number(zone_code, year, seq, self.code)

    # --- Limits: the zone's settings over the defaults --------------------------------------------

    def settings(self, zone_settings: dict[str, Any] | None) -> dict[str, Any]:
        return rules.stream_settings(zone_settings, self.code)

    def due_days(self, zone_settings: dict[str, Any] | None, state: str) -> int | None:
        """Working days the step awaited in `state` may take; None when nothing is awaited."""
        return rules.due_days(zone_settings, self.code, state)

    def tolerance(self, zone_settings: dict[str, Any] | None) -> rules.Tolerance:
        return rules.tolerance_for(zone_settings, self.code)

    def road_limit_t(self, zone_settings: dict[str, Any] | None) -> Decimal:
        return Decimal(str(self.settings(zone_settings)["road_limit_t"]))

    # --- Lines ---------------------------------------------------------------------------------------

    def hazard_of(self, entry: CatalogEntry) -> str:
        """The hazard characteristics a line of this catalog entry carries ("" where none are kept)."""
        return ""

    # --- Draft and issue -----------------------------------------------------------------------------

    def check_consignee(self, consignee: Organization, lines: list[LineInput], on: date) -> None:
        """Whether the consignee may take these lines on the date: every stream states its own rule."""
        raise NotImplementedError(f"stream {self.code} states no consignee rule")

    def check_carrier(self, carrier: Organization, on: date, field_name: str = "carrier_id") -> None:
        """A registered carrier; a stream may ask for its permit too (also at a hand-over)."""
        if not carrier.roles.filter(role="carrier").exists():
            raise Invalid.field(field_name, _("%(org)s is not a registered carrier") % {"org": carrier.name})

    def check_storage(self, storage: Organization | None, lines: list[LineInput]) -> None:
        if self.park_store_rules:
            check_park_store(storage, lines)

    def check_not_park_internal(self, consignor: Organization, consignee: Organization) -> None:
        if self.park_internal_rule:
            check_not_park_internal(consignor, consignee)

    def check_capacity(self, t: Transfer, on: date) -> None:
        """Whether the consignee can still take the transfer this year (no limit by default)."""

    # --- Pick-up and hand-over -----------------------------------------------------------------------

    def check_vehicle(self, vehicle: Vehicle, on: date, field_name: str = "vehicle_id") -> None:
        """What the carrier's vehicle must hold beyond being the carrier's, active, and big enough."""

    # --- Delivery and receipt ------------------------------------------------------------------------

    def check_delivery(self, step: Step) -> None:
        """Checked when the carrier signs the delivery, after the engine's preconditions."""

    def check_receipt(self, step: Step) -> None:
        """Checked when the consignee weighs, accepts (all or part) or refuses."""

    # --- Pickers -------------------------------------------------------------------------------------

    def qualified_candidates(
        self, zone_id: int, receivers: QuerySet[Organization], carriers: QuerySet[Organization], on: date
    ) -> tuple[QuerySet[Organization], QuerySet[Organization]]:
        """The receivers and carriers a picker offers for this stream (all registered ones by default)."""
        return receivers, carriers
