"""A small zone for the cockpit: catalogs, three producers of two industries, a regulator, a receiver,
monthly declarations of 2020 written through the declarations services, manifests through transfers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from zerowaste.catalog import services as catalog
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Zone
from zerowaste.declarations import services as declarations
from zerowaste.testing import parties


@dataclass
class Cockpit:
    zone: Zone
    system: Actor
    regulator: Actor
    regulator_org: Organization
    it: Organization
    auto: Organization
    idle: Organization
    pending: Organization


def declare(
    actor: Actor,
    org: Organization,
    period: str,
    lines: list[dict[str, object]],
    *,
    stream: str = "isw",
    accept: bool = True,
) -> int:
    decl = declarations.save_declaration(
        actor, stream=stream, period=period, lines=lines, organization_id=org.pk
    )
    declarations.submit(actor, decl.pk)
    if accept:
        declarations.accept(actor, decl.pk)
    return decl.pk


def line(code: str, generated: str, **extra: str) -> dict[str, object]:
    values: dict[str, object] = {"waste_code": code, "generated_t": generated, "closing_t": "0", **extra}
    if not any(k.endswith("_t") and k not in ("generated_t", "opening_t", "closing_t") for k in extra):
        values["transferred_util_t"] = str(
            Decimal(extra.get("opening_t", "0")) + Decimal(generated) - Decimal(extra.get("closing_t", "0"))
        )
    return values


@pytest.fixture
def cockpit(zone: Zone) -> Cockpit:
    system = Actor.system(zone)
    catalog.load_standard_catalogs(system, streams=["isw", "hw"])
    regulator_org = parties.make_org(zone, roles=["regulator"], name="生态环境建设局")
    it = parties.make_org(zone, roles=["producer"], name="甲电子", industry="新一代信息技术")
    auto = parties.make_org(zone, roles=["producer"], name="乙汽车", industry="汽车")
    idle = parties.make_org(zone, roles=["producer"], name="丙无申报", industry="汽车")
    pending = parties.make_org(zone, roles=["producer"], name="丁待审", industry="汽车")
    # 甲: March ISW, two codes, one with stock put aside, one with a stated receiver.
    declare(
        system,
        it,
        "2020-03",
        [
            line("99-01-01", "10.5", destination="回收公司A"),
            line("99-12-01", "2.25", closing_t="0.25", utilized_t="1", transferred_util_t="1"),
        ],
    )
    # 甲: April ISW: the stock of March is used up (the stock falls).
    declare(
        system,
        it,
        "2020-04",
        [line("99-12-01", "1", opening_t="0.25", transferred_disp_t="1.25", destination="处置厂B")],
    )
    # 乙: March HW and ISW.
    declare(
        system,
        auto,
        "2020-03",
        [line("900-249-08", "3.001", destination="危废经营单位C")],
        stream="hw",
    )
    declare(system, auto, "2020-03", [line("99-02-01", "7", destination="回收公司A")])
    # 丁: March submitted, not accepted: counts in statistics, but not as declared.
    declare(system, pending, "2020-03", [line("99-02-01", "4")], accept=False)
    return Cockpit(
        zone=zone,
        system=system,
        regulator=parties.actor_of(regulator_org, "admin"),
        regulator_org=regulator_org,
        it=it,
        auto=auto,
        idle=idle,
        pending=pending,
    )
