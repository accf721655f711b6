from __future__ import annotations

import pytest

from zerowaste.hazardous.testing import Park, make_park


@pytest.fixture
def park(zone) -> Park:  # type: ignore[no-untyped-def]
    return make_park(zone)
