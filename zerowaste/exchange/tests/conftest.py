from __future__ import annotations

import pytest

from zerowaste.core.models import Zone
from zerowaste.exchange.testing import Market, make_market


@pytest.fixture
def market(zone: Zone) -> Market:
    return make_market(zone)
