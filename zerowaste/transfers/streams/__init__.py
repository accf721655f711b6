"""The registry of transfer streams: stream code → the stream's rules (`base.TransferStream`).

The engine looks a transfer's stream up here and asks it; it never names one. Registering a stream is
adding its module's `STREAM` below (and its choice in `rules.STREAM_CHOICES`).
"""

from __future__ import annotations

from . import hw, isw
from .base import TransferStream

REGISTRY: dict[str, TransferStream] = {stream.code: stream for stream in (isw.STREAM, hw.STREAM)}


def get(code: str) -> TransferStream:
    """The rules of a known stream (a transfer's `stream`, already validated)."""
    return REGISTRY[code]


def find(code: str | None) -> TransferStream | None:
    """The rules of `code`, or None when no stream has that code (unvalidated input)."""
    return REGISTRY.get(code or "")


def codes() -> tuple[str, ...]:
    return tuple(REGISTRY)


def code_for_label(label: str) -> str:
    """The stream code a sheet's word names (e.g. 危废), or the word itself when it names none."""
    for stream in REGISTRY.values():
        if label in stream.import_labels:
            return stream.code
    return label
