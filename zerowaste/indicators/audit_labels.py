"""Names of the indicators' audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import BOOLEAN, A, F, Record, by_field

from .models import IndicatorSetVersion, InputEntry, Judgment

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
    "indicators.inputentry": Record("指标数据", "Indicator input", identify=by_field(InputEntry, "key")),
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
