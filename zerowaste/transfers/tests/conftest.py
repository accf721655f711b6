from __future__ import annotations

import pytest

from zerowaste.transfers.testing import World, make_world


@pytest.fixture
def world(zone) -> World:  # type: ignore[no-untyped-def]
    return make_world(zone)
