"""Indicator inputs derived from the household records (issue 17 point 6): indicators 6, 7, 12, 13,
20 and 21 of the zone-year. Registered in `indicators.services.DERIVATIONS` under `household.*`; the
set file names them with `derive =`. An entered value overrides a derived one (with its evidence),
as for every derived input (ADR 0053). Per street and community the same figures come from
`household.figures.area_figures`.

Every derivation is None when the zone keeps no household records (no household source), so a zone
that does not use the platform's household side keeps its entered figures. Read from the roll-ups.

Annual tonnages (cleared, recycled, landfilled) are the year's daily average over the days the plants
reported × the days of the year: the year's sum when every day is reported, an extrapolation (said in
the input's meaning) when the records cover part of the year, as in the demo's one month.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from zerowaste.core.models import Area

from . import figures, rules
from .models import DailyFlow, Source, Station

T = Decimal("0.001")


class HouseholdYear:
    """The zone-year's household figures, computed once per derivation run (memoized)."""

    def __init__(self, zone_id: int, year: int) -> None:
        self.zone_id = zone_id
        self.year = year
        self.start = date(year, 1, 1)
        self.end = date(year, 12, 31)
        self.has_records = Source.objects.filter(zone_id=zone_id, kind=rules.SOURCE_HOUSEHOLD).exists()
        self._receipts: dict[tuple[str, str], Decimal] | None = None
        self._plant_days: int | None = None

    @property
    def receipts(self) -> dict[tuple[str, str], Decimal]:
        if self._receipts is None:
            self._receipts = figures.plant_receipts(self.zone_id, self.start, self.end)
        return self._receipts

    @property
    def plant_days(self) -> int:
        """The days of the year on which a plant received household waste."""
        if self._plant_days is None:
            self._plant_days = (
                DailyFlow.objects.filter(
                    zone_id=self.zone_id,
                    day__gte=self.start,
                    day__lte=self.end,
                    node=rules.NODE_VEHICLE_SITE,
                    site__isnull=False,
                    in_kg__gt=0,
                )
                .values("day")
                .distinct()
                .count()
            )
        return self._plant_days

    def received_t(self, roles: frozenset[str] | None = None, tops: frozenset[str] | None = None) -> Decimal:
        kg = sum(
            (
                v
                for (role, top), v in self.receipts.items()
                if (roles is None or role in roles) and (tops is None or top in tops)
            ),
            Decimal(0),
        )
        return kg / 1000

    def annual_t(self, tonnes: Decimal) -> Decimal | None:
        if not self.plant_days:
            return None
        year_days = 366 if calendar.isleap(self.year) else 365
        return (tonnes / self.plant_days * year_days).quantize(T)

    def household_communities(self) -> set[int]:
        return set(
            Source.objects.filter(zone_id=self.zone_id, kind=rules.SOURCE_HOUSEHOLD)
            .values_list("community_id", flat=True)
            .distinct()
        )

    def station_out(self) -> dict[tuple[int, str], Decimal]:
        """(community, top class) → kg its stations handed to vehicles in the year."""
        rows = (
            DailyFlow.objects.filter(
                zone_id=self.zone_id,
                day__gte=self.start,
                day__lte=self.end,
                node=rules.NODE_STATION_VEHICLE,
                station__isnull=False,
            )
            .values("area_id", "household_class")
            .annotate(o=Sum("out_kg"))
            .order_by()
        )
        out: dict[tuple[int, str], Decimal] = {}
        for row in rows:
            key = (row["area_id"], rules.top_class(row["household_class"]))
            out[key] = out.get(key, Decimal(0)) + Decimal(str(row["o"] or 0))
        return out

    def station_in_t(self, top: str) -> Decimal:
        rows = (
            DailyFlow.objects.filter(
                zone_id=self.zone_id,
                day__gte=self.start,
                day__lte=self.end,
                node=rules.NODE_SOURCE_STATION,
                station__isnull=False,
            )
            .values("household_class")
            .annotate(i=Sum("in_kg"))
            .order_by()
        )
        return (
            sum(
                (Decimal(str(r["i"] or 0)) for r in rows if rules.top_class(r["household_class"]) == top),
                Decimal(0),
            )
            / 1000
        )


def _year(d: Any) -> HouseholdYear:
    """The memoized household figures of an `indicators.services.Derivation` (zone, year)."""
    return d.memo("household", lambda: HouseholdYear(d.zone_id, d.year))  # type: ignore[no-any-return]


def _daily_cleared_t(d: Any) -> Decimal | None:
    h = _year(d)
    if not h.has_records or not h.plant_days:
        return None
    return (h.received_t() / h.plant_days).quantize(T)


def _resident_population(d: Any) -> Decimal | None:
    h = _year(d)
    if not h.has_records:
        return None
    total = Source.objects.filter(zone_id=h.zone_id, kind=rules.SOURCE_HOUSEHOLD).aggregate(
        r=Sum("residents")
    )
    return Decimal(total["r"] or 0)


def _collection_coverage(d: Any) -> Decimal | None:
    """% of the residents living in communities whose stations handed waste to vehicles in the year."""
    h = _year(d)
    if not h.has_records:
        return None
    served = {community for (community, _top), kg in h.station_out().items() if kg > 0}
    rows = (
        Source.objects.filter(zone_id=h.zone_id, kind=rules.SOURCE_HOUSEHOLD)
        .values("community_id")
        .annotate(r=Sum("residents"))
        .order_by()
    )
    everyone = sum(int(r["r"] or 0) for r in rows)
    covered = sum(int(r["r"] or 0) for r in rows if r["community_id"] in served)
    if not everyone:
        return None
    return (Decimal(covered) * 100 / everyone).quantize(Decimal("0.01"))


def _sorted_communities(d: Any) -> Decimal | None:
    """Communities whose stations handed kitchen waste and other waste to vehicles apart."""
    h = _year(d)
    if not h.has_records:
        return None
    out = h.station_out()
    communities = {c for c, _t in out}
    return Decimal(
        sum(1 for c in communities if out.get((c, rules.KITCHEN), 0) > 0 and out.get((c, "other"), 0) > 0)
    )


def _communities(d: Any) -> Decimal | None:
    h = _year(d)
    if not h.has_records:
        return None
    return Decimal(Area.objects.filter(zone_id=h.zone_id, kind=Area.Kind.COMMUNITY).count())


def _residential_communities(d: Any) -> Decimal | None:
    h = _year(d)
    if not h.has_records:
        return None
    return Decimal(len(h.household_communities()))


def _hazardous_communities(d: Any) -> Decimal | None:
    """Residential communities with a hazardous-waste drop point whose hazardous waste was handed to
    a vehicle in the year (collected, transported, delivered)."""
    h = _year(d)
    if not h.has_records:
        return None
    out = h.station_out()
    with_points = set(
        Station.objects.filter(zone_id=h.zone_id, kind="hazardous").values_list("community_id", flat=True)
    )
    residential = h.household_communities()
    return Decimal(
        sum(1 for c in residential if c in with_points and out.get((c, "hazardous"), Decimal(0)) > 0)
    )


def _annual(
    roles: frozenset[str] | None, tops: frozenset[str] | None = None
) -> Callable[[Any], Decimal | None]:
    def derive(d: Any) -> Decimal | None:
        h = _year(d)
        if not h.has_records:
            return None
        return h.annual_t(h.received_t(roles, tops))

    return derive


def _kitchen_recovery_rate(d: Any) -> Decimal | None:
    """% of the kitchen waste the stations received that kitchen-waste plants received."""
    h = _year(d)
    if not h.has_records:
        return None
    collected = h.station_in_t(rules.KITCHEN)
    if not collected:
        return None
    recovered = h.received_t(rules.RECOVERY_SITE_ROLES, frozenset({rules.KITCHEN}))
    return (recovered * 100 / collected).quantize(Decimal("0.01"))


DERIVATIONS: dict[str, Callable[[Any], Decimal | None]] = {
    "household.daily_cleared": _daily_cleared_t,
    "household.collection_coverage": _collection_coverage,
    "household.resident_population": _resident_population,
    "household.sorted_communities": _sorted_communities,
    "household.communities": _communities,
    "household.cleared": _annual(None),
    "household.recycled": _annual(rules.RECOVERY_SITE_ROLES),
    "household.kitchen_recovery_rate": _kitchen_recovery_rate,
    "household.landfilled": _annual(frozenset({rules.SITE_LANDFILL})),
    "household.hazardous_communities": _hazardous_communities,
    "household.residential_communities": _residential_communities,
}


# --- The records behind a derived input (the indicator app's input page) ---------------------------

# Per derivation: which plants' receipts make it (site roles, top classes; None: all) and what each
# community's row shows ("handed": tonnes its stations handed to vehicles, of the top classes;
# "received": tonnes its stations received; "residents": its registered residents).
_RECORDS: dict[str, tuple[frozenset[str] | None, frozenset[str] | None, str, frozenset[str] | None]] = {
    "household.daily_cleared": (None, None, "handed", None),
    "household.cleared": (None, None, "handed", None),
    "household.recycled": (
        rules.RECOVERY_SITE_ROLES,
        None,
        "handed",
        frozenset({rules.KITCHEN, rules.RECYCLABLE}),
    ),
    "household.landfilled": (frozenset({rules.SITE_LANDFILL}), None, "handed", frozenset({"other"})),
    "household.kitchen_recovery_rate": (
        rules.RECOVERY_SITE_ROLES,
        frozenset({rules.KITCHEN}),
        "received",
        frozenset({rules.KITCHEN}),
    ),
    "household.sorted_communities": (None, None, "handed", frozenset({rules.KITCHEN})),
    "household.hazardous_communities": (None, None, "handed", frozenset({"hazardous"})),
    "household.collection_coverage": (None, None, "residents", None),
    "household.resident_population": (None, None, "residents", None),
    "household.communities": (None, None, "residents", None),
    "household.residential_communities": (None, None, "residents", None),
}


def records(actor: Any, year: int, derive: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The household records behind a `household.*` derived input of a zone-year, for the indicator
    app's input page: the plants' weighbridge receipts that make a tonnage, then per community the
    roll-up the figure counts (tonnes handed to vehicles or received, or registered residents), each
    linked to its household page of the year's latest month with data; and links to the household
    pages. Rows in words (label) and a number (value, text); a reader who does not supervise household
    waste gets the links only. Read from the roll-ups."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from . import supervision
    from .models import SiteRole

    spec = _RECORDS.get(derive)
    if spec is None:
        return [], []
    site_roles, site_tops, what, tops = spec
    start, end = date(year, 1, 1), date(year, 12, 31)
    last = (
        DailyFlow.objects.filter(zone_id=actor.zone_id, day__gte=start, day__lte=end).order_by("-day").first()
    )
    month = f"month={last.day:%Y-%m}" if last else f"month={year}-12"
    links = [
        {"label": _("Household waste overview"), "url": reverse("household:dashboard") + f"?{month}"},
        {"label": _("Residents' participation"), "url": reverse("household:participation") + f"?{month}"},
    ]
    if not supervision.may_supervise(actor):
        return [], links
    rows: list[dict[str, Any]] = []
    if what in ("handed", "received") and derive not in {
        "household.sorted_communities",
        "household.hazardous_communities",
    }:
        role_of = dict(SiteRole.objects.filter(zone_id=actor.zone_id).values_list("site_id", "role"))
        role_names = dict(rules.SITE_ROLE_CHOICES)
        plants: dict[int, Decimal] = {}
        names: dict[int, str] = {}
        for row in (
            DailyFlow.objects.filter(
                zone_id=actor.zone_id,
                day__gte=start,
                day__lte=end,
                node=rules.NODE_VEHICLE_SITE,
                site__isnull=False,
            )
            .values("site_id", "site__name", "household_class")
            .annotate(i=Sum("in_kg"))
            .order_by()
        ):
            role = role_of.get(row["site_id"], "")
            if site_roles is not None and role not in site_roles:
                continue
            if site_tops is not None and rules.top_class(row["household_class"]) not in site_tops:
                continue
            plants[row["site_id"]] = plants.get(row["site_id"], Decimal(0)) + Decimal(str(row["i"] or 0))
            names[row["site_id"]] = f"{row['site__name']} · {role_names.get(role, _('plant'))}"
        for site_id in sorted(plants, key=lambda s: (-plants[s], s)):
            rows.append(
                {
                    "label": _("%(plant)s: received (t)") % {"plant": names[site_id]},
                    "value": str((plants[site_id] / 1000).quantize(T)),
                    "url": None,
                }
            )
    visible = supervision.scope(actor)
    communities = Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY)
    if visible is not None:
        communities = communities.filter(pk__in=sorted(visible))
    ids = list(communities.order_by("code", "pk").values_list("pk", "name"))
    values: dict[int, Decimal] = {}
    if what == "residents":
        for community_id, residents in (
            Source.objects.filter(
                zone_id=actor.zone_id, kind=rules.SOURCE_HOUSEHOLD, community_id__in=[i for i, _n in ids]
            )
            .values("community_id")
            .annotate(r=Sum("residents"))
            .order_by()
            .values_list("community_id", "r")
        ):
            values[community_id] = Decimal(residents or 0)
        label = _("%(community)s: registered residents")
    else:
        node = rules.NODE_STATION_VEHICLE if what == "handed" else rules.NODE_SOURCE_STATION
        field = "out_kg" if what == "handed" else "in_kg"
        for row in (
            DailyFlow.objects.filter(
                zone_id=actor.zone_id,
                day__gte=start,
                day__lte=end,
                node=node,
                station__isnull=False,
                area_id__in=[i for i, _n in ids],
            )
            .values("area_id", "household_class")
            .annotate(kg=Sum(field))
            .order_by()
        ):
            if tops is not None and rules.top_class(row["household_class"]) not in tops:
                continue
            values[row["area_id"]] = (
                values.get(row["area_id"], Decimal(0)) + Decimal(str(row["kg"] or 0)) / 1000
            )
        label = (
            _("%(community)s: handed to vehicles by its stations (t)")
            if what == "handed"
            else _("%(community)s: received at its stations (t)")
        )
    for community_id, name in ids:
        value = values.get(community_id, Decimal(0))
        rows.append(
            {
                "label": label % {"community": name},
                "value": str(value if what == "residents" else value.quantize(T)),
                "url": reverse("household:area", kwargs={"area_id": community_id}) + f"?{month}",
            }
        )
    return rows, links
