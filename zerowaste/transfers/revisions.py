"""Corrections after the fact: the fields a revision may touch, requests, approvals by every party,
applying a revision as a new version, and the version history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.services import check_text

from . import rules, streams
from .access import _require_member, _zone, get_transfer, visible_transfers
from .inputs import _qty
from .models import (
    RevisionRequest,
    Transfer,
    TransferVersion,
)
from .snapshots import _content, _snapshot


def _set_line1(field_name: str) -> Callable[[Transfer, Any], Any]:
    def parse(t: Transfer, value: Any) -> Any:
        if t.lines.count() != 1:
            raise Invalid.field(f"changes.{field_name}", _("only for single-line manifests"))
        if field_name.endswith("_t"):
            return _qty(value, f"changes.{field_name}", allow_zero=field_name == "received_t")
        if field_name == "waste_code":
            from zerowaste.catalog import services as catalog

            code = check_text(value, "changes.waste_code", max_length=40, required=True)
            check = catalog.code_valid(t.zone_id, streams.get(t.stream).catalog_stream, code, t.planned_date)
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
    from .machine import perform  # the machine imports this module (the revisable fields)

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
        tol = streams.get(t.stream).tolerance(_zone(t.zone_id).settings)
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
