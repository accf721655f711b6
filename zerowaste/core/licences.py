"""Licence verification: regulators check the licences organizations enter (ADR 0042).

An organization's licence is a claim until a regulator of its jurisdiction has looked at it and the
certificate scan the organization uploaded: pending → verified or rejected (with a reason); an
amendment sends it back to pending (`core.rules.LICENCE_TRANSITIONS`). Only verified licences
qualify (`Licence.objects.in_force`, `core.services.licence_covers`).

Who may decide: a regulator (admin or clerk; an `admin`-scoped token) that sees the organization
(its jurisdiction) — never about its own organization's licences — and the system (the operator's
command line). Who sees a scan: the organization and the regulators that see it, as for the licence.
"""

from __future__ import annotations

import hashlib
import os
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _

from . import audit, images, rules, services
from .authz import Actor, require, visible_organizations
from .errors import Conflict, Forbidden, Invalid, NotFound
from .models import Licence, LicenceScan

SCAN_FIELD = "scan"
MAX_SCAN_BYTES = 10 * 1024 * 1024  # as sent; a certificate scan at 300 dpi is well below
MAX_SCAN_PIXELS = 60_000_000  # an A4 page at 600 dpi is 35 megapixels
PDF = "application/pdf"
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
REASON_MAX_LENGTH = 500


# --- The certificate scan (no database) ------------------------------------------------------------


def scan_type(content: bytes, name: str = "") -> str:
    """The content type of a certificate scan, from its bytes (never its name): a PDF, PNG or JPEG.

    Refuses (Invalid naming `scan` and the file) an empty or too large file, anything else, an image
    of more than MAX_SCAN_PIXELS, and a damaged image."""

    def refuse(problem: str) -> Invalid:
        message = _("%(file)s: %(problem)s") % {"file": name, "problem": problem} if name else problem
        return Invalid.field(SCAN_FIELD, message)

    if not content:
        raise refuse(_("the file is empty"))
    if len(content) > MAX_SCAN_BYTES:
        raise refuse(_("larger than %(n)d MB") % {"n": MAX_SCAN_BYTES // (1024 * 1024)})
    if content.startswith(b"%PDF-"):
        if b"%%EOF" not in content[-2048:]:
            raise refuse(_("the PDF is incomplete or damaged"))
        return PDF
    kind = images.identify(
        content,
        field=SCAN_FIELD,
        formats=tuple(IMAGE_TYPES),
        max_image_pixels=MAX_SCAN_PIXELS,
        name=name,
        not_an_image=_("not a PDF, PNG or JPEG file"),
    )
    return IMAGE_TYPES[kind]


def read_scan_upload(file: IO[bytes] | Any) -> bytes:
    """At most MAX_SCAN_BYTES + 1 bytes of an uploaded file: enough to refuse a too large one."""
    return bytes(file.read(MAX_SCAN_BYTES + 1) or b"")


def _clean_name(filename: str) -> str:
    name = os.path.basename(str(filename or "").replace("\\", "/")).strip()
    return services.check_text(name[-255:], SCAN_FIELD, max_length=255)


# --- Reading ---------------------------------------------------------------------------------------


def pending_licences(actor: Actor) -> QuerySet[Licence]:
    """The licences awaiting verification that this regulator may decide: those of the organizations
    it sees (its jurisdiction), never its own organization's; oldest first."""
    if not actor.is_system:
        require(actor, "licences.verify")
    qs = Licence.objects.filter(
        zone_id=actor.zone_id,
        status=rules.LICENCE_PENDING,
        is_revoked=False,
        organization_id__in=visible_organizations(actor).values("pk"),
    )
    if actor.organization_id is not None:
        qs = qs.exclude(organization_id=actor.organization_id)
    return services.with_scan(qs.select_related("organization", "organization__area")).order_by(
        "created_at", "pk"
    )


def get_scan(actor: Actor, organization_id: int, licence_id: int) -> LicenceScan:
    """The newest certificate scan of a licence, with its bytes; NotFound unless the actor sees the
    licence (its organization, or a regulator that sees the organization) and it has a scan."""
    licence = services.get_licence(actor, organization_id, licence_id)
    scan = LicenceScan.objects.filter(licence=licence).order_by("-created_at", "-pk").first()
    if scan is None:
        raise NotFound(_("licence %(id)s has no certificate scan") % {"id": licence_id})
    return scan


def scan_response(scan: LicenceScan) -> HttpResponse:
    """The scan as sent, never run in the platform's origin: an image is shown inline, a PDF (which
    may carry scripts) is downloaded; its type comes from its bytes, the browser may not sniff
    another, and the answer is sandboxed either way."""
    response = HttpResponse(bytes(scan.content), content_type=scan.content_type)
    extension = {PDF: "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(scan.content_type, "bin")
    disposition = "attachment" if scan.content_type == PDF else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="licence-{scan.licence_id}-scan.{extension}"'
    response["Content-Security-Policy"] = "sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Changes ---------------------------------------------------------------------------------------


@transaction.atomic
def upload_scan(
    actor: Actor, organization_id: int, licence_id: int, *, content: bytes, filename: str
) -> LicenceScan:
    """The organization uploads its licence's certificate scan. A new scan is an amendment: a
    verified or rejected licence goes back to pending, for a regulator to look at what is new."""
    licence = services.get_licence(actor, organization_id, licence_id, "licences.manage")
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    name = _clean_name(filename)
    content_type = scan_type(content, name)
    before = audit.snapshot(licence, services.LICENCE_FIELDS)
    scan = LicenceScan.objects.create(
        zone_id=licence.zone_id,
        licence=licence,
        content=content,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
        uploaded_by=actor.username,
    )
    services.amend_licence_status(licence, actor)
    licence.save()
    changes = audit.diff(before, audit.snapshot(licence, services.LICENCE_FIELDS))
    changes.update(
        {
            "scan_id": [None, scan.pk],
            "scan_sha256": [None, scan.sha256],
            "scan_content_type": [None, content_type],
            "scan_size_bytes": [None, scan.size_bytes],
            "scan_name": [None, name],
        }
    )
    audit.record(actor, "licence.scan", licence, changes)
    return scan


def _for_review(actor: Actor, organization_id: int, licence_id: int) -> Licence:
    licence = services.get_licence(actor, organization_id, licence_id)  # NotFound outside its view
    if not actor.is_system:
        require(actor, "licences.verify")
        if licence.organization_id == actor.organization_id:
            raise Forbidden(_("an organization does not verify its own licences"))
    return Licence.objects.select_for_update().get(pk=licence.pk)


def _decide(
    actor: Actor, licence: Licence, event: str, reason: str = "", seen_scan_id: int | None = None
) -> Licence:
    status = rules.licence_next_status(licence.status, event)
    if status is None:
        refusal = {
            rules.LICENCE_VERIFY: _("the licence is %(status)s: it cannot be verified"),
            rules.LICENCE_REJECT: _("the licence is %(status)s: it cannot be rejected"),
        }[event]
        raise Conflict(refusal % {"status": licence.get_status_display()})
    scan = LicenceScan.objects.filter(licence=licence).order_by("-created_at", "-pk").first()
    if event == rules.LICENCE_VERIFY and scan is None and not actor.is_system:
        raise Conflict(_("the organization has not uploaded the certificate scan yet"))
    if seen_scan_id is not None and (scan is None or scan.pk != seen_scan_id):
        # The organization uploaded another scan while the regulator looked at this one.
        raise Conflict(_("a newer certificate scan was uploaded: look at it first"))
    before = audit.snapshot(licence, services.LICENCE_FIELDS)
    services.record_review(licence, actor, status, reason)
    licence.save()
    changes = audit.diff(before, audit.snapshot(licence, services.LICENCE_FIELDS))
    # The scan the decision was made on, so that a later one is known not to have been seen.
    changes["scan_sha256"] = [None, scan.sha256 if scan else None]
    audit.record(actor, f"licence.{event}", licence, changes)
    return licence


@transaction.atomic
def verify_licence(
    actor: Actor, organization_id: int, licence_id: int, *, scan_id: int | None = None
) -> Licence:
    """A regulator has checked number, issuer, validity and scope against the certificate scan
    (`scan_id`, if given: the scan it looked at, refused with 409 if a newer one came since)."""
    return _decide(
        actor, _for_review(actor, organization_id, licence_id), rules.LICENCE_VERIFY, seen_scan_id=scan_id
    )


@transaction.atomic
def reject_licence(actor: Actor, organization_id: int, licence_id: int, *, reason: str) -> Licence:
    """A regulator refuses the licence, saying why (the organization sees the reason)."""
    reason = services.check_text(reason, "reason", max_length=REASON_MAX_LENGTH, required=True)
    return _decide(actor, _for_review(actor, organization_id, licence_id), rules.LICENCE_REJECT, reason)
