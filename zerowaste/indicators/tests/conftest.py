"""Fixtures of the indicators tests: a zone with a year of declarations, production data, a licence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from zerowaste.core.authz import Actor
from zerowaste.core.models import Licence, Organization, Zone
from zerowaste.declarations.models import Declaration, DeclarationLine, ProductionData
from zerowaste.testing import parties


@dataclass
class World:
    zone: Zone
    producer: Organization
    regulator_org: Organization
    regulator: Actor
    viewer: Actor
    producer_actor: Actor
    system: Actor


def declare(org: Organization, stream: str, year: int, **quantities: str) -> Declaration:
    """An accepted yearly declaration with one line (made directly, as the demo does)."""
    decl = Declaration.objects.create(
        zone_id=org.zone_id,
        organization=org,
        stream=stream,
        period_kind="year",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        status="accepted",
        submissions=1,
    )
    DeclarationLine.objects.create(
        zone_id=org.zone_id,
        declaration=decl,
        waste_code="99-01-01" if stream == "isw" else "900-041-49",
        category_code="ISW01" if stream == "isw" else "HW49",
        **{k: Decimal(v) for k, v in quantities.items()},
    )
    return decl


@pytest.fixture
def world(zone: Zone, regulator: Organization, producer: Organization) -> World:
    # 2020: ISW 1,000 t generated, 950 utilized, 30 disposed, 20 in stock (prior year 50 in stock);
    # HW 200 t generated, 130 utilized, 70 to licensed disposal; value added 40,000 万元.
    declare(producer, "isw", 2019, generated_t="900", transferred_util_t="850", closing_t="50")
    declare(producer, "isw", 2020, opening_t="50", generated_t="1000", transferred_util_t="950",
            transferred_disp_t="30", closing_t="70")  # fmt: skip
    declare(producer, "hw", 2020, generated_t="200", transferred_util_t="130", transferred_disp_t="70")
    ProductionData.objects.create(
        zone=zone, organization=producer, year=2020, value_added_wan=Decimal("40000")
    )
    receiver = parties.make_org(zone, roles=("receiver",), name="危废经营单位")
    Licence.objects.create(
        zone=zone,
        organization=receiver,
        kind="hw_operating",
        number="D11000001",
        issuer="北京市生态环境局",
        valid_from=date(2019, 1, 1),
        valid_to=date(2030, 12, 31),
        status="verified",  # entered as the operator would, checked (only verified licences count)
    )
    return World(
        zone=zone,
        producer=producer,
        regulator_org=regulator,
        regulator=parties.actor_of(regulator, "clerk"),
        viewer=parties.actor_of(regulator, "viewer"),
        producer_actor=parties.actor_of(producer, "admin"),
        system=Actor.system(zone),
    )
