"""The figures per zone, street and community from the roll-ups (issue 17 point 7), and indicators
6, 7, 12, 13, 20 and 21's inputs derived from the household records, an entry overriding them with
its evidence (point 6). A small hand-worked fixture: every expected figure is worked out below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from zerowaste.core.authz import Actor
from zerowaste.core.models import Area, Site, Vehicle, Zone
from zerowaste.household import figures, rules
from zerowaste.household.models import DailyFlow, ParticipationMonth, SiteRole, Source, SourceQuota, Station
from zerowaste.indicators import services as indicators
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

DAY = date(2020, 12, 1)
END = date(2020, 12, 2)  # a two-day period; only the first has records


@dataclass
class Town:
    zone: Zone
    s1: Area
    s2: Area
    c1: Area
    c2: Area
    c3: Area


def _area(zone: Zone, code: str, kind: str, parent: Area | None = None) -> Area:
    return Area.objects.create(zone=zone, code=code, name=f"区域{code}", kind=kind, parent=parent)


def _flow(
    zone: Zone, node: str, place: Station | Site, cls: str, *, in_kg: str = "0", out_kg: str = "0"
) -> None:
    if isinstance(place, Station):
        where = {"station": place, "area_id": place.community_id, "place": f"station:{place.pk}"}
    else:
        where = {"site": place, "area_id": place.area_id, "place": f"site:{place.pk}"}
    DailyFlow.objects.create(
        zone=zone,
        day=DAY,
        node=node,
        household_class=cls,
        in_kg=Decimal(in_kg),
        out_kg=Decimal(out_kg),
        events=1,
        **where,
    )


@pytest.fixture
def town(zone: Zone) -> Town:
    """Street s1 with communities c1 (households of 3 and 2 residents, a social unit; a staffed station
    and a hazardous drop point) and c2 (one household of 5; a staffed station); street s2 with c3 (one
    household of 10, no station). On 1 December 2020: c1's stations receive kitchen 10 kg, other
    20 kg, hazardous 1 kg and hand it all to vehicles; c2's receive kitchen 6 kg and other 14 kg and
    hand over the kitchen waste only. The plants weigh kitchen 16 kg (kitchen-waste plant), other 12 kg
    (incineration) and 8 kg (landfill). Participation: 2 households in c1, 1 in c2. Quota 2020: 36.6 t."""
    s1, s2 = _area(zone, "s1", "street"), _area(zone, "s2", "street")
    c1, c2, c3 = (
        _area(zone, "c1", "community", s1),
        _area(zone, "c2", "community", s1),
        _area(zone, "c3", "community", s2),
    )
    for code, community, residents in (("h1", c1, 3), ("h2", c1, 2), ("h3", c2, 5), ("h4", c3, 10)):
        Source.objects.create(
            zone=zone, kind="household", code=code, community=community, residents=residents
        )
    Source.objects.create(zone=zone, kind="unit", code="u1", community=c1, responsible_party="王站长")
    st1 = Station.objects.create(zone=zone, kind="staffed", code="st1", name="驿站1", community=c1)
    hz1 = Station.objects.create(zone=zone, kind="hazardous", code="hz1", name="有害1", community=c1)
    st2 = Station.objects.create(zone=zone, kind="staffed", code="st2", name="驿站2", community=c2)
    org = parties.make_org(zone, roles=("receiver",), area_id=s1.pk)
    plants = {}
    for role in (rules.SITE_KITCHEN, rules.SITE_INCINERATION, rules.SITE_LANDFILL):
        plants[role] = Site.objects.create(zone=zone, organization=org, name=role, kind="plant", area=s1)
        SiteRole.objects.create(zone=zone, site=plants[role], role=role)
    Vehicle.objects.create(zone=zone, organization=org, plate="京A00001")
    src, sv, vs = rules.NODE_SOURCE_STATION, rules.NODE_STATION_VEHICLE, rules.NODE_VEHICLE_SITE
    _flow(zone, src, st1, "kitchen", in_kg="10")
    _flow(zone, src, st1, "other", in_kg="20")
    _flow(zone, src, hz1, "hazardous.battery", in_kg="1")
    _flow(zone, sv, st1, "kitchen", out_kg="10")
    _flow(zone, sv, st1, "other", out_kg="20")
    _flow(zone, sv, hz1, "hazardous.battery", out_kg="1")
    _flow(zone, src, st2, "kitchen", in_kg="6")
    _flow(zone, src, st2, "other", in_kg="14")
    _flow(zone, sv, st2, "kitchen", out_kg="6")
    _flow(zone, vs, plants[rules.SITE_KITCHEN], "kitchen", in_kg="16")
    _flow(zone, vs, plants[rules.SITE_INCINERATION], "other", in_kg="12")
    _flow(zone, vs, plants[rules.SITE_LANDFILL], "other", in_kg="8")
    ParticipationMonth.objects.create(zone=zone, community=c1, month=DAY, households=2)
    ParticipationMonth.objects.create(zone=zone, community=c2, month=DAY, households=1)
    SourceQuota.objects.create(zone=zone, year=2020, quota_t=Decimal("36.6"), source="测试")
    return Town(zone, s1, s2, c1, c2, c3)


def test_zone_figures_from_the_roll_ups(town: Town) -> None:
    f = figures.area_figures(town.zone.pk, None, DAY, END)
    assert (f.kind, f.days, f.residents, f.households, f.units) == ("zone", 2, 20, 4, 1)
    assert f.participating_households == 3 and f.participation_rate == Decimal("0.7500")
    assert (f.communities, f.sorted_communities, f.sorted_coverage) == (3, 1, Decimal("0.3333"))
    assert f.generated_total_kg == Decimal("51.000")
    assert f.generated_kg["kitchen"] == Decimal("16.000") and f.generated_kg["hazardous"] == Decimal("1.000")
    # the plants' weighbridges: recovered 16 kg, incinerated 12 kg, landfill 8 kg
    assert (f.recovered_kg, f.incinerated_kg, f.landfill_kg) == (
        Decimal("16.000"),
        Decimal("12.000"),
        Decimal("8.000"),
    )
    assert f.per_capita_kg_day == Decimal("1.275")  # 51 kg ÷ 20 residents ÷ 2 days
    assert f.recycling_rate == Decimal("0.3137")  # 16 ÷ 51
    assert (f.kitchen_recovery_rate, f.hazardous_communities, f.hazardous_coverage) == (
        Decimal("1.0000"),
        1,
        Decimal("0.3333"),
    )
    # quota: 36.6 t × 2 / 366 days = 0.2 t; 0.051 t generated, 0.149 t below it
    assert f.quota is not None
    assert (f.quota.period_quota_t, f.quota.generated_t, f.quota.difference_t) == (
        Decimal("0.200"),
        Decimal("0.051"),
        Decimal("-0.149"),
    )
    assert f.quota.within and f.quota.share == Decimal("1.0000")
    # subsidy: 0.016 t kitchen × 300 + 0.149 t reduction × 100 CNY
    assert (f.subsidy.kitchen_cny, f.subsidy.reduction_cny, f.subsidy.total_cny) == (
        Decimal("4.80"),
        Decimal("14.90"),
        Decimal("19.70"),
    )


def test_street_is_the_sum_of_its_communities(town: Town) -> None:
    street = figures.area_figures(town.zone.pk, town.s1.pk, DAY, END)
    c1, c2 = figures.children_figures(town.zone.pk, town.s1.pk, DAY, END)
    assert (c1.code, c2.code) == ("c1", "c2")
    for name in (
        "residents",
        "households",
        "participating_households",
        "sorted_communities",
        "hazardous_communities",
    ):
        assert getattr(street, name) == getattr(c1, name) + getattr(c2, name), name
    for name in ("generated_total_kg", "recovered_kg", "incinerated_kg", "landfill_kg"):
        assert getattr(street, name) == getattr(c1, name) + getattr(c2, name), name
    # c1 handed 10 kg kitchen (all to the kitchen plant) and 20 kg other (60 % incinerated, 40 % landfill)
    assert (c1.recovered_kg, c1.incinerated_kg, c1.landfill_kg) == (
        Decimal("10.000"),
        Decimal("12.000"),
        Decimal("8.000"),
    )
    assert (c2.recovered_kg, c2.landfill_kg, c2.sorted_communities) == (Decimal("6.000"), Decimal("0.000"), 0)
    assert c1.per_capita_kg_day == Decimal("3.100")  # 31 kg ÷ 5 residents ÷ 2 days
    # the street holds half the zone's residents: half the zone's quota
    assert street.quota is not None and street.quota.share == Decimal("0.5000")
    assert street.quota.period_quota_t == Decimal("0.100")
    assert figures.children_figures(town.zone.pk, None, DAY, END)[0].code == "s1"
    assert figures.latest_month(town.zone.pk) == (date(2020, 12, 1), date(2020, 12, 31))


def test_no_quota_no_comparison(town: Town) -> None:
    SourceQuota.objects.filter(zone=town.zone).delete()
    f = figures.area_figures(town.zone.pk, town.c3.pk, DAY, END)
    assert f.quota is None and f.subsidy.reduction_t == 0
    assert (f.generated_total_kg, f.per_capita_kg_day, f.participation_rate) == (
        Decimal("0.000"),
        Decimal("0.000"),
        Decimal("0.0000"),
    )


def test_inputs_derived_from_the_household_records(town: Town) -> None:
    states = indicators.resolve_inputs(town.zone.pk, 2020)
    derived = {
        key: states[key].derived
        for key in states
        if (states[key].definition.derive or "").startswith("household.")
    }
    assert derived == {
        "household_daily_cleared_t": Decimal("0.036"),  # 36 kg on the one day the plants reported
        "household_collection_coverage": Decimal("50.00"),  # c1 and c2 served: 10 of 20 residents
        "resident_population": Decimal("20"),
        "sorted_collection_communities": Decimal("1"),
        "communities": Decimal("3"),
        "household_cleared_t": Decimal("13.176"),  # 0.036 t/day × 366 days
        "household_recycled_t": Decimal("5.856"),
        "kitchen_recovery_rate": Decimal("100.00"),
        "household_landfilled_t": Decimal("2.928"),
        "hazardous_household_communities": Decimal("1"),
        "residential_communities": Decimal("3"),
    }
    assert states["resident_population"].origin == "derived"
    assert states["resident_population"].value == Decimal("20")


def test_an_entry_overrides_a_derived_input_and_shows_its_evidence(town: Town) -> None:
    indicators.enter_input(
        Actor.system(town.zone),
        year=2020,
        key="resident_population",
        value="25",
        source="统计公报",
        evidence_name="census.pdf",
        evidence=b"%PDF-1.4",
        evidence_type="application/pdf",
    )
    state = indicators.resolve_inputs(town.zone.pk, 2020)["resident_population"]
    assert (state.origin, state.value, state.derived) == ("entered", Decimal("25"), Decimal("20"))
    shown = state.as_dict()
    assert shown["derivation"] == "household.resident_population"
    assert shown["entry"]["evidence"] == "census.pdf" and shown["entry"]["source"] == "统计公报"


def test_a_zone_without_household_records_keeps_its_entries(other_zone: Zone) -> None:
    states = indicators.resolve_inputs(other_zone.pk, 2020)
    assert all(
        s.derived is None
        for s in states.values()
        if s.definition.derive and s.definition.derive.startswith("household.")
    )


def test_a_street_regulator_reads_its_own_street_only(town: Town, other_zone: Zone) -> None:
    from dataclasses import replace

    from zerowaste.core.errors import Forbidden, NotFound

    zone_reader = Actor.system(town.zone)
    regulator = replace(zone_reader, is_system=False, org_roles=frozenset({"regulator"}))
    street_reader = replace(regulator, jurisdiction_area_ids=frozenset({town.s1.pk, town.c1.pk, town.c2.pk}))
    assert figures.figures_for(regulator, None, DAY, END).residents == 20
    assert figures.figures_for(street_reader, town.c1.pk, DAY, END).residents == 5
    with pytest.raises(NotFound):
        figures.figures_for(street_reader, town.c3.pk, DAY, END)
    with pytest.raises(Forbidden):
        figures.figures_for(street_reader, None, DAY, END)
    foreign = Area.objects.create(zone=other_zone, code="x1", name="外区社区", kind="community")
    with pytest.raises(NotFound):
        figures.figures_for(regulator, foreign.pk, DAY, END)
    with pytest.raises(Forbidden):
        figures.figures_for(replace(regulator, org_roles=frozenset({"producer"})), None, DAY, END)


def test_figures_command(town: Town, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("household", "figures", "--zone", town.zone.code, "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["code"] for r in rows] == ["", "s1", "s2"]  # the zone, then its streets (latest month)
    # the whole of December: 51 kg ÷ 20 residents ÷ 31 days
    assert rows[0]["per_capita_kg_day"] == "0.082" and (rows[0]["start"], rows[0]["end"]) == (
        "2020-12-01",
        "2020-12-31",
    )
    out = StringIO()
    call_command(
        "household", "figures", "--zone", town.zone.code, "--area", "s1", "--month", "2020-12", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "2020-12" and [line.split()[0] for line in lines[1:]] == ["s1", "c1", "c2"]
    with pytest.raises(SystemExit):
        call_command("household", "figures", "--zone", town.zone.code, "--month", "2020-13")
    assert "month" in capsys.readouterr().err
