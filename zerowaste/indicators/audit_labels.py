"""Names of the indicators' audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from typing import Any

from zerowaste.core.audit_display import BOOLEAN, A, F, Record, by_field

from .models import IndicatorSetVersion, InputEntry, Judgment


def _input_names(ids: list[str]) -> dict[str, str]:
    """An input entry by its input's name in the zone's active set (the key stays in the set file)."""
    from . import services

    pks = [i for i in set(ids) if i.isdigit()]
    out: dict[str, str] = {}
    sets: dict[int, Any] = {}
    for pk, zone_id, key in InputEntry.objects.filter(pk__in=pks).values_list("pk", "zone_id", "key"):
        if zone_id not in sets:
            sets[zone_id] = services.active_set(zone_id)
        definition = sets[zone_id].inputs.get(key)
        out[str(pk)] = definition.name if definition is not None else key
    return out


ACTIONS = {
    "indicators.set_load": A("载入指标体系", "Load an indicator set", values=True),
    "indicators.set_activate": A("启用指标体系", "Activate an indicator set", values=True),
    "indicators.input_enter": A("填报指标数据", "Enter an indicator input", values=True),
    "indicators.demo_entries": A("载入演示指标数据", "Load the demo indicator inputs", values=True),
    "indicators.judge": A("研判指标达标情况", "Judge an indicator", values=True),
}

RECORDS = {
    "indicators.indicatorsetversion": Record(
        "指标体系", "Indicator set", identify=by_field(IndicatorSetVersion, "code")
    ),
    "indicators.inputentry": Record("指标数据", "Indicator input", identify=_input_names),
    "indicators.judgment": Record(
        "指标研判", "Indicator judgment", identify=by_field(Judgment, "year", "number")
    ),
}

FIELDS = {
    "code": F("代码", "code"),
    "set": F("指标体系", "set"),
    "key": F("指标项", "input"),
    "value": F("数值", "value"),
    "evidence": F("佐证材料", "evidence"),
    "indicator": F("指标", "indicator"),
    "met": F("是否达标", "met", BOOLEAN),
}
