"""Public verification of a printed manifest: the keyed code in its QR code, and what the public page
shows."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from zerowaste.core.errors import NotFound

from . import rules
from .models import (
    Transfer,
)


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
