"""Use cases of transfers: create, issue, sign, receive, correct, register, count.

Every state change: one transaction that locks the transfer row (`select_for_update`), looks the
action up in `rules.TRANSITIONS`, checks that the actor is the party whose turn it is and that the
transition's named preconditions hold, applies it, signs it, audits it and queues the webhooks.
A second concurrent signature of the same step finds the row already moved on: `Conflict` (409).

Public services for other apps: `closed_quantities` (declarations' reconciliation), `visible_transfers`,
`statistics`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit, periods, streams, tabular, workdays
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from zerowaste.core.models import Licence, Organization, Site, Vehicle, Zone
from zerowaste.core.services import check_text, unverified_licence_note, unverified_note_of

from . import rules
from .models import (
    NumberCounter,
    RevisionRequest,
    Signature,
    SignatureCode,
    Transfer,
    TransferLeg,
    TransferLine,
    TransferVersion,
)

AUDITED = (
    "stream",
    "number",
    "state",
    "version",
    "consignor_id",
    "consignee_id",
    "carrier_id",
    "current_carrier_id",
    "storage_id",
    "planned_date",
    "estimated_t",
    "received_t",
    "refused_t",
    "refusal_reason",
    "discrepancy",
    "discrepancy_note",
    "treatment",
    "cancel_reason",
    "due_date",
)


# --- Access ----------------------------------------------------------------------------------------


def visible_transfers(actor: Actor) -> QuerySet[Transfer]:
    """The transfers the actor is consignor, consignee or carrier (any leg) of; a regulator's: its
    zone's, or those with any party in its jurisdiction."""
    base = Transfer.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.is_regulator:
        if actor.jurisdiction_area_ids is None:
            return base
        orgs = visible_organizations(actor).values("pk")
        legs = TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id__in=orgs).values("transfer_id")
        return base.filter(
            Q(consignor_id__in=orgs) | Q(consignee_id__in=orgs) | Q(carrier_id__in=orgs) | Q(pk__in=legs)
        )
    org_id = actor.organization_id
    if org_id is None:
        return base.none()
    legs = TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id=org_id).values("transfer_id")
    return base.filter(
        Q(consignor_id=org_id)
        | Q(consignee_id=org_id)
        | Q(carrier_id=org_id)
        | Q(current_carrier_id=org_id)
        | Q(pk__in=legs)
    )


def get_transfer(actor: Actor, transfer_id: int) -> Transfer:
    t = (
        visible_transfers(actor)
        .filter(pk=transfer_id)
        .select_related("consignor", "consignee", "carrier", "current_carrier", "storage")
        .first()
    )
    if t is None:
        raise NotFound(_("transfer %(id)s not found") % {"id": transfer_id})
    return t


def get_by_number(actor: Actor, number: str) -> Transfer:
    t = visible_transfers(actor).filter(number=number).first()
    if t is None:
        raise NotFound(_("transfer %(number)s not found") % {"number": number})
    return get_transfer(actor, t.pk)


def _locked(actor: Actor, transfer_id: int) -> Transfer:
    if not visible_transfers(actor).filter(pk=transfer_id).exists():
        raise NotFound(_("transfer %(id)s not found") % {"id": transfer_id})
    return Transfer.objects.select_for_update().get(pk=transfer_id)


def parties_of(actor: Actor, t: Transfer) -> frozenset[str]:
    """The roles the actor's organization holds on this transfer, as of now."""
    if actor.is_system:
        return frozenset({rules.CONSIGNOR, rules.CARRIER, rules.CONSIGNEE, rules.REGULATOR})
    org = actor.organization_id
    found = set()
    if org == t.consignor_id:
        found.add(rules.CONSIGNOR)
    if org == t.current_carrier_id:
        found.add(rules.CARRIER)
    if org == t.consignee_id:
        found.add(rules.CONSIGNEE)
    if actor.is_regulator:
        found.add(rules.REGULATOR)
    return frozenset(found)


def _is_party(actor: Actor, t: Transfer) -> bool:
    if actor.organization_id in (t.consignor_id, t.consignee_id, t.carrier_id, t.current_carrier_id):
        return True
    return TransferLeg.objects.filter(transfer=t, carrier_id=actor.organization_id).exists()


def _require_member(actor: Actor, action: str) -> None:
    if actor.is_system:
        return
    if not rules.member_may(action, member_role=actor.member_role, token_scopes=actor.token_scopes):
        raise Forbidden(_("your role does not allow this (transfers.%(a)s)") % {"a": action})


def _zone(zone_id: int) -> Zone:
    return Zone.objects.get(pk=zone_id)


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# --- Input checks ----------------------------------------------------------------------------------


def _qty(value: Any, field_name: str, *, allow_zero: bool = False) -> Decimal:
    try:
        return rules.parse_quantity(value, field_name, allow_zero=allow_zero)
    except ValueError as exc:
        raise Invalid.field(field_name, str(exc).split(": ", 1)[-1]) from exc


def _id(value: Any, field_name: str, required: bool = True) -> int:
    if value is None or value == "":
        if required:
            raise Invalid.field(field_name, _("this field is required"))
        return 0
    if isinstance(value, bool):
        raise Invalid.field(field_name, _("not an id"))
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise Invalid.field(field_name, _("not an id")) from exc
    if not 0 < number < 2**62:
        raise Invalid.field(field_name, _("no such organization"))
    return number


def _org_in_zone(zone_id: int, org_id: Any, field_name: str, role: str) -> Organization:
    pk = _id(org_id, field_name)
    org = Organization.objects.filter(zone_id=zone_id, pk=pk, is_active=True).first()
    if org is None:
        raise Invalid.field(field_name, _("no such organization in this zone"))
    if role and not org.roles.filter(role=role).exists():
        raise Invalid.field(
            field_name, _("%(org)s is not registered as a %(role)s") % {"org": org.name, "role": role}
        )
    return org


def _date(value: Any, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise Invalid.field(field_name, _("not a date (YYYY-MM-DD)")) from exc


def _moment(value: Any, field_name: str = "at") -> datetime:
    now = timezone.now()
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise Invalid.field(field_name, _("not a date and time")) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@dataclass
class LineInput:
    position: int
    waste_code: str
    category: str
    description: str
    hazard: str
    highly_toxic: bool
    physical_form: str
    packaging: str
    package_count: int
    estimated_t: Decimal
    treatment: str


def _lines(zone_id: int, stream: str, lines: Any, on: date) -> list[LineInput]:
    from zerowaste.catalog import services as catalog

    if not isinstance(lines, (list, tuple)) or not lines:
        raise Invalid.field("lines", _("at least one waste line is required"))
    if len(lines) > 50:
        raise Invalid.field("lines", _("at most 50 lines per manifest"))
    result = []
    for i, raw in enumerate(lines, start=1):
        if not isinstance(raw, Mapping):
            raise Invalid.field(f"lines[{i}]", _("must be an object"))
        prefix = f"lines[{i}]."
        code = check_text(raw.get("waste_code"), prefix + "waste_code", max_length=40, required=True)
        check = catalog.code_valid(zone_id, stream, code, on, free_text=raw.get("description"))
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
                hazard=entry.hazard_raw if stream == "hw" else "",
                highly_toxic=bool(raw.get("highly_toxic")),
                physical_form=check_text(raw.get("physical_form"), prefix + "physical_form", max_length=40),
                packaging=check_text(raw.get("packaging"), prefix + "packaging", max_length=60),
                package_count=int(count),
                estimated_t=_qty(raw.get("estimated_t"), prefix + "estimated_t"),
                treatment=check_text(raw.get("treatment"), prefix + "treatment", max_length=100),
            )
        )
    return result


def _hazard_characteristics(raw: str) -> tuple[str, ...]:
    return tuple(p for p in raw.replace("/", ",").split(",") if p)


# --- Stream rules (the named preconditions) --------------------------------------------------------


def _valid_licences(org: Organization, kind: str, on: date) -> list[Licence]:
    """The organization's licences of `kind` that qualify on `on`: verified, in force, not revoked."""
    return list(Licence.objects.filter(organization=org).in_force(on, kind))


def _unqualified(message: str, org: Organization, kind: str, on: date) -> str:
    """A refusal, with why a licence the organization entered does not count (pending, rejected)."""
    note = unverified_note_of(org.pk, kind, on)
    return f"{message}: {note}" if note else message


def _check_consignee(stream: str, consignee: Organization, lines: list[LineInput], on: date) -> None:
    if stream == "hw":
        licences = _valid_licences(consignee, "hw_operating", on)
        if not licences:
            raise Invalid.field(
                "consignee_id",
                _unqualified(
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
        return
    # isw: a registered recycler; if it registered the categories it takes, the code's must be one.
    if not consignee.roles.filter(role="receiver").exists():
        raise Invalid.field(
            "consignee_id", _("%(org)s is not a registered recycler") % {"org": consignee.name}
        )
    registered = [lic for lic in _valid_licences(consignee, "other", on) if lic.waste_codes]
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


def _check_carrier(stream: str, carrier: Organization, on: date, field_name: str = "carrier_id") -> None:
    if not carrier.roles.filter(role="carrier").exists():
        raise Invalid.field(field_name, _("%(org)s is not a registered carrier") % {"org": carrier.name})
    if stream == "hw" and not _valid_licences(carrier, "hw_transport", on):
        raise Invalid.field(
            field_name,
            _unqualified(
                _("%(org)s holds no hazardous-waste transport permit valid on %(date)s")
                % {"org": carrier.name, "date": on.isoformat()},
                carrier,
                "hw_transport",
                on,
            ),
        )


def _check_storage(storage: Organization | None, lines: list[LineInput]) -> None:
    if storage is None:
        return
    if not storage.roles.filter(role="park_operator").exists():
        raise Invalid.field("storage_id", _("%(org)s runs no pilot-park store") % {"org": storage.name})
    for line in lines:
        fault = rules.park_store_fault(_hazard_characteristics(line.hazard), line.highly_toxic)
        if fault:
            raise Invalid.field("storage_id", f"{line.waste_code}: {fault}")


def _check_not_park_internal(consignor: Organization, consignee: Organization) -> None:
    """Inside a pilot park's red line a hand-over to the park operator is a collection (seed:4005)."""
    if (
        consignor.area_id
        and consignor.area_id == consignee.area_id
        and consignee.roles.filter(role="park_operator").exists()
    ):
        raise Invalid.field(
            "consignee_id", _("inside the park's red line this is a collection, not a manifest")
        )


def _check_capacity(t: Transfer, on: date) -> None:
    if t.stream != "hw":
        return
    licences = _valid_licences(t.consignee, "hw_operating", on)
    capacities = [lic.annual_capacity_t for lic in licences if lic.annual_capacity_t is not None]
    if not capacities:
        return
    capacity = sum(capacities, rules.ZERO)
    used = (
        Transfer.objects.filter(
            zone_id=t.zone_id, consignee_id=t.consignee_id, stream="hw", planned_date__year=on.year
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


def _road_limit(zone: Zone, stream: str, total: Decimal, field_name: str) -> None:
    limit = Decimal(str(rules.stream_settings(zone.settings, stream)["road_limit_t"]))
    fault = rules.road_limit_fault(total, limit)
    if fault:
        raise Invalid.field(field_name, fault)


def _check_vehicle(
    t: Transfer,
    carrier_id: int,
    vehicle_id: Any,
    on: date,
    qty: Decimal | None,
    field_name: str = "vehicle_id",
) -> Vehicle:
    pk = _id(vehicle_id, field_name)
    vehicle = Vehicle.objects.filter(
        zone_id=t.zone_id, organization_id=carrier_id, pk=pk, is_active=True
    ).first()
    if vehicle is None:
        raise Invalid.field(field_name, _("no such vehicle of the carrier"))
    if t.stream == "hw" and not vehicle.permits.in_force(on, "hw_transport").exists():
        message = _("vehicle %(plate)s runs under no hazardous-waste transport permit valid on %(date)s") % {
            "plate": vehicle.plate,
            "date": on.isoformat(),
        }
        note = unverified_licence_note(vehicle.permits.filter(kind="hw_transport"), on)
        raise Invalid.field(field_name, f"{message}: {note}" if note else message)
    if qty is not None and vehicle.capacity_kg and qty * 1000 > vehicle.capacity_kg:
        raise Invalid.field(
            "quantity_seen_t",
            _("%(qty)s t is more than vehicle %(plate)s carries (%(cap)s kg)")
            % {"qty": qty, "plate": vehicle.plate, "cap": vehicle.capacity_kg},
        )
    return vehicle


# --- Creating and editing drafts -------------------------------------------------------------------


def _snapshot(t: Transfer) -> dict[str, Any]:
    return audit.snapshot(t, AUDITED)


def _content(t: Transfer) -> dict[str, Any]:
    """The full content of a transfer as one version of its history."""
    data = _snapshot(t)
    data["lines"] = [
        audit.snapshot(
            line,
            (
                "position",
                "waste_code",
                "category",
                "description",
                "estimated_t",
                "received_t",
                "treatment",
                "packaging",
                "package_count",
            ),
        )
        for line in t.lines.all()
    ]
    data["legs"] = [
        audit.snapshot(
            leg,
            (
                "seq",
                "carrier_id",
                "vehicle_plate",
                "driver",
                "quantity_seen_t",
                "picked_up_at",
                "handed_over_at",
            ),
        )
        for leg in t.legs.all()
    ]
    return data


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


def _site(org: Organization, site_id: Any, field_name: str) -> Site | None:
    pk = _id(site_id, field_name, required=False)
    if not pk:
        return None
    site = Site.objects.filter(organization=org, pk=pk).first()
    if site is None:
        raise Invalid.field(field_name, _("no such site of %(org)s") % {"org": org.name})
    return site


def _check_streams(
    zone_id: int, consignor_id: int, stream: str, codes: list[tuple[int, str]], on: date
) -> None:
    """Another app may have moved a consignor's waste to another stream (`core.streams`)."""
    for position, code in codes:
        message = streams.refusal(zone_id, consignor_id, stream, code, on)
        if message:
            raise Invalid.field(f"lines[{position}].waste_code", message)


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
        _check_not_park_internal(consignor, consignee)
    _check_carrier(stream, carrier, planned)
    _check_storage(storage, lines)
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
    return perform(actor, transfer_id, "edit", **dict(data))


# --- The state machine -----------------------------------------------------------------------------


@dataclass
class Step:
    actor: Actor
    t: Transfer
    data: dict[str, Any]
    zone: Zone
    at: datetime
    now: datetime
    quantity: Decimal | None = None
    note: str = ""
    extra_changes: dict[str, Any] = field(default_factory=dict)
    created: Transfer | None = None


def _pre_draft_valid(s: Step) -> None:
    """Nothing to check here: `_apply_edit` re-validates the whole draft it writes."""


def _pre_has_lines(s: Step) -> None:
    if not s.t.lines.exists():
        raise Invalid.field("lines", _("at least one waste line is required"))


def _pre_quantities_positive(s: Step) -> None:
    for line in s.t.lines.all():
        if line.estimated_t <= 0:
            raise Invalid.field(f"lines[{line.position}].estimated_t", _("must be more than zero"))


def _pre_codes_valid(s: Step) -> None:
    from zerowaste.catalog import services as catalog

    on = _local_date(s.at)
    lines = list(s.t.lines.all())
    for line in lines:
        check = catalog.code_valid(s.t.zone_id, s.t.stream, line.waste_code, on)
        if not check.ok:
            raise Invalid.field(f"lines[{line.position}].waste_code", check.message)
    _check_streams(
        s.t.zone_id, s.t.consignor_id, s.t.stream, [(ln.position, ln.waste_code) for ln in lines], on
    )


def _line_inputs(t: Transfer) -> list[LineInput]:
    return [
        LineInput(
            line.position,
            line.waste_code,
            line.category,
            line.description,
            line.hazard,
            line.highly_toxic,
            line.physical_form,
            line.packaging,
            line.package_count,
            line.estimated_t,
            line.treatment,
        )
        for line in t.lines.all()
    ]


def _pre_road_limit(s: Step) -> None:
    if s.t.state == rules.DRAFT:
        _road_limit(s.zone, s.t.stream, s.t.estimated_t, "lines")
    else:
        _road_limit(
            s.zone, s.t.stream, _qty(s.data.get("quantity_seen_t"), "quantity_seen_t"), "quantity_seen_t"
        )


def _pre_consignee_qualified(s: Step) -> None:
    if s.t.parent_id and s.t.consignee_id == s.t.consignor_id:
        return  # the rest going back to its producer
    _check_consignee(s.t.stream, s.t.consignee, _line_inputs(s.t), _local_date(s.at))


def _pre_carrier_qualified(s: Step) -> None:
    _check_carrier(s.t.stream, s.t.carrier, _local_date(s.at))


def _pre_park_store_allowed(s: Step) -> None:
    _check_storage(s.t.storage, _line_inputs(s.t))


def _pre_not_park_internal(s: Step) -> None:
    if s.t.consignee_id != s.t.consignor_id:
        _check_not_park_internal(s.t.consignor, s.t.consignee)


def _pre_capacity_left(s: Step) -> None:
    _check_capacity(s.t, _local_date(s.at))


def _pre_reason_given(s: Step) -> None:
    key = "reason"
    reason = check_text(s.data.get(key), key, max_length=2000, required=True)
    s.data[key] = reason


def _pre_quantity_positive(s: Step) -> None:
    s.quantity = _qty(s.data.get("quantity_seen_t"), "quantity_seen_t")


def _current_leg(t: Transfer) -> TransferLeg:
    leg = TransferLeg.objects.filter(transfer=t).order_by("-seq").first()
    assert leg is not None
    return leg


def _pre_vehicle_qualified(s: Step) -> None:
    on = _local_date(s.at)
    if s.t.state == rules.ISSUED:
        qty = _qty(s.data.get("quantity_seen_t"), "quantity_seen_t")
        s.data["_vehicle"] = _check_vehicle(s.t, s.t.current_carrier_id, s.data.get("vehicle_id"), on, qty)
    else:
        nxt = s.data.get("_next_carrier")
        if nxt is not None:
            s.data["_vehicle"] = _check_vehicle(s.t, nxt.pk, s.data.get("vehicle_id"), on, None)


def _pre_next_carrier_qualified(s: Step) -> None:
    nxt = _org_in_zone(s.t.zone_id, s.data.get("next_carrier_id"), "next_carrier_id", "")
    _check_carrier(s.t.stream, nxt, _local_date(s.at), "next_carrier_id")
    if nxt.pk == s.t.current_carrier_id:
        raise Invalid.field("next_carrier_id", _("the next carrier must be another organization"))
    s.data["_next_carrier"] = nxt


def _pre_after_previous_signature(s: Step) -> None:
    fault = rules.signature_time_fault(s.at, s.t.last_signed_at, s.now)
    if fault:
        raise Invalid.field("at", fault)


def _received_lines(s: Step) -> dict[int, Decimal] | None:
    """Received quantities given with the step: `lines: [{position, received_t}]` or `received_t`."""
    lines = list(s.t.lines.all())
    given = s.data.get("lines")
    if given:
        if not isinstance(given, list):
            raise Invalid.field("lines", _("must be a list"))
        by_pos = {line.position: line for line in lines}
        result = {}
        for i, raw in enumerate(given, start=1):
            if not isinstance(raw, Mapping):
                raise Invalid.field(f"lines[{i}]", _("must be an object"))
            pos = raw.get("position", i)
            if pos not in by_pos:
                raise Invalid.field(f"lines[{i}].position", _("no such line"))
            result[int(pos)] = _qty(raw.get("received_t"), f"lines[{i}].received_t", allow_zero=True)
        return result
    if s.data.get("received_t") not in (None, ""):
        if len(lines) != 1:
            raise Invalid.field("lines", _("give the received quantity of each line"))
        return {lines[0].position: _qty(s.data.get("received_t"), "received_t", allow_zero=True)}
    return None


def _pre_quantities_non_negative(s: Step) -> None:
    received = _received_lines(s)
    if received is None:
        raise Invalid.field("received_t", _("a received quantity is required"))
    s.data["_received"] = received


def _pre_weighed(s: Step) -> None:
    received = _received_lines(s)
    if received is None and s.t.received_t is None:
        raise Invalid.field("received_t", _("weigh the waste first: a received quantity is required"))
    s.data["_received"] = received


def _received_total(s: Step) -> Decimal:
    received = s.data.get("_received")
    if received:
        known = {line.position: line.received_t for line in s.t.lines.all()}
        known.update(received)
        return sum((v or rules.ZERO for v in known.values()), rules.ZERO)
    return s.t.received_t or rules.ZERO


def _pre_refused_part_bounded(s: Step) -> None:
    refused = _qty(s.data.get("refused_t"), "refused_t")
    fault = rules.refused_part_fault(refused, _received_total(s), whole=False)
    if fault:
        raise Invalid.field("refused_t", fault)
    s.data["_refused"] = refused


def _pre_discrepancy_explained(s: Step) -> None:
    tolerance = rules.tolerance_for(s.zone.settings, s.t.stream)
    received = _received_total(s)
    s.data["_discrepancy"] = tolerance.is_discrepancy(s.t.estimated_t, received)
    note = check_text(s.data.get("discrepancy_note"), "discrepancy_note", max_length=2000)
    if s.data["_discrepancy"] and not note:
        raise Invalid.field(
            "discrepancy_note",
            _("received %(r)s t against %(e)s t estimated is beyond the tolerance of %(tol)s t: explain it")
            % {"r": received, "e": s.t.estimated_t, "tol": tolerance.allowed(s.t.estimated_t)},
        )
    s.data["discrepancy_note"] = note


def _pre_rest_not_redirected(s: Step) -> None:
    if s.t.rest_redirected:
        raise Conflict(_("the rest of this transfer has already been sent on"))
    if s.t.refused_t <= 0:
        raise Conflict(_("nothing was refused"))


def _pre_no_pending_revision(s: Step) -> None:
    if s.t.revision_pending:
        raise Conflict(_("a correction request is already pending for this transfer"))


def _pre_has_discrepancy(s: Step) -> None:
    if not s.t.discrepancy and s.t.refused_t <= 0:
        raise Conflict(_("nothing to acknowledge: no discrepancy"))
    if s.t.acknowledged:
        raise Conflict(_("already acknowledged"))


PRECONDITIONS: dict[str, Callable[[Step], None]] = {
    "draft_valid": _pre_draft_valid,
    "has_lines": _pre_has_lines,
    "quantities_positive": _pre_quantities_positive,
    "codes_valid": _pre_codes_valid,
    "road_limit": _pre_road_limit,
    "consignee_qualified": _pre_consignee_qualified,
    "carrier_qualified": _pre_carrier_qualified,
    "park_store_allowed": _pre_park_store_allowed,
    "not_park_internal": _pre_not_park_internal,
    "capacity_left": _pre_capacity_left,
    "reason_given": _pre_reason_given,
    "quantity_positive": _pre_quantity_positive,
    "vehicle_qualified": _pre_vehicle_qualified,
    "next_carrier_qualified": _pre_next_carrier_qualified,
    "after_previous_signature": _pre_after_previous_signature,
    "quantities_non_negative": _pre_quantities_non_negative,
    "weighed": _pre_weighed,
    "refused_part_bounded": _pre_refused_part_bounded,
    "discrepancy_explained": _pre_discrepancy_explained,
    "rest_not_redirected": _pre_rest_not_redirected,
    "no_pending_revision": _pre_no_pending_revision,
    "has_discrepancy": _pre_has_discrepancy,
}
# Checks that must run before others (the vehicle check needs the next carrier).
_ORDER = {"next_carrier_qualified": 0, "vehicle_qualified": 1}


# --- Applying transitions --------------------------------------------------------------------------


def _next_number(t: Transfer, zone: Zone, year: int) -> str:
    prefix = rules.counter_prefix(t.stream, zone.division_code)
    key = {"zone_id": t.zone_id, "stream": t.stream, "year": year, "prefix": prefix}
    counter = NumberCounter.objects.select_for_update().filter(**key).first()
    if counter is None:
        # Another transaction may create it first: then lock theirs.
        with contextlib.suppress(IntegrityError), transaction.atomic():
            NumberCounter.objects.create(**key, last=0)
        counter = NumberCounter.objects.select_for_update().get(**key)
    counter.last += 1
    counter.save(update_fields=["last"])
    return rules.number_for(
        t.stream, zone_code=zone.code, division_code=zone.division_code, year=year, seq=counter.last
    )


def _apply_edit(s: Step) -> None:
    t = s.t
    current = {
        "stream": t.stream,
        "consignee_id": t.consignee_id,
        "carrier_id": t.carrier_id,
        "storage_id": t.storage_id,
        "planned_date": t.planned_date,
        "consignor_site_id": t.consignor_site_id,
        "consignee_site_id": t.consignee_site_id,
        "treatment": t.treatment,
        "emergency_measures": t.emergency_measures,
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
            for line in t.lines.all()
        ],
    }
    unknown = set(s.data) - set(current) - {"at"}
    if unknown:
        raise Invalid.field(sorted(unknown)[0], _("this field cannot be changed"))
    merged = {**current, **{k: v for k, v in s.data.items() if k in current}}
    d = _draft_input(s.actor, t.consignor, {**merged, "parent_id": t.parent_id})
    t.stream, t.consignee, t.carrier, t.current_carrier, t.storage = (
        d.stream,
        d.consignee,
        d.carrier,
        d.carrier,
        d.storage,
    )
    t.planned_date, t.treatment, t.emergency_measures = d.planned_date, d.treatment, d.emergency_measures
    t.consignor_site, t.consignee_site = d.consignor_site, d.consignee_site
    t.estimated_t = sum((line.estimated_t for line in d.lines), rules.ZERO)
    t.inter_provincial = rules.is_inter_provincial(s.zone.division_code, d.consignee.uscc)
    if "lines" in s.data:
        TransferLine.objects.filter(transfer=t).delete()
        _write_lines(t, d.lines)
    TransferLeg.objects.filter(transfer=t, seq=1).update(carrier=d.carrier)


def _apply_issue(s: Step) -> None:
    s.t.number = _next_number(s.t, s.zone, _local_date(s.at).year)
    s.t.issued_at = s.at
    s.quantity = s.t.estimated_t


def _apply_cancel(s: Step) -> None:
    s.t.cancel_reason = s.data.get("reason", "") or s.t.cancel_reason


def _apply_pick_up(s: Step) -> None:
    leg = _current_leg(s.t)
    vehicle: Vehicle = s.data["_vehicle"]
    leg.vehicle = vehicle
    leg.vehicle_plate = vehicle.plate
    leg.driver = check_text(s.data.get("driver"), "driver", max_length=100)
    leg.quantity_seen_t = s.quantity
    leg.picked_up_at = s.at
    leg.save()
    s.t.picked_up_at = s.at


def _apply_hand_over(s: Step) -> None:
    leg = _current_leg(s.t)
    leg.handed_over_at = s.at
    leg.save(update_fields=["handed_over_at"])
    nxt: Organization = s.data["_next_carrier"]
    vehicle: Vehicle | None = s.data.get("_vehicle")
    TransferLeg.objects.create(
        zone_id=s.t.zone_id,
        transfer=s.t,
        seq=leg.seq + 1,
        carrier=nxt,
        vehicle=vehicle,
        vehicle_plate=vehicle.plate if vehicle else "",
        driver=check_text(s.data.get("driver"), "driver", max_length=100),
        quantity_seen_t=leg.quantity_seen_t,
        picked_up_at=s.at,
    )
    s.t.current_carrier = nxt
    s.extra_changes["next_carrier_id"] = nxt.pk


def _apply_deliver(s: Step) -> None:
    leg = _current_leg(s.t)
    leg.handed_over_at = s.at
    leg.save(update_fields=["handed_over_at"])
    s.t.delivered_at = s.at


def _store_received(s: Step) -> None:
    received = s.data.get("_received")
    if not received:
        return
    for line in s.t.lines.all():
        if line.position in received:
            line.received_t = received[line.position]
            line.save(update_fields=["received_t"])
    s.t.received_t = sum((line.received_t or rules.ZERO for line in s.t.lines.all()), rules.ZERO)
    s.quantity = s.t.received_t


def _apply_weigh(s: Step) -> None:
    _store_received(s)


def _close(s: Step) -> None:
    _store_received(s)
    s.t.discrepancy = bool(s.data.get("_discrepancy"))
    s.t.discrepancy_note = s.data.get("discrepancy_note", "")
    if s.data.get("treatment"):
        s.t.treatment = check_text(s.data.get("treatment"), "treatment", max_length=100)
    s.t.closed_at = s.at
    s.quantity = s.t.received_t


def _apply_accept(s: Step) -> None:
    _close(s)


def _apply_accept_part(s: Step) -> None:
    _close(s)
    s.t.refused_t = s.data["_refused"]
    s.t.refusal_reason = s.data["reason"]
    s.note = s.data["reason"]


def _apply_refuse(s: Step) -> None:
    received = _received_lines(s)
    if received:
        s.data["_received"] = received
        _store_received(s)
    s.t.refused_t = s.t.received_t if s.t.received_t is not None else s.t.estimated_t
    if "refused_t" in s.data and s.data["refused_t"] not in (None, ""):
        refused = _qty(s.data["refused_t"], "refused_t")
        fault = rules.refused_part_fault(refused, s.t.refused_t, whole=True)
        if fault:
            raise Invalid.field("refused_t", fault)
    s.t.refusal_reason = s.data["reason"]
    s.t.closed_at = s.at
    s.note = s.data["reason"]


def _apply_redirect_rest(s: Step) -> None:
    t = s.t
    lines = s.data.get("lines")
    if not lines:
        src = list(t.lines.all())
        if len(src) != 1:
            raise Invalid.field("lines", _("name the lines and quantities of the rest"))
        lines = [
            {
                "waste_code": src[0].waste_code,
                "description": src[0].description,
                "estimated_t": t.refused_t,
                "packaging": src[0].packaging,
                "physical_form": src[0].physical_form,
            }
        ]
    total = sum(
        (
            _qty(raw.get("estimated_t") if isinstance(raw, Mapping) else None, f"lines[{i}].estimated_t")
            for i, raw in enumerate(lines, start=1)
        ),
        rules.ZERO,
    )
    if total > t.refused_t:
        raise Invalid.field("lines", _("more than the refused %(q)s t") % {"q": t.refused_t})
    data = {
        "stream": t.stream,
        "consignee_id": s.data.get("consignee_id") or t.consignor_id,
        "carrier_id": s.data.get("carrier_id") or t.carrier_id,
        "lines": lines,
        "planned_date": _local_date(s.now),
        "consignor_id": t.consignor_id,
    }
    system = Actor.system(s.zone)
    s.created = create_transfer(system if s.actor.is_system else s.actor, data=data, parent=t)
    t.rest_redirected = True
    s.extra_changes["linked_transfer_id"] = s.created.pk


def _apply_request_revision(s: Step) -> None:
    t = s.t
    proposed_raw = s.data.get("changes")
    if not isinstance(proposed_raw, Mapping) or not proposed_raw:
        raise Invalid.field("changes", _("name at least one field to correct"))
    reason = check_text(s.data.get("reason"), "reason", max_length=2000, required=True)
    proposed: dict[str, Any] = {}
    initial: dict[str, Any] = {}
    for key, value in proposed_raw.items():
        if key not in REVISION_FIELDS:
            raise Invalid.field(f"changes.{key}", _("this field cannot be corrected"))
        proposed[key] = REVISION_FIELDS[key][0](t, value)
        initial[key] = audit._plain(REVISION_FIELDS[key][1](t))
    if proposed.get("cancel") and t.state == rules.CLOSED:
        raise Invalid.field("changes.cancel", _("a closed transfer is corrected, not cancelled"))
    parties = {
        t.consignor_id,
        t.consignee_id,
        *TransferLeg.objects.filter(transfer=t).values_list("carrier_id", flat=True),
    }
    requester = s.actor.organization_id
    approvals = [requester] if requester in parties else []
    req = RevisionRequest.objects.create(
        zone_id=t.zone_id,
        transfer=t,
        requested_by_id=requester or t.consignor_id,
        requested_by_user=s.actor.username,
        reason=reason,
        proposed=audit._plain(proposed),
        initial=initial,
        required=sorted(parties),
        approvals=approvals,
    )
    t.revision_pending = True
    s.extra_changes["revision_request_id"] = req.pk
    s.data["_revision"] = req


def _apply_acknowledge(s: Step) -> None:
    s.t.acknowledged = True


APPLY: dict[str, Callable[[Step], None]] = {
    "edit": _apply_edit,
    "discard": lambda s: None,
    "issue": _apply_issue,
    "cancel": _apply_cancel,
    "pick_up": _apply_pick_up,
    "hand_over": _apply_hand_over,
    "deliver": _apply_deliver,
    "weigh": _apply_weigh,
    "accept": _apply_accept,
    "accept_part": _apply_accept_part,
    "refuse": _apply_refuse,
    "redirect_rest": _apply_redirect_rest,
    "request_revision": _apply_request_revision,
    "acknowledge": _apply_acknowledge,
}


def _set_due(t: Transfer, zone: Zone, at: datetime) -> None:
    days = rules.due_days(zone.settings, t.stream, t.state)
    if days is None:
        t.due_date, t.due_step = None, ""
    else:
        t.due_date = workdays.add_working_days(_local_date(at), days)
        t.due_step = rules.DUE_STEP[t.state]


def perform(actor: Actor, transfer_id: int, action: str, **data: Any) -> Transfer:
    """Do `action` on the transfer as `actor`: the one entry to the state machine.

    A pick-up may carry `consignor_code`, the producer's signature code: the driver then collects the
    producer's signature on the driver's device (a draft is issued in the producer's name first; an
    issued manifest gets the producer's release signature beside the carrier's). The code is checked
    first, in its own transaction, so that wrong attempts are counted even though the step is refused.
    """
    code = data.pop("consignor_code", None)
    if code is None or str(code) == "":
        return _perform(actor, transfer_id, action, **data)
    if action != "pick_up":
        raise Invalid.field("consignor_code", _("only the pick-up carries the producer's signature code"))
    t = get_transfer(actor, transfer_id)
    if actor.organization_id != t.current_carrier_id or t.state not in (rules.DRAFT, rules.ISSUED):
        raise Forbidden(_("only the carrier picking the waste up may use the producer's signature code"))
    _require_member(actor, "pick_up")
    check_signature_code(t.consignor_id, str(code))
    return _pick_up_with_consignor(actor, transfer_id, data)


@transaction.atomic
def _pick_up_with_consignor(actor: Actor, transfer_id: int, data: dict[str, Any]) -> Transfer:
    t = _locked(actor, transfer_id)
    note = _("collected on the carrier's device by %(user)s with the producer's signature code") % {
        "user": actor.username
    }
    if t.state == rules.DRAFT:
        _perform(actor, transfer_id, "issue", _as_consignor=note)
    t = _perform(actor, transfer_id, "pick_up", **data)
    if not t.signatures.filter(action="issue", note=note).exists():
        leg = _current_leg(t)
        Signature.objects.create(
            zone_id=t.zone_id,
            transfer=t,
            action="release",
            party=rules.CONSIGNOR,
            organization_id=t.consignor_id,
            username=actor.username,
            at=t.picked_up_at or timezone.now(),
            quantity_t=leg.quantity_seen_t,
            note=note,
        )
        audit.record(actor, "transfer.release", t, {"by_code": True, "quantity_t": leg.quantity_seen_t})
    return t


@transaction.atomic
def _perform(actor: Actor, transfer_id: int, action: str, **data: Any) -> Transfer:
    as_consignor: str | None = data.pop("_as_consignor", None)
    if action not in rules.ACTIONS:
        raise Invalid.field("action", _("unknown action %(a)s") % {"a": action})
    t = _locked(actor, transfer_id)
    tr = rules.transition(t.state, action)
    if tr is None:
        raise Conflict(
            _("cannot %(action)s a transfer that is %(state)s") % {"action": action, "state": t.state}
        )
    acting = parties_of(actor, t) | ({rules.CONSIGNOR} if as_consignor else set())
    if not actor.is_system and not rules.party_may(tr, frozenset(acting)):
        raise Forbidden(_("it is the %(party)s's turn to %(action)s") % {"party": tr.party, "action": action})
    if as_consignor:
        _require_member(actor, "pick_up")  # the driver signs for the producer: a signer of the carrier
    elif tr.party != rules.REGULATOR:
        _require_member(actor, action)
    zone = _zone(t.zone_id)
    now = timezone.now()
    at = _moment(data.pop("at", None)) if tr.signs else now
    step = Step(actor=actor, t=t, data=dict(data), zone=zone, at=at, now=now)
    before = _snapshot(t)
    for name in sorted(tr.preconditions, key=lambda n: _ORDER.get(n, 2)):
        PRECONDITIONS[name](step)
    APPLY[action](step)
    t.state = tr.target
    if tr.source != tr.target or action == "issue":
        _set_due(t, zone, at)
    if tr.signs:
        t.last_signed_at = at
        party = tr.party if tr.party != rules.ANY_PARTY else sorted(parties_of(actor, t))[0]
        Signature.objects.create(
            zone_id=t.zone_id,
            transfer=t,
            action=action,
            party=party,
            organization_id=t.consignor_id if as_consignor else actor.organization_id,
            username=actor.username,
            at=at,
            quantity_t=step.quantity,
            note=as_consignor or step.note,
        )
    t.save()
    if t.state in (rules.CLOSED, rules.REFUSED) and tr.source != tr.target:
        TransferVersion.objects.create(
            zone_id=t.zone_id, transfer=t, version=t.version, data=_content(t), reason=action
        )
    changes: dict[str, Any] = dict(audit.diff(before, _snapshot(t)))
    changes.update(step.extra_changes)
    if tr.signs:
        changes["signed_at"] = at
        if step.quantity is not None:
            changes["quantity_t"] = step.quantity
    audit.record(actor, f"transfer.{action}", t, changes)
    from . import webhooks

    webhooks.notify(t, action)
    if action == "redirect_rest" and step.created is not None:
        return step.created
    return t


# --- The producer's signature code ----------------------------------------------------------------

SIGNATURE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SIGNATURE_CODE_LENGTH = 8
SIGNATURE_CODE_MAX_FAILURES = 5
SIGNATURE_CODE_WINDOW = timedelta(minutes=15)


def _code_digest(organization_id: int, code: str) -> str:
    key = django_settings.SECRET_KEY.encode()
    message = f"signature-code:{organization_id}:{code.strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@transaction.atomic
def rotate_signature_code(actor: Actor) -> str:
    """A new signature code for the actor's organization (its admin only). Returned once, kept hashed;
    the previous code stops working at once."""
    import secrets

    org_id = actor.organization_id
    if org_id is None or actor.is_regulator:
        raise Forbidden(_("only an organization's admin may rotate its signature code"))
    if actor.member_role != "admin" or (actor.token_scopes is not None and "admin" not in actor.token_scopes):
        raise Forbidden(_("only an organization's admin may rotate its signature code"))
    code = "".join(secrets.choice(SIGNATURE_CODE_ALPHABET) for _i in range(SIGNATURE_CODE_LENGTH))
    now = timezone.now()
    record, created = SignatureCode.objects.select_for_update().get_or_create(
        organization_id=org_id,
        defaults={"zone_id": actor.zone_id, "digest": _code_digest(org_id, code), "rotated_at": now},
    )
    if not created:
        record.digest = _code_digest(org_id, code)
        record.rotated_at = now
        record.failed_attempts = 0
        record.window_started_at = None
        record.locked_until = None
    record.rotated_by = actor.username
    record.save()
    audit.record(actor, "transfers.signature_code.rotate", record, {"rotated_at": now})
    return code


def signature_code_status(actor: Actor) -> dict[str, Any]:
    record = SignatureCode.objects.filter(organization_id=actor.organization_id or 0).first()
    return {
        "exists": record is not None,
        "rotated_at": record.rotated_at if record else None,
        "rotated_by": record.rotated_by if record else "",
        "locked_until": record.locked_until if record else None,
    }


def check_signature_code(organization_id: int, code: str) -> None:
    """Raise unless `code` is the organization's signature code. Wrong attempts are counted (committed
    even when the caller's step is refused); after 5 within 15 minutes the code is locked for 15."""
    failure: DomainError | None = None
    with transaction.atomic():
        record = SignatureCode.objects.select_for_update().filter(organization_id=organization_id).first()
        now = timezone.now()
        if record is None:
            raise Invalid.field("consignor_code", _("the producer has no signature code; its admin sets one"))
        if record.locked_until and record.locked_until > now:
            raise Forbidden(
                _("too many wrong signature codes; try again after %(t)s")
                % {"t": timezone.localtime(record.locked_until).strftime("%H:%M")},
                errors=[{"field": "consignor_code", "message": _("too many wrong attempts")}],
            )
        if hmac.compare_digest(record.digest, _code_digest(organization_id, code)):
            if record.failed_attempts:
                record.failed_attempts = 0
                record.window_started_at = None
                record.save(update_fields=["failed_attempts", "window_started_at"])
            return
        if record.window_started_at is None or now - record.window_started_at > SIGNATURE_CODE_WINDOW:
            record.window_started_at = now
            record.failed_attempts = 0
        record.failed_attempts += 1
        if record.failed_attempts >= SIGNATURE_CODE_MAX_FAILURES:
            record.locked_until = now + SIGNATURE_CODE_WINDOW
        record.save(update_fields=["failed_attempts", "window_started_at", "locked_until"])
        failure = Invalid.field("consignor_code", _("the producer's signature code is wrong"))
    raise failure


# --- Revisions (corrections after the fact) --------------------------------------------------------


def _set_line1(field_name: str) -> Callable[[Transfer, Any], Any]:
    def parse(t: Transfer, value: Any) -> Any:
        if t.lines.count() != 1:
            raise Invalid.field(f"changes.{field_name}", _("only for single-line manifests"))
        if field_name.endswith("_t"):
            return _qty(value, f"changes.{field_name}", allow_zero=field_name == "received_t")
        if field_name == "waste_code":
            from zerowaste.catalog import services as catalog

            code = check_text(value, "changes.waste_code", max_length=40, required=True)
            check = catalog.code_valid(t.zone_id, t.stream, code, t.planned_date)
            if not check.ok:
                raise Invalid.field("changes.waste_code", check.message)
            return code
        return check_text(value, f"changes.{field_name}", max_length=300)

    return parse


def _text_field(name: str, max_length: int) -> Callable[[Transfer, Any], Any]:
    return lambda t, v: check_text(v, f"changes.{name}", max_length=max_length)


def _cancel_value(t: Transfer, value: Any) -> bool:
    if value is not True:
        raise Invalid.field("changes.cancel", _("must be true"))
    return True


def _line1(name: str) -> Callable[[Transfer], Any]:
    def get(t: Transfer) -> Any:
        line = t.lines.first()
        return getattr(line, name) if line else None

    return get


REVISION_FIELDS: dict[str, tuple[Callable[[Transfer, Any], Any], Callable[[Transfer], Any]]] = {
    "treatment": (_text_field("treatment", 100), lambda t: t.treatment),
    "discrepancy_note": (_text_field("discrepancy_note", 2000), lambda t: t.discrepancy_note),
    "emergency_measures": (_text_field("emergency_measures", 2000), lambda t: t.emergency_measures),
    "received_t": (_set_line1("received_t"), _line1("received_t")),
    "estimated_t": (_set_line1("estimated_t"), _line1("estimated_t")),
    "waste_code": (_set_line1("waste_code"), _line1("waste_code")),
    "description": (_set_line1("description"), _line1("description")),
    "cancel": (_cancel_value, lambda t: False),
}


def request_revision(
    actor: Actor, transfer_id: int, *, changes: Mapping[str, Any], reason: str
) -> RevisionRequest:
    perform(actor, transfer_id, "request_revision", changes=changes, reason=reason)
    return RevisionRequest.objects.filter(transfer_id=transfer_id, status="pending").get()


def get_revision(actor: Actor, request_id: int) -> RevisionRequest:
    req = RevisionRequest.objects.filter(zone_id=actor.zone_id, pk=request_id).first()
    if req is None or not visible_transfers(actor).filter(pk=req.transfer_id).exists():
        raise NotFound(_("correction request %(id)s not found") % {"id": request_id})
    return req


def _apply_revision(actor: Actor, t: Transfer, req: RevisionRequest) -> None:
    before = _snapshot(t)
    proposed = req.proposed
    if proposed.get("cancel"):
        t.state = rules.CANCELLED
        t.cancel_reason = req.reason
        t.due_date, t.due_step = None, ""
    line = t.lines.first()
    for key, value in proposed.items():
        if key in ("treatment", "discrepancy_note", "emergency_measures"):
            setattr(t, key, value)
        elif key in ("received_t", "estimated_t", "waste_code", "description") and line is not None:
            setattr(line, key, Decimal(value) if key.endswith("_t") else value)
            line.save()
            if key == "received_t":
                t.received_t = Decimal(value)
            if key == "estimated_t":
                t.estimated_t = Decimal(value)
    if t.received_t is not None and t.state == rules.CLOSED:
        tol = rules.tolerance_for(_zone(t.zone_id).settings, t.stream)
        t.discrepancy = tol.is_discrepancy(t.estimated_t, t.received_t)
    if not TransferVersion.objects.filter(transfer=t, version=t.version).exists():
        TransferVersion.objects.create(
            zone_id=t.zone_id, transfer=t, version=t.version, data=_content(t), reason="before correction"
        )
    t.version += 1
    t.revision_pending = False
    t.save()
    TransferVersion.objects.create(
        zone_id=t.zone_id, transfer=t, version=t.version, data=_content(t), reason=req.reason
    )
    changes: dict[str, Any] = dict(audit.diff(before, _snapshot(t)))
    changes["revision_request_id"] = req.pk
    audit.record(actor, "transfer.revise", t, changes)


@transaction.atomic
def decide_revision(actor: Actor, request_id: int, *, approve: bool) -> RevisionRequest:
    """A required party approves (applied once all have) or rejects (closes the request)."""
    req0 = get_revision(actor, request_id)
    _require_member(actor, "approve_revision")
    t = Transfer.objects.select_for_update().get(pk=req0.transfer_id)
    req = RevisionRequest.objects.select_for_update().get(pk=request_id)
    if req.status != RevisionRequest.Status.PENDING:
        raise Conflict(_("this correction request is already %(s)s") % {"s": req.status})
    org = actor.organization_id
    if not actor.is_system and org not in req.required:
        raise Forbidden(_("your organization is not a party to approve this correction"))
    if approve:
        if org in req.approvals and not actor.is_system:
            raise Conflict(_("your organization has already approved"))
        req.approvals = sorted(set(req.approvals) | ({org} if org else set(req.required)))
        if set(req.required) <= set(req.approvals):
            req.status = RevisionRequest.Status.APPLIED
            req.decided_at = timezone.now()
            _apply_revision(actor, t, req)
    else:
        req.status = RevisionRequest.Status.REJECTED
        req.decided_at = timezone.now()
        t.revision_pending = False
        t.save(update_fields=["revision_pending", "updated_at"])
    req.save()
    audit.record(
        actor,
        "transfer.revision_" + ("approve" if approve else "reject"),
        req,
        {"transfer_id": t.pk, "status": req.status, "approvals": req.approvals},
    )
    from . import webhooks

    webhooks.notify(t, "revision_" + req.status)
    return req


def history(actor: Actor, transfer_id: int) -> list[TransferVersion]:
    t = get_transfer(actor, transfer_id)
    return list(TransferVersion.objects.filter(transfer=t).order_by("version"))


# --- Registers -------------------------------------------------------------------------------------

REGISTERS = ("outgoing", "incoming", "carried", "all")


def register(
    actor: Actor,
    *,
    kind: str = "all",
    stream: str | None = None,
    state: str | None = None,
    year: int | None = None,
    overdue: bool = False,
    query: str | None = None,
    month: str | None = None,
    review: bool = False,
) -> QuerySet[Transfer]:
    """The transfers of one register of the actor, filtered; overdue = an open step past its due date;
    review = a discrepancy, part refused or refusal the regulator has not acknowledged yet."""
    qs = visible_transfers(actor)
    org = actor.organization_id
    if kind == "outgoing":
        qs = qs.filter(consignor_id=org)
    elif kind == "incoming":
        qs = qs.filter(consignee_id=org)
    elif kind == "carried":
        qs = qs.filter(
            pk__in=TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id=org).values("transfer_id")
        )
    elif kind != "all":
        raise Invalid.field("register", _("one of: %(k)s") % {"k": ", ".join(REGISTERS)})
    if stream:
        if stream not in rules.STREAMS:
            raise Invalid.field("stream", _("must be one of: %(s)s") % {"s": ", ".join(rules.STREAMS)})
        qs = qs.filter(stream=stream)
    if state:
        if state not in rules.STATES:
            raise Invalid.field("state", _("must be one of: %(s)s") % {"s": ", ".join(rules.STATES)})
        qs = qs.filter(state=state)
    if year:
        if not 1900 <= year <= 2200:
            raise Invalid.field("year", _("out of range"))
        qs = qs.filter(planned_date__year=year)
    if overdue:
        qs = qs.filter(state__in=rules.OPEN_STATES, due_date__lt=timezone.localdate())
    if review:  # what the regulator may acknowledge (the `has_discrepancy` precondition)
        qs = qs.filter(
            Q(state=rules.CLOSED) & (Q(discrepancy=True) | Q(refused_t__gt=0)) | Q(state=rules.REFUSED),
            acknowledged=False,
        )
    if query:
        qs = qs.filter(
            Q(number__icontains=query)
            | Q(consignee__name__icontains=query)
            | Q(consignor__name__icontains=query)
        )
    return qs.select_related("consignor", "consignee", "carrier").order_by("-planned_date", "-pk")


def is_overdue(t: Transfer, today: date | None = None) -> bool:
    return bool(t.state in rules.OPEN_STATES and t.due_date and t.due_date < (today or timezone.localdate()))


def overdue_alerts(actor: Actor, *, stream: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The open steps past their due date, in the register's order (at most `limit`)."""
    today = timezone.localdate()
    rows = []
    for t in register(actor, stream=stream, overdue=True)[:limit]:
        assert t.due_date is not None
        rows.append(
            {
                "id": t.pk,
                "number": t.number,
                "stream": t.stream,
                "state": t.state,
                "step": t.due_step,
                "due_date": t.due_date,
                "working_days_overdue": workdays.working_days_between(t.due_date, today),
                "consignor": t.consignor.name,
                "consignee": t.consignee.name,
            }
        )
    return rows


def as_row(t: Transfer) -> dict[str, Any]:
    """The register form of a transfer (CLI, exports)."""
    return {
        "id": t.pk,
        "number": t.number,
        "stream": t.stream,
        "state": t.state,
        "consignor": t.consignor.name,
        "consignor_uscc": t.consignor.uscc,
        "consignee": t.consignee.name,
        "consignee_uscc": t.consignee.uscc,
        "carrier": t.carrier.name,
        "planned_date": t.planned_date,
        "estimated_t": rules_fmt(t.estimated_t),
        "received_t": rules_fmt(t.received_t) if t.received_t is not None else None,
        "refused_t": rules_fmt(t.refused_t),
        "discrepancy": t.discrepancy,
        "inter_provincial": t.inter_provincial,
        "issued_at": t.issued_at,
        "closed_at": t.closed_at,
        "due_date": t.due_date,
        "overdue": is_overdue(t),
    }


def rules_fmt(value: Decimal | None) -> str:
    return str((value or rules.ZERO).quantize(rules.KILOGRAM))


EXPORT_HEADERS = [
    "联单编号 number",
    "类别 stream",
    "状态 state",
    "移出单位 consignor",
    "移出单位代码 USCC",
    "接收单位 consignee",
    "接收单位代码 USCC",
    "运输单位 carrier",
    "计划日期 planned",
    "预计量(吨) estimated t",
    "接收量(吨) received t",
    "拒收量(吨) refused t",
    "差异 discrepancy",
    "跨省 inter-provincial",
    "发起时间 issued",
    "关闭时间 closed",
    "期限 due",
    "逾期 overdue",
]


def export_rows(actor: Actor, **filters: Any) -> list[list[Any]]:
    rows = []
    for t in register(actor, **filters).iterator(chunk_size=2000):
        r = as_row(t)
        rows.append(
            [
                r["number"] or "",
                r["stream"],
                r["state"],
                r["consignor"],
                r["consignor_uscc"],
                r["consignee"],
                r["consignee_uscc"],
                r["carrier"],
                r["planned_date"].isoformat(),
                r["estimated_t"],
                r["received_t"] or "",
                r["refused_t"],
                "是" if r["discrepancy"] else "",
                "是" if r["inter_provincial"] else "",
                timezone.localtime(r["issued_at"]).strftime("%Y-%m-%d %H:%M") if r["issued_at"] else "",
                timezone.localtime(r["closed_at"]).strftime("%Y-%m-%d %H:%M") if r["closed_at"] else "",
                r["due_date"].isoformat() if r["due_date"] else "",
                "是" if r["overdue"] else "",
            ]
        )
    return rows


def export(actor: Actor, *, fmt: str = "xlsx", **filters: Any) -> tuple[bytes, str, str]:
    """The register as (content, content type, file extension)."""
    rows = export_rows(actor, **filters)
    if fmt == "csv":
        return tabular.write_csv(EXPORT_HEADERS, rows), "text/csv; charset=utf-8", "csv"
    if fmt != "xlsx":
        raise Invalid.field("format", _("csv or xlsx"))
    return (
        tabular.write_xlsx("联单台账", EXPORT_HEADERS, rows),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )


# --- Import of several drafts from a sheet ---------------------------------------------------------


def _import_columns() -> list[Any]:
    from zerowaste.core.tabular import Column

    return [
        Column("stream", ("类别", "stream")),
        Column("consignee", ("接收单位代码", "consignee_uscc", "consignee")),
        Column("carrier", ("运输单位代码", "carrier_uscc", "carrier")),
        Column("planned_date", ("计划日期", "planned_date"), required=False),
        Column("waste_code", ("废物代码", "waste_code")),
        Column("estimated_t", ("数量(吨)", "estimated_t", "tonnes")),
        Column("description", ("废物名称", "description"), required=False),
        Column("packaging", ("包装", "packaging"), required=False),
    ]


IMPORT_COLUMNS = _import_columns()
IMPORT_MAX_ROWS = 500
_IMPORT_FIELD_COLUMN = {
    "consignee_id": "consignee",
    "carrier_id": "carrier",
    "lines[1].waste_code": "waste_code",
    "lines[1].estimated_t": "estimated_t",
    "lines[1].description": "description",
    "lines[1].packaging": "packaging",
    "lines": "estimated_t",
}


def import_drafts(actor: Actor, *, content: bytes, filename: str, issue: bool = False) -> list[Transfer]:
    """One manifest per row (stream, consignee and carrier USCC, date, code, tonnes); all or none.

    Every row is checked; every fault is reported by sheet, row and column (`ImportRejected`) and
    then nothing is written (numbers taken by the rows that were fine are given back too)."""
    from zerowaste.core.tabular import Fault, ImportRejected, Limits, read_table

    _require_member(actor, "create")
    # One data row more than allowed is read, so that the refusal below can name the limit.
    table = read_table(
        content, filename, IMPORT_COLUMNS, limits=Limits.from_settings(max_rows=IMPORT_MAX_ROWS + 1)
    )
    if table.faults:
        raise ImportRejected(table.faults)
    if not table.rows:
        raise ImportRejected([Fault(table.sheet, 2, "", "file", _("the sheet has no manifest rows"))])
    if len(table.rows) > IMPORT_MAX_ROWS:
        raise Invalid.field("file", _("at most %(n)d manifests per sheet") % {"n": IMPORT_MAX_ROWS})
    faults: list[Fault] = []
    created: list[Transfer] = []
    orgs = {o.uscc: o.pk for o in Organization.objects.filter(zone_id=actor.zone_id)}
    with transaction.atomic():
        for row in table.rows:
            v = row.values
            stream = str(v.get("stream") or "").strip().lower()
            if stream in ("危废", "危险废物"):
                stream = "hw"
            elif stream in ("一般", "一般工业固废", "一般工业固体废物"):
                stream = "isw"
            row_faults: list[Fault] = []
            ids: dict[str, int] = {}
            for col in ("consignee", "carrier"):
                uscc = str(v.get(col) or "").strip().upper()
                if uscc not in orgs:
                    row_faults.append(
                        row.fault(col, _("no organization with code %(uscc)s in the zone") % {"uscc": uscc})
                    )
                ids[col] = orgs.get(uscc, -1)
            data = {
                "stream": stream,
                "consignee_id": ids["consignee"],
                "carrier_id": ids["carrier"],
                "planned_date": v.get("planned_date") or timezone.localdate(),
                "lines": [
                    {
                        "waste_code": str(v.get("waste_code") or ""),
                        "estimated_t": v.get("estimated_t"),
                        "description": str(v.get("description") or ""),
                        "packaging": str(v.get("packaging") or ""),
                    }
                ],
            }
            if not row_faults:
                try:
                    with transaction.atomic():
                        created.append(create_transfer(actor, data=data, issue=issue))
                except Invalid as exc:
                    for err in exc.errors or [{"field": "", "message": exc.message}]:
                        name = str(err.get("field") or "")
                        row_faults.append(
                            row.fault(_IMPORT_FIELD_COLUMN.get(name, name), str(err.get("message")))
                        )
            faults.extend(row_faults)
        if faults:
            raise ImportRejected(faults)
    return created


def import_template_xlsx(actor: Actor) -> bytes:
    """An empty sheet with the import's headers, one example row of the actor's own parties' codes."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "联单"
    sheet.append([c.headers[0] + ("*" if c.required else "") for c in IMPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    streams = DataValidation(type="list", formula1='"isw,hw"', allow_blank=False)
    sheet.add_data_validation(streams)
    streams.add("A2:A501")
    for letter, width in zip("ABCDEFGH", (8, 22, 22, 12, 14, 10, 20, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    return tabular.workbook_bytes(workbook)


# --- Public verification (QR code) ---------------------------------------------------------------


def verification_code(t: Transfer) -> str:
    """A keyed digest printed in the QR code: the public page answers only with it (no enumeration)."""
    key = django_settings.SECRET_KEY.encode()
    return hmac.new(key, f"transfer:{t.zone_id}:{t.pk}:{t.number}".encode(), hashlib.sha256).hexdigest()[:20]


def public_view(number: str, code: str) -> dict[str, Any]:
    t = Transfer.objects.filter(number=number).select_related("consignor", "consignee", "carrier").first()
    if t is None or not hmac.compare_digest(verification_code(t), code or ""):
        raise NotFound(_("no such manifest"))
    return {
        "number": t.number,
        "stream": t.stream,
        "state": t.state,
        "state_zh": rules.STATE_LABELS_ZH[t.state],
        "consignor": t.consignor.name,
        "consignee": t.consignee.name,
        "carrier": t.carrier.name,
        "issued_at": t.issued_at,
        "closed_at": t.closed_at,
        "version": t.version,
        "transfer": t,
    }


# --- Supervision figures ---------------------------------------------------------------------------


def years_with_data(actor: Actor) -> list[int]:
    """The years of the issued manifests the actor sees (by planned date), latest first: one query."""
    return periods.years_of(visible_transfers(actor).exclude(state=rules.DRAFT), "planned_date")


def statistics(
    actor: Actor, *, year: int | None = None, stream: str | None = None, month: int | None = None
) -> dict[str, Any]:
    """Issued, closed and open by month, tonnes by code and by receiver, average days to close,
    discrepancies, overdue steps, inter-provincial moves — over the transfers the actor sees
    (planned in the year, or in one month of it)."""
    qs = visible_transfers(actor).exclude(state=rules.DRAFT)
    if stream:
        qs = qs.filter(stream=stream)
    if year:
        qs = qs.filter(planned_date__year=year)
    if month:
        if not year or not 1 <= month <= 12:
            raise Invalid.field("month", _("a month between 1 and 12, with a year"))
        qs = qs.filter(planned_date__month=month)
    by_month: dict[str, dict[str, Any]] = defaultdict(lambda: {"issued": 0, "closed": 0, "open": 0})
    for row in qs.annotate(m=TruncMonth("planned_date")).values("m", "state").annotate(n=Count("pk")):
        key = row["m"].strftime("%Y-%m") if row["m"] else "?"
        by_month[key]["issued"] += row["n"]
        if row["state"] == rules.CLOSED:
            by_month[key]["closed"] += row["n"]
        if row["state"] in rules.OPEN_STATES:
            by_month[key]["open"] += row["n"]
    closed = qs.filter(state=rules.CLOSED)
    lines = TransferLine.objects.filter(transfer__in=closed.values("pk"))
    by_code = [
        {"waste_code": r["waste_code"], "tonnes": rules_fmt(r["t"])}
        for r in lines.values("waste_code").annotate(t=Sum("received_t")).order_by("-t", "waste_code")[:50]
    ]
    by_category = [
        {"category": r["category"], "tonnes": rules_fmt(r["t"])}
        for r in lines.values("category").annotate(t=Sum("received_t")).order_by("-t", "category")
    ]
    by_receiver = [
        {"consignee": r["consignee__name"], "tonnes": rules_fmt(r["t"]), "transfers": r["n"]}
        for r in closed.values("consignee__name")
        .annotate(t=Sum("received_t"), n=Count("pk"))
        .order_by("-t")[:50]
    ]
    durations = [(c - i).total_seconds() for i, c in closed.values_list("issued_at", "closed_at") if i and c]
    totals = qs.aggregate(issued=Count("pk"), estimated=Sum("estimated_t"))
    closed_totals = closed.aggregate(n=Count("pk"), received=Sum("received_t"))
    inter = qs.filter(inter_provincial=True).aggregate(n=Count("pk"), t=Sum("estimated_t"))
    return {
        "year": year,
        "stream": stream,
        "issued": totals["issued"],
        "closed": closed_totals["n"],
        "open": qs.filter(state__in=rules.OPEN_STATES).count(),
        "refused": qs.filter(state=rules.REFUSED).count(),
        "cancelled": qs.filter(state=rules.CANCELLED).count(),
        "estimated_t": rules_fmt(totals["estimated"]),
        "received_t": rules_fmt(closed_totals["received"]),
        "by_month": [{"month": k, **v} for k, v in sorted(by_month.items())],
        "by_code": by_code,
        "by_category": by_category,
        "by_receiver": by_receiver,
        "average_days_to_close": round(sum(durations) / len(durations) / 86400, 2) if durations else None,
        "discrepancies": qs.filter(discrepancy=True).count(),
        "partial_refusals": closed.filter(refused_t__gt=0).count(),
        "overdue": qs.filter(state__in=rules.OPEN_STATES, due_date__lt=timezone.localdate()).count(),
        "inter_provincial": {
            "transfers": inter["n"],
            "tonnes": rules_fmt(inter["t"]),
            "share_t": (
                str(((inter["t"] or 0) / totals["estimated"]).quantize(Decimal("0.0001")))
                if totals["estimated"]
                else None
            ),
        },
    }


# --- The declarations' seam ------------------------------------------------------------------------


def closed_quantities(
    zone_id: int, organization_id: int, period_start: date, period_end: date
) -> dict[str, Decimal]:
    """Tonnes received on closed transfers out of the organization, per waste code, closed in the period."""
    rows = (
        TransferLine.objects.filter(
            zone_id=zone_id,
            transfer__consignor_id=organization_id,
            transfer__state=rules.CLOSED,
            transfer__planned_date__gte=period_start,
            transfer__planned_date__lte=period_end,
        )
        .values("waste_code")
        .annotate(t=Sum(F("received_t")))
    )
    return {r["waste_code"]: (r["t"] or rules.ZERO) for r in rows}


def register_with_declarations() -> None:
    try:
        from zerowaste.declarations import services as declarations
    except ImportError:  # pragma: no cover - the declarations app is not installed
        return
    register = getattr(declarations, "register_transfer_provider", None)
    if register is not None:
        register(closed_quantities)


def average(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


__all__ = ["Avg", "closed_quantities", "perform", "statistics", "visible_transfers"]


def candidates(actor: Actor, stream: str, on: date | None = None) -> dict[str, list[Organization]]:
    """Receivers and carriers whose registration and licences fit the stream on the date (for pickers)."""
    on = on or timezone.localdate()
    zone_orgs = Organization.objects.filter(zone_id=actor.zone_id, is_active=True).order_by("name")
    receivers = zone_orgs.filter(roles__role="receiver")
    carriers = zone_orgs.filter(roles__role="carrier")
    if stream == "hw":
        valid = Licence.objects.filter(zone_id=actor.zone_id).in_force(on)
        receivers = receivers.filter(pk__in=valid.filter(kind="hw_operating").values("organization_id"))
        carriers = carriers.filter(pk__in=valid.filter(kind="hw_transport").values("organization_id"))
    return {"receivers": list(receivers.distinct()[:500]), "carriers": list(carriers.distinct()[:500])}


def vehicles_of(actor: Actor) -> list[Vehicle]:
    return list(
        Vehicle.objects.filter(
            zone_id=actor.zone_id, organization_id=actor.organization_id or 0, is_active=True
        ).order_by("plate")
    )
