"""Bulk import of organizations from Excel or CSV: all rows are checked, then all are written, or none."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import rules, services
from .authz import Actor, require
from .context import current_origin
from .errors import Forbidden, Invalid, NotFound
from .models import Area, Organization
from .tabular import Column, Fault, ImportRejected, Limits, read_table

# A zone registers hundreds of organizations: a file is checked in the request, so it stays small
# enough to check in seconds (the writing of a large one goes to the background).
MAX_ROWS = 20_000

ORGANIZATION_COLUMNS = [
    Column("uscc", ("统一社会信用代码", "信用代码", "USCC")),
    Column("name", ("单位名称", "名称", "企业名称", "name")),
    Column("roles", ("角色", "单位类型", "roles")),
    Column("name_en", ("英文名称", "name_en", "English name"), required=False),
    Column("area", ("所属街道", "街道", "区域", "area"), required=False),
    Column("address", ("地址", "address"), required=False),
    Column("contact_name", ("联系人", "contact"), required=False),
    Column("contact_phone", ("联系电话", "电话", "phone"), required=False),
    Column("industry", ("行业", "所属行业", "industry"), required=False),
]


def import_organizations(
    actor: Actor, content: bytes, *, filename: str, sheet: str | None = None
) -> list[Organization]:
    """Register every organization of the file, or none: each fault is reported by sheet/row/column."""
    return write_organizations(actor, check_organizations(actor, content, filename=filename, sheet=sheet))


@dataclass
class OrganizationImport:
    """A checked file: written at once (`created`), or queued as a background task (`task_id`)."""

    rows: int
    created: list[Organization] = default(default_factory=list)
    task_id: str | None = None
    status: str = "SUCCESSFUL"


def start_organization_import(
    actor: Actor, content: bytes, *, filename: str, sheet: str | None = None
) -> OrganizationImport:
    """Check every row now (faults raise); write at once up to ORGANIZATION_IMPORT_BACKGROUND_ROWS
    rows, else in a background task whose state `organization_import_status` reports: a request
    never outlives the worker's timeout writing a large register."""
    prepared = check_organizations(actor, content, filename=filename, sheet=sheet)
    if len(prepared) <= int(getattr(settings, "ORGANIZATION_IMPORT_BACKGROUND_ROWS", 500)):
        return OrganizationImport(rows=len(prepared), created=write_organizations(actor, prepared))
    from .tasks import import_organizations_task

    result = import_organizations_task.enqueue(actor.zone_id, acting_as(actor), prepared)
    return OrganizationImport(rows=len(prepared), task_id=str(result.id), status=str(result.status))


def organization_import_status(actor: Actor, task_id: str) -> dict[str, Any]:
    """The state of a background organization import of the actor's zone: status (READY, RUNNING,
    SUCCESSFUL, FAILED), rows, and once done the organizations created or the reason it failed."""
    from django_tasks import default_task_backend
    from django_tasks.exceptions import TaskResultDoesNotExist

    from .tasks import import_organizations_task

    not_found = NotFound(_("import %(id)s not found") % {"id": task_id})
    if not actor.can("zone.register_org"):
        raise not_found  # a row one may not see answers 404, like every other
    if not default_task_backend.supports_get_result:
        raise not_found
    try:
        result = default_task_backend.get_result(task_id)
    except (TaskResultDoesNotExist, ValueError, ValidationError) as exc:
        raise not_found from exc
    if result.task.module_path != import_organizations_task.module_path or result.args[0] != actor.zone_id:
        raise not_found
    status = str(result.status)
    out: dict[str, Any] = {"task_id": task_id, "status": status, "rows": len(result.args[2])}
    if status == "SUCCESSFUL":
        out.update(result.return_value or {})
    elif status == "FAILED":
        # The last line of each traceback: the exception and its message (a USCC registered meanwhile).
        out["errors"] = [
            error.traceback.strip().splitlines()[-1] for error in result.errors if error.traceback
        ]
    return out


def organization_import_status_or_queued(actor: Actor, started: OrganizationImport) -> dict[str, Any]:
    """The status of a just-queued import (what the backend knows, or that it is queued)."""
    try:
        return organization_import_status(actor, str(started.task_id))
    except NotFound:  # a backend that cannot report results (the immediate one ran it already)
        return {"task_id": started.task_id, "status": started.status, "rows": started.rows}


def acting_as(actor: Actor) -> dict[str, Any]:
    """Who the actor is, as a background task can be given it (JSON)."""
    if actor.is_system:
        return {"system": True}
    if actor.token is not None:
        return {"token": actor.token.pk}
    return {"user": actor.user.pk if actor.user else None, "organization": actor.organization_id}


def actor_from(zone_id: int, who: dict[str, Any]) -> Actor:
    """The actor again, from `acting_as`: a revoked token or membership no longer acts."""
    from .authz import actor_for_token, actor_for_user
    from .models import ApiToken, User, Zone

    if who.get("system"):
        return Actor.system(Zone.objects.get(pk=zone_id))
    found: Actor | None = None
    if who.get("token"):
        token = ApiToken.objects.filter(pk=who["token"], revoked_at__isnull=True).first()
        found = actor_for_token(token) if token is not None else None
    elif who.get("user"):
        user = User.objects.filter(pk=who["user"], is_active=True).first()
        found = actor_for_user(user, who.get("organization")) if user is not None else None
    expected = who.get("organization", found.organization_id if found else None)
    if found is None or found.zone_id != zone_id or found.organization_id != expected:
        raise Forbidden(_("the author of this import may no longer act"))
    return found


def check_organizations(
    actor: Actor, content: bytes, *, filename: str, sheet: str | None = None
) -> list[dict[str, Any]]:
    """Every row of the file checked and prepared for `register_organization`; faults raise."""
    require(actor, "zone.register_org")
    limits = Limits.from_settings()
    if current_origin().via in ("web", "api"):  # a request must answer in time; the command line need not
        limits = Limits.from_settings(max_rows=min(limits.max_rows, MAX_ROWS))
    table = read_table(content, filename, ORGANIZATION_COLUMNS, sheet=sheet, limits=limits)
    faults: list[Fault] = list(table.faults)
    areas = {
        key: area.pk
        for area in Area.objects.filter(zone_id=actor.zone_id)
        for key in (area.code, area.name, area.name_en)
        if key
    }
    existing = set(Organization.objects.filter(zone_id=actor.zone_id).values_list("uscc", flat=True))
    seen: dict[str, int] = {}
    prepared: list[dict[str, Any]] = []
    for row in table.rows:
        values = row.values
        uscc = str(values.get("uscc") or "").strip().upper()
        if not uscc:
            faults.append(row.fault("uscc", _("this field is required")))
        else:
            problem = rules.validate_uscc(uscc)
            if problem is not None:
                faults.append(row.fault("uscc", str(problem)))
            elif uscc in seen:
                faults.append(row.fault("uscc", _("duplicate of row %(row)d") % {"row": seen[uscc]}))
            elif uscc in existing:
                faults.append(row.fault("uscc", _("already registered in this zone")))
            seen.setdefault(uscc, row.number)
        name = str(values.get("name") or "").strip()
        if not name:
            faults.append(row.fault("name", _("this field is required")))
        roles, unknown = rules.parse_roles(str(values.get("roles") or ""))
        if unknown:
            faults.append(row.fault("roles", _("unknown role(s): %(roles)s") % {"roles": ", ".join(unknown)}))
        elif not roles:
            faults.append(row.fault("roles", _("at least one role is required")))
        area_id = None
        if values.get("area"):
            area_id = areas.get(str(values["area"]))
            if area_id is None:
                faults.append(
                    row.fault("area", _("no area %(area)s in this zone") % {"area": values["area"]})
                )
        try:
            services.check_area_in_reach(actor, area_id)
        except Invalid as exc:
            faults.append(row.fault("area", str(exc.errors[0]["message"])))
        texts: dict[str, str] = {}
        for field in ("name", "name_en", "address", "contact_name", "contact_phone", "industry"):
            try:
                texts[field] = services.check_text(
                    str(values.get(field) or ""),
                    field,
                    max_length=Organization._meta.get_field(field).max_length,  # type: ignore[union-attr]
                )
            except Invalid as exc:
                if field != "name" or name:
                    faults.append(row.fault(field, str(exc.errors[0]["message"])))
        prepared.append({"uscc": uscc, "roles": roles, "area_id": area_id, **texts})
    if faults:
        raise ImportRejected(faults)
    return prepared


def write_organizations(actor: Actor, prepared: list[dict[str, Any]]) -> list[Organization]:
    """Register the checked rows, all or none."""
    return services.register_organizations(actor, prepared)
