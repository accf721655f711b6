"""The demo zone gets every catalog; search over it costs a fixed number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from zerowaste.catalog import services
from zerowaste.catalog.models import CatalogVersion
from zerowaste.core.demo import registered_steps

pytestmark = pytest.mark.django_db


def test_demo_loads_catalogs(demo_zone) -> None:  # type: ignore[no-untyped-def]
    assert "catalog.load" in registered_steps()
    assert set(
        CatalogVersion.objects.filter(zone=demo_zone, status="published").values_list("stream", flat=True)
    ) == {"isw", "hw", "household", "construction"}
    assert services.code_valid(demo_zone.pk, "hw", "900-249-08", date(2020, 6, 1)).ok
    for query in ("", "废铜", "99-08", "HW49", "900-041", "copper", "废"):
        with CaptureQueriesContext(connection) as ctx:
            result = services.search(demo_zone.pk, query)
        assert len(ctx.captured_queries) == 3, query
        assert result.total > 0
