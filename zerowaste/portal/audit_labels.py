"""Names of the portal's audit actions and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import BOOLEAN, A, F

ACTIONS = {
    "portal.publication": A("设置公开内容", "Choose what the zone publishes"),
}

FIELDS = {
    "indicators": F("公开指标表", "publish the indicators", BOOLEAN),
    "tonnages": F("公开年度产生量", "publish the tonnages", BOOLEAN),
    "company_figures": F("公开企业数据", "publish company figures", BOOLEAN),
}
