"""Where a change comes from (request id, address, channel), carried to the audit log."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    via: str = "system"  # web, api, cli, system
    request_id: str = ""
    ip: str = ""


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("zerowaste_origin", default=Origin())  # noqa: B039 - Origin is a frozen dataclass


def current_origin() -> Origin:
    return _origin.get()


@contextlib.contextmanager
def origin(via: str, *, request_id: str = "", ip: str = "") -> Iterator[Origin]:
    value = Origin(via=via, request_id=request_id or uuid.uuid4().hex, ip=ip)
    token = _origin.set(value)
    try:
        yield value
    finally:
        _origin.reset(token)
