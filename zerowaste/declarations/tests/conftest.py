"""Fixtures of the declarations tests: a zone with the ISW and HW catalogs, a producer, a regulator."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from zerowaste.catalog import services as catalog
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Zone
from zerowaste.testing import parties


@dataclass
class World:
    zone: Zone
    producer: Organization
    clerk: Actor
    regulator_org: Organization
    regulator: Actor
    system: Actor


@pytest.fixture
def catalog_zone(zone: Zone) -> Zone:
    catalog.load_standard_catalogs(Actor.system(zone), streams=["isw", "hw"])
    return zone


@pytest.fixture
def world(catalog_zone: Zone) -> World:
    producer = parties.make_org(
        catalog_zone, roles=["producer"], name="甲电子科技有限公司", industry="新一代信息技术"
    )
    regulator_org = parties.make_org(catalog_zone, roles=["regulator"], name="生态环境建设局")
    return World(
        catalog_zone,
        producer,
        parties.actor_of(producer, "clerk"),
        regulator_org,
        parties.actor_of(regulator_org, "admin"),
        Actor.system(catalog_zone),
    )


def line(
    code: str = "99-01-01", generated: str = "10", closing: str = "0", **extra: object
) -> dict[str, object]:
    """A balanced line: what is generated goes out for utilization unless told otherwise."""
    values: dict[str, object] = {"waste_code": code, "generated_t": generated, "closing_t": closing}
    values.update(extra)
    if not any(k in extra for k in ("utilized_t", "disposed_t", "transferred_util_t", "transferred_disp_t")):
        from decimal import Decimal

        opening = Decimal(str(extra.get("opening_t", "0")))
        values["transferred_util_t"] = str(opening + Decimal(generated) - Decimal(closing))
    return values
