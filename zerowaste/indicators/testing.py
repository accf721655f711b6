"""Indicators' part of the generic isolation test (see `zerowaste.testing.isolation`).

Entries and loaded sets belong to the zone, not to an organization: inside the zone a producer is
refused (403), from another zone they do not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable

from zerowaste.core.models import Organization

from .models import IndicatorSetVersion, InputEntry


def owned_entry(org: Organization) -> InputEntry:
    found = InputEntry.objects.filter(zone_id=org.zone_id, entered_by=f"IND-CLERK-{org.pk}").first()
    if found is not None:
        return found
    return InputEntry.objects.create(
        zone_id=org.zone_id,
        year=2020,
        key="green_factories",
        value="22",
        source=f"IND-SOURCE-{org.pk}",
        department=f"IND-DEPT-{org.pk}",
        evidence_name=f"IND-EVIDENCE-{org.pk}.txt",
        evidence=f"IND-EVIDENCE-CONTENT-{org.pk}".encode(),
        entered_by=f"IND-CLERK-{org.pk}",
    )


def owned_set(org: Organization) -> IndicatorSetVersion:
    from . import services

    found = IndicatorSetVersion.objects.filter(zone_id=org.zone_id, code=f"ind-set-{org.pk}").first()
    if found is not None:
        return found
    text = services.BUNDLED_SET.read_text(encoding="utf-8")
    return IndicatorSetVersion.objects.create(
        zone_id=org.zone_id,
        code=f"ind-set-{org.pk}",
        version="1",
        name=f"IND-SET-NAME-{org.pk}",
        source_text=text,
        checksum="-",
        loaded_by=f"IND-LOADER-{org.pk}",
    )


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "entry_id": lambda org: owned_entry(org).pk,
    "set_id": lambda org: owned_set(org).pk,
}
ISOLATION_SHARED_PARAMS = {"entry_id", "set_id"}

ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "IndicatorsEntryIn.key": lambda: "green_factories",
    "IndicatorsEntryIn.value": lambda: "1",
    "IndicatorsEntryIn.source": lambda: "isolation",
    "IndicatorsEntryIn.evidence_base64": lambda: "",
    "IndicatorsRecordsQuery.key": lambda: "isw_generated_t",
    "key": lambda: "isw_generated_t",
    "years": lambda: "2020",
}


def populate(owner: Organization, markers: list[str]) -> None:
    owned_entry(owner)
    owned_set(owner)
    markers += [
        f"IND-SOURCE-{owner.pk}",
        f"IND-DEPT-{owner.pk}",
        f"IND-EVIDENCE-{owner.pk}.txt",
        f"IND-EVIDENCE-CONTENT-{owner.pk}",
        f"IND-CLERK-{owner.pk}",
        f"IND-SET-NAME-{owner.pk}",
        f"IND-LOADER-{owner.pk}",
    ]


ISOLATION_SETUP = populate
ISOLATION_MARKERS_SHARED = True  # entries and sets are the zone's, seen by every regulator of it
