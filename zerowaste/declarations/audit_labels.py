"""Names of the declarations' audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import QUANTITY_T, A, F, L, Record, by_field

from .models import Declaration, ImportJob, ProductionData

ACTIONS = {
    "declaration.create": A("新建申报", "Create a declaration", values=True),
    "declaration.edit": A("修改申报", "Edit a declaration", values=True),
    "declaration.submit": A("提交申报", "Submit a declaration"),
    "declaration.resubmit": A("重新提交申报", "Resubmit a declaration"),
    "declaration.accept": A("受理申报", "Accept a declaration"),
    "declaration.return": A("退回申报", "Return a declaration", single=("reason",)),
    "declaration.supersede": A("申报被更正版本取代", "Declaration superseded", single=("by_version",)),
    "declaration.amend": A("更正申报", "Amend a declaration", values=True),
    "declaration.import": A("导入申报", "Import declarations", values=True),
    "declaration.demo_history": A("载入演示申报", "Load the demo declarations", values=True),
    "production.save": A("填报生产数据", "Save production data"),
}

RECORDS = {
    "declarations.declaration": Record(
        "申报", "Declaration", identify=by_field(Declaration, "organization__name", "period_start")
    ),
    "declarations.importjob": Record(
        "申报导入", "Declaration import", identify=by_field(ImportJob, "filename")
    ),
    "declarations.productiondata": Record(
        "生产数据", "Production data", identify=by_field(ProductionData, "organization__name", "year")
    ),
}

_CHANGE = {"added": L("新增", "added"), "removed": L("删除", "removed"), "changed": L("修改", "changed")}
FIELDS = {
    "lines": F("申报明细", "lines"),
    "site": F("场所", "site"),
    "change": F("变动", "change", choices=_CHANGE.items()),
    "fields": F("数量", "quantities"),
    "opening_t": F("期初贮存量", "opening stock", QUANTITY_T),
    "generated_t": F("产生量", "generated", QUANTITY_T),
    "utilized_t": F("自行利用量", "utilized", QUANTITY_T),
    "disposed_t": F("自行处置量", "disposed", QUANTITY_T),
    "transferred_util_t": F("委托利用量", "transferred for utilization", QUANTITY_T),
    "transferred_disp_t": F("委托处置量", "transferred for disposal", QUANTITY_T),
    "closing_t": F("期末贮存量", "closing stock", QUANTITY_T),
    "by_version": F("更正版本", "by version"),
    "amends": F("更正的申报", "amends"),
    "rows": F("行数", "rows"),
    "declarations": F("申报数", "declarations"),
    "created": F("新建", "created"),
    "replaced": F("替换", "replaced"),
    "submitted": F("已提交", "submitted"),
    "value_added_wan": F("工业增加值（万元）", "value added (10,000 CNY)"),
    "products": F("产品", "products"),
    "raw_materials": F("原材料", "raw materials"),
    "built": F("生成日期", "built on"),
    "production_rows": F("生产数据行数", "production rows"),
    "reserved_t": F("预留量", "reserved", QUANTITY_T),
    "totals_t": F("合计", "totals", QUANTITY_T),
}
