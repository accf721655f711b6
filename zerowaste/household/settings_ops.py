"""The zone's household settings (ops17): what each plant does with what it receives (`SiteRole`, read
by `figures.plant_receipts` for the recovery, incineration and landfill shares) and the annual source
total-control quotas (`SourceQuota`, 生活垃圾源头总量年度控制指标, seed:5102-5126, which
`figures._quota` compares the actual tonnes with). Both are the zone regulator's: a street regulator
would see other streets' plants and set the zone's figures.

Writes are audited; setting a value again replaces the one there (the audit keeps the old value).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Site

from . import rules
from .models import DailyFlow, SiteRole, SourceQuota

WRITE_ROLES = frozenset({"admin", "clerk"})
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_QUOTA_T = Decimal("99999999999.999")  # Decimal(14, 3)
MAX_SOURCE = 200


def require_zone_regulator(actor: Actor) -> None:
    if actor.is_system:
        return
    if not actor.is_regulator or actor.jurisdiction_area_ids is not None:
        raise Forbidden(_("only the zone's regulators keep the plants' roles and the source quotas"))


def may_write(actor: Actor) -> bool:
    try:
        require_writer(actor)
    except Forbidden:
        return False
    return True


def require_writer(actor: Actor) -> None:
    require_zone_regulator(actor)
    if not (actor.is_system or actor.member_role in WRITE_ROLES):
        raise Forbidden(_("your role may read these settings but not change them"))


def _require_writer_of_a_named_row(actor: Actor, missing: str) -> None:
    """A removal names its row in the path: to anyone but the zone's regulators the row is not there
    (404, as for a row of another zone); their readers are refused (403)."""
    try:
        require_zone_regulator(actor)
    except Forbidden:
        raise NotFound(missing) from None
    require_writer(actor)


def role_label(role: str) -> str:
    return str(dict(rules.SITE_ROLE_CHOICES).get(role, ""))


# --- Site roles -------------------------------------------------------------------------------------------


def site_role_row(site: Site, role: str) -> dict[str, Any]:
    return {
        "site_id": site.pk,
        "site": site.name,
        "organization": site.organization.name,
        "role": role,
        "role_label": role_label(role),
    }


def site_roles(actor: Actor) -> list[dict[str, Any]]:
    """Every site of the zone with a role, and the sites that received household waste without one
    (role ""), by organization and site name."""
    require_zone_regulator(actor)
    roles = dict(SiteRole.objects.filter(zone_id=actor.zone_id).values_list("site_id", "role"))
    received = set(
        DailyFlow.objects.filter(zone_id=actor.zone_id, node=rules.NODE_VEHICLE_SITE, site__isnull=False)
        .values_list("site_id", flat=True)
        .distinct()
    )
    sites = (
        Site.objects.filter(zone_id=actor.zone_id, pk__in=set(roles) | received)
        .select_related("organization")
        .order_by("organization__name", "name")
    )
    return [site_role_row(s, roles.get(s.pk, "")) for s in sites]


def candidate_sites(actor: Actor) -> QuerySet[Site]:
    """The sites a role may be given: the active sites of the zone's carriers and receivers."""
    require_zone_regulator(actor)
    return (
        Site.objects.filter(
            zone_id=actor.zone_id, is_active=True, organization__roles__role__in=("carrier", "receiver")
        )
        .select_related("organization")
        .distinct()
        .order_by("organization__name", "name")
    )


def set_site_role(actor: Actor, site_id: int | None, role: str) -> SiteRole:
    """Give a site its role in household waste (replacing the one it had)."""
    require_writer(actor)
    role = (role or "").strip()
    if role not in dict(rules.SITE_ROLE_CHOICES):
        raise Invalid.field(
            "role",
            _("must be one of %(choices)s") % {"choices": ", ".join(k for k, _v in rules.SITE_ROLE_CHOICES)},
        )
    site = Site.objects.filter(zone_id=actor.zone_id, pk=site_id).first() if site_id else None
    if site is None:
        raise Invalid.field("site", _("no such site in this zone"))
    with transaction.atomic():
        found = SiteRole.objects.select_for_update().filter(zone_id=actor.zone_id, site=site).first()
        before = found.role if found else None
        if found is None:
            found = SiteRole.objects.create(zone_id=actor.zone_id, site=site, role=role)
        elif found.role != role:
            found.role = role
            found.save(update_fields=["role"])
        if before != role:
            audit.record(
                actor, "household.site_role.set", found, {"site_id": [None, site.pk], "role": [before, role]}
            )
    return found


def remove_site_role(actor: Actor, site_id: int) -> None:
    """Take a site's role away: the figures count what it received as cleared to an unknown destination
    again until it gets one."""
    missing = _("this site has no role to remove")
    _require_writer_of_a_named_row(actor, missing)
    with transaction.atomic():
        found = SiteRole.objects.select_for_update().filter(zone_id=actor.zone_id, site_id=site_id).first()
        if found is None:
            raise NotFound(missing)
        audit.record(
            actor,
            "household.site_role.remove",
            found,
            {"site_id": [site_id, None], "role": [found.role, None]},
        )
        found.delete()


# --- Source total-control quotas ------------------------------------------------------------------------


def quota_row(q: SourceQuota) -> dict[str, Any]:
    return {
        "id": q.pk,
        "area": q.area.code if q.area is not None else None,
        "area_name": q.area.name if q.area is not None else None,
        "year": q.year,
        "quota_t": Decimal(q.quota_t),
        "source": q.source,
    }


def quotas(actor: Actor) -> list[dict[str, Any]]:
    """The zone's quotas and its streets' and communities', latest year first, the zone's first."""
    require_zone_regulator(actor)
    found = (
        SourceQuota.objects.filter(zone_id=actor.zone_id)
        .select_related("area")
        .order_by("-year", "area__code")
    )
    rows = [quota_row(q) for q in found]
    rows.sort(key=lambda r: (-r["year"], r["area"] is not None, r["area"] or ""))
    return rows


def quota_areas(actor: Actor) -> QuerySet[Area]:
    require_zone_regulator(actor)
    return Area.objects.filter(
        zone_id=actor.zone_id, kind__in=[Area.Kind.STREET, Area.Kind.COMMUNITY]
    ).order_by("kind", "code")


def parse_quota_t(value: Any) -> Decimal:
    """Tonnes as an exact decimal (at most 3 places, more than 0); a clear error naming `quota_t`."""
    text = str(value if value is not None else "").strip().replace(",", "")
    try:
        quota = Decimal(text)
    except InvalidOperation:
        raise Invalid.field("quota_t", _("tonnes as a number, e.g. 86723.5")) from None
    if not quota.is_finite() or quota <= 0:
        raise Invalid.field("quota_t", _("must be more than 0 t"))
    if quota > MAX_QUOTA_T:
        raise Invalid.field("quota_t", _("too large"))
    if quota != quota.quantize(Decimal("0.001")):
        raise Invalid.field("quota_t", _("at most 3 decimal places (kilograms)"))
    return quota.quantize(Decimal("0.001"))


def set_quota(
    actor: Actor, *, area_code: str | None, year: int | None, quota_t: Any, source: str = ""
) -> SourceQuota:
    """Set the year's quota of the zone (`area_code` empty) or of a street or community (replacing
    the one there); `source` names the document it comes from."""
    require_writer(actor)
    area = None
    code = (area_code or "").strip()
    if code:
        area = (
            Area.objects.filter(zone_id=actor.zone_id, code=code)
            .filter(Q(kind=Area.Kind.STREET) | Q(kind=Area.Kind.COMMUNITY))
            .first()
        )
        if area is None:
            raise Invalid.field("area", _("no street or community %(code)s in this zone") % {"code": code})
    if year is None or not (MIN_YEAR <= year <= MAX_YEAR):
        raise Invalid.field(
            "year", _("a year from %(low)s to %(high)s") % {"low": MIN_YEAR, "high": MAX_YEAR}
        )
    quota = parse_quota_t(quota_t)
    text = (source or "").strip()
    if len(text) > MAX_SOURCE:
        raise Invalid.field("source", _("at most %(limit)s characters") % {"limit": MAX_SOURCE})
    with transaction.atomic():
        found = (
            SourceQuota.objects.select_for_update()
            .filter(zone_id=actor.zone_id, year=year)
            .filter(Q(area=area) if area is not None else Q(area__isnull=True))
            .first()
        )
        if found is None:
            found = SourceQuota.objects.create(
                zone_id=actor.zone_id, area=area, year=year, quota_t=quota, source=text
            )
            changes: dict[str, Any] = {
                "area_id": [None, area.pk if area else None],
                "year": [None, year],
                "quota_t": [None, str(quota)],
                "source": [None, text],
            }
        else:
            changes = {}
            if Decimal(found.quota_t) != quota:
                changes["quota_t"] = [str(found.quota_t), str(quota)]
            if found.source != text:
                changes["source"] = [found.source, text]
            found.quota_t, found.source = quota, text
            found.save(update_fields=["quota_t", "source"])
        if changes:
            audit.record(actor, "household.quota.set", found, changes)
    return found


def remove_quota(actor: Actor, quota_id: int) -> None:
    """Remove a quota set by mistake (the audit keeps what it was); a street or community without one
    gets the zone's again."""
    missing = _("no such quota in this zone")
    _require_writer_of_a_named_row(actor, missing)
    with transaction.atomic():
        found = SourceQuota.objects.select_for_update().filter(zone_id=actor.zone_id, pk=quota_id).first()
        if found is None:
            raise NotFound(missing)
        audit.record(
            actor,
            "household.quota.remove",
            found,
            {
                "area_id": [found.area_id, None],
                "year": [found.year, None],
                "quota_t": [str(found.quota_t), None],
                "source": [found.source, None],
            },
        )
        found.delete()
