"""Names of the household app's audit actions, records and fields (collected by `core.audit_display`).

Device events are not audited one by one (a city makes a billion a year): they are append-only rows
guarded by the (device, seq) ledger. The registry's changes are audited.
"""

from __future__ import annotations

from zerowaste.core.audit_display import A, F, Record, by_field

from .models import (
    Alarm,
    Bin,
    CommunityCentre,
    Device,
    EducationVisit,
    Merchant,
    ParkDischarge,
    ParkEnterprise,
    ParkStation,
    PointsEntry,
    SiteRole,
    Source,
    SourceQuota,
    Station,
    StationLog,
    StockCount,
)

ACTIONS = {
    "household.station.add": A("登记收集站点", "Register a station"),
    "household.source.add": A("登记排放源", "Register a waste source"),
    "household.bin.add": A("登记垃圾桶", "Register a bin"),
    "household.device.add": A("登记设备", "Register a device"),
    "household.source.change": A("修改排放源", "Change a waste source"),
    "household.station.change": A("修改收集站点", "Change a station"),
    "household.bin.change": A("修改垃圾桶", "Change a bin"),
    "household.source.deactivate": A("停用排放源", "Deactivate a waste source"),
    "household.station.deactivate": A("停用收集站点", "Deactivate a station"),
    "household.bin.deactivate": A("停用垃圾桶", "Deactivate a bin"),
    "household.device.deactivate": A("停用设备", "Deactivate a device"),
    "household.source.activate": A("启用排放源", "Reactivate a waste source"),
    "household.station.activate": A("启用收集站点", "Reactivate a station"),
    "household.bin.activate": A("启用垃圾桶", "Reactivate a bin"),
    "household.device.activate": A("启用设备", "Reactivate a device"),
    "household.registry.import": A("导入生活垃圾登记表", "Import the household registry"),
    "household.alarm.resolve": A("处置报警", "Resolve an alarm"),
    "household.stock.record": A("登记存量", "Record a stock count"),
    "household.merchant.add": A("登记积分兑换商户", "Register a points merchant"),
    "household.centre.set": A("设定服务圈中心", "Set a service-circle centre"),
    "household.route.plan": A("规划收运路线", "Plan a collection route"),
    "household.points.redeem": A("兑换积分", "Redeem points"),
    "household.points.reverse": A("冲正积分", "Reverse points"),
    "household.park.register": A("园区企业登记", "Register a park enterprise"),
    "household.park.reregister": A("更新园区企业登记", "Update a park enterprise's registration"),
    "household.park.station": A("登记园区站室", "Register a park station"),
    "household.park.log": A("记录站室作业", "Record a station log"),
    "household.park.discharge": A("登记企业排放", "Record a discharge"),
    "household.site_role.set": A("设定处理设施用途", "Set a plant's role"),
    "household.site_role.remove": A("撤销处理设施用途", "Remove a plant's role"),
    "household.quota.set": A("设定源头总量控制指标", "Set a source total-control quota"),
    "household.quota.remove": A("删除源头总量控制指标", "Remove a source total-control quota"),
    "household.education_visit.record": A("登记入户宣传", "Record an education visit"),
    "household.participation_refresh": A(
        "重新计算居民参与情况", "Recompute residents' participation", values=True
    ),
}

RECORDS = {
    "household.station": Record("收集站点", "Station", identify=by_field(Station, "name")),
    "household.source": Record("排放源", "Waste source", identify=by_field(Source, "code")),
    "household.bin": Record("垃圾桶", "Bin", identify=by_field(Bin, "chip")),
    "household.device": Record("设备", "Device", identify=by_field(Device, "code")),
    "household.alarm": Record("报警", "Alarm", identify=by_field(Alarm, "cause")),
    "household.stockcount": Record("存量盘点", "Stock count", identify=by_field(StockCount, "place")),
    "household.merchant": Record("积分兑换商户", "Points merchant", identify=by_field(Merchant, "name")),
    "household.communitycentre": Record(
        "服务圈中心", "Service-circle centre", identify=by_field(CommunityCentre, "community_id")
    ),
    "household.pointsentry": Record("积分流水", "Points entry", identify=by_field(PointsEntry, "reason")),
    "household.parkenterprise": Record(
        "园区登记企业", "Park enterprise", identify=by_field(ParkEnterprise, "organization_id")
    ),
    "household.parkstation": Record("园区站室", "Park station", identify=by_field(ParkStation, "name")),
    "household.stationlog": Record("站室作业记录", "Station log", identify=by_field(StationLog, "kind")),
    "household.parkdischarge": Record(
        "企业排放记录", "Discharge", identify=by_field(ParkDischarge, "household_class")
    ),
    "household.siterole": Record("处理设施用途", "Plant's role", identify=by_field(SiteRole, "site_id")),
    "household.sourcequota": Record(
        "源头总量控制指标", "Source quota", identify=by_field(SourceQuota, "year")
    ),
    "household.educationvisit": Record(
        "入户宣传", "Education visit", identify=by_field(EducationVisit, "visited_on")
    ),
}

FIELDS = {
    "community_id": F("社区", "community"),
    "responsible_party": F("管理责任人", "responsible party"),
    "residents": F("居住人数", "residents"),
    "chip": F("芯片编号", "chip id"),
    "household_class": F("垃圾类别", "household class"),
    "capacity_l": F("容量（升）", "capacity (L)"),
    "station_id": F("收集站点", "station"),
    "source_id": F("排放源", "source"),
    "vehicle_id": F("车辆", "vehicle"),
    "key_version": F("密钥版本", "key version"),
    "created_at": F("登记时间", "registered at"),
    "resolution": F("处置结果", "resolution"),
    "stock_kg": F("存量（千克）", "stock (kg)"),
    "delta": F("积分变动", "points"),
    "merchant_id": F("商户", "merchant"),
    "waste_classes": F("垃圾类别", "waste classes"),
    "expected_kg": F("预计日排放量（千克）", "expected kg a day"),
    "compactor_model": F("压缩设备型号", "compactor model"),
    "slot": F("收运时段", "round"),
    "quantity_kg": F("数量（千克）", "quantity (kg)"),
    "at": F("时间", "at"),
    "unit_kind": F("单位类型", "unit kind"),
    "address": F("地址", "address"),
    "contract_number": F("收运合同编号", "contract number"),
    "collector_id": F("收运单位", "collector"),
    "contract_from": F("合同起始日", "contract valid from"),
    "contract_to": F("合同截止日", "contract valid to"),
    "is_active": F("启用", "active"),
    "quota_t": F("控制指标（吨）", "quota (t)"),
    "alarm_id": F("报警", "alarm"),
    "visited_on": F("走访日期", "visited on"),
    "visited_by": F("走访人", "visited by"),
    "note": F("备注", "note"),
    "month": F("月份", "month"),
    "communities": F("社区数", "communities"),
    "households": F("户数", "households"),
}
