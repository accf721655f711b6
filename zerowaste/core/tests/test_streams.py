"""The stream-check registry: refusals, screens and what an import asks."""

from __future__ import annotations

from datetime import date

from zerowaste.core import streams


def test_checks_refuse_and_screens_narrow_whom_they_ask_about() -> None:
    asked: list[int] = []

    def check(zone_id: int, producer_id: int, stream: str, code: str, on: date) -> str | None:
        asked.append(producer_id)
        return "moved" if (producer_id, stream) == (7, "hw") else None

    saved = list(streams._checks)
    streams._checks.clear()
    try:
        assert streams.candidates(1) == set()  # nothing registered: nobody is asked about
        streams.register(check, lambda zone_id: {(7, "hw")})
        streams.register(check)  # registering twice keeps one
        assert streams.candidates(1) == {(7, "hw")}
        assert streams.refusal(1, 7, "hw", "900-041-49", date(2021, 6, 1)) == "moved"
        assert streams.refusal(1, 8, "hw", "900-041-49", date(2021, 6, 1)) is None
        assert asked == [7, 8]

        def unscreened(zone_id: int, producer_id: int, stream: str, code: str, on: date) -> str | None:
            return None

        streams.register(unscreened)
        assert streams.candidates(1) is None  # a check without a screen may refuse anyone
        streams.unregister(unscreened)
        streams.unregister(check)
        assert streams.candidates(1) == set()
    finally:
        streams._checks[:] = saved
