"""The producer's signature code: a per-organization secret, kept hashed and rotatable, with which a
driver collects the producer's signature on the driver's device; wrong attempts lock it for a while."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Forbidden, Invalid

from .models import (
    SignatureCode,
)

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
