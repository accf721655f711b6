"""Demo step: the departments' entries for 2018-2020 that reproduce the seed's published figures.

Inputs the demo's declarations, production data and licences already give (generation, utilization,
disposal, value added, HW operators) are left derived, and so are, for 2020, the inputs derived from the
household records (`household.*`: indicators 6, 7, 12, 13, 20 and 21), since the demo's household month
lies in 2020 (an entry with evidence may still override them); the rest are entered by their
departments, as one bulk write with one summarizing audit entry.
"""

from __future__ import annotations

from zerowaste.core import audit
from zerowaste.core.demo import DemoContext, demo_step

SOURCE = "演示数据：按试点总结报告公布值反推"  # seed:190-246
HOUSEHOLD_YEAR = 2020  # the year of the demo's household month (household.demo.MONTH)


@demo_step("indicators.entries", order=60)
def build_entries(ctx: DemoContext) -> None:
    from . import services
    from .models import InputEntry
    from .seed_figures import DERIVED_IN_DEMO, SEED_2018, SEED_2019, SEED_2020

    indicator_set = services.active_set(ctx.zone.pk)
    regulators = ctx.organizations.get("regulator") or []
    organization = regulators[0] if regulators else None
    operators = services.Derivation(ctx.zone.pk, 2020).hw_operators()
    entries = []
    for year, figures in ((2018, SEED_2018), (2019, SEED_2019), (2020, SEED_2020)):
        for key, value in figures.items():
            if key in DERIVED_IN_DEMO or key not in indicator_set.inputs:
                continue
            if year == HOUSEHOLD_YEAR and (indicator_set.inputs[key].derive or "").startswith("household."):
                continue  # derived from the demo's household records
            if year == 2020 and key == "kitchen_recovery_rate_prev":
                continue  # the 2019 entry gives it
            if key == "hw_operators_insured" and year == 2020:
                value = str(operators or 0)  # every licensed operator insured: 100 %
            entries.append(
                InputEntry(
                    zone_id=ctx.zone.pk,
                    year=year,
                    key=key,
                    value=value,
                    source=SOURCE,
                    department=indicator_set.inputs[key].department[:200],
                    organization=organization,
                    entered_by="demo",
                )
            )
    InputEntry.objects.bulk_create(entries, batch_size=500)
    if entries:
        audit.record(
            ctx.actor,
            "indicators.demo_entries",
            entries[0],
            {"entries": len(entries), "years": [2018, 2019, 2020]},
        )
