"""Use cases of the hazardous-waste pilot: tiers, collection into the park store, inventory and age
alerts, extensions, ship-out by manifest, the monthly summary, plans, identification, inspections.

Every write: one transaction, the actor checked through `core.authz`, every input checked before
anything is written, one audit entry. Refusals name the rule and the seed's article (`rules.cite`).

Public services for other apps:
- `inspection_rates(zone_id, year) -> {"passed", "basically_passed", "failed", "total"}` (indicator 31)
- `storage_alerts(zone_id, on_date, actor=None) -> [{"container", "park", "code", "stored_on", "age_days",
  "deadline", "level", "quantity_t"}]` (the regulator cockpit)
- `stream_of(zone_id, producer_id, waste_code, on_date) -> "hw" | "isw"` (identified wastes)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit, bounds, periods
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Licence, Organization
from zerowaste.core.services import check_text

from . import rules
from .models import (
    Container,
    DisposalContract,
    IdentificationReport,
    Inspection,
    ManagementPlan,
    OperatorRecord,
    StorageExtension,
    Store,
    TierAssessment,
    TransferPlan,
)

WRITE_ROLES = frozenset({"admin", "clerk"})
GROUP_LABELS = dict(rules.GROUP_CHOICES)


# --- Access ----------------------------------------------------------------------------------------


def _require_write(actor: Actor, org_role: str, what: str) -> None:
    """The actor's organization holds `org_role`, its member may write, its token has a write scope."""
    if actor.is_system:
        return
    if org_role not in actor.org_roles:
        raise Forbidden(
            _("only a %(role)s may %(what)s") % {"role": org_role.replace("_", " "), "what": what}
        )
    _require_write_access(actor, what)


def _require_write_access(actor: Actor, what: str) -> None:
    """The member may write and the token has a write scope (whatever the organization's role)."""
    if actor.is_system:
        return
    if actor.member_role not in WRITE_ROLES:
        raise Forbidden(_("your role does not allow this (hazardous.%(what)s)") % {"what": what})
    if actor.token_scopes is not None and not ({"declare", "admin"} & actor.token_scopes):
        raise Forbidden(_("this token may only read"))


def visible_stores(actor: Actor) -> QuerySet[Store]:
    base = Store.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.organization is None:
        return base.none()
    if actor.is_regulator:
        return base.filter(operator_id__in=visible_organizations(actor).values("pk"))
    q = Q(operator_id=actor.organization_id)
    if "producer" in actor.org_roles and actor.organization.area_id:
        q |= Q(park_id=actor.organization.area_id)
    return base.filter(q)


def get_store(actor: Actor, store_id: int) -> Store:
    store = visible_stores(actor).filter(pk=store_id).select_related("operator", "park").first()
    if store is None:
        raise NotFound(_("store %(id)s not found") % {"id": store_id})
    return store


def _own_store(actor: Actor, store_id: int, what: str) -> Store:
    store = get_store(actor, store_id)
    if not actor.is_system and store.operator_id != actor.organization_id:
        raise Forbidden(
            _("only the operator of %(store)s may %(what)s") % {"store": store.name, "what": what}
        )
    _require_write(actor, "park_operator", what)
    return store


def stores_of(actor: Actor) -> list[Store]:
    return list(visible_stores(actor).select_related("operator", "park"))


def visible_containers(actor: Actor) -> QuerySet[Container]:
    base = Container.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.organization_id is None:
        return base.none()
    if actor.is_regulator:
        return base.filter(store__in=visible_stores(actor))
    return base.filter(Q(store__operator_id=actor.organization_id) | Q(producer_id=actor.organization_id))


def get_container(actor: Actor, container_id: int) -> Container:
    c = (
        visible_containers(actor)
        .filter(pk=container_id)
        .select_related("store", "store__operator", "store__park", "producer", "transfer")
        .first()
    )
    if c is None:
        raise NotFound(_("container %(id)s not found") % {"id": container_id})
    return c


# --- Input helpers ---------------------------------------------------------------------------------


def _opt_date(value: Any, field: str) -> date | None:
    return None if value in (None, "") else _date(value, field)


def _date(value: Any, field: str, *, default: date | None = None) -> date:
    if value in (None, ""):
        if default is not None:
            return default
        raise Invalid.field(field, _("this field is required"))
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value  # from the API: bounded here all the same, as pages' text is
    else:
        try:
            parsed = date.fromisoformat(str(value))
        except ValueError as exc:
            raise Invalid.field(field, _("not a date (YYYY-MM-DD)")) from exc
    if not date(2000, 1, 1) <= parsed <= date(2100, 12, 31):
        raise Invalid.field(field, _("out of range"))
    return parsed


def _int(value: Any, field: str, *, low: int = 1, high: int = 2**62) -> int:
    if isinstance(value, bool) or value in (None, ""):
        raise Invalid.field(field, _("this field is required") if value in (None, "") else _("not a number"))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise Invalid.field(field, _("a whole number")) from exc
    if not low <= number <= high:
        raise Invalid.field(field, _("must be between %(a)d and %(b)d") % {"a": low, "b": high})
    return number


def _year(value: Any, field: str = "year") -> int:
    return _int(value, field, low=2000, high=2100)


def _decimal_t(value: Any, field: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except Exception as exc:
        raise Invalid.field(field, _("a quantity in tonnes")) from exc
    if not d.is_finite() or d < 0 or d > Decimal("1e12"):
        raise Invalid.field(field, _("a quantity in tonnes, zero or more"))
    if d != d.quantize(rules.KILOGRAM):
        raise Invalid.field(field, _("at most 3 decimals (kilograms)"))
    return d


def _acting_org(actor: Actor, data: Mapping[str, Any], field: str, role: str, what: str) -> Organization:
    """The actor's own organization, which must hold `role`; the system (demo, CLI) names it in `field`."""
    if actor.is_system:
        return _org(actor.zone_id, data.get(field), field, role)
    _require_write(actor, role, what)
    assert actor.organization is not None
    return actor.organization


def _org(zone_id: int, value: Any, field: str, role: str = "") -> Organization:
    pk = _int(value, field)
    org = Organization.objects.filter(zone_id=zone_id, pk=pk, is_active=True).first()
    if org is None:
        raise Invalid.field(field, _("no such organization in this zone"))
    if role and not org.roles.filter(role=role).exists():
        raise Invalid.field(
            field, _("%(org)s is not registered as a %(role)s") % {"org": org.name, "role": role}
        )
    return org


def _refuse(field: str, rule: str, message: str) -> Invalid:
    return Invalid(
        f"{field}: {rules.refusal(rule, message)}", errors=rules.refusal_errors(rule, message, field)
    )


# --- Tiers (seed:3999-4005) --------------------------------------------------------------------------


def park_areas(zone_id: int) -> QuerySet[Area]:
    """Pilot parks: park areas with a store."""
    return Area.objects.filter(
        zone_id=zone_id, kind="park", pk__in=Store.objects.filter(zone_id=zone_id).values("park_id")
    )


def _park_producers(zone_id: int, park_id: int | None = None) -> QuerySet[Organization]:
    parks = park_areas(zone_id)
    if park_id:
        parks = parks.filter(pk=park_id)
    return Organization.objects.filter(
        zone_id=zone_id, area_id__in=parks.values("pk"), roles__role="producer"
    )


def declared_figures(zone_id: int, producer_ids: Iterable[int], year: int) -> dict[int, dict[str, Any]]:
    """Per producer: HW generated in `year` and the largest stock at any period boundary, from the
    declarations that count (latest counted version per period), with the evidence."""
    from zerowaste.declarations.services import effective_lines

    ids = list(producer_ids)
    rows = (
        effective_lines(zone_id)
        .filter(
            declaration__stream="hw",
            declaration__organization_id__in=ids,
            declaration__period_start__gte=date(year, 1, 1),
            declaration__period_start__lte=date(year, 12, 31),
        )
        .values_list(
            "declaration__organization_id",
            "declaration_id",
            "declaration__version",
            "declaration__period_kind",
            "declaration__period_start",
            "opening_t",
            "generated_t",
            "closing_t",
        )
    )
    # Keep the latest counted version of each period.
    latest: dict[tuple[int, date], int] = {}
    for org_id, _decl, version, _kind, start, *_rest in rows:
        key = (org_id, start)
        latest[key] = max(latest.get(key, 0), version)
    periods: dict[tuple[int, date], dict[str, Any]] = {}
    for org_id, decl_id, version, kind, start, opening, generated, closing in rows:
        if latest[(org_id, start)] != version:
            continue
        p = periods.setdefault(
            (org_id, start),
            {
                "declaration": decl_id,
                "version": version,
                "period": f"{kind}:{start.isoformat()}",
                "opening_t": rules.ZERO,
                "generated_t": rules.ZERO,
                "closing_t": rules.ZERO,
            },
        )
        p["opening_t"] += opening
        p["generated_t"] += generated
        p["closing_t"] += closing
    result: dict[int, dict[str, Any]] = {
        pk: {"generated_t": rules.ZERO, "max_stock_t": rules.ZERO, "periods": []} for pk in ids
    }
    for (org_id, _start), p in sorted(periods.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        r = result[org_id]
        r["generated_t"] += p["generated_t"]
        r["max_stock_t"] = max(r["max_stock_t"], p["opening_t"], p["closing_t"])
        r["periods"].append({k: str(v) if isinstance(v, Decimal) else v for k, v in p.items()})
    return result


def _tier_row(a: TierAssessment) -> dict[str, Any]:
    return {
        "producer": a.producer.name,
        "producer_id": a.producer_id,
        "park": a.park.name,
        "year": a.year,
        "generated_t": str(a.generated_t),
        "max_stock_t": str(a.max_stock_t),
        "tier": a.tier,
        "reason": a.reason,
        "trigger": a.trigger,
        "computed_at": a.computed_at.isoformat(),
    }


@transaction.atomic
def compute_tiers(
    actor: Actor, year: int, *, park_id: int | None = None, trigger: str = "on_demand"
) -> list[TierAssessment]:
    """(Re)compute the tiers of `year` from the declarations of the year before, for every producer of
    the pilot parks (or one park). Each assessment keeps its evidence; changes are audited."""
    year = _year(year)
    if not actor.is_system and not (actor.is_regulator or "park_operator" in actor.org_roles):
        raise Forbidden(_("only a regulator or a park operator recomputes tiers"))
    _require_write_access(actor, "recompute tiers")
    if not actor.is_system and not actor.is_regulator:
        own_parks = set(
            Store.objects.filter(zone_id=actor.zone_id, operator_id=actor.organization_id).values_list(
                "park_id", flat=True
            )
        )
        if park_id and park_id not in own_parks:
            raise NotFound(_("park %(id)s not found") % {"id": park_id})
        if not own_parks:
            raise Forbidden(_("your organization runs no pilot-park store"))
        parks = own_parks if not park_id else {park_id}
    else:
        stores = Store.objects.filter(zone_id=actor.zone_id)
        if not actor.is_system:  # a street regulator: the parks whose operator is in its jurisdiction
            stores = stores.filter(operator_id__in=visible_organizations(actor).values("pk"))
        parks = set(stores.values_list("park_id", flat=True))
        if park_id:
            if park_id not in parks:
                raise NotFound(_("park %(id)s not found") % {"id": park_id})
            parks = {park_id}
    producers = list(
        Organization.objects.filter(zone_id=actor.zone_id, area_id__in=parks, roles__role="producer")
        .select_related("area")
        .distinct()
    )
    source_year = rules.tier_year_source(year)
    figures = declared_figures(actor.zone_id, [p.pk for p in producers], source_year)
    now = timezone.now()
    existing = {
        a.producer_id: a
        for a in TierAssessment.objects.select_for_update().filter(
            zone_id=actor.zone_id, year=year, producer_id__in=[p.pk for p in producers]
        )
    }
    result = []
    for producer in producers:
        f = figures[producer.pk]
        generated, max_stock = f["generated_t"], f["max_stock_t"]
        tier = rules.tier(generated, max_stock)
        evidence = {
            "source_year": source_year,
            "rule": rules.cite("R-TIER"),
            "reason": rules.tier_reason(generated, max_stock),
            "declarations": f["periods"],
        }
        a = existing.get(producer.pk)
        if a is None:
            a = TierAssessment.objects.create(
                zone_id=actor.zone_id,
                year=year,
                park_id=producer.area_id or 0,
                producer=producer,
                generated_t=generated,
                max_stock_t=max_stock,
                tier=tier,
                evidence=evidence,
                trigger=trigger,
                computed_at=now,
                computed_by=actor.username,
            )
            audit.record(
                actor,
                "hazardous.tier.compute",
                a,
                {
                    "tier": [None, tier],
                    "generated_t": [None, str(generated)],
                    "max_stock_t": [None, str(max_stock)],
                },
            )
        else:
            before = {"tier": a.tier, "generated_t": str(a.generated_t), "max_stock_t": str(a.max_stock_t)}
            a.generated_t, a.max_stock_t, a.tier = generated, max_stock, tier
            a.evidence, a.trigger, a.computed_at, a.computed_by = evidence, trigger, now, actor.username
            a.park_id = producer.area_id  # type: ignore[assignment]
            a.save()
            after = {"tier": tier, "generated_t": str(generated), "max_stock_t": str(max_stock)}
            audit.record(
                actor, "hazardous.tier.recompute", a, audit.diff(before, after) or {"unchanged": [None, True]}
            )
        a.producer = producer
        result.append(a)
    return result


def ensure_january_tiers(zone_id: int, today: date | None = None) -> int:
    """The January recomputation (the scheduled task `tasks.january_tiers_task`, enqueued by the yearly
    cron line `zerowaste hazardous tiers --january`): the year's tiers, unless the year has them already.
    Returns how many assessments were written (0 if the year already has them). Never called on a read:
    a page or a GET shows the stored tiers only (issue 16, item 2)."""
    today = today or timezone.localdate()
    if TierAssessment.objects.filter(zone_id=zone_id, year=today.year).exists():
        return 0
    if not _park_producers(zone_id).exists():
        return 0
    from zerowaste.core.models import Zone

    return len(compute_tiers(Actor.system(Zone.objects.get(pk=zone_id)), today.year, trigger="january"))


def visible_tiers(actor: Actor, year: int | None, park_id: int | None = None) -> QuerySet[TierAssessment]:
    """The stored tiers the actor may see, of `year` (of every year when None)."""
    qs = TierAssessment.objects.filter(zone_id=actor.zone_id).select_related("producer", "park")
    if year is not None:
        qs = qs.filter(year=year)
    if park_id:
        qs = qs.filter(park_id=park_id)
    if actor.is_system:
        return qs
    if actor.is_regulator:
        return qs.filter(producer_id__in=visible_organizations(actor).values("pk"))
    parks = Store.objects.filter(zone_id=actor.zone_id, operator_id=actor.organization_id).values("park_id")
    return qs.filter(Q(park_id__in=parks) | Q(producer_id=actor.organization_id))


def latest_tier_year(actor: Actor) -> int | None:
    """The latest year of a stored tier the actor sees: the tiers page opens on it (ADR 0051)."""
    return periods.latest_year(visible_tiers(actor, None).order_by(), "year")


def tiers(actor: Actor, year: int, *, park_id: int | None = None) -> list[dict[str, Any]]:
    """The stored tiers of `year` the actor may see (none until computed: nothing is written here)."""
    year = _year(year)
    return [_tier_row(a) for a in visible_tiers(actor, year, park_id)]


def tier_of(zone_id: int, producer: Organization, on: date) -> tuple[str, dict[str, Any]]:
    """The producer's tier in the year of `on`: the stored assessment, else computed from the
    declarations without storing (so that a collection is never refused for a missing recomputation)."""
    a = TierAssessment.objects.filter(zone_id=zone_id, year=on.year, producer=producer).first()
    if a is not None:
        return a.tier, {"generated_t": str(a.generated_t), "max_stock_t": str(a.max_stock_t)}
    f = declared_figures(zone_id, [producer.pk], rules.tier_year_source(on.year))[producer.pk]
    return rules.tier(f["generated_t"], f["max_stock_t"]), {
        "generated_t": str(f["generated_t"]),
        "max_stock_t": str(f["max_stock_t"]),
    }


# --- Stores and contracts --------------------------------------------------------------------------


@transaction.atomic
def create_store(actor: Actor, *, data: Mapping[str, Any]) -> Store:
    """A park operator opens its store (or the system, for the demo, names the operator)."""
    operator = _acting_org(actor, data, "operator_id", "park_operator", "open a store")
    if operator.area_id is None or not Area.objects.filter(pk=operator.area_id, kind="park").exists():
        raise Invalid.field("operator_id", _("the operator belongs to no park"))
    code = check_text(data.get("code"), "code", max_length=32, required=True)
    if Store.objects.filter(zone_id=actor.zone_id, code=code).exists():
        raise Invalid.field("code", _("a store with this code exists"))
    try:
        warnings = list(
            rules.parse_warning_days(data.get("warning_days") or list(rules.DEFAULT_WARNING_DAYS))
        )
    except ValueError as exc:
        raise Invalid.field("warning_days", str(exc)) from exc
    bays = [check_text(b, "bays", max_length=32) for b in (data.get("bays") or ["A", "B", "C", "D"])]
    store = Store.objects.create(
        zone_id=actor.zone_id,
        operator=operator,
        park_id=operator.area_id,
        code=code,
        name=check_text(data.get("name"), "name", max_length=200, required=True),
        capacity_t=_decimal_t(data.get("capacity_t", "0"), "capacity_t"),
        bays=[b for b in bays if b],
        warning_days=warnings,
        c_categories=[str(c).strip().upper() for c in data.get("c_categories") or [] if str(c).strip()],
        insurance_policy=check_text(data.get("insurance_policy"), "insurance_policy", max_length=64),
        insurance_valid_to=_opt_date(data.get("insurance_valid_to"), "insurance_valid_to"),
        technicians=_int(data.get("technicians", 0) or 0, "technicians", low=0, high=10_000),
    )
    audit.record(
        actor, "hazardous.store.create", store, audit.snapshot(store, ["code", "name", "capacity_t"])
    )
    return store


@transaction.atomic
def configure_store(actor: Actor, store_id: int, *, data: Mapping[str, Any]) -> Store:
    """Warning ages, bays, C categories, insurance, staffing facts."""
    store = _own_store(actor, store_id, "configure the store")
    store = Store.objects.select_for_update().get(pk=store.pk)
    before = audit.snapshot(store)
    if "warning_days" in data:
        try:
            store.warning_days = list(rules.parse_warning_days(data["warning_days"]))
        except ValueError as exc:
            raise Invalid.field("warning_days", str(exc)) from exc
    if "bays" in data:
        store.bays = [b for b in (check_text(x, "bays", max_length=32) for x in data["bays"] or []) if b]
    if "c_categories" in data:
        store.c_categories = [str(c).strip().upper() for c in data["c_categories"] or [] if str(c).strip()]
    if "capacity_t" in data:
        store.capacity_t = _decimal_t(data["capacity_t"], "capacity_t")
    if "insurance_policy" in data:
        store.insurance_policy = check_text(data["insurance_policy"], "insurance_policy", max_length=64)
    if "insurance_valid_to" in data:
        store.insurance_valid_to = _opt_date(data["insurance_valid_to"], "insurance_valid_to")
    if "technicians" in data:
        store.technicians = _int(data["technicians"], "technicians", low=0, high=10_000)
    for field in ("emergency_plan_on", "last_drill_on"):
        if field in data:
            setattr(store, field, _opt_date(data[field], field))
    store.save()
    audit.record(actor, "hazardous.store.configure", store, audit.diff(before, audit.snapshot(store)))
    return store


@transaction.atomic
def add_contract(actor: Actor, store_id: int, *, data: Mapping[str, Any]) -> DisposalContract:
    store = _own_store(actor, store_id, "record a contract")
    receiver = _org(actor.zone_id, data.get("receiver_id"), "receiver_id", "receiver")
    valid_from = _date(data.get("valid_from"), "valid_from")
    valid_to = _date(data.get("valid_to"), "valid_to")
    if valid_to < valid_from:
        raise Invalid.field("valid_to", _("must not be before valid_from"))
    categories = [str(c).strip().upper() for c in data.get("categories") or [] if str(c).strip()]
    if not categories:
        raise Invalid.field("categories", _("name the categories (HW49) or codes the contract covers"))
    number = check_text(data.get("number"), "number", max_length=64, required=True)
    if DisposalContract.objects.filter(
        zone_id=actor.zone_id, operator=store.operator, number=number
    ).exists():
        raise Invalid.field("number", _("a contract with this number exists"))
    c = DisposalContract.objects.create(
        zone_id=actor.zone_id,
        operator=store.operator,
        receiver=receiver,
        number=number,
        categories=categories,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    audit.record(
        actor, "hazardous.contract.add", c, audit.snapshot(c, ["number", "receiver_id", "categories"])
    )
    return c


def _licensed_for(receiver_id: int, code: str, category: str, on: date) -> bool:
    return any(
        not lic.waste_codes or code in lic.waste_codes or category in lic.waste_codes
        for lic in Licence.objects.filter(organization_id=receiver_id).in_force(on, "hw_operating")
    )


def contracted_receivers(operator_id: int, code: str, category: str, on: date) -> list[int]:
    """Receivers the operator holds a contract with on `on` covering the waste, whose operating
    licence covers it too: the waste's "明确利用处置途径" (seed:4013, 4017)."""
    found = []
    for c in DisposalContract.objects.filter(operator_id=operator_id, valid_from__lte=on, valid_to__gte=on):
        if (code in c.categories or category in c.categories) and _licensed_for(
            c.receiver_id, code, category, on
        ):
            found.append(c.receiver_id)
    return found


# --- Identification (seed:3919-3923) ---------------------------------------------------------------


def identified_non_hazardous(
    zone_id: int, producer_id: int, waste_code: str, on: date
) -> IdentificationReport | None:
    return (
        IdentificationReport.objects.filter(
            zone_id=zone_id,
            producer_id=producer_id,
            waste_code=waste_code,
            status=IdentificationReport.Status.PUBLISHED,
            conclusion=rules.NOT_HAZARDOUS,
            effective_from__lte=on,
        )
        .order_by("-effective_from")
        .first()
    )


def stream_of(zone_id: int, producer_id: int, waste_code: str, on_date: date) -> str:
    """`isw` once a published identification found the producer's waste not hazardous, from its
    effective date; `hw` before and otherwise."""
    return "isw" if identified_non_hazardous(zone_id, producer_id, waste_code, on_date) else "hw"


def identified_producers(zone_id: int) -> set[tuple[int, str]]:
    """The screen of the stream check: producers with a published "not hazardous" report, in HW."""
    return {
        (producer_id, "hw")
        for producer_id in IdentificationReport.objects.filter(
            zone_id=zone_id,
            status=IdentificationReport.Status.PUBLISHED,
            conclusion=rules.NOT_HAZARDOUS,
        ).values_list("producer_id", flat=True)
    }


def refuse_hw_of_identified_waste(
    zone_id: int, producer_id: int, stream: str, waste_code: str, on: date
) -> str | None:
    """A stream check (`core.streams`): once published, a "not hazardous" conclusion moves the
    producer's waste to the general stream from its effective date, so it is no longer carried on an
    HW manifest nor declared as HW."""
    if stream != "hw":
        return None
    report = identified_non_hazardous(zone_id, producer_id, waste_code, on)
    if report is None:
        return None
    text = _(
        "%(code)s of this producer was identified as not hazardous from %(date)s (identification report "
        "%(id)s): it is general industrial solid waste, carried on a general manifest and declared as "
        "such"
    ) % {"code": waste_code, "date": str(report.effective_from), "id": report.pk}
    return rules.refusal("R-IDENTIFIED", text)


# --- Collection into the store (seed:4005-4017, 4087-4089) ------------------------------------------


def _next_number(store: Store, prefix: str, on: date) -> str:
    """The store's next HJ 1259 batch code of the day (`HWRK20211031001` in, `HWCK…` out). Callers hold
    the store's row lock, so two collections into one store cannot take the same number."""
    stem = f"{prefix}{on:%Y%m%d}"
    field = "number" if prefix == "HWRK" else "out_number"
    used = Container.objects.filter(zone_id=store.zone_id, store=store, **{f"{field}__startswith": stem})
    last = used.order_by(f"-{field}").values_list(field, flat=True).first()
    seq = int(last[len(stem) :]) + 1 if last else 1
    return rules.batch_number(prefix, on, seq) if seq < 1000 else f"{stem}{seq}"


def stock_kg(store: Store, on: date | None = None) -> int:
    qs = Container.objects.filter(zone_id=store.zone_id, store=store)
    if on is None:
        qs = qs.filter(state=Container.State.IN_STORE)
    else:
        qs = qs.filter(collected_on__lte=on).filter(Q(shipped_on__isnull=True) | Q(shipped_on__gt=on))
    return int(qs.aggregate(s=Sum("quantity_kg"))["s"] or 0)


def check_placement(store: Store, bay: str, group: str, *, exclude: Iterable[int] = ()) -> None:
    """Refuse a container of `group` in `bay` if the bay holds an incompatible group (seed:4089)."""
    present = (
        Container.objects.filter(zone_id=store.zone_id, store=store, bay=bay, state=Container.State.IN_STORE)
        .exclude(pk__in=list(exclude))
        .values_list("group", "number", "waste_code")
    )
    labels = dict(rules.GROUP_CHOICES)
    for other_group, number, code in present:
        why = rules.incompatibility(group, other_group)
        if why:
            raise _refuse(
                "bay",
                "R-INCOMPATIBLE",
                _("bay %(bay)s holds %(other)s (%(number)s, %(code)s), incompatible with %(group)s: %(why)s")
                % {
                    "bay": bay,
                    "other": labels[other_group],
                    "number": number,
                    "code": code,
                    "group": labels[group],
                    "why": _(why),
                },
            )


@transaction.atomic
def record_collection(actor: Actor, store_id: int, *, data: Mapping[str, Any]) -> Container:
    """One container collected from a producer of the park into the store. Not a manifest: inside
    the park's red line collection is not a transfer (seed:4005); the checks below are the pilot's."""
    from zerowaste.catalog import services as catalog
    from zerowaste.transfers import rules as transfer_rules
    from zerowaste.transfers import services as transfers

    store = _own_store(actor, store_id, "record a collection")
    store = Store.objects.select_for_update().select_related("operator", "park").get(pk=store.pk)
    producer = _org(actor.zone_id, data.get("producer_id"), "producer_id", "producer")
    collected_on = _date(data.get("collected_on"), "collected_on", default=timezone.localdate())
    if collected_on > timezone.localdate():
        raise Invalid.field("collected_on", _("must not be in the future"))
    # Same park: exactly the hand-overs that transfers refuses as manifests (seed:4005, 4009).
    try:
        transfers.stream_rules("hw").check_not_park_internal(producer, store.operator)
    except Invalid:
        pass
    else:
        raise _refuse(
            "producer_id",
            "R-SAME-PARK",
            _("%(org)s is not inside %(park)s; the operator may not collect across parks")
            % {"org": producer.name, "park": store.park.name},
        )
    code = check_text(data.get("waste_code"), "waste_code", max_length=40, required=True)
    check = catalog.code_valid(actor.zone_id, "hw", code, collected_on, free_text=data.get("waste_name"))
    if not check.ok or check.entry is None:
        raise Invalid.field("waste_code", check.message or _("unknown waste code"))
    entry = check.entry
    category = entry.category.code
    report = identified_non_hazardous(actor.zone_id, producer.pk, code, collected_on)
    if report is not None:
        raise _refuse(
            "waste_code",
            "R-IDENTIFIED",
            _(
                "%(code)s of %(org)s was identified as not hazardous (report #%(id)s, effective %(date)s): "
                "it belongs to the general industrial stream"
            )
            % {"code": code, "org": producer.name, "id": report.pk, "date": report.effective_from},
        )
    highly_toxic = bool(data.get("highly_toxic"))
    # "T/In" (one or more of) on packaging does not make every bag infectious: infectious is medical
    # waste (HW01), a code whose hazard is In for certain, or what the analysis report says.
    hazard = entry.hazard
    infectious = (
        category == "HW01"
        or bool(data.get("infectious"))
        or ("In" in hazard.primary and not hazard.one_or_more)
    )
    fault = transfer_rules.park_store_fault(("In",) if infectious else (), highly_toxic)
    if fault:
        raise _refuse("waste_code", "R-NO-INFECTIOUS", f"{code}: {fault}")
    tier, figures = tier_of(actor.zone_id, producer, collected_on)
    if tier == rules.TIER_C and category not in store.c_categories and code not in store.c_categories:
        raise _refuse(
            "waste_code",
            "R-C-CATEGORY",
            _(
                "%(org)s is a C producer (%(g)s t last year) and the park does not collect %(cat)s "
                "from C producers"
            )
            % {"org": producer.name, "g": figures["generated_t"], "cat": category},
        )
    if not contracted_receivers(store.operator_id, code, category, collected_on):
        raise _refuse(
            "waste_code",
            "R-ROUTE",
            _("no contract with a licensed receiver covers %(code)s (%(cat)s) on %(date)s")
            % {"code": code, "cat": category, "date": collected_on},
        )
    if not store.insurance_policy or (store.insurance_valid_to and store.insurance_valid_to < collected_on):
        raise _refuse("store", "R-INSURANCE", _("the store has no valid pollution liability insurance"))
    analysis = check_text(data.get("analysis_report"), "analysis_report", max_length=100)
    if not analysis:
        raise _refuse(
            "analysis_report",
            "R-ANALYSIS",
            _("name the analysis report of the waste's physical and chemical properties"),
        )
    qty = data.get("quantity_kg")
    if qty in (None, "") and data.get("quantity_t") not in (None, ""):
        qty = rules.t_to_kg(_decimal_t(data.get("quantity_t"), "quantity_t"))
        field = "quantity_t"
    else:
        field = "quantity_kg"
    quantity_kg = _int(qty, field, low=1, high=100_000_000)
    bay = check_text(data.get("bay"), "bay", max_length=32, required=True)
    if store.bays and bay not in store.bays:
        raise Invalid.field(
            "bay",
            _("no bay %(bay)s in this store (bays: %(all)s)") % {"bay": bay, "all": ", ".join(store.bays)},
        )
    group = data.get("group") or rules.group_for(category, entry.hazard_raw)
    if group not in rules.GROUPS:
        raise Invalid.field("group", _("must be one of: %(g)s") % {"g": ", ".join(rules.GROUPS)})
    if store.capacity_t and rules.kg_to_t(stock_kg(store) + quantity_kg) > store.capacity_t:
        raise _refuse(
            "quantity_kg",
            "R-CAPACITY",
            _("the store would hold more than its capacity of %(cap)s t") % {"cap": store.capacity_t},
        )
    check_placement(store, bay, group)
    c = Container.objects.create(
        zone_id=actor.zone_id,
        store=store,
        number=_next_number(store, "HWRK", collected_on),
        producer=producer,
        waste_code=code,
        category=category,
        waste_name=check_text(data.get("waste_name") or entry.name, "waste_name", max_length=300),
        hazard=entry.hazard_raw,
        group=group,
        physical_form=check_text(data.get("physical_form"), "physical_form", max_length=40),
        packaging=check_text(data.get("packaging"), "packaging", max_length=60),
        bay=bay,
        quantity_kg=quantity_kg,
        analysis_report=analysis,
        collected_on=collected_on,
        collected_by=actor.username,
    )
    audit.record(
        actor,
        "hazardous.collect",
        c,
        audit.snapshot(c, ["number", "producer_id", "waste_code", "quantity_kg", "bay", "collected_on"]),
    )
    return c


# --- Inventory and age -----------------------------------------------------------------------------


def _alert(c: Container, on: date, warnings: tuple[int, ...]) -> dict[str, Any]:
    level = rules.storage_level(c.collected_on, on, warning_days=warnings, extended_until=c.extended_until)
    return {
        "container": c.number,
        "container_id": c.pk,
        "park": c.store.park.name,
        "store": c.store.name,
        "producer": c.producer.name,
        "code": c.waste_code,
        "stored_on": c.collected_on.isoformat(),
        "age_days": (on - c.collected_on).days,
        "deadline": c.deadline.isoformat(),
        "extended": c.extended_until is not None,
        "level": level,
        "quantity_t": str(c.quantity_t),
    }


def _alerts(qs: QuerySet[Container], on: date) -> list[dict[str, Any]]:
    stores: dict[int, tuple[int, ...]] = {}
    found = []
    qs = qs.filter(state=Container.State.IN_STORE, collected_on__lte=on).select_related(
        "store", "store__park", "producer"
    )
    # Anything younger than the smallest warning age cannot be due; the database skips it.
    earliest = min((min(s.warnings) for s in Store.objects.filter(pk__in=qs.values("store_id"))), default=0)
    cutoff = date.fromordinal(on.toordinal() - earliest) if earliest else on
    qs = qs.filter(Q(collected_on__lte=cutoff) | Q(extended_until__isnull=False))
    for c in qs.order_by("collected_on", "pk"):
        warnings = stores.setdefault(c.store_id, c.store.warnings)
        row = _alert(c, on, warnings)
        if row["level"] != rules.OK:
            found.append(row)
    return found


def storage_alerts(zone_id: int, on_date: date, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Every container of the zone at warning or overdue on `on_date` (the regulator cockpit), or,
    given an actor, every one it may see: a street's regulator sees its street's stores only."""
    containers = visible_containers(actor) if actor is not None else Container.objects.all()
    rows = _alerts(containers.filter(zone_id=zone_id), on_date)
    for row in rows:
        row.pop("container_id", None)
        row.pop("store", None)
        row.pop("producer", None)
        row.pop("extended", None)
    return rows


def alerts_for(actor: Actor, on: date | None = None, *, overdue_only: bool = False) -> list[dict[str, Any]]:
    rows = _alerts(visible_containers(actor), on or timezone.localdate())
    return [r for r in rows if r["level"] == rules.OVERDUE] if overdue_only else rows


def inventory(actor: Actor, store_id: int, on: date | None = None) -> dict[str, Any]:
    """Stock on `on` by waste code and age band, in kilograms and tonnes, with every container."""
    store = get_store(actor, store_id)
    on = on or timezone.localdate()
    qs = (
        visible_containers(actor)
        .filter(store=store, collected_on__lte=on)
        .filter(Q(shipped_on__isnull=True) | Q(shipped_on__gt=on))
    )
    by_code: dict[str, dict[str, Any]] = {}
    containers = []
    for c in qs.select_related("producer", "store", "store__park").order_by(
        "waste_code", "collected_on", "pk"
    ):
        age = (on - c.collected_on).days
        row = by_code.setdefault(
            c.waste_code,
            {
                "code": c.waste_code,
                "category": c.category,
                "name": c.waste_name,
                "containers": 0,
                "kg": 0,
                "bands": dict.fromkeys(rules.AGE_BANDS, 0),
                "oldest_days": 0,
            },
        )
        row["containers"] += 1
        row["kg"] += c.quantity_kg
        row["bands"][rules.age_band(age)] += c.quantity_kg
        row["oldest_days"] = max(row["oldest_days"], age)
        containers.append(
            {
                **_alert(c, on, store.warnings),
                "bay": c.bay,
                "group": c.group,
                "group_label": str(GROUP_LABELS[c.group]),
                "quantity_kg": c.quantity_kg,
            }
        )
    codes = sorted(by_code.values(), key=lambda r: r["code"])
    for r in codes:
        r["t"] = str(rules.kg_to_t(r["kg"]))
    total = sum(r["kg"] for r in codes)
    return {
        "store": store,
        "on": on,
        "codes": codes,
        "containers": containers,
        "total_kg": total,
        "total_t": str(rules.kg_to_t(total)),
        "capacity_t": str(store.capacity_t),
    }


@transaction.atomic
def approve_extension(actor: Actor, container_id: int, *, data: Mapping[str, Any]) -> StorageExtension:
    """A regulator approves keeping a container beyond one year (seed:4093); recorded, audited."""
    c = get_container(actor, container_id)
    if not actor.is_system:
        if not actor.is_regulator:
            text = _("only the competent regulator approves a longer storage")
            raise Forbidden(
                rules.refusal("R-ONE-YEAR", text), errors=rules.refusal_errors("R-ONE-YEAR", text)
            )
        if actor.member_role not in WRITE_ROLES or (
            actor.token_scopes is not None and not ({"declare", "admin"} & actor.token_scopes)
        ):
            raise Forbidden(_("your role does not allow this (hazardous.extend)"))
    c = Container.objects.select_for_update().get(pk=c.pk)
    if c.state != Container.State.IN_STORE:
        raise Conflict(_("container %(n)s is no longer in store") % {"n": c.number})
    until = _date(data.get("until"), "until")
    if until <= c.deadline:
        raise Invalid.field("until", _("must be after the current deadline %(d)s") % {"d": c.deadline})
    if until > rules.storage_deadline(c.deadline):
        raise Invalid.field("until", _("an extension reaches at most one more year"))
    ext = StorageExtension.objects.create(
        zone_id=c.zone_id,
        container=c,
        approved_by_id=actor.organization_id or c.store.operator_id,
        approved_by_user=actor.username,
        approved_on=_date(data.get("approved_on"), "approved_on", default=timezone.localdate()),
        until=until,
        document=check_text(data.get("document"), "document", max_length=100, required=True),
        reason=check_text(data.get("reason"), "reason", max_length=2000, required=True),
    )
    before = c.extended_until
    c.extended_until = until
    c.save(update_fields=["extended_until"])
    audit.record(actor, "hazardous.extend", c, {"extended_until": [before, until], "document": ext.document})
    return ext


# --- Ship-out by manifest (seed:4003-4005, 4017) ---------------------------------------------------


@transaction.atomic
def ship_out(actor: Actor, store_id: int, *, data: Mapping[str, Any]) -> Any:
    """Containers leave the store on one HW manifest to a contracted, licensed receiver. The manifest
    is made and issued by `transfers.services.create_transfer`, which checks licences, carrier,
    park-store and park-internal rules; here the containers and the contract are checked."""
    from zerowaste.transfers import services as transfers

    store = _own_store(actor, store_id, "ship containers out")
    store = Store.objects.select_for_update().select_related("operator", "park").get(pk=store.pk)
    raw_ids = data.get("container_ids")
    if not isinstance(raw_ids, (list, tuple)) or not raw_ids:
        raise Invalid.field("container_ids", _("choose at least one container"))
    if len(raw_ids) > 2000:
        raise Invalid.field("container_ids", _("at most 2000 containers per manifest"))
    ids = [_int(v, "container_ids") for v in raw_ids]
    containers = list(
        Container.objects.select_for_update()
        .filter(zone_id=actor.zone_id, store=store, pk__in=ids)
        .order_by("pk")
    )
    if len(containers) != len(set(ids)):
        raise Invalid.field("container_ids", _("some containers are not in this store"))
    gone = [c.number for c in containers if c.state != Container.State.IN_STORE]
    if gone:
        raise Conflict(_("already shipped: %(n)s") % {"n": ", ".join(gone[:10])})
    consignee = _org(actor.zone_id, data.get("consignee_id"), "consignee_id")
    shipped_on = _date(data.get("planned_date"), "planned_date", default=timezone.localdate())
    for c in containers:
        if shipped_on < c.collected_on:
            raise Invalid.field("planned_date", _("before %(n)s was collected") % {"n": c.number})
        if consignee.pk not in contracted_receivers(store.operator_id, c.waste_code, c.category, shipped_on):
            raise _refuse(
                "consignee_id",
                "R-ROUTE",
                _("%(org)s holds no contract with the operator covering %(code)s on %(date)s")
                % {"org": consignee.name, "code": c.waste_code, "date": shipped_on},
            )
    by_code: dict[str, list[Container]] = defaultdict(list)
    for c in containers:
        by_code[c.waste_code].append(c)
    lines = [
        {
            "waste_code": code,
            "description": group[0].waste_name,
            "estimated_t": str(rules.kg_to_t(sum(c.quantity_kg for c in group))),
            "packaging": group[0].packaging,
            "package_count": len(group),
            "physical_form": group[0].physical_form,
        }
        for code, group in sorted(by_code.items())
    ]
    manifest = {
        "stream": "hw",
        "consignor_id": store.operator_id,
        "consignee_id": consignee.pk,
        "carrier_id": data.get("carrier_id"),
        "planned_date": shipped_on.isoformat(),
        "treatment": data.get("treatment") or "",
        "lines": lines,
    }
    t = transfers.create_transfer(actor, data=manifest, issue=bool(data.get("issue", True)))
    out_number = _next_number(store, "HWCK", shipped_on)
    for c in containers:
        c.state = Container.State.SHIPPED
        c.shipped_on = shipped_on
        c.transfer = t
        c.out_number = out_number
    Container.objects.bulk_update(containers, ["state", "shipped_on", "transfer", "out_number"])
    audit.record(
        actor,
        "hazardous.ship_out",
        store,
        {"transfer": t.pk, "out_number": out_number, "containers": [c.number for c in containers]},
    )
    return t


# --- Monthly summary (seed:4033) -------------------------------------------------------------------


def monthly_summary(actor: Actor, store_id: int, year: int, month: int) -> dict[str, Any]:
    """The month's ledger and manifests, reconciled to the kilogram: opening + collected − shipped =
    closing (each counted from the containers independently), and the containers shipped equal the
    quantities on the manifests issued from the store in the month."""
    from zerowaste.transfers.models import Transfer, TransferLine

    store = get_store(actor, store_id)
    if not (actor.is_system or actor.is_regulator or store.operator_id == actor.organization_id):
        raise Forbidden(
            _("the store's summary is its operator's; a producer sees its own (producer summary)")
        )
    year = _year(year)
    month = _int(month, "month", low=1, high=12)
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1).toordinal() - 1
    last_day = date.fromordinal(last)
    before = date.fromordinal(first.toordinal() - 1)
    base = Container.objects.filter(zone_id=store.zone_id, store=store)
    opening = stock_kg(store, before)
    closing = stock_kg(store, last_day)
    collected = int(
        base.filter(collected_on__range=(first, last_day)).aggregate(s=Sum("quantity_kg"))["s"] or 0
    )
    shipped_qs = base.filter(shipped_on__range=(first, last_day))
    shipped = int(shipped_qs.aggregate(s=Sum("quantity_kg"))["s"] or 0)
    collections = list(
        base.filter(collected_on__range=(first, last_day))
        .values("waste_code")
        .annotate(kg=Sum("quantity_kg"))
        .order_by("waste_code")
    )
    per_transfer: dict[int, int] = defaultdict(int)
    for tid, kg in shipped_qs.values_list("transfer_id", "quantity_kg"):
        per_transfer[tid or 0] += kg
    transfers_qs = Transfer.objects.filter(
        zone_id=store.zone_id,
        stream="hw",
        consignor_id=store.operator_id,
        planned_date__range=(first, last_day),
    ).exclude(state__in=["draft", "cancelled"])
    manifest_rows = []
    manifest_kg = 0
    line_kg: dict[int, Decimal] = defaultdict(Decimal)
    for tid, qty in TransferLine.objects.filter(transfer__in=transfers_qs).values_list(
        "transfer_id", "estimated_t"
    ):
        line_kg[tid] += qty
    for t in transfers_qs.select_related("consignee").order_by("planned_date", "pk"):
        kg = rules.t_to_kg(line_kg[t.pk])
        manifest_kg += kg
        manifest_rows.append(
            {
                "id": t.pk,
                "number": t.number,
                "state": t.state,
                "state_label": str(t.get_state_display()),
                "consignee": t.consignee.name,
                "planned_date": t.planned_date.isoformat(),
                "manifest_kg": kg,
                "containers_kg": per_transfer.get(t.pk, 0),
                "received_t": str(t.received_t) if t.received_t is not None else None,
            }
        )
    unlinked = per_transfer.get(0, 0)
    balance_ok = opening + collected - shipped == closing
    manifests_ok = shipped == manifest_kg and all(
        r["manifest_kg"] == r["containers_kg"] for r in manifest_rows
    )
    return {
        "store": store.name,
        "store_id": store.pk,
        "year": year,
        "month": month,
        "opening_kg": opening,
        "collected_kg": collected,
        "shipped_kg": shipped,
        "closing_kg": closing,
        "manifest_kg": manifest_kg,
        "unlinked_kg": unlinked,
        "collections": [{"code": r["waste_code"], "kg": r["kg"]} for r in collections],
        "manifests": manifest_rows,
        "balanced": balance_ok,
        "manifests_reconciled": manifests_ok,
        "difference_kg": opening + collected - shipped - closing,
        "manifest_difference_kg": shipped - manifest_kg,
    }


def producer_summary(
    actor: Actor, year: int, month: int, organization_id: int | None = None
) -> dict[str, Any]:
    """A producer's side of the month: what it declared as generated and handed over, what the park
    collected from it (by code, in kilograms), and its own HW manifests; the hand-over reconciles when
    the declared quantity handed over equals the collections to the kilogram."""
    from zerowaste.transfers.models import Transfer

    year = _year(year)
    month = _int(month, "month", low=1, high=12)
    if organization_id is None or organization_id == actor.organization_id:
        if actor.organization is None:
            raise Invalid.field("organization_id", _("name the producer"))
        org = actor.organization
    else:
        org = visible_organizations(actor).filter(pk=organization_id).first()  # type: ignore[assignment]
        if org is None:
            raise NotFound(_("organization %(id)s not found") % {"id": organization_id})
    first = date(year, month, 1)
    last_day = date.fromordinal(date(year + (month == 12), month % 12 + 1, 1).toordinal() - 1)
    from zerowaste.declarations.services import effective_lines

    declared: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows = list(
        effective_lines(actor.zone_id)
        .filter(
            declaration__organization_id=org.pk,
            declaration__stream="hw",
            declaration__period_kind="month",
            declaration__period_start=first,
        )
        .values_list(
            "declaration__version", "waste_code", "generated_t", "transferred_disp_t", "transferred_util_t"
        )
    )
    top = max((r[0] for r in rows), default=0)
    for version, code, generated, disp, util in rows:
        if version != top:
            continue
        declared[code]["generated_t"] += generated
        declared[code]["handed_t"] += disp + util
    collected: dict[str, int] = defaultdict(int)
    for code, kg in Container.objects.filter(
        zone_id=actor.zone_id, producer_id=org.pk, collected_on__range=(first, last_day)
    ).values_list("waste_code", "quantity_kg"):
        collected[code] += kg
    manifests = [
        {
            "id": t.pk,
            "number": t.number,
            "state": t.state,
            "consignee": t.consignee.name,
            "estimated_t": str(t.estimated_t),
        }
        for t in Transfer.objects.filter(
            zone_id=actor.zone_id, stream="hw", consignor_id=org.pk, planned_date__range=(first, last_day)
        )
        .exclude(state__in=["draft", "cancelled"])
        .select_related("consignee")
        .order_by("planned_date", "pk")
    ]
    codes = sorted(set(declared) | set(collected))
    lines = []
    for code in codes:
        handed_kg = rules.t_to_kg(declared[code]["handed_t"]) if code in declared else None
        lines.append(
            {
                "code": code,
                "declared_generated_t": str(declared[code]["generated_t"]) if code in declared else None,
                "declared_handed_kg": handed_kg,
                "collected_kg": collected.get(code, 0),
                "reconciled": handed_kg is not None and handed_kg == collected.get(code, 0),
            }
        )
    return {
        "organization": org.name,
        "organization_id": org.pk,
        "year": year,
        "month": month,
        "lines": lines,
        "collected_kg": sum(collected.values()),
        "manifests": manifests,
        "declared": bool(rows),
        "reconciled": bool(lines) and all(line["reconciled"] for line in lines),
    }


@transaction.atomic
def return_to_store(actor: Actor, store_id: int, transfer_id: int) -> list[Container]:
    """The containers of a manifest that was cancelled, or refused whole, are back in store: the
    manifest is kept (and stays in the register); the containers' ship-out is undone and audited."""
    from zerowaste.transfers.models import Transfer

    store = _own_store(actor, store_id, "return containers to the store")
    store = Store.objects.select_for_update().get(pk=store.pk)
    t = Transfer.objects.filter(zone_id=actor.zone_id, pk=transfer_id, consignor_id=store.operator_id).first()
    if t is None:
        raise NotFound(_("transfer %(id)s not found") % {"id": transfer_id})
    if t.state not in ("cancelled", "refused"):
        raise Conflict(
            _("manifest %(n)s is %(s)s: only a cancelled or refused manifest brings its containers back")
            % {"n": t.number or t.pk, "s": t.state}
        )
    containers = list(
        Container.objects.select_for_update().filter(zone_id=actor.zone_id, store=store, transfer=t)
    )
    if not containers:
        raise Conflict(_("no container of this store left on manifest %(n)s") % {"n": t.number or t.pk})
    for c in containers:
        c.state, c.shipped_on, c.transfer, c.out_number = Container.State.IN_STORE, None, None, ""
    Container.objects.bulk_update(containers, ["state", "shipped_on", "transfer", "out_number"])
    audit.record(
        actor,
        "hazardous.return_to_store",
        store,
        {"transfer": t.pk, "containers": [c.number for c in containers]},
    )
    return containers


LEDGER_HEADERS = {
    "in": [
        "序号",
        "入库批次编码",
        "入库时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称/行业俗称/单位内部名称",
        "危险废物名称/国家危险废物名录名称",
        "危险废物类别",
        "危险废物代码",
        "入库量",
        "计量单位",
        "贮存设施编码",
        "贮存设施类型",
        "运送部门经办人",
        "贮存部门经办人",
        "产生批次编码",
    ],
    "out": [
        "序号",
        "出库批次编码",
        "出库时间",
        "容器/包装编码",
        "容器/包装类型",
        "容器/包装数量",
        "危险废物名称/行业俗称/单位内部名称",
        "危险废物名称/国家危险废物名录名称",
        "危险废物类别",
        "危险废物代码",
        "出库量",
        "计量单位",
        "贮存设施编码",
        "贮存设施类型",
        "出库部门经办人",
        "运送部门经办人",
        "入库批次编码",
        "去向",
    ],
}


def ledger_rows(
    actor: Actor, store_id: int, year: int, kind: str = "in"
) -> tuple[list[str], list[list[Any]]]:
    """The store's ledger of a year in the national format: HJ 1259 table B.2 (into store, `in`) or
    B.3 (out of store, `out`), one row per container, quantities in kilograms."""
    store = get_store(actor, store_id)
    if not (actor.is_system or actor.is_regulator or store.operator_id == actor.organization_id):
        raise Forbidden(_("the store's ledger is its operator's"))
    if kind not in LEDGER_HEADERS:
        raise Invalid.field("kind", _("in or out"))
    year = _year(year)
    qs = Container.objects.filter(zone_id=store.zone_id, store=store).select_related(
        "producer", "transfer__consignee"
    )
    if kind == "in":
        qs = qs.filter(collected_on__year=year).order_by("collected_on", "number")
    else:
        qs = qs.filter(shipped_on__year=year).order_by("shipped_on", "out_number", "number")
    rows: list[list[Any]] = []
    for n, c in enumerate(qs.iterator(chunk_size=2000), start=1):
        common = [c.number, c.packaging, 1, c.waste_name, c.waste_name, c.category, c.waste_code]
        if kind == "in":
            rows.append(
                [
                    n,
                    c.number,
                    c.collected_on.isoformat(),
                    *common,
                    c.quantity_kg,
                    "kg",
                    f"{store.code}-{c.bay}",
                    "贮存库",
                    c.producer.name,
                    c.collected_by,
                    "",
                ]
            )
        else:
            destination = c.transfer.consignee.name if c.transfer_id and c.transfer else ""
            rows.append(
                [
                    n,
                    c.out_number,
                    c.shipped_on.isoformat() if c.shipped_on else "",
                    *common,
                    c.quantity_kg,
                    "kg",
                    f"{store.code}-{c.bay}",
                    "贮存库",
                    store.operator.name,
                    "",
                    c.number,
                    destination,
                ]
            )
    return LEDGER_HEADERS[kind], rows


def annual_figures(actor: Actor, store_id: int, year: int) -> dict[str, Any]:
    store = get_store(actor, store_id)
    base = Container.objects.filter(zone_id=store.zone_id, store=store)
    first, last = date(year, 1, 1), date(year, 12, 31)
    collected = int(base.filter(collected_on__range=(first, last)).aggregate(s=Sum("quantity_kg"))["s"] or 0)
    shipped = int(base.filter(shipped_on__range=(first, last)).aggregate(s=Sum("quantity_kg"))["s"] or 0)
    return {
        "year": year,
        "opening_t": str(rules.kg_to_t(stock_kg(store, date(year - 1, 12, 31)))),
        "collected_t": str(rules.kg_to_t(collected)),
        "shipped_t": str(rules.kg_to_t(shipped)),
        "closing_t": str(rules.kg_to_t(stock_kg(store, last))),
    }


# --- Plans (seed:4033, 5423) -----------------------------------------------------------------------


def _largest_annual_t(zone_id: int, org_id: int, year: int) -> Decimal:
    figures = [
        declared_figures(zone_id, [org_id], y)[org_id]["generated_t"] for y in (year - 3, year - 2, year - 1)
    ]
    return max(figures, default=rules.ZERO)


def _planning_org(actor: Actor, data: Mapping[str, Any]) -> Organization:
    if actor.is_system:
        return _org(actor.zone_id, data.get("organization_id"), "organization_id")
    if actor.organization is None or not ({"producer", "park_operator"} & actor.org_roles):
        raise Forbidden(_("only a producer or a park operator files hazardous-waste plans"))
    role = "producer" if "producer" in actor.org_roles else "park_operator"
    _require_write(actor, role, "file a plan")
    return actor.organization


@transaction.atomic
def file_management_plan(actor: Actor, *, data: Mapping[str, Any]) -> ManagementPlan:
    """The year's management plan; its class (HJ 1259) from the largest generation of the last three
    years decides the tables it holds. A new filing for the same year is a new version."""
    org = _planning_org(actor, data)
    year = _year(data.get("year"))
    content = data.get("content") or {}
    if not isinstance(content, Mapping):
        raise Invalid.field("content", _("must be an object of tables"))
    largest = _largest_annual_t(actor.zone_id, org.pk, year)
    licensed = Licence.objects.filter(organization=org, kind="hw_operating").qualifying().exists()
    klass = rules.management_class(largest, own_facility=bool(data.get("own_facility")), licensed=licensed)
    tables = rules.CLASS_TABLES[klass]
    for key in content:
        if key not in rules.CLASS_TABLES[rules.KEY]:
            raise Invalid.field(f"content.{key}", _("not a table of HJ 1259 (A.1-A.7)"))
    missing = [t for t in ("A.1", "A.3") if not str(content.get(t, "")).strip()]
    if missing:
        raise Invalid.field(f"content.{missing[0]}", _("this table is required for every management class"))
    extra = [k for k in content if k not in tables]
    if extra:
        raise Invalid.field(
            f"content.{extra[0]}",
            _("a %(cls)s plan holds only tables %(tables)s") % {"cls": klass, "tables": ", ".join(tables)},
        )
    version = (
        ManagementPlan.objects.filter(zone_id=actor.zone_id, organization=org, year=year)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    ) + 1
    now = timezone.now()
    plan = ManagementPlan.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        year=year,
        version=version,
        management_class=klass,
        largest_annual_t=largest,
        content={k: check_text(str(v), f"content.{k}", max_length=20000) for k, v in content.items()},
        filed_at=now,
        filed_by=actor.username,
        late=timezone.localdate() > rules.annual_plan_due(year),
    )
    audit.record(actor, "hazardous.plan.file", plan, {"year": year, "version": version, "class": klass})
    return plan


@transaction.atomic
def file_transfer_plan(actor: Actor, *, data: Mapping[str, Any]) -> TransferPlan:
    """A producer's plan of the quarter's transfers: kinds, codes, quantities, destinations (seed:5423)."""
    org = _planning_org(actor, data)
    year = _year(data.get("year"))
    quarter = _int(data.get("quarter"), "quarter", low=1, high=4)
    raw = data.get("lines")
    if not isinstance(raw, (list, tuple)) or not raw:
        raise Invalid.field("lines", _("at least one line: waste code, quantity, destination"))
    from zerowaste.catalog import services as catalog

    on = date(year, quarter * 3 - 2, 1)
    lines = []
    for i, line in enumerate(raw[:200], start=1):
        if not isinstance(line, Mapping):
            raise Invalid.field(f"lines[{i}]", _("must be an object"))
        code = check_text(line.get("waste_code"), f"lines[{i}].waste_code", max_length=40, required=True)
        check = catalog.code_valid(actor.zone_id, "hw", code, on)
        if not check.ok or check.entry is None:
            raise Invalid.field(f"lines[{i}].waste_code", check.message)
        lines.append(
            {
                "waste_code": code,
                "category": check.entry.category.code,
                "quantity_t": str(_decimal_t(line.get("quantity_t"), f"lines[{i}].quantity_t")),
                "destination": check_text(
                    line.get("destination"), f"lines[{i}].destination", max_length=200, required=True
                ),
            }
        )
    due = rules.transfer_plan_due(year, quarter)
    version = (
        TransferPlan.objects.filter(zone_id=actor.zone_id, organization=org, year=year, quarter=quarter)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    ) + 1
    plan = TransferPlan.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        year=year,
        quarter=quarter,
        version=version,
        lines=lines,
        due_on=due,
        filed_at=timezone.now(),
        filed_by=actor.username,
        late=_date(data.get("filed_on"), "filed_on", default=timezone.localdate()) > due,
    )
    audit.record(
        actor,
        "hazardous.transfer_plan.file",
        plan,
        {"year": year, "quarter": quarter, "version": version, "late": plan.late},
    )
    return plan


def visible_plan_orgs(actor: Actor) -> QuerySet[Organization]:
    """Whose plans the actor sees: its own; a park operator its park's producers; a regulator its
    jurisdiction."""
    if actor.is_system or actor.is_regulator:
        return visible_organizations(actor)
    parks = Store.objects.filter(zone_id=actor.zone_id, operator_id=actor.organization_id).values("park_id")
    return Organization.objects.filter(zone_id=actor.zone_id).filter(
        Q(pk=actor.organization_id) | Q(area_id__in=parks)
    )


def list_plans(actor: Actor, *, year: int | None = None) -> dict[str, list[Any]]:
    orgs = visible_plan_orgs(actor).values("pk")
    mp = ManagementPlan.objects.filter(zone_id=actor.zone_id, organization_id__in=orgs).select_related(
        "organization"
    )
    tp = TransferPlan.objects.filter(zone_id=actor.zone_id, organization_id__in=orgs).select_related(
        "organization"
    )
    if year:
        mp, tp = mp.filter(year=year), tp.filter(year=year)
    return {"management": list(mp[:500]), "transfer": list(tp[:500])}


def plans_due(actor: Actor, on: date | None = None, *, horizon_days: int = 30) -> list[dict[str, Any]]:
    """Plans missing: the next quarter's transfer plan of every pilot-park producer due within
    `horizon_days` or overdue, and this year's management plan (due 31 March) of producers and
    operators in the pilot parks."""
    on = on or timezone.localdate()
    orgs = list(
        visible_plan_orgs(actor)
        .filter(area_id__in=park_areas(actor.zone_id).values("pk"))
        .filter(roles__role__in=["producer", "park_operator"])
        .distinct()
        .order_by("name")
    )
    ids = [o.pk for o in orgs]
    producer_ids = set(
        Organization.objects.filter(pk__in=ids, roles__role="producer").values_list("pk", flat=True)
    )
    rows: list[dict[str, Any]] = []
    y, q = rules.next_quarter(*rules.quarter_of(on))
    due = rules.transfer_plan_due(y, q)
    filed_t = set(
        TransferPlan.objects.filter(
            zone_id=actor.zone_id, organization_id__in=ids, year=y, quarter=q
        ).values_list("organization_id", flat=True)
    )
    # The current quarter's plan was due before it began; still missing, it is overdue.
    cy, cq = rules.quarter_of(on)
    filed_c = set(
        TransferPlan.objects.filter(
            zone_id=actor.zone_id, organization_id__in=ids, year=cy, quarter=cq
        ).values_list("organization_id", flat=True)
    )
    filed_m = set(
        ManagementPlan.objects.filter(
            zone_id=actor.zone_id, organization_id__in=ids, year=on.year
        ).values_list("organization_id", flat=True)
    )
    for o in orgs:
        if o.pk in producer_ids:
            if o.pk not in filed_c:
                d = rules.transfer_plan_due(cy, cq)
                rows.append(_due_row(o, "transfer_plan", f"{cy}Q{cq}", d, on))
            if o.pk not in filed_t and (due - on).days <= horizon_days:
                rows.append(_due_row(o, "transfer_plan", f"{y}Q{q}", due, on))
        if o.pk not in filed_m:
            d = rules.annual_plan_due(on.year)
            if (d - on).days <= horizon_days:
                rows.append(_due_row(o, "management_plan", str(on.year), d, on))
    return rows


def _due_row(o: Organization, kind: str, period: str, due: date, on: date) -> dict[str, Any]:
    rule = "R-QUARTER-PLAN" if kind == "transfer_plan" else "R-ANNUAL-PLAN"
    return {
        "organization": o.name,
        "organization_id": o.pk,
        "kind": kind,
        "kind_label": rules.PLAN_KIND_LABELS[kind],
        "period": period,
        "due": due.isoformat(),
        "days_left": (due - on).days,
        "overdue": on > due,
        "rule": rule,
        "source": rules.cite(rule),  # the article, for people
    }


# --- Identification reports (seed:3919-3923, 3957-3991) ---------------------------------------------


def visible_reports(actor: Actor) -> QuerySet[IdentificationReport]:
    base = IdentificationReport.objects.filter(zone_id=actor.zone_id).select_related("producer")
    if actor.is_system:
        return base
    if actor.is_regulator:
        return base.filter(producer_id__in=visible_organizations(actor).values("pk"))
    # Published reports are public by the seed (经法人单位自行公示); drafts only to their producer.
    return base.filter(Q(producer_id=actor.organization_id) | Q(status=IdentificationReport.Status.PUBLISHED))


def get_report(actor: Actor, report_id: int) -> IdentificationReport:
    r = visible_reports(actor).filter(pk=report_id).first()
    if r is None:
        raise NotFound(_("identification report %(id)s not found") % {"id": report_id})
    return r


@transaction.atomic
def file_report(actor: Actor, *, data: Mapping[str, Any]) -> IdentificationReport:
    """A producer files an identification report with the six sections of seed:3957-3991."""
    from zerowaste.catalog import services as catalog

    producer = _acting_org(actor, data, "producer_id", "producer", "file an identification report")
    code = check_text(data.get("waste_code"), "waste_code", max_length=40)
    if code:
        check = catalog.code_valid(actor.zone_id, "hw", code, timezone.localdate())
        on_list = check.ok and check.entry is not None
        fault = rules.identification_fault(code, check.entry.hazard_raw if check.entry else "", on_list)
        if fault:
            raise _refuse("waste_code", "R-IDENTIFIED", fault)
    sections = {
        key: check_text(data.get(key), key, max_length=20000, required=True)
        for key, _title in rules.REPORT_SECTIONS
    }
    conclusion = data.get("conclusion")
    if conclusion not in (rules.HAZARDOUS, rules.NOT_HAZARDOUS):
        raise Invalid.field("conclusion", _("must be hazardous or not_hazardous"))
    r = IdentificationReport.objects.create(
        zone_id=actor.zone_id,
        producer=producer,
        waste_name=check_text(data.get("waste_name"), "waste_name", max_length=300, required=True),
        waste_code=code,
        agency=check_text(data.get("agency"), "agency", max_length=200, required=True),
        conclusion=conclusion,
        filed_at=timezone.now(),
        filed_by=actor.username,
        **sections,
    )
    audit.record(actor, "hazardous.identification.file", r, {"waste_code": code, "conclusion": conclusion})
    return r


@transaction.atomic
def publish_report(actor: Actor, report_id: int, *, data: Mapping[str, Any]) -> IdentificationReport:
    """The producer publishes its report (自行公示); a "not hazardous" conclusion moves the waste to
    the general industrial stream from `effective_from` (default: the publication date)."""
    r = get_report(actor, report_id)
    if not actor.is_system:
        if r.producer_id != actor.organization_id:
            raise Forbidden(_("only the producer publishes its report"))
        _require_write(actor, "producer", "publish an identification report")
    r = IdentificationReport.objects.select_for_update().get(pk=r.pk)
    if r.status == IdentificationReport.Status.PUBLISHED:
        raise Conflict(_("the report is already published"))
    published = _date(data.get("published_on"), "published_on", default=timezone.localdate())
    effective = _date(data.get("effective_from"), "effective_from", default=published)
    if effective < published:
        raise Invalid.field("effective_from", _("must not be before the publication"))
    r.status, r.published_on, r.effective_from = IdentificationReport.Status.PUBLISHED, published, effective
    r.save(update_fields=["status", "published_on", "effective_from"])
    audit.record(
        actor, "hazardous.identification.publish", r, {"published_on": published, "effective_from": effective}
    )
    return r


# --- Inspections (indicator 31, seed:1829-1839) -----------------------------------------------------


@transaction.atomic
def record_inspection(actor: Actor, *, data: Mapping[str, Any]) -> Inspection:
    if not actor.is_system:
        if not actor.is_regulator:
            text = _("only a regulator records inspections")
            raise Forbidden(
                rules.refusal("R-INSPECTION", text), errors=rules.refusal_errors("R-INSPECTION", text)
            )
        if actor.member_role not in WRITE_ROLES or (
            actor.token_scopes is not None and not ({"declare", "admin"} & actor.token_scopes)
        ):
            raise Forbidden(_("your role does not allow this (hazardous.inspect)"))
    org_id = _int(data.get("organization_id"), "organization_id")
    org = visible_organizations(actor).filter(pk=org_id).first()
    if org is None:
        raise Invalid.field("organization_id", _("no such organization in your jurisdiction"))
    subject = data.get("subject") or (
        "operator" if org.roles.filter(role__in=["park_operator", "receiver"]).exists() else "producer"
    )
    if subject not in dict(rules.SUBJECT_CHOICES):
        raise Invalid.field("subject", _("must be producer or operator"))
    result = data.get("result")
    if result not in dict(rules.RESULT_CHOICES):
        raise Invalid.field("result", _("must be passed, basically_passed or failed"))
    findings = check_text(data.get("findings"), "findings", max_length=5000)
    if result != rules.PASSED and not findings:
        raise Invalid.field("findings", _("say what was found when the result is not passed"))
    i = Inspection.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        subject=subject,
        inspected_on=bounds.check_date(
            _date(data.get("inspected_on"), "inspected_on", default=timezone.localdate()),
            "inspected_on",
            past_only=True,
        ),
        result=result,
        findings=findings,
        inspector_id=actor.organization_id or org.pk,
        recorded_by=actor.username,
    )
    audit.record(actor, "hazardous.inspect", i, {"organization": org.pk, "result": result})
    return i


def visible_inspections(actor: Actor) -> QuerySet[Inspection]:
    base = Inspection.objects.filter(zone_id=actor.zone_id).select_related("organization", "inspector")
    if actor.is_system:
        return base
    if actor.is_regulator:
        return base.filter(organization_id__in=visible_organizations(actor).values("pk"))
    return base.filter(organization_id=actor.organization_id)


def latest_inspection_year(actor: Actor) -> int | None:
    return periods.latest_year(visible_inspections(actor).order_by(), "inspected_on")


def plan_years(actor: Actor) -> list[int]:
    """The years in which plans of organizations the actor sees fell due, latest first: the plans page
    opens on the last of them. The quarterly transfer plans are the running duty (a plan for 2021 Q1
    falls due in December 2020), so their due dates count; management plans (due 31 March of their
    year) only when no transfer plan was filed. Filing times are not used: imported plans carry the
    day of the import."""
    orgs = visible_plan_orgs(actor).values("pk")
    transfer = TransferPlan.objects.filter(zone_id=actor.zone_id, organization_id__in=orgs)
    years = periods.years_of(transfer, "due_on")
    if years:
        return years
    return periods.years_of(
        ManagementPlan.objects.filter(zone_id=actor.zone_id, organization_id__in=orgs), "year"
    )


def latest_store_day(
    actor: Actor, store_id: int | None = None, producer_id: int | None = None
) -> date | None:
    """The last day a container the actor sees came into or left a store (of one store, or of one
    producer's containers): the store pages open on its month (ADR 0051). One aggregate."""
    qs = visible_containers(actor)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if producer_id is not None:
        qs = qs.filter(producer_id=producer_id)
    found = qs.order_by().aggregate(collected=Max("collected_on"), shipped=Max("shipped_on"))
    days = [d for d in (found["collected"], found["shipped"]) if d is not None]
    return max(days) if days else None


def inspection_rates(zone_id: int, year: int, *, subject: str | None = None) -> dict[str, Any]:
    """Counts of the year's standardized-management inspections (indicator 31 takes its rate from
    them with weight 0.7 for "basically passed"), of every subject or of `producer` / `operator` only.
    A re-inspection of the same organization in the same year replaces the earlier one: the sample
    counts each inspected unit once, with its latest result."""
    latest: dict[tuple[int, str], str] = {}
    qs = Inspection.objects.filter(zone_id=zone_id, inspected_on__year=year)
    if subject:
        qs = qs.filter(subject=subject)
    for org_id, subject_, result in qs.order_by("inspected_on", "pk").values_list(
        "organization_id", "subject", "result"
    ):
        latest[(org_id, subject_)] = result
    counts = {rules.PASSED: 0, rules.BASICALLY_PASSED: 0, rules.FAILED: 0}
    for result in latest.values():
        counts[result] += 1
    return {
        "passed": counts[rules.PASSED],
        "basically_passed": counts[rules.BASICALLY_PASSED],
        "failed": counts[rules.FAILED],
        "total": sum(counts.values()),
    }


def pass_rates(actor: Actor, year: int) -> dict[str, Any]:
    """Rates by subject (producers, operators) and overall, as the seed computes them (seed:1835-1837)."""
    year = _year(year)
    latest: dict[tuple[int, str], str] = {}
    for org_id, subject, result in (
        visible_inspections(actor)
        .filter(inspected_on__year=year)
        .order_by("inspected_on", "pk")
        .values_list("organization_id", "subject", "result")
    ):
        latest[(org_id, subject)] = result
    out: dict[str, Any] = {"year": year}
    for subject in ("producer", "operator", "all"):
        results = [r for (_o, s), r in latest.items() if subject == "all" or s == subject]
        p, b, f = (results.count(x) for x in (rules.PASSED, rules.BASICALLY_PASSED, rules.FAILED))
        rate = rules.pass_rate(p, b, len(results))
        out[subject] = {
            "passed": p,
            "basically_passed": b,
            "failed": f,
            "total": len(results),
            "rate_percent": str(rate) if rate is not None else None,
        }
    return out


# --- The operator's obligations (seed:4025, 4037-4043) ------------------------------------------------


@transaction.atomic
def add_operator_record(actor: Actor, store_id: int, *, data: Mapping[str, Any]) -> OperatorRecord:
    """A technician, a training, the emergency plan or a drill, with its date and document."""
    store = _own_store(actor, store_id, "keep the operator's records")
    kind = data.get("kind")
    if kind not in dict(rules.RECORD_KINDS):
        raise Invalid.field("kind", _("must be one of: %(k)s") % {"k": ", ".join(dict(rules.RECORD_KINDS))})
    on = _date(data.get("on"), "on", default=timezone.localdate())
    if on > timezone.localdate():
        raise Invalid.field("on", _("must not be in the future"))
    record = OperatorRecord.objects.create(
        zone_id=store.zone_id,
        store=store,
        kind=kind,
        on=on,
        title=check_text(data.get("title"), "title", max_length=200, required=True),
        document=check_text(data.get("document"), "document", max_length=200),
        people=_int(data.get("people") or 0, "people", low=0, high=100_000),
        recorded_by=actor.username,
    )
    if kind == "emergency_plan":
        Store.objects.filter(pk=store.pk).update(emergency_plan_on=on)
    elif kind == "drill":
        Store.objects.filter(pk=store.pk).update(last_drill_on=on)
    audit.record(actor, "hazardous.operator_record", record, {"kind": kind, "on": on, "title": record.title})
    return record


def operator_status(actor: Actor, store_id: int, on: date | None = None) -> dict[str, Any]:
    """The operator's records and what it lacks on `on`, each fault with its rule."""
    store = get_store(actor, store_id)
    if not (actor.is_system or actor.is_regulator or store.operator_id == actor.organization_id):
        raise Forbidden(_("the operator's records are its own and its regulator's"))
    on = on or timezone.localdate()
    records = list(OperatorRecord.objects.filter(zone_id=store.zone_id, store=store, on__lte=on)[:200])
    last: dict[str, date | None] = {}
    for r in records:
        last[r.kind] = max(last.get(r.kind) or r.on, r.on)
    last.setdefault("emergency_plan", store.emergency_plan_on)
    last.setdefault("drill", store.last_drill_on)
    # Technicians: the store's staffing figure, or the roster on record if that names more.
    technicians = max(store.technicians, sum(1 for r in records if r.kind == "technician"))
    faults = rules.operator_faults(technicians, last, on)
    return {
        "technicians": technicians,
        "last": {k: v.isoformat() if v else None for k, v in last.items()},
        "faults": [{"rule": rule, "message": rules.refusal(rule, text)} for rule, text in faults],
        "records": records,
    }


# --- The declarations' reconciliation (the seam) -----------------------------------------------------


def collected_quantities(
    zone_id: int, organization_id: int, period_start: date, period_end: date
) -> dict[str, Decimal]:
    """Tonnes per waste code the park store collected from a producer in the period: its hand-overs
    inside the park, which are not manifests but are what the producer declares as sent out."""
    totals: dict[str, int] = defaultdict(int)
    for code, kg in Container.objects.filter(
        zone_id=zone_id, producer_id=organization_id, collected_on__range=(period_start, period_end)
    ).values_list("waste_code", "quantity_kg"):
        totals[code] += kg
    return {code: rules.kg_to_t(kg) for code, kg in totals.items()}


def register_with_declarations() -> None:
    """Collections count beside closed manifests in a declaration's reconciliation."""
    try:
        from zerowaste.declarations import services as declarations
    except ImportError:  # pragma: no cover - the declarations app is not installed
        return
    register = getattr(declarations, "register_transfer_provider", None)
    if register is not None:
        register(collected_quantities)
