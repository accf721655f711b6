from __future__ import annotations

import pytest

from zerowaste.catalog import services
from zerowaste.core.authz import Actor


@pytest.fixture
def catalogs(zone):  # type: ignore[no-untyped-def]
    """The zone with every bundled catalog loaded and published."""
    services.load_standard_catalogs(Actor.system(zone))
    return zone
