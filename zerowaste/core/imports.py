"""Bulk import of organizations from Excel or CSV: all rows are checked, then all are written, or none."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from . import rules, services
from .authz import Actor, require
from .errors import Invalid
from .models import Area, Organization
from .tabular import Column, Fault, ImportRejected, read_table

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
    require(actor, "zone.register_org")
    table = read_table(content, filename, ORGANIZATION_COLUMNS, sheet=sheet)
    faults: list[Fault] = list(table.faults)
    areas = {
        key: area.pk
        for area in Area.objects.filter(zone_id=actor.zone_id)
        for key in (area.code, area.name, area.name_en)
        if key
    }
    existing = set(Organization.objects.filter(zone_id=actor.zone_id).values_list("uscc", flat=True))
    seen: dict[str, int] = {}
    prepared: list[dict[str, object]] = []
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
    with transaction.atomic():
        return [services.register_organization(actor, **data) for data in prepared]  # type: ignore[arg-type]
