"""Names of the manifests' audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import (
    BOOLEAN,
    DATE,
    DATETIME,
    ORGANIZATION,
    QUANTITY_T,
    A,
    F,
    Record,
    by_field,
)

from . import rules
from .models import RevisionRequest, Transfer, WebhookSubscription

# What a signature step stores beside the diff of the manifest: single values, never [old, new].
_STEP_VALUES = ("signed_at", "quantity_t", "next_carrier_id", "linked_transfer_id", "revision_request_id")
_STEPS = {
    "edit": ("修改联单", "Edit a manifest"),
    "discard": ("删除草稿联单", "Discard a draft manifest"),
    "issue": ("发起联单", "Issue a manifest"),
    "cancel": ("作废联单", "Cancel a manifest"),
    "pick_up": ("运输单位签收", "Carrier signs pick-up"),
    "hand_over": ("交接下一运输单位", "Hand over to the next carrier"),
    "deliver": ("运抵签字", "Carrier signs delivery"),
    "weigh": ("记录过磅数量", "Record weights"),
    "accept": ("接收联单", "Accept a manifest"),
    "accept_part": ("部分接收联单", "Accept part of a manifest"),
    "refuse": ("拒收联单", "Refuse a manifest"),
    "redirect_rest": ("退回或转移剩余废物", "Send the rest back or on"),
    "request_revision": ("申请更正联单", "Request a correction"),
    "acknowledge": ("监管确认差异", "Regulator acknowledges"),
}
ACTIONS = {
    **{f"transfer.{step}": A(zh, en, single=_STEP_VALUES) for step, (zh, en) in _STEPS.items()},
    "transfer.create": A("新建联单", "Create a manifest"),
    "transfer.release": A("产废单位凭签名码放行", "Consignor releases by signature code", values=True),
    "transfer.revise": A("更正联单", "Apply a correction", single=("revision_request_id",)),
    "transfer.revision_approve": A("同意更正", "Approve a correction", values=True),
    "transfer.revision_reject": A("拒绝更正", "Reject a correction", values=True),
    "transfer.webhook_subscribe": A("订阅事件推送", "Subscribe to webhooks", values=True),
    "transfer.webhook_update": A("修改事件推送", "Update a webhook"),
    "transfer.demo_load": A("载入演示联单", "Load the demo manifests", values=True),
    "transfers.signature_code.rotate": A("更换签名码", "Rotate the signature code", values=True),
}
assert set(_STEPS) == set(rules.ACTIONS), set(rules.ACTIONS) ^ set(_STEPS)

RECORDS = {
    "transfers.transfer": Record("联单", "Manifest", identify=by_field(Transfer, "number")),
    "transfers.revisionrequest": Record(
        "更正申请", "Correction request", identify=by_field(RevisionRequest, "transfer__number")
    ),
    "transfers.webhooksubscription": Record(
        "事件推送", "Webhook", identify=by_field(WebhookSubscription, "url")
    ),
    "transfers.signaturecode": Record("签名码", "Signature code"),
}

FIELDS = {
    "state": F("状态", "state"),
    "consignor_id": F("产废单位", "consignor", ORGANIZATION),
    "consignee_id": F("接收单位", "consignee", ORGANIZATION),
    "carrier_id": F("运输单位", "carrier", ORGANIZATION),
    "current_carrier_id": F("当前运输单位", "current carrier", ORGANIZATION),
    "next_carrier_id": F("下一运输单位", "next carrier", ORGANIZATION),
    "storage_id": F("贮存单位", "storage", ORGANIZATION),
    "planned_date": F("计划转移日期", "planned date", DATE),
    "estimated_t": F("预计数量", "estimated quantity", QUANTITY_T),
    "received_t": F("接收数量", "received quantity", QUANTITY_T),
    "refused_t": F("拒收数量", "refused quantity", QUANTITY_T),
    "quantity_seen_t": F("运输单位核对数量", "quantity seen by the carrier", QUANTITY_T),
    "refusal_reason": F("拒收原因", "reason for refusal"),
    "discrepancy": F("数量差异", "discrepancy", BOOLEAN),
    "discrepancy_note": F("差异说明", "discrepancy explained"),
    "treatment": F("利用处置方式", "treatment"),
    "cancel_reason": F("作废原因", "reason for cancelling"),
    "due_date": F("办结期限", "due date", DATE),
    "signed_at": F("签字时间", "signed at", DATETIME),
    "by_code": F("凭签名码", "by signature code", BOOLEAN),
    "linked_transfer_id": F("关联联单", "linked manifest"),
    "revision_request_id": F("更正申请", "correction request"),
    "transfer_id": F("联单", "manifest"),
    "transfer": F("联单", "manifest"),
    "approvals": F("已同意的单位", "approved by"),
    "url": F("推送地址", "URL"),
    "active": F("启用", "active", BOOLEAN),
    "failure_count": F("连续失败次数", "failures in a row"),
    "rotated_at": F("更换时间", "rotated at", DATETIME),
    "lines": F("废物明细", "lines"),
    "legs": F("运输段", "legs"),
    "position": F("序号", "position"),
    "category": F("废物类别代码", "category"),
    "description": F("废物名称", "description"),
    "packaging": F("包装方式", "packaging"),
    "package_count": F("包装件数", "packages"),
    "seq": F("段", "leg"),
    "vehicle_plate": F("车牌号", "plate"),
    "driver": F("驾驶员", "driver"),
    "picked_up_at": F("起运时间", "picked up at", DATETIME),
    "handed_over_at": F("交接时间", "handed over at", DATETIME),
    "transfers": F("联单数", "manifests"),
    "by_state": F("按状态", "by state"),
}
