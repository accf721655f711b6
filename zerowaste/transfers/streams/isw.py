"""General industrial solid waste (一般工业固废, `isw`): the zone's e-manifest modelled on the
hazardous one (seed:484-488). The consignee is a registered recycler; if it registered the categories
it takes, the code's category must be one of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Organization
from zerowaste.core.services import unverified_note_of

from .. import rules
from ..inputs import LineInput
from .base import TransferStream, valid_licences


@dataclass(frozen=True)
class IndustrialSolidWasteStream(TransferStream):
    def check_consignee(self, consignee: Organization, lines: list[LineInput], on: date) -> None:
        # A registered recycler; if it registered the categories it takes, the code's must be one.
        if not consignee.roles.filter(role="receiver").exists():
            raise Invalid.field(
                "consignee_id", _("%(org)s is not a registered recycler") % {"org": consignee.name}
            )
        registered = [lic for lic in valid_licences(consignee, "other", on) if lic.waste_codes]
        if not registered:
            # Categories it registered but no regulator has verified yet do not open every category.
            note = unverified_note_of(consignee.pk, "other", on)
            if note:
                raise Invalid.field("consignee_id", note)
        if registered:
            for line in lines:
                if not any(
                    rules.licence_code_covers(lic.waste_codes, line.waste_code, line.category)
                    for lic in registered
                ):
                    raise Invalid.field(
                        "consignee_id",
                        _("%(org)s is not registered for %(cat)s")
                        % {"org": consignee.name, "cat": line.category},
                    )


STREAM = IndustrialSolidWasteStream(
    code="isw",
    catalog_stream="isw",
    import_labels=("一般", "一般工业固废", "一般工业固体废物"),
    # The park rules hold for every manifest today, whatever its stream (seed:4005-4012).
    park_store_rules=True,
    park_internal_rule=True,
)
