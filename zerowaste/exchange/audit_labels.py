"""Names of the exchange's audit actions, records and fields (collected by `core.audit_display`)."""

from __future__ import annotations

from zerowaste.core.audit_display import BOOLEAN, DATE, QUANTITY_T, A, F, Record, by_field

from .models import MatchRun, PoolRun, Proposal, SupplyListing, SupplyPhoto

ACTIONS = {
    "exchange.supply.create": A("发布供应信息", "Post a supply listing"),
    "exchange.demand.create": A("发布需求信息", "Post a demand listing"),
    "exchange.supply.withdraw": A("撤回供应信息", "Withdraw a supply listing"),
    "exchange.demand.withdraw": A("撤回需求信息", "Withdraw a demand listing"),
    "exchange.match": A("运行撮合", "Run the matching"),
    "exchange.proposal.accept": A("接受撮合建议", "Accept a proposal"),
    "exchange.proposal.decline": A("拒绝撮合建议", "Decline a proposal"),
    "exchange.pool.plan": A("规划集中收运", "Plan a pooled collection"),
    "exchange.pool.execute": A("执行集中收运", "Execute a pooled collection"),
    "exchange.configure": A("设置撮合参数", "Set the exchange's tariffs"),
    "exchange.photo.add": A("添加照片", "Add a photo"),
    "exchange.photo.remove": A("删除照片", "Remove a photo"),
    "exchange.demo_load": A("载入演示供需信息", "Load the demo listings", values=True),
}

RECORDS = {
    "exchange.supplylisting": Record(
        "供应信息", "Supply listing", identify=by_field(SupplyListing, "waste_name")
    ),
    "exchange.demandlisting": Record("需求信息", "Demand listing"),
    "exchange.matchrun": Record("撮合运行", "Matching run", identify=by_field(MatchRun, "period")),
    "exchange.proposal": Record("撮合建议", "Proposal", identify=by_field(Proposal, "waste_code")),
    "exchange.poolrun": Record("集中收运", "Pooled collection", identify=by_field(PoolRun, "waste_code")),
    "exchange.supplyphoto": Record("照片", "Photo", identify=by_field(SupplyPhoto, "original_name")),
}

FIELDS = {
    "site_id": F("场所", "site"),
    "divisible": F("可拆分", "divisible", BOOLEAN),
    "quality_notes": F("品质说明", "quality notes"),
    "photos": F("照片", "photos"),
    "pickup_from": F("可提货起", "pick-up from", DATE),
    "pickup_to": F("可提货至", "pick-up until", DATE),
    "price_cny_per_t": F("单价（元/吨）", "price (CNY/t)"),
    "anonymous": F("匿名发布", "anonymous", BOOLEAN),
    "capacity_t_per_month": F("月接收能力", "capacity per month", QUANTITY_T),
    "service_radius_km": F("服务半径（千米）", "service radius (km)"),
    "notes": F("备注", "notes"),
    "prices": F("各代码单价（元/吨）", "prices per code (CNY/t)"),
    "value_cny": F("撮合价值（元）", "value (CNY)"),
    "greedy_value_cny": F("贪心法价值（元）", "greedy value (CNY)"),
    "bound_cny": F("价值上界（元）", "bound (CNY)"),
    "gap": F("最优性差距", "optimality gap"),
    "proposals": F("建议数", "proposals"),
    "accepted_by": F("已接受的一方", "accepted by"),
    "agreement": F("协议", "agreement"),
    "listing_id": F("供应信息", "listing"),
    "original_name": F("文件名", "file name"),
    "sha256": F("校验值", "SHA-256"),
    "size_bytes": F("大小（字节）", "size (bytes)"),
    "width": F("宽（像素）", "width (px)"),
    "height": F("高（像素）", "height (px)"),
    "stops": F("收运点数", "stops"),
    "vehicles": F("车辆数", "vehicles"),
    "pooled_cost_cny": F("集中收运费用（元）", "pooled cost (CNY)"),
    "alone_cost_cny": F("单独收运费用（元）", "cost alone (CNY)"),
    "exchange": F("撮合参数", "tariffs"),
    "supply_listings": F("供应信息数", "supply listings"),
    "demand_listings": F("需求信息数", "demand listings"),
}
