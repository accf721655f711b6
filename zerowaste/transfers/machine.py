"""The state machine: the one entry (`perform`) to every step of a transfer.

Every state change: one transaction that locks the transfer row (`select_for_update`), looks the
action up in `rules.TRANSITIONS`, checks that the actor is the party whose turn it is and that the
transition's named preconditions hold, applies it, signs it, audits it and queues the webhooks.
A second concurrent signature of the same step finds the row already moved on: `Conflict` (409).
Where a step depends on the stream, the transfer's stream object answers (`streams`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit, workdays
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid
from zerowaste.core.models import Organization, Vehicle, Zone
from zerowaste.core.services import check_text

from . import rules, streams
from .access import _local_date, _locked, _require_member, _zone, get_transfer, parties_of
from .checks import (
    _check_capacity,
    _check_carrier,
    _check_consignee,
    _check_not_park_internal,
    _check_storage,
    _check_streams,
    _check_vehicle,
    _road_limit,
)
from .drafts import _draft_input, _write_lines, create_transfer
from .inputs import _line_inputs, _moment, _org_in_zone, _qty
from .models import (
    NumberCounter,
    RevisionRequest,
    Signature,
    Transfer,
    TransferLeg,
    TransferLine,
    TransferVersion,
)
from .revisions import REVISION_FIELDS
from .signature_codes import check_signature_code
from .snapshots import _content, _snapshot
from .streams.base import TransferStream


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
    catalog_stream = streams.get(s.t.stream).catalog_stream
    lines = list(s.t.lines.all())
    for line in lines:
        check = catalog.code_valid(s.t.zone_id, catalog_stream, line.waste_code, on)
        if not check.ok:
            raise Invalid.field(f"lines[{line.position}].waste_code", check.message)
    _check_streams(
        s.t.zone_id, s.t.consignor_id, s.t.stream, [(ln.position, ln.waste_code) for ln in lines], on
    )


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
    _check_storage(s.t.stream, s.t.storage, _line_inputs(s.t))


def _pre_not_park_internal(s: Step) -> None:
    if s.t.consignee_id != s.t.consignor_id:
        _check_not_park_internal(s.t.stream, s.t.consignor, s.t.consignee)


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
    tolerance = streams.get(s.t.stream).tolerance(s.zone.settings)
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

# The steps at which the transfer's stream checks more, after the named preconditions (issue, pick-up
# and hand-over ask it through `consignee_qualified`, `vehicle_qualified` and the others above).
STREAM_STEP_CHECKS: dict[str, Callable[[TransferStream, Step], None]] = {
    "deliver": lambda stream, s: stream.check_delivery(s),
    "weigh": lambda stream, s: stream.check_receipt(s),
    "accept": lambda stream, s: stream.check_receipt(s),
    "accept_part": lambda stream, s: stream.check_receipt(s),
    "refuse": lambda stream, s: stream.check_receipt(s),
}


# --- Applying transitions --------------------------------------------------------------------------


def _next_number(t: Transfer, zone: Zone, year: int) -> str:
    stream = streams.get(t.stream)
    prefix = stream.counter_prefix(zone.division_code)
    key = {"zone_id": t.zone_id, "stream": t.stream, "year": year, "prefix": prefix}
    counter = NumberCounter.objects.select_for_update().filter(**key).first()
    if counter is None:
        # Another transaction may create it first: then lock theirs.
        with contextlib.suppress(IntegrityError), transaction.atomic():
            NumberCounter.objects.create(**key, last=0)
        counter = NumberCounter.objects.select_for_update().get(**key)
    counter.last += 1
    counter.save(update_fields=["last"])
    return stream.number(zone_code=zone.code, division_code=zone.division_code, year=year, seq=counter.last)


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
    days = streams.get(t.stream).due_days(zone.settings, t.state)
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
    stream_check = STREAM_STEP_CHECKS.get(action)
    if stream_check is not None:
        stream_check(streams.get(t.stream), step)
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
