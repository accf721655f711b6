"""Names of the HW pilot's audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import (
    BOOLEAN,
    DATE,
    ORGANIZATION,
    QUANTITY_KG,
    QUANTITY_T,
    A,
    F,
    Record,
    by_field,
)

from .models import (
    Container,
    DisposalContract,
    IdentificationReport,
    Inspection,
    ManagementPlan,
    OperatorRecord,
    Store,
    TierAssessment,
    TransferPlan,
    TreatmentFacility,
)
from .rules import CLASS_CHOICES

ACTIONS = {
    "hazardous.tier.compute": A("评定产废单位分级", "Assess a producer's tier"),
    "hazardous.tier.recompute": A("重新评定分级", "Reassess a producer's tier"),
    "hazardous.store.create": A("新建贮存设施", "Create a store", values=True),
    "hazardous.store.configure": A("设置贮存设施", "Configure a store"),
    "hazardous.contract.add": A("添加处置合同", "Add a disposal contract", values=True),
    "hazardous.collect": A("收集入库", "Collect into the store", values=True),
    "hazardous.extend": A("延长贮存期限", "Extend the storage period", single=("document",)),
    "hazardous.ship_out": A("出库转移", "Ship out on a manifest", values=True),
    "hazardous.return_to_store": A("退回入库", "Return to the store", values=True),
    "hazardous.plan.file": A("备案管理计划", "File a management plan", values=True),
    "hazardous.transfer_plan.file": A("备案转移计划", "File a transfer plan", values=True),
    "hazardous.identification.file": A("提交鉴别报告", "File an identification report", values=True),
    "hazardous.identification.publish": A("公示鉴别报告", "Publish an identification report", values=True),
    "hazardous.inspect": A("记录规范化检查", "Record an inspection", values=True),
    "hazardous.operator_record": A("记录运营台账", "Record an operator's record", values=True),
    "hazardous.facility.register": A("登记利用处置设施", "Register a treatment facility", values=True),
    "hazardous.facility.close": A("关闭利用处置设施", "Close a treatment facility"),
    "hazardous.demo_load": A("载入演示危废数据", "Load the demo HW data", values=True),
}

RECORDS = {
    "hazardous.store": Record("贮存设施", "Store", identify=by_field(Store, "name")),
    "hazardous.disposalcontract": Record(
        "处置合同", "Disposal contract", identify=by_field(DisposalContract, "number")
    ),
    "hazardous.container": Record("包装容器", "Container", identify=by_field(Container, "number")),
    "hazardous.storageextension": Record("延期贮存", "Storage extension"),
    "hazardous.tierassessment": Record(
        "分级评定", "Tier assessment", identify=by_field(TierAssessment, "producer__name")
    ),
    "hazardous.managementplan": Record(
        "管理计划", "Management plan", identify=by_field(ManagementPlan, "organization__name")
    ),
    "hazardous.transferplan": Record(
        "转移计划", "Transfer plan", identify=by_field(TransferPlan, "organization__name")
    ),
    "hazardous.identificationreport": Record(
        "鉴别报告", "Identification report", identify=by_field(IdentificationReport, "waste_code")
    ),
    "hazardous.inspection": Record(
        "规范化检查", "Inspection", identify=by_field(Inspection, "organization__name")
    ),
    "hazardous.operatorrecord": Record(
        "运营台账", "Operator's record", identify=by_field(OperatorRecord, "title")
    ),
    "hazardous.treatmentfacility": Record(
        "利用处置设施",
        "Treatment facility",
        identify=by_field(TreatmentFacility, "site__name", "eia_approval_number"),
    ),
}

FIELDS = {
    "tier": F("分级", "tier"),
    "conclusion": F("鉴别结论", "conclusion"),
    "receiver_id": F("接收单位", "receiver", ORGANIZATION),
    "producer_id": F("产废单位", "producer", ORGANIZATION),
    "operator_id": F("运营单位", "operator", ORGANIZATION),
    "containers": F("包装容器", "containers"),
    "bay": F("贮存区", "bay"),
    "collected_on": F("收集日期", "collected on", DATE),
    "extended_until": F("延长至", "extended until", DATE),
    "document": F("批准文件", "document"),
    "out_number": F("出库单号", "out number"),
    "class": F("管理类别", "management class", choices=CLASS_CHOICES),
    "hazardous.disposalcontract.categories": F("覆盖类别或代码", "covered categories or codes"),
    "quarter": F("季度", "quarter"),
    "late": F("逾期备案", "filed late", BOOLEAN),
    "published_on": F("公示日期", "published on", DATE),
    "result": F("检查结果", "result"),
    "on": F("日期", "date", DATE),
    "shared_with": F("共享单位", "shared with", ORGANIZATION),
    "producers": F("产废单位数", "producers"),
    "manifests": F("联单数", "manifests"),
    "inspections": F("检查数", "inspections"),
    "collected_2020_kg": F("2020年收集量", "collected in 2020", QUANTITY_KG),
    "shipped_2020_kg": F("2020年转移量", "shipped in 2020", QUANTITY_KG),
    "closing_2020_kg": F("2020年末贮存量", "stock at the end of 2020", QUANTITY_KG),
    "max_stock_t": F("最大贮存量", "largest stock", QUANTITY_T),
    "generated_t": F("产生量", "generated", QUANTITY_T),
}
