"""Which stream a producer's waste belongs to, when another app decides it.

The hazardous pilot's published identification reports move a producer's waste out of the HW stream
from their effective date (seed:3919-3923): from then on it is declared and carried as general
industrial waste. The apps that take waste lines (manifests, declarations) ask `refusal`; the app that
decides registers a check. No check registered: every stream the catalog allows is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

# (zone_id, producer_id, stream, waste_code, on) -> a refusal message, or None when the line may be
# in that stream on that date.
StreamCheck = Callable[[int, int, str, str, date], str | None]
_checks: list[StreamCheck] = []


def register(check: StreamCheck) -> StreamCheck:
    if check not in _checks:
        _checks.append(check)
    return check


def unregister(check: StreamCheck) -> None:
    if check in _checks:
        _checks.remove(check)


def registered() -> bool:
    return bool(_checks)


def refusal(zone_id: int, producer_id: int, stream: str, waste_code: str, on: date) -> str | None:
    """The first registered check's refusal of this line, or None."""
    for check in _checks:
        message = check(zone_id, producer_id, stream, waste_code, on)
        if message:
            return message
    return None
