"""In-plant and group-shared HW utilization/disposal facilities (危险废物试点管理实施细则第四条,
seed:3925-3935).

A producer may utilize or dispose of its own HW inside its plant (by itself or a third party), or in a
facility shared between subsidiaries of one group inside the zone, once the facility holds its EIA
approval and an HW operating licence. Such treatment is declared as in-house utilization/disposal
(`utilized_t` / `disposed_t` of the declaration lines), not as an entrusted transfer.

The registry does not refuse declarations: the declarations app stays independent of this one, and a
producer's figures are not blocked by a missing registration. Instead `unregistered_in_house_treatment`
lists the declared in-house treatment that no registered facility covers, for the regulator to follow
up (ADR 0039).

Public services:
- `facility_for(zone_id, organization_id, waste_code, on, activity=None) -> TreatmentFacility | None`
- `unregistered_in_house_treatment(actor, year) -> [{"organization", "organization_id", "period",
  "period_end", "code", "utilized_t", "disposed_t", "missing"}]`
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Licence, Organization, Site
from zerowaste.core.services import check_text, licence_covers, unverified_reason

from .models import FacilitySharing, TreatmentFacility
from .services import _acting_org, _date, _int, _opt_date, _refuse, _require_write, _year

RULE = "R-IN-PLANT"
HW_CATEGORY = re.compile(r"^HW\d{2}$")
MODES = {m.value for m in TreatmentFacility.Mode}
ACTIVITIES = {a.value for a in TreatmentFacility.Activity}


# --- Access ----------------------------------------------------------------------------------------


def visible_facilities(actor: Actor) -> QuerySet[TreatmentFacility]:
    """The operator's own, those shared with the actor's organization, and for a regulator those of
    its jurisdiction's operators."""
    base = TreatmentFacility.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.organization_id is None:
        return base.none()
    if actor.is_regulator:
        return base.filter(operator_id__in=visible_organizations(actor).values("pk"))
    shared = FacilitySharing.objects.filter(zone_id=actor.zone_id, organization_id=actor.organization_id)
    return base.filter(Q(operator_id=actor.organization_id) | Q(pk__in=shared.values("facility_id")))


def _with_relations(qs: QuerySet[TreatmentFacility]) -> QuerySet[TreatmentFacility]:
    return qs.select_related("operator", "site", "licence").prefetch_related("shared_with")


def list_facilities(actor: Actor) -> QuerySet[TreatmentFacility]:
    return _with_relations(visible_facilities(actor))


def get_facility(actor: Actor, facility_id: int) -> TreatmentFacility:
    f = _with_relations(visible_facilities(actor)).filter(pk=facility_id).first()
    if f is None:
        raise NotFound(_("facility %(id)s not found") % {"id": facility_id})
    return f


# --- Input -----------------------------------------------------------------------------------------


def _codes(zone_id: int, raw: Any, on: date) -> list[tuple[str, str]]:
    """(code or category, its category) for each entry, each a valid code or category of the HW
    catalog in force on `on`."""
    from zerowaste.catalog import services as catalog
    from zerowaste.catalog.models import CatalogCategory

    if isinstance(raw, str):
        raw = re.split(r"[\s,，、;；]+", raw)
    if not isinstance(raw, (list, tuple)):
        raise Invalid.field("waste_codes", _("a list of HW codes (900-041-49) or categories (HW49)"))
    items = [str(x).strip() for x in raw if str(x).strip()]
    if not items:
        raise Invalid.field("waste_codes", _("name the HW codes or categories the facility treats"))
    out: list[tuple[str, str]] = []
    for item in items[:200]:
        if HW_CATEGORY.match(item.upper()):
            category = item.upper()
            version = catalog.version_in_force(zone_id, "hw", on)
            if (
                version is None
                or not CatalogCategory.objects.filter(
                    zone_id=zone_id, version=version, code=category
                ).exists()
            ):
                raise Invalid.field(
                    "waste_codes",
                    _("%(code)s is not a category of the HW catalog in force") % {"code": category},
                )
            out.append((category, category))
            continue
        check = catalog.code_valid(zone_id, "hw", item, on)
        if not check.ok or check.entry is None:
            raise Invalid.field("waste_codes", check.message)
        out.append((item, check.entry.category.code))
    return list(dict.fromkeys(out))


def _licence_codes_cover(licence_codes: list[str], code: str, category: str) -> bool:
    """An operating licence lists categories ("HW49") or full codes; an empty list covers all (as
    `core.services.licence_covers` reads it). A facility category needs the category on the licence."""
    from zerowaste.transfers.rules import licence_code_covers

    if not licence_codes:
        return True
    if code == category:
        return category in licence_codes
    return licence_code_covers(licence_codes, code, category)


def _licence(operator: Organization, value: Any, codes: list[tuple[str, str]], on: date) -> Licence:
    pk = _int(value, "licence_id")
    lic = Licence.objects.filter(zone_id=operator.zone_id, pk=pk).first()
    if lic is None or lic.organization_id != operator.pk:
        raise _refuse("licence_id", RULE, _("not an HW operating licence of the operator"))
    if lic.kind != "hw_operating":
        raise _refuse("licence_id", RULE, _("not an HW operating licence (危险废物经营许可证)"))
    if lic.is_revoked:
        raise _refuse("licence_id", RULE, _("the licence %(n)s is revoked") % {"n": lic.number})
    unverified = unverified_reason(lic)
    if unverified:
        raise _refuse("licence_id", RULE, unverified)
    if not licence_covers(lic, on=on):
        raise _refuse(
            "licence_id",
            RULE,
            _("the licence %(n)s is not in force on %(d)s (valid %(a)s to %(b)s)")
            % {"n": lic.number, "d": on.isoformat(), "a": lic.valid_from, "b": lic.valid_to},
        )
    uncovered = [
        code for code, category in codes if not _licence_codes_cover(lic.waste_codes, code, category)
    ]
    if uncovered:
        raise _refuse(
            "licence_id",
            RULE,
            _("the licence %(n)s does not cover %(codes)s")
            % {"n": lic.number, "codes": ", ".join(uncovered)},
        )
    return lic


def _subsidiary(zone_id: int, value: Any) -> Organization:
    """A group member named by its id or its USCC (what a clerk knows of a sister company)."""
    text = str(value).strip().upper()
    if text.isdigit() and len(text) < 18:
        org = Organization.objects.filter(zone_id=zone_id, pk=int(text), is_active=True).first()
    else:
        org = Organization.objects.filter(zone_id=zone_id, uscc=text, is_active=True).first()
    if org is None:
        raise Invalid.field("shared_with", _("no such organization in this zone: %(v)s") % {"v": value})
    return org


def _shared_with(zone_id: int, operator: Organization, mode: str, raw: Any) -> list[Organization]:
    if isinstance(raw, str):
        raw = re.split(r"[\s,，、;；]+", raw)
    items = [x for x in (raw or []) if str(x).strip()]
    if mode == TreatmentFacility.Mode.OWN_PLANT:
        if items:
            raise Invalid.field("shared_with", _("only a group-shared facility lists subsidiaries"))
        return []
    if not items:
        raise _refuse(
            "shared_with", RULE, _("name the group's other subsidiaries that may use the shared facility")
        )
    orgs: dict[int, Organization] = {}
    for item in items[:200]:
        org = _subsidiary(zone_id, item)
        if org.pk == operator.pk:
            raise Invalid.field("shared_with", _("the operator itself is not one of the others"))
        orgs[org.pk] = org
    return list(orgs.values())


# --- Register and close ----------------------------------------------------------------------------


@transaction.atomic
def register_facility(actor: Actor, *, data: Mapping[str, Any]) -> TreatmentFacility:
    """The operator's admin or clerk registers a facility of its plant (the system names the operator
    in `operator_id`). Every input is checked before anything is written."""
    operator = _acting_org(actor, data, "operator_id", "producer", "register a treatment facility")
    today = timezone.localdate()
    site_id = _int(data.get("site_id"), "site_id")
    site = Site.objects.filter(zone_id=actor.zone_id, pk=site_id).first()
    if site is None or site.organization_id != operator.pk:
        raise _refuse("site_id", RULE, _("not a site of the operator: treatment runs inside its red line"))
    mode = str(data.get("mode") or "").strip()
    if mode not in MODES:
        raise Invalid.field("mode", _("one of %(v)s") % {"v": ", ".join(sorted(MODES))})
    activity = str(data.get("activity") or "").strip()
    if activity not in ACTIVITIES:
        raise Invalid.field("activity", _("one of %(v)s") % {"v": ", ".join(sorted(ACTIVITIES))})
    method = check_text(data.get("method"), "method", max_length=100, required=True)
    codes = _codes(actor.zone_id, data.get("waste_codes"), today)
    eia_number = check_text(data.get("eia_approval_number"), "eia_approval_number", max_length=100)
    if not eia_number:
        raise _refuse(
            "eia_approval_number", RULE, _("the facility's EIA approval (环境影响评价文件批复) is required")
        )
    eia_date = _date(data.get("eia_approval_date"), "eia_approval_date")
    if eia_date > today:
        raise Invalid.field("eia_approval_date", _("must not be in the future"))
    licence = _licence(operator, data.get("licence_id"), codes, today)
    shared = _shared_with(actor.zone_id, operator, mode, data.get("shared_with"))
    facility = TreatmentFacility.objects.create(
        zone_id=actor.zone_id,
        operator=operator,
        site=site,
        mode=mode,
        activity=activity,
        method=method,
        waste_codes=[code for code, _category in codes],
        eia_approval_number=eia_number,
        eia_approval_date=eia_date,
        licence=licence,
        created_by=actor.username,
    )
    FacilitySharing.objects.bulk_create(
        [FacilitySharing(zone_id=actor.zone_id, facility=facility, organization=o) for o in shared]
    )
    audit.record(
        actor,
        "hazardous.facility.register",
        facility,
        {
            **audit.snapshot(
                facility,
                [
                    "operator_id",
                    "site_id",
                    "mode",
                    "activity",
                    "method",
                    "waste_codes",
                    "eia_approval_number",
                    "eia_approval_date",
                    "licence_id",
                ],
            ),
            "shared_with": sorted(o.pk for o in shared),
        },
    )
    return get_facility(actor, facility.pk)


@transaction.atomic
def close_facility(
    actor: Actor, facility_id: int, *, data: Mapping[str, Any] | None = None
) -> TreatmentFacility:
    """The operator closes its facility; treatment declared after `closed_on` is no longer covered."""
    data = data or {}
    facility = get_facility(actor, facility_id)
    if not actor.is_system and facility.operator_id != actor.organization_id:
        raise Forbidden(_("only the facility's operator may close it"))
    if not actor.is_system:
        _require_write(actor, "producer", "close a treatment facility")
    locked = TreatmentFacility.objects.select_for_update().get(pk=facility.pk)
    if locked.status == TreatmentFacility.Status.CLOSED:
        raise Conflict(_("the facility was closed on %(d)s") % {"d": locked.closed_on})
    closed_on = _opt_date(data.get("closed_on"), "closed_on") or timezone.localdate()
    if closed_on < locked.eia_approval_date:
        raise Invalid.field("closed_on", _("must not be before the EIA approval date"))
    if closed_on > timezone.localdate():
        raise Invalid.field("closed_on", _("must not be in the future"))
    before = audit.snapshot(locked, ["status", "closed_on"])
    locked.status = TreatmentFacility.Status.CLOSED
    locked.closed_on = closed_on
    locked.save(update_fields=["status", "closed_on"])
    audit.record(
        actor, "hazardous.facility.close", locked, audit.diff(before, audit.snapshot(locked, before))
    )
    return get_facility(actor, facility.pk)


# --- Which facility covers a waste -----------------------------------------------------------------


def _category_of(code: str) -> str:
    """HW codes end in their category's number (900-041-49 is HW49)."""
    return f"HW{code[-2:]}" if code else ""


def _covers(f: TreatmentFacility, organization_id: int, code: str, on: date, activity: str | None) -> bool:
    """Whether `f` served `organization_id` for `code` on `on`: its operator or a listed group member,
    approved by then, not closed by then, its licence in force then and covering the code."""
    if activity and f.activity != activity:
        return False
    if f.operator_id != organization_id and not (
        f.mode == TreatmentFacility.Mode.GROUP_SHARED
        and any(o.pk == organization_id for o in f.shared_with.all())
    ):
        return False
    if f.eia_approval_date > on:
        return False
    # A facility closed later still covered what it treated before (declarations of past periods).
    if f.status == TreatmentFacility.Status.CLOSED and (f.closed_on is None or f.closed_on <= on):
        return False
    category = _category_of(code)
    if code not in f.waste_codes and category not in f.waste_codes:
        return False
    lic = f.licence
    return licence_covers(lic, on=on) and _licence_codes_cover(lic.waste_codes, code, category)


def _candidates(zone_id: int, organization_ids: Iterable[int] | None = None) -> list[TreatmentFacility]:
    qs = TreatmentFacility.objects.filter(zone_id=zone_id)
    if organization_ids is not None:
        ids = list(organization_ids)
        shared = FacilitySharing.objects.filter(zone_id=zone_id, organization_id__in=ids)
        qs = qs.filter(Q(operator_id__in=ids) | Q(pk__in=shared.values("facility_id")))
    return list(qs.select_related("licence").prefetch_related("shared_with").order_by("pk"))


def facility_for(
    zone_id: int, organization_id: int, waste_code: str, on: date, activity: str | None = None
) -> TreatmentFacility | None:
    """A facility of the organization's own plant, or a group facility that lists it, that covered
    `waste_code` on `on` (licence in force and covering it); of `activity` if given."""
    for f in _candidates(zone_id, [organization_id]):
        if _covers(f, organization_id, waste_code, on, activity):
            return f
    return None


# --- Supervision: declared in-house treatment without a facility -----------------------------------


def unregistered_in_house_treatment(actor: Actor, year: Any) -> list[dict[str, Any]]:
    """HW declaration lines of `year` that count (the latest counted version of each period) with
    own utilization or disposal that no registered facility covers on the period's end: for a
    regulator its jurisdiction, for a producer its own declarations."""
    from zerowaste.declarations import rules as declaration_rules
    from zerowaste.declarations.services import effective_lines

    year = _year(year)
    if not (actor.is_system or actor.is_regulator or "producer" in actor.org_roles):
        raise Forbidden(_("only a regulator or a producer may see this list"))
    orgs = visible_organizations(actor)
    lines = list(
        effective_lines(actor.zone_id)
        .filter(
            declaration__organization_id__in=orgs.values("pk"),
            declaration__stream="hw",
            declaration__period_start__gte=date(year, 1, 1),
            declaration__period_start__lte=date(year, 12, 31),
        )
        .filter(Q(utilized_t__gt=0) | Q(disposed_t__gt=0))
        .values(
            "declaration__organization_id",
            "declaration__organization__name",
            "declaration__version",
            "declaration__period_kind",
            "declaration__period_start",
            "declaration__period_end",
            "waste_code",
            "utilized_t",
            "disposed_t",
        )
    )
    # Of each declared period only the latest counted version counts (as the HJ 1259 reports do);
    # a later version without own treatment drops the earlier one's figures.
    latest: dict[tuple[int, str, date], int] = {}
    for v in (
        effective_lines(actor.zone_id)
        .filter(
            declaration__organization_id__in={ln["declaration__organization_id"] for ln in lines},
            declaration__stream="hw",
            declaration__period_start__gte=date(year, 1, 1),
            declaration__period_start__lte=date(year, 12, 31),
        )
        .values_list(
            "declaration__organization_id",
            "declaration__period_kind",
            "declaration__period_start",
            "declaration__version",
        )
        .order_by()
        .distinct()
    ):
        period_key = (v[0], v[1], v[2])
        latest[period_key] = max(latest.get(period_key, 0), v[3])
    summed: dict[tuple[int, str, date, date, str], dict[str, Any]] = {}
    names: dict[int, str] = {}
    totals: dict[tuple[int, str, date, date, str], dict[str, Decimal]] = defaultdict(
        lambda: {"utilized_t": Decimal("0"), "disposed_t": Decimal("0")}
    )
    for ln in lines:
        org_id = ln["declaration__organization_id"]
        kind, start, end = (
            ln["declaration__period_kind"],
            ln["declaration__period_start"],
            ln["declaration__period_end"],
        )
        if ln["declaration__version"] != latest.get((org_id, kind, start)):
            continue
        key = (org_id, kind, start, end, ln["waste_code"])
        names[org_id] = ln["declaration__organization__name"]
        totals[key]["utilized_t"] += ln["utilized_t"]
        totals[key]["disposed_t"] += ln["disposed_t"]
    facilities = _candidates(actor.zone_id, names)
    for key, t in totals.items():
        org_id, kind, start, end, code = key
        missing = []
        for activity, qty in (("utilization", t["utilized_t"]), ("disposal", t["disposed_t"])):
            if qty > 0 and not any(_covers(f, org_id, code, end, activity) for f in facilities):
                missing.append(activity)
        if missing:
            summed[key] = {
                "organization": names[org_id],
                "organization_id": org_id,
                "period": declaration_rules.period_label(kind, start),
                "period_end": end,
                "code": code,
                "utilized_t": str(t["utilized_t"]),
                "disposed_t": str(t["disposed_t"]),
                "missing": missing,
            }
    return sorted(summed.values(), key=lambda r: (r["organization"], r["period_end"], r["period"], r["code"]))
