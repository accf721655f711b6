"""Names of the household app's audit actions, records and fields (collected by `core.audit_display`).

Device events are not audited one by one (a city makes a billion a year): they are append-only rows
guarded by the (device, seq) ledger. The registry's changes are audited.
"""

from __future__ import annotations

from zerowaste.core.audit_display import A, F, Record, by_field

from .models import Bin, Device, Source, Station

ACTIONS = {
    "household.station.add": A("登记收集站点", "Register a station"),
    "household.source.add": A("登记排放源", "Register a waste source"),
    "household.bin.add": A("登记垃圾桶", "Register a bin"),
    "household.device.add": A("登记设备", "Register a device"),
}

RECORDS = {
    "household.station": Record("收集站点", "Station", identify=by_field(Station, "name")),
    "household.source": Record("排放源", "Waste source", identify=by_field(Source, "code")),
    "household.bin": Record("垃圾桶", "Bin", identify=by_field(Bin, "chip")),
    "household.device": Record("设备", "Device", identify=by_field(Device, "code")),
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
}
