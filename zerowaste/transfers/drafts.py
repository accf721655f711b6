"""Preparing manifests: the draft's input checked whole before anything is written, creating, copying
and editing drafts, who may issue, and the pickers of receivers, carriers and vehicles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Organization, Site, Vehicle
from zerowaste.core.services import check_text

from . import rules, streams
from .access import _require_member, _zone, get_transfer
from .checks import (
    _check_carrier,
    _check_consignee,
    _check_not_park_internal,
    _check_storage,
    _check_streams,
    _road_limit,
)
from .inputs import LineInput, _date, _id, _org_in_zone, _qty, _site
from .models import (
    Transfer,
    TransferLeg,
    TransferLine,
)
from .snapshots import _content


def _lines(zone_id: int, stream: str, lines: Any, on: date) -> list[LineInput]:
    from zerowaste.catalog import services as catalog

    if not isinstance(lines, (list, tuple)) or not lines:
        raise Invalid.field("lines", _("at least one waste line is required"))
    if len(lines) > 50:
        raise Invalid.field("lines", _("at most 50 lines per manifest"))
    stream_rules = streams.get(stream)
    result = []
    for i, raw in enumerate(lines, start=1):
        if not isinstance(raw, Mapping):
            raise Invalid.field(f"lines[{i}]", _("must be an object"))
        prefix = f"lines[{i}]."
        code = check_text(raw.get("waste_code"), prefix + "waste_code", max_length=40, required=True)
        check = catalog.code_valid(
            zone_id, stream_rules.catalog_stream, code, on, free_text=raw.get("description")
        )
        if not check.ok or check.entry is None:
            raise Invalid.field(prefix + "waste_code", check.message or _("unknown waste code"))
        entry = check.entry
        count = raw.get("package_count") or 0
        if (
            isinstance(count, bool)
            or not isinstance(count, (int, str))
            or not str(count).isdigit()
            or int(count) > 10**6
        ):
            raise Invalid.field(prefix + "package_count", _("a whole number of packages"))
        result.append(
            LineInput(
                position=i,
                waste_code=code,
                category=entry.category.code,
                description=check_text(
                    raw.get("description") or entry.name, prefix + "description", max_length=300
                ),
                hazard=stream_rules.hazard_of(entry),
                highly_toxic=bool(raw.get("highly_toxic")),
                physical_form=check_text(raw.get("physical_form"), prefix + "physical_form", max_length=40),
                packaging=check_text(raw.get("packaging"), prefix + "packaging", max_length=60),
                package_count=int(count),
                estimated_t=_qty(raw.get("estimated_t"), prefix + "estimated_t"),
                treatment=check_text(raw.get("treatment"), prefix + "treatment", max_length=100),
            )
        )
    return result


@dataclass
class DraftInput:
    stream: str
    consignor: Organization
    consignee: Organization
    carrier: Organization
    storage: Organization | None
    planned_date: date
    lines: list[LineInput]
    consignor_site: Site | None
    consignee_site: Site | None
    treatment: str
    emergency_measures: str


def _draft_input(actor: Actor, consignor: Organization, data: Mapping[str, Any]) -> DraftInput:
    zone = _zone(actor.zone_id)
    stream = data.get("stream")
    if stream not in rules.STREAMS:
        raise Invalid.field("stream", _("must be one of: %(s)s") % {"s": ", ".join(rules.STREAMS)})
    planned = _date(data.get("planned_date") or timezone.localdate(), "planned_date")
    if not date(2000, 1, 1) <= planned <= date(2100, 12, 31):
        raise Invalid.field("planned_date", _("out of range"))
    consignee = _org_in_zone(actor.zone_id, data.get("consignee_id"), "consignee_id", "")
    carrier = _org_in_zone(actor.zone_id, data.get("carrier_id"), "carrier_id", "")
    storage = (
        _org_in_zone(actor.zone_id, data.get("storage_id"), "storage_id", "")
        if data.get("storage_id") not in (None, "")
        else None
    )
    lines = _lines(actor.zone_id, stream, data.get("lines"), planned)
    codes = [(line.position, line.waste_code) for line in lines]
    _check_streams(actor.zone_id, consignor.pk, stream, codes, planned)
    total = sum((line.estimated_t for line in lines), rules.ZERO)
    _road_limit(zone, stream, total, "lines")
    returning = consignee.pk == consignor.pk and data.get("parent_id")
    if not returning:
        if consignee.pk == consignor.pk:
            raise Invalid.field("consignee_id", _("the consignee must be another organization"))
        _check_consignee(stream, consignee, lines, planned)
        _check_not_park_internal(stream, consignor, consignee)
    _check_carrier(stream, carrier, planned)
    _check_storage(stream, storage, lines)
    return DraftInput(
        stream=stream,
        consignor=consignor,
        consignee=consignee,
        carrier=carrier,
        storage=storage,
        planned_date=planned,
        lines=lines,
        consignor_site=_site(consignor, data.get("consignor_site_id"), "consignor_site_id"),
        consignee_site=_site(consignee, data.get("consignee_site_id"), "consignee_site_id"),
        treatment=check_text(data.get("treatment"), "treatment", max_length=100),
        emergency_measures=check_text(data.get("emergency_measures"), "emergency_measures", max_length=2000),
    )


def _consignor(actor: Actor, organization_id: Any = None) -> Organization:
    if actor.is_system:
        pk = _id(organization_id, "consignor_id")
        org = Organization.objects.filter(zone_id=actor.zone_id, pk=pk).first()
        if org is None:
            raise Invalid.field("consignor_id", _("no such organization in this zone"))
        return org
    _require_member(actor, "create")
    assert actor.organization is not None
    if not actor.org_roles & CONSIGNOR_ROLES:
        raise Forbidden(_("only a producer (or a receiver or park store passing waste on) issues manifests"))
    return actor.organization


# The organizations that send waste off under a manifest of their own: a producer, and a receiver or
# park store passing waste on.
CONSIGNOR_ROLES = frozenset({"producer", "receiver", "park_operator"})


def may_issue_manifests(actor: Actor) -> bool:
    """Whether the actor may prepare manifests as consignor (what 新建联单 and the import offer)."""
    if actor.is_system:
        return True
    return bool(actor.org_roles & CONSIGNOR_ROLES) and rules.member_may(
        "create", member_role=actor.member_role, token_scopes=actor.token_scopes
    )


def _write_lines(t: Transfer, lines: list[LineInput]) -> None:
    TransferLine.objects.bulk_create(
        [
            TransferLine(
                zone_id=t.zone_id,
                transfer=t,
                position=line.position,
                waste_code=line.waste_code,
                category=line.category,
                description=line.description,
                hazard=line.hazard,
                highly_toxic=line.highly_toxic,
                physical_form=line.physical_form,
                packaging=line.packaging,
                package_count=line.package_count,
                estimated_t=line.estimated_t,
                treatment=line.treatment or t.treatment,
            )
            for line in lines
        ]
    )


@transaction.atomic
def create_transfer(
    actor: Actor, *, data: Mapping[str, Any], issue: bool = False, parent: Transfer | None = None
) -> Transfer:
    """A draft manifest (issued at once with `issue=True`). Every input is checked before writing."""
    consignor = _consignor(actor, data.get("consignor_id"))
    d = _draft_input(actor, consignor, {**data, "parent_id": parent.pk if parent else None})
    t = Transfer.objects.create(
        zone_id=actor.zone_id,
        stream=d.stream,
        consignor=consignor,
        consignor_site=d.consignor_site,
        consignee=d.consignee,
        consignee_site=d.consignee_site,
        carrier=d.carrier,
        current_carrier=d.carrier,
        storage=d.storage,
        planned_date=d.planned_date,
        treatment=d.treatment,
        emergency_measures=d.emergency_measures,
        parent=parent,
        created_by=actor.username,
        estimated_t=sum((line.estimated_t for line in d.lines), rules.ZERO),
        inter_provincial=rules.is_inter_provincial(_zone(actor.zone_id).division_code, d.consignee.uscc),
    )
    _write_lines(t, d.lines)
    TransferLeg.objects.create(zone_id=t.zone_id, transfer=t, seq=1, carrier=d.carrier)
    audit.record(actor, "transfer.create", t, audit.diff({}, _content(t)))
    if issue:
        from .machine import perform  # the machine imports this module (edits, redirects)

        return perform(actor, t.pk, "issue")
    return t


@transaction.atomic
def copy_transfer(actor: Actor, transfer_id: int) -> Transfer:
    """A new draft with the parties and lines of a previous manifest."""
    src = get_transfer(actor, transfer_id)
    if src.consignor_id != actor.organization_id and not actor.is_system:
        raise Forbidden(_("only the consignor copies its manifests"))
    data = {
        "stream": src.stream,
        "consignee_id": src.consignee_id,
        "carrier_id": src.carrier_id,
        "storage_id": src.storage_id,
        "consignor_site_id": src.consignor_site_id,
        "consignee_site_id": src.consignee_site_id,
        "treatment": src.treatment,
        "emergency_measures": src.emergency_measures,
        "planned_date": timezone.localdate(),
        "consignor_id": src.consignor_id,
        "lines": [
            {
                "waste_code": line.waste_code,
                "description": line.description,
                "estimated_t": line.estimated_t,
                "physical_form": line.physical_form,
                "packaging": line.packaging,
                "package_count": line.package_count,
                "treatment": line.treatment,
                "highly_toxic": line.highly_toxic,
            }
            for line in src.lines.all()
        ],
    }
    return create_transfer(actor, data=data)


@transaction.atomic
def update_draft(actor: Actor, transfer_id: int, *, data: Mapping[str, Any]) -> Transfer:
    from .machine import perform  # the machine imports this module (edits, redirects)

    return perform(actor, transfer_id, "edit", **dict(data))


def candidates(actor: Actor, stream: str, on: date | None = None) -> dict[str, list[Organization]]:
    """Receivers and carriers whose registration and licences fit the stream on the date (for pickers)."""
    on = on or timezone.localdate()
    zone_orgs = Organization.objects.filter(zone_id=actor.zone_id, is_active=True).order_by("name")
    receivers = zone_orgs.filter(roles__role="receiver")
    carriers = zone_orgs.filter(roles__role="carrier")
    stream_rules = streams.find(stream)
    if stream_rules is not None:
        receivers, carriers = stream_rules.qualified_candidates(actor.zone_id, receivers, carriers, on)
    return {"receivers": list(receivers.distinct()[:500]), "carriers": list(carriers.distinct()[:500])}


def vehicles_of(actor: Actor) -> list[Vehicle]:
    return list(
        Vehicle.objects.filter(
            zone_id=actor.zone_id, organization_id=actor.organization_id or 0, is_active=True
        ).order_by("plate")
    )
