"""A transfer as the audit log and its version history keep it: the audited fields, and the full
content (lines and legs) of one version."""

from __future__ import annotations

from typing import Any

from zerowaste.core import audit

from .models import (
    Transfer,
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
