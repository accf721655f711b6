"""Which stream a producer's waste belongs to, when another app decides it.

The hazardous pilot's published identification reports move a producer's waste out of the HW stream
from their effective date (seed:3919-3923): from then on it is declared and carried as general
industrial waste. The apps that take waste lines (manifests, declarations) ask `refusal`; the app that
decides registers a check, and may register a screen — the (producer, stream) pairs its check could
ever refuse in a zone — so that a million-row import asks only about those producers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

# (zone_id, producer_id, stream, waste_code, on) -> a refusal message, or None when the line may be
# in that stream on that date.
StreamCheck = Callable[[int, int, str, str, date], str | None]
# zone_id -> every (producer_id, stream) the check could refuse there.
Screen = Callable[[int], set[tuple[int, str]]]
_checks: list[tuple[StreamCheck, Screen | None]] = []


def register(check: StreamCheck, screen: Screen | None = None) -> StreamCheck:
    if all(known is not check for known, _screen in _checks):
        _checks.append((check, screen))
    return check


def unregister(check: StreamCheck) -> None:
    _checks[:] = [(known, screen) for known, screen in _checks if known is not check]


def candidates(zone_id: int) -> set[tuple[int, str]] | None:
    """The (producer, stream) pairs any check could refuse in the zone; None when a check has no
    screen (then every producer may be refused); empty when no check is registered."""
    pairs: set[tuple[int, str]] = set()
    for _check, screen in _checks:
        if screen is None:
            return None
        pairs |= screen(zone_id)
    return pairs


def refusal(zone_id: int, producer_id: int, stream: str, waste_code: str, on: date) -> str | None:
    """The first registered check's refusal of this line, or None."""
    for check, _screen in _checks:
        message = check(zone_id, producer_id, stream, waste_code, on)
        if message:
            return message
    return None
