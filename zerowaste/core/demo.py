"""The demo zone: a synthetic development zone shaped like the seed's Beijing E-Town (北京经开区).

Deterministic for a given seed: every step draws from its own `random.Random` seeded with the demo
seed and the step's name, so adding a step never changes what another step builds. Other apps add
steps with `@demo_step("name", order=N)` in their `demo.py`, imported from their AppConfig.ready().
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction

from . import rules, services
from .authz import Actor
from .models import Area, Organization, User, Zone

DEMO_ZONE_CODE = "bda"
DEMO_PASSWORD = "zerowaste-demo-2021"  # noqa: S105 - printed for the demo accounts on purpose
DIVISION = "110115"
# Far enough ahead that the demo zone can move waste today; fixed, so the same seed gives the same data.
DEMO_LICENCES_VALID_TO = date(2030, 12, 31)  # 北京市大兴区, where the zone lies (GB/T 2260)

# Share of the zone's industrial solid waste by leading industry (seed:1207-1215); the rest is
# spread over other manufacturing. Producer counts follow the same proportions.
INDUSTRY_SHARES = (
    ("it", "新一代信息技术", Decimal("0.44")),
    ("auto", "高端汽车及新能源智能汽车", Decimal("0.34")),
    ("robotics", "机器人和智能制造", Decimal("0.02")),
    ("biotech", "生物技术和大健康", Decimal("0.02")),
    ("other", "其他制造业", Decimal("0.18")),
)
PRODUCERS = 312  # seed:317
RECYCLERS = 41  # seed:317, 488
COMMUNITIES = 32  # seed:80


@dataclass
class DemoContext:
    zone: Zone
    seed: int
    scale: int
    actor: Actor
    organizations: dict[str, list[Organization]] = field(default_factory=dict)
    accounts: list[dict[str, str]] = field(default_factory=list)
    areas: dict[str, Area] = field(default_factory=dict)
    # Tonnes of a zone total that a later step builds itself, keyed like "declared:hw:2020" or
    # "manifested:hw". The seed's totals are the zone's: a step that spreads a seed total over the
    # zone's producers subtracts what other steps reserved, so the zone as a whole matches the seed.
    reservations: dict[str, Decimal] = field(default_factory=dict)

    def rng(self, step: str) -> random.Random:
        return random.Random(f"{self.seed}:{step}")

    def reserve(self, key: str, tonnes: Decimal) -> None:
        """Set aside `tonnes` of the zone total `key` for the calling step (reservations add up)."""
        self.reservations[key] = self.reserved(key) + Decimal(tonnes)

    def reserved(self, key: str) -> Decimal:
        """Tonnes of the zone total `key` that steps reserved so far (0 when none)."""
        return self.reservations.get(key, Decimal(0))


DemoStep = Callable[[DemoContext], None]
_STEPS: list[tuple[int, str, DemoStep]] = []


def demo_step(name: str, *, order: int) -> Callable[[DemoStep], DemoStep]:
    """Register a step of the demo builder; steps run in `order`, core's parties first (order 0)."""

    def register(fn: DemoStep) -> DemoStep:
        if all(existing != name for _o, existing, _f in _STEPS):
            _STEPS.append((order, name, fn))
            _STEPS.sort(key=lambda s: (s[0], s[1]))
        return fn

    return register


def registered_steps() -> list[str]:
    return [name for _order, name, _fn in _STEPS]


class _UsccFactory:
    """Valid, unique, deterministic USCCs for synthetic organizations."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self, kind: str = "91") -> str:
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        while True:
            body = "".join(self.rng.choice(alphabet[:10] if i == 0 else alphabet) for i in range(8))
            code = rules.make_uscc(kind, DIVISION, body)
            if rules.validate_uscc(code) is None and code not in self.used:
                self.used.add(code)
                return code


FIRST = "京亦华博荣东瑞星恒泰嘉宏鑫创和新盛德凯航中天国科瑞达联信百宝"
SECOND = "源诚通明宇佳晟达拓汇川丰海峰锐晶联智腾润泽辉昊远益"
SUFFIX = {
    "it": ("电子科技有限公司", "显示技术有限公司", "半导体有限公司", "光电科技有限公司"),
    "auto": ("汽车部件有限公司", "汽车有限公司", "新能源汽车科技有限公司", "精密机械有限公司"),
    "robotics": ("智能装备有限公司", "机器人科技有限公司"),
    "biotech": ("生物技术有限公司", "医药有限公司", "生物医学检测有限公司"),
    "other": ("材料科技有限公司", "包装制品有限公司", "印刷有限公司", "食品有限公司", "机电设备有限公司"),
    "carrier": ("物流有限公司", "运输有限公司"),
    "recycler": ("再生资源回收有限公司", "物资回收有限公司", "资源综合利用有限公司"),
    "property": ("物业管理有限公司",),
    "construction": ("建设工程有限公司", "建筑垃圾消纳有限公司"),
}


def _name(rng: random.Random, kind: str, used: set[str]) -> str:
    while True:
        name = "北京" + rng.choice(FIRST) + rng.choice(SECOND) + rng.choice(SUFFIX[kind])
        if name not in used:
            used.add(name)
            return name


def _apportion(total: int, shares: tuple[tuple[str, str, Decimal], ...]) -> dict[str, int]:
    """Largest-remainder apportionment: counts that add up to `total` exactly."""
    raw = {code: share * total for code, _label, share in shares}
    counts = {code: int(value) for code, value in raw.items()}
    for code in sorted(raw, key=lambda c: raw[c] - counts[c], reverse=True)[: total - sum(counts.values())]:
        counts[code] += 1
    return counts


def _account(ctx: DemoContext, org: Organization, username: str, label: str, **membership: object) -> None:
    user, _created = User.objects.get_or_create(username=username)
    user.password = make_password(DEMO_PASSWORD)
    user.first_name = label
    user.save()
    from .models import Membership

    Membership.objects.get_or_create(
        zone_id=ctx.zone.pk, organization=org, user=user, defaults={"role": "admin", **membership}
    )
    ctx.accounts.append(
        {"username": username, "password": DEMO_PASSWORD, "role": label, "organization": org.name}
    )


@demo_step("core.parties", order=0)
def build_parties(ctx: DemoContext) -> None:
    rng = ctx.rng("core.parties")
    uscc = _UsccFactory(rng)
    used: set[str] = set()
    zone = ctx.zone
    actor = ctx.actor

    streets = {
        "rh": Area.objects.create(
            zone=zone, code="rh", name="荣华街道", name_en="Ronghua Street", kind="street"
        ),
        "bx": Area.objects.create(
            zone=zone, code="bx", name="博兴街道", name_en="Boxing Street", kind="street"
        ),
    }
    ctx.areas.update(streets)
    for i in range(COMMUNITIES):
        street = streets["rh"] if i < COMMUNITIES // 2 else streets["bx"]
        code = f"{street.code}-c{i + 1:02d}"
        ctx.areas[code] = Area.objects.create(
            zone=zone,
            code=code,
            name=f"{street.name}第{i % 16 + 1}社区",
            name_en=f"{street.name_en} community {i % 16 + 1}",
            kind="community",
            parent=street,
        )
    for code, name, name_en in (
        ("biomed", "生物医药园", "Biomedical Park"),
        ("wealth", "亦城财富中心", "Yicheng Wealth Centre"),
        ("digital", "数字工场", "Digital Factory"),
    ):
        ctx.areas[code] = Area.objects.create(
            zone=zone,
            code=code,
            name=name,
            name_en=name_en,
            kind="park",
            parent=streets["rh"] if code != "digital" else streets["bx"],
        )

    def register(kind_key: str, roles: list[str], name: str | None = None, **extra: object) -> Organization:
        org = services.register_organization(
            actor,
            uscc=uscc("11" if "regulator" in roles else "91"),
            name=name or _name(rng, kind_key, used),
            roles=roles,
            **extra,  # type: ignore[arg-type]
        )
        for role in roles:
            ctx.organizations.setdefault(role, []).append(org)
        return org

    regulators: list[tuple[str, str, str | None]] = [
        ("无废城市建设工作专班", "Zero-Waste City task force", None),
        ("城市运行局", "City Operation Bureau", None),
        ("综合执法局", "Comprehensive Law Enforcement Bureau", None),
        ("行政审批局", "Administrative Approval Bureau", None),
        ("生态环境建设局", "Ecology and Environment Bureau", None),
        ("荣华街道办事处", "Ronghua Street Office", "rh"),
        ("博兴街道办事处", "Boxing Street Office", "bx"),
    ]
    for name, name_en, street_code in regulators:
        register(
            "regulator",
            ["regulator"],
            name=name,
            name_en=name_en,
            area_id=streets[street_code].pk if street_code else None,
        )
    task_force = ctx.organizations["regulator"][0]

    street_codes = ["rh", "bx"]
    counts = _apportion(PRODUCERS * ctx.scale, INDUSTRY_SHARES)
    for code, label, _share in INDUSTRY_SHARES:
        for _i in range(counts[code]):
            area = streets[rng.choice(street_codes)]
            if code == "biotech" and rng.random() < 0.7:
                area = ctx.areas["biomed"]
            org = register(
                code,
                ["producer"],
                industry=label,
                area_id=area.pk,
                address=f"{area.name}{rng.randint(1, 60)}号",
            )
            ctx.organizations.setdefault(f"industry:{code}", []).append(org)

    today = date(2021, 1, 1)
    hw_carrier = register(
        "carrier",
        ["carrier"],
        name="北京鼎泰鹏宇环保科技有限公司",
        name_en="Dingtai Pengyu Environmental",
        area_id=streets["bx"].pk,
    )
    permit = services.add_licence(
        actor,
        hw_carrier.pk,
        kind="hw_transport",
        number="京危运2020-0018",
        issuer="北京市交通委员会",
        valid_from=today,
        valid_to=DEMO_LICENCES_VALID_TO,
    )
    for n in range(4):
        services.add_vehicle(
            actor,
            hw_carrier.pk,
            plate=f"京A{rng.randint(10000, 99999)}" if n else "京AD12345",
            vehicle_type="危险货物运输车",
            capacity_kg=rng.choice([2000, 5000, 8000]),
            permit_ids=[permit.pk],
        )
    for _i in range(8 * ctx.scale):
        carrier = register("carrier", ["carrier"], area_id=streets[rng.choice(street_codes)].pk)
        services.add_vehicle(
            actor,
            carrier.pk,
            plate=_plate(rng),
            vehicle_type="厢式货车",
            capacity_kg=rng.choice([1500, 3000, 5000, 10000]),
        )

    hw_receivers = [
        ("北京金隅红树林环保技术有限责任公司", "Jinyu Hongshulin", "京环危第0001号", Decimal("100000")),
        ("北京航兴宏达环保科技有限公司", "Hangxing Hongda", "京环危第0045号", Decimal("20000")),
        ("北京华腾天海环保科技有限公司", "Huateng Tianhai", "京环危第0052号", Decimal("15000")),
    ]
    licensed_hw_receivers = []
    for name, name_en, number, capacity in hw_receivers:
        org = register("recycler", ["receiver"], name=name, name_en=name_en)
        licensed_hw_receivers.append(org)
        services.add_licence(
            actor,
            org.pk,
            kind="hw_operating",
            number=number,
            issuer="北京市生态环境局",
            valid_from=date(2020, 1, 1),
            valid_to=DEMO_LICENCES_VALID_TO,
            waste_codes=["HW06", "HW08", "HW09", "HW12", "HW17", "HW34", "HW49"],
            annual_capacity_t=capacity,
        )
        services.add_site(
            actor,
            org.pk,
            name=f"{name}处置厂",
            kind="disposal",
            latitude=Decimal("39.7") + Decimal(rng.randint(0, 3000)) / 10000,
            longitude=Decimal("116.4") + Decimal(rng.randint(0, 3000)) / 10000,
        )
    for _i in range(RECYCLERS * ctx.scale):
        org = register("recycler", ["receiver"], area_id=streets[rng.choice(street_codes)].pk)
        services.add_site(
            actor,
            org.pk,
            name="回收站",
            kind="station",
            latitude=Decimal("39.75") + Decimal(rng.randint(0, 1500)) / 10000,
            longitude=Decimal("116.48") + Decimal(rng.randint(0, 1500)) / 10000,
        )

    park_operator = register(
        "park_operator",
        ["park_operator"],
        name="北京亦庄生物医药园运营管理有限公司",
        name_en="E-Town Biomedical Park operator",
        area_id=ctx.areas["biomed"].pk,
    )
    register(
        "park_operator",
        ["park_operator"],
        name="亦城财富中心运营管理有限公司",
        name_en="Yicheng Wealth Centre operator",
        area_id=ctx.areas["wealth"].pk,
    )
    for _i in range(4 * ctx.scale):
        register("property", ["property"], area_id=streets[rng.choice(street_codes)].pk)
    for _i in range(3 * ctx.scale):
        register("construction", ["construction"], area_id=streets[rng.choice(street_codes)].pk)

    _account(ctx, task_force, "regulator", "regulator / 监管（专班）")
    _account(
        ctx,
        ctx.organizations["regulator"][5],
        "street-rh",
        "street regulator / 街道监管",
        jurisdiction=streets["rh"],
    )
    _account(ctx, ctx.organizations["industry:it"][0], "producer", "producer / 产废单位")
    _account(ctx, hw_carrier, "carrier", "carrier / 运输单位")
    # A licensed HW receiver's admin, so that a demo login can receive and accept HW manifests.
    _account(ctx, licensed_hw_receivers[0], "hw-receiver", "HW receiver / 危废经营单位")
    _account(ctx, ctx.organizations["receiver"][3], "recycler", "recycler / 回收利用单位")
    _account(ctx, park_operator, "park", "park operator / 园区运营方")


def _plate(rng: random.Random) -> str:
    letters = "ABCEFGHJKLMNPQ"
    return "京" + rng.choice(letters) + "".join(rng.choice("0123456789") for _ in range(5))


@dataclass(frozen=True)
class DemoResult:
    zone: Zone
    accounts: list[dict[str, str]]
    organizations: int
    rebuilt: bool
    already_built: bool = False


class DemoExists(Exception):
    pass


DemoProgress = Callable[[int, int, str], None]


def build_demo(
    *, seed: int = 1, scale: int = 1, reset: bool = False, progress: DemoProgress | None = None
) -> DemoResult:
    """Build the demo zone; rebuild it when asked for other parameters (or `reset`).

    A demo already built with the same parameters is reused as it is (`already_built`): a second
    start does not rebuild. `progress(done, total, step)` is told as each step starts.
    """
    existing = Zone.objects.filter(code=DEMO_ZONE_CODE).first()
    params = {"seed": seed, "scale": scale, "steps": registered_steps()}
    rebuilt = False
    if existing is not None:
        if existing.settings.get("demo") == params and not reset:
            return DemoResult(
                existing,
                existing.settings.get("demo_accounts", []),
                Organization.objects.filter(zone=existing).count(),
                rebuilt=False,
                already_built=True,
            )
        if Zone.objects.exclude(pk=existing.pk).exists() and not reset:
            raise DemoExists(
                "the database holds other zones besides the demo zone; "
                "rebuilding means flushing it: pass --reset"
            )
        # The audit log is append-only, so a rebuild starts from an empty database, not a deleted zone.
        call_command("flush", interactive=False, verbosity=0)
        rebuilt = True
    with transaction.atomic():
        zone = Zone.objects.create(
            code=DEMO_ZONE_CODE,
            name="北京经济技术开发区（演示）",
            name_en="Beijing Economic-Technological Development Area (demo)",
            division_code=DIVISION,
        )
        ctx = DemoContext(zone=zone, seed=seed, scale=scale, actor=Actor.system(zone))
        steps = list(_STEPS)
        for done, (_order, step_name, step) in enumerate(steps):
            if progress is not None:
                progress(done, len(steps), step_name)
            step(ctx)
        zone.settings = {"demo": params, "demo_accounts": ctx.accounts}
        zone.save(update_fields=["settings"])
    return DemoResult(zone, ctx.accounts, Organization.objects.filter(zone=zone).count(), rebuilt=rebuilt)
