"""Use cases of the platform core. One function per use case, transactional, keyword-only.

Every function takes the acting `Actor`, checks access through `authz`, validates, writes, and
appends an audit entry for each regulated change. Pages, API and CLI call these and nothing below.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, rules
from .authz import Actor, active_memberships, get_organization, require, visible_organizations
from .errors import Forbidden, Invalid, NotFound
from .models import (
    ApiToken,
    Area,
    Licence,
    LicenceScan,
    LoginFailure,
    Membership,
    Organization,
    OrganizationRole,
    Site,
    User,
    Vehicle,
    Zone,
)
from .text import control_character

ORG_FIELDS = (
    "uscc",
    "name",
    "name_en",
    "area_id",
    "address",
    "contact_name",
    "contact_phone",
    "industry",
    "is_active",
)
ORG_TEXT_FIELDS = ("name", "name_en", "address", "contact_name", "contact_phone", "industry")


def _org_snapshot(org: Organization) -> dict[str, Any]:
    data = audit.snapshot(org, ORG_FIELDS)
    data["roles"] = sorted(OrganizationRole.objects.filter(organization=org).values_list("role", flat=True))
    return data


# --- Text input ------------------------------------------------------------------------------------


def check_text(
    value: Any, field: str, *, max_length: int | None, required: bool = False, strip: bool = True
) -> str:
    """A text input as stored: a string, no NUL or other control characters (PostgreSQL refuses NUL),
    no longer than the column, present when required. Raises Invalid naming `field`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid.field(field, _("must be text"))
    if strip:
        value = value.strip()
    if control_character(value):
        raise Invalid.field(field, _("must not contain control characters"))
    if required and not value:
        raise Invalid.field(field, _("this field is required"))
    if max_length is not None and len(value) > max_length:
        raise Invalid.field(field, _("at most %(n)d characters") % {"n": max_length})
    return value


def _max_length(model: type[Model], name: str) -> int | None:
    return getattr(model._meta.get_field(name), "max_length", None)


def _texts(model: type[Model], values: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, str]:
    """check_text for each of `values`, with the column's max_length."""
    return {
        name: check_text(value, name, max_length=_max_length(model, name), required=name in required)
        for name, value in values.items()
    }


# --- Organizations ---------------------------------------------------------------------------------


def check_uscc(uscc: str, field: str = "uscc") -> str:
    if uscc is not None and not isinstance(uscc, str):
        raise Invalid.field(field, _("must be text"))
    code = (uscc or "").strip().upper()
    fault = rules.validate_uscc(code)
    if fault is not None:
        raise Invalid.field(field, str(fault))
    return code


def check_roles(roles: list[str], field: str = "roles") -> list[str]:
    if not roles:
        raise Invalid.field(field, _("at least one role is required"))
    unknown = [r for r in roles if r not in rules.ORG_ROLES]
    if unknown:
        raise Invalid.field(field, _("unknown role(s): %(roles)s") % {"roles": ", ".join(unknown)})
    return sorted(set(roles))


def _area(zone_id: int, area_id: int | None, field: str = "area_id") -> Area | None:
    if area_id is None:
        return None
    area = Area.objects.filter(zone_id=zone_id, pk=area_id).first()
    if area is None:
        raise Invalid.field(field, _("no such area in this zone"))
    return area


@transaction.atomic
def register_organization(
    actor: Actor,
    *,
    uscc: str,
    name: str,
    roles: list[str],
    name_en: str = "",
    area_id: int | None = None,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    industry: str = "",
) -> Organization:
    """A regulator (or the system) registers an organization of its zone."""
    require(actor, "zone.register_org")
    code = check_uscc(uscc)
    texts = _texts(
        Organization,
        {
            "name": name,
            "name_en": name_en,
            "address": address,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "industry": industry,
        },
        required=("name",),
    )
    roles = check_roles(roles)
    _area(actor.zone_id, area_id)
    check_area_in_reach(actor, area_id)
    if Organization.objects.filter(zone_id=actor.zone_id, uscc=code).exists():
        raise Invalid.field("uscc", _("an organization with this USCC is already registered"))
    org = Organization.objects.create(
        zone_id=actor.zone_id,
        uscc=code,
        area_id=area_id,
        **texts,
    )
    OrganizationRole.objects.bulk_create(
        [OrganizationRole(zone_id=actor.zone_id, organization=org, role=r) for r in roles]
    )
    audit.record(actor, "organization.register", org, audit.diff({}, _org_snapshot(org)))
    return org


def check_area_in_reach(actor: Actor, area_id: int | None, field: str = "area_id") -> None:
    """A regulator limited to a jurisdiction registers organizations inside it only: otherwise the
    organization would drop out of its own view the moment it is made."""
    reach = actor.jurisdiction_area_ids
    if actor.is_system or reach is None:
        return
    if area_id is None:
        raise Invalid.field(field, _("choose a street or park of your jurisdiction"))
    if area_id not in reach:
        raise Invalid.field(field, _("this area is outside your jurisdiction"))


def register_organizations(actor: Actor, prepared: list[dict[str, Any]]) -> list[Organization]:
    """Register many checked organizations (an import) in a few statements, all or none: the same
    rules as `register_organization`, with rows, roles and audit entries written in bulk."""
    require(actor, "zone.register_org")
    rows = []
    for data in prepared:
        code = check_uscc(data["uscc"])
        texts = _texts(
            Organization,
            {f: data.get(f, "") for f in ORG_TEXT_FIELDS},
            required=("name",),
        )
        roles = check_roles(list(data["roles"]))
        check_area_in_reach(actor, data.get("area_id"))
        org = Organization(zone_id=actor.zone_id, uscc=code, area_id=data.get("area_id"), **texts)
        rows.append((org, roles))
    areas = {r.area_id for r, _roles in rows if r.area_id is not None}
    if len(areas) != Area.objects.filter(zone_id=actor.zone_id, pk__in=areas).count():
        raise Invalid.field("area_id", _("no such area in this zone"))
    usccs = [r.uscc for r, _roles in rows]
    if (
        len(set(usccs)) != len(usccs)
        or Organization.objects.filter(zone_id=actor.zone_id, uscc__in=usccs).exists()
    ):
        raise Invalid.field("uscc", _("an organization with this USCC is already registered"))
    with transaction.atomic():
        orgs = Organization.objects.bulk_create([r for r, _roles in rows], batch_size=1000)
        OrganizationRole.objects.bulk_create(
            [
                OrganizationRole(zone_id=actor.zone_id, organization=org, role=role)
                for org, (_row, roles) in zip(orgs, rows, strict=True)
                for role in roles
            ],
            batch_size=1000,
        )
        audit.append_many(
            zone_id=actor.zone_id,
            actor=actor,
            items=[
                audit.Change(
                    "organization.register",
                    Organization._meta.label_lower,
                    str(org.pk),
                    audit.diff({}, {**audit.snapshot(org, ORG_FIELDS), "roles": roles}),
                )
                for org, (_row, roles) in zip(orgs, rows, strict=True)
            ],
        )
    return orgs


def editable_organization_fields(actor: Actor, org: Organization) -> frozenset[str]:
    """The fields of `org` this actor may change (rules.ORG_FIELD_EDITOR): its own organization's
    self-stated fields as its admin; the registration fields of an organization of its jurisdiction
    as a regulator (never its own); every field as the system operator."""
    own = org.pk == actor.organization_id
    return rules.org_fields_editable(
        own=own and actor.can("org.edit"),
        regulates=not own and actor.is_regulator and actor.can("zone.regulate_org"),
        system=actor.is_system,
    )


def _unchanged(org: Organization, field: str, value: Any) -> bool:
    """Whether `value` restates what is stored (a client may send the record back as it read it)."""
    if field == "roles":
        return isinstance(value, (list, tuple)) and sorted(set(value)) == org.role_codes
    current = getattr(org, field)
    if isinstance(current, str) and isinstance(value, str):
        value = value.strip().upper() if field == "uscc" else value.strip()
    return bool(value == current)


def _refuse_forbidden_fields(actor: Actor, org: Organization, changes: dict[str, Any]) -> None:
    """403 naming the first field this actor may not change; nothing is written, nothing ignored."""
    allowed = editable_organization_fields(actor, org)
    for field, value in changes.items():
        if field not in rules.ORG_FIELD_EDITOR:
            raise Invalid.field(field, _("this field cannot be changed"))
        if field in allowed or _unchanged(org, field, value):
            continue
        if rules.ORG_FIELD_EDITOR[field] == rules.REGULATOR:
            message = _(
                "only a regulator of the organization's jurisdiction may change this "
                "(it decides who supervises the organization)"
            )
        else:
            message = _("only the organization itself may change this")
        raise Forbidden.field(field, message)


@transaction.atomic
def update_organization(actor: Actor, organization_id: int, **changes: Any) -> Organization:
    """Change an organization; each field only by its editor (rules.ORG_FIELD_EDITOR). A field the
    actor may not change answers 403 naming it, and nothing is written."""
    org = get_organization(actor, organization_id)
    if not editable_organization_fields(actor, org):
        require(actor, "org.edit", org)  # the refusal that names the actor's role or organization
    org = Organization.objects.select_for_update().get(pk=org.pk)
    _refuse_forbidden_fields(actor, org, changes)
    before = _org_snapshot(org)
    for field, value in changes.items():
        if field == "roles":
            continue
        if field == "area_id":
            area = _area(org.zone_id, value)
            if (
                actor.jurisdiction_area_ids is not None
                and not actor.is_system
                and (area is None or area.pk not in actor.jurisdiction_area_ids)
            ):
                # A street regulator would otherwise hand the organization out of its own view.
                raise Forbidden.field("area_id", _("the area must be inside your jurisdiction"))
        elif field == "uscc":
            value = check_uscc(value)
            taken = Organization.objects.filter(zone_id=org.zone_id, uscc=value).exclude(pk=org.pk)
            if taken.exists():
                raise Invalid.field("uscc", _("an organization with this USCC is already registered"))
        elif field == "is_active":
            if not isinstance(value, bool):
                raise Invalid.field("is_active", _("must be true or false"))
        else:
            value = check_text(
                value, field, max_length=_max_length(Organization, field), required=field == "name"
            )
        setattr(org, field, value)
    if changes.get("roles") is not None:
        roles = check_roles(list(changes["roles"]))
        OrganizationRole.objects.filter(organization=org).exclude(role__in=roles).delete()
        existing = set(OrganizationRole.objects.filter(organization=org).values_list("role", flat=True))
        OrganizationRole.objects.bulk_create(
            [
                OrganizationRole(zone_id=org.zone_id, organization=org, role=r)
                for r in roles
                if r not in existing
            ]
        )
    org.save()
    changed = audit.diff(before, _org_snapshot(org))
    if changed:
        audit.record(actor, "organization.update", org, changed)
    return org


def list_organizations(
    actor: Actor, *, role: str | None = None, query: str | None = None
) -> QuerySet[Organization]:
    qs = visible_organizations(actor).select_related("area").prefetch_related("roles")
    if role:
        qs = qs.filter(roles__role=role)
    if query:
        from django.db.models import Q

        qs = qs.filter(
            Q(name__icontains=query) | Q(uscc__icontains=query.upper()) | Q(name_en__icontains=query)
        )
    return qs.order_by("name", "pk").distinct()


# --- Users and memberships -------------------------------------------------------------------------


def list_memberships(actor: Actor, organization_id: int) -> QuerySet[Membership]:
    org = get_organization(actor, organization_id)
    return (
        Membership.objects.filter(zone_id=org.zone_id, organization=org)
        .select_related("user", "jurisdiction")
        .order_by("user__username")
    )


def get_membership(
    actor: Actor, organization_id: int, membership_id: int, action: str = "org.view"
) -> Membership:
    org = get_organization(actor, organization_id, action)
    membership = Membership.objects.filter(organization=org, pk=membership_id).select_related("user").first()
    if membership is None:
        raise NotFound(_("membership %(id)s not found") % {"id": membership_id})
    return membership


def _membership_snapshot(m: Membership) -> dict[str, Any]:
    return audit.snapshot(m, ("user_id", "organization_id", "role", "jurisdiction_id", "is_active"))


@transaction.atomic
def add_member(
    actor: Actor,
    organization_id: int,
    *,
    username: str,
    role: str,
    email: str = "",
    full_name: str = "",
    password: str | None = None,
    jurisdiction_id: int | None = None,
) -> Membership:
    """The system operator (CLI) adds a user (new or existing) to an organization directly.

    Anyone else invites (`invitations.invite`): a person joins an organization only by accepting."""
    org = get_organization(actor, organization_id, "members.manage")
    if not actor.is_system:
        raise Forbidden(_("people join an organization by accepting an invitation: invite them"))
    if role not in rules.MEMBER_ROLES:
        raise Invalid.field("role", _("unknown role %(role)s") % {"role": role})
    username = check_text(username, "username", max_length=_max_length(User, "username"), required=True)
    email = check_text(email, "email", max_length=_max_length(User, "email"))
    full_name = check_text(full_name, "full_name", max_length=_max_length(User, "first_name"))
    if email:
        try:
            validate_email(email)
        except DjangoValidationError as exc:
            raise Invalid.field("email", _("not a valid email address")) from exc
    if password is not None:
        password = check_text(password, "password", max_length=128, strip=False)
    if jurisdiction_id is not None:
        if not OrganizationRole.objects.filter(organization=org, role="regulator").exists():
            raise Invalid.field("jurisdiction_id", _("only members of a regulator have a jurisdiction"))
        _area(org.zone_id, jurisdiction_id, "jurisdiction_id")
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=email, first_name=full_name)
        if password:
            try:
                validate_password(password, user)
            except DjangoValidationError as exc:
                raise Invalid.field("password", " ".join(exc.messages)) from exc
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif Membership.objects.filter(organization=org, user=user).exists():
        raise Invalid.field("username", _("this user is already a member"))
    membership = Membership.objects.create(
        zone_id=org.zone_id, organization=org, user=user, role=role, jurisdiction_id=jurisdiction_id
    )
    audit.record(actor, "membership.add", membership, audit.diff({}, _membership_snapshot(membership)))
    return membership


@transaction.atomic
def update_member(
    actor: Actor,
    organization_id: int,
    membership_id: int,
    *,
    role: str | None = None,
    is_active: bool | None = None,
) -> Membership:
    membership = get_membership(actor, organization_id, membership_id, "members.manage")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = _membership_snapshot(membership)
    if role is not None:
        if role not in rules.MEMBER_ROLES:
            raise Invalid.field("role", _("unknown role %(role)s") % {"role": role})
        membership.role = role
    if is_active is not None:
        membership.is_active = is_active
    # An organization must keep an active admin, or nobody could manage it any more.
    if membership.role != "admin" or not membership.is_active:
        others = Membership.objects.filter(
            organization_id=membership.organization_id, role="admin", is_active=True
        ).exclude(pk=membership.pk)
        if not others.exists():
            raise Invalid.field("role", _("the organization must keep at least one active admin"))
    membership.save()
    changed = audit.diff(before, _membership_snapshot(membership))
    if changed:
        audit.record(actor, "membership.update", membership, changed)
    return membership


def remember_default_organization(user: User, organization_id: int | None = None) -> None:
    """The organization `user` acts for at the next login: the one just chosen, else (at a login of
    someone who never chose) the one they act for now, so a later membership never takes over."""
    memberships = Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
    if organization_id is None:
        if (
            user.default_organization_id
            and memberships.filter(organization_id=user.default_organization_id).exists()
        ):
            return
        first = active_memberships(user).first()
        organization_id = first.organization_id if first else None
    elif not memberships.filter(organization_id=organization_id).exists():
        return
    if organization_id != user.default_organization_id:
        user.default_organization_id = organization_id
        user.save(update_fields=["default_organization"])


# --- Licences --------------------------------------------------------------------------------------

LICENCE_FIELDS = (
    "organization_id",
    "kind",
    "number",
    "issuer",
    "valid_from",
    "valid_to",
    "waste_codes",
    "annual_capacity_t",
    "is_revoked",
    "status",
    "rejection_reason",
    "reviewed_by",
    "reviewed_by_organization_id",
    "reviewed_at",
)


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid.field(field, _("not a number")) from exc
    if not result.is_finite() or result < 0:
        raise Invalid.field(field, _("must be zero or more"))
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        raise Invalid.field(field, _("at most 3 decimal places (kilograms)"))
    if result >= Decimal("1e15"):
        raise Invalid.field(field, _("too large"))
    return result


def _validate_licence(kind: str, number: str, issuer: str, valid_from: date, valid_to: date) -> None:
    if kind not in rules.LICENCE_KINDS:
        raise Invalid.field("kind", _("unknown licence kind %(kind)s") % {"kind": kind})
    _texts(Licence, {"number": number, "issuer": issuer}, required=("number", "issuer"))
    if not isinstance(valid_from, date):
        raise Invalid.field("valid_from", _("not a date"))
    if not isinstance(valid_to, date):
        raise Invalid.field("valid_to", _("not a date"))
    if valid_to < valid_from:
        raise Invalid.field("valid_to", _("must not be before valid_from"))


WASTE_CODE_MAX_LENGTH = 32


def _waste_codes(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Invalid.field("waste_codes", _("must be a list of waste codes"))
    codes = [check_text(v, "waste_codes", max_length=WASTE_CODE_MAX_LENGTH) for v in value]
    return sorted({c for c in codes if c})


def with_scan(licences: QuerySet[Licence]) -> QuerySet[Licence]:
    """The licences with `scan_id` and `scan_content_type` of their newest certificate scan (or None)."""
    newest = LicenceScan.objects.filter(licence_id=OuterRef("pk")).order_by("-created_at", "-pk")
    return licences.annotate(
        scan_id=Subquery(newest.values("pk")[:1]),
        scan_content_type=Subquery(newest.values("content_type")[:1]),
    )


def list_licences(actor: Actor, organization_id: int) -> QuerySet[Licence]:
    org = get_organization(actor, organization_id)
    return with_scan(Licence.objects.filter(zone_id=org.zone_id, organization=org)).order_by("valid_to", "pk")


def get_licence(actor: Actor, organization_id: int, licence_id: int, action: str = "org.view") -> Licence:
    org = get_organization(actor, organization_id, action)
    licence = Licence.objects.filter(organization=org, pk=licence_id).first()
    if licence is None:
        raise NotFound(_("licence %(id)s not found") % {"id": licence_id})
    return licence


@transaction.atomic
def add_licence(
    actor: Actor,
    organization_id: int,
    *,
    kind: str,
    number: str,
    issuer: str,
    valid_from: date,
    valid_to: date,
    waste_codes: list[str] | None = None,
    annual_capacity_t: Any = None,
) -> Licence:
    org = get_organization(actor, organization_id, "licences.manage")
    _validate_licence(kind, number, issuer, valid_from, valid_to)
    capacity = _decimal(annual_capacity_t, "annual_capacity_t")
    codes = _waste_codes(waste_codes)
    if Licence.objects.filter(zone_id=org.zone_id, kind=kind, number=number.strip()).exists():
        raise Invalid.field("number", _("a licence of this kind with this number already exists"))
    licence = Licence.objects.create(
        zone_id=org.zone_id,
        organization=org,
        kind=kind,
        number=number.strip(),
        issuer=issuer.strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        waste_codes=codes,
        annual_capacity_t=capacity,
    )
    if actor.is_system:
        # The platform's operator (demo builder, a command on the server) enters licences it has
        # checked; an organization's own entry waits for a regulator (ADR 0042).
        record_review(licence, actor, rules.LICENCE_VERIFIED)
        licence.save()
    audit.record(actor, "licence.add", licence, audit.diff({}, audit.snapshot(licence, LICENCE_FIELDS)))
    return licence


def record_review(licence: Licence, actor: Actor, status: str, reason: str = "") -> None:
    """Record a verification decision on the row (not saved): the status, the reason, who and when."""
    licence.status = status
    licence.rejection_reason = reason
    licence.reviewed_by = actor.username
    licence.reviewed_by_organization_id = actor.organization_id
    licence.reviewed_at = timezone.now()


def amend_licence_status(licence: Licence, actor: Actor) -> None:
    """What the organization claims has changed (or a new scan came): a regulator looks again.

    The operator's own corrections (the system actor) leave the decision as it was."""
    if actor.is_system:
        return
    status = rules.licence_next_status(licence.status, rules.LICENCE_AMEND)
    assert status is not None  # every status may be amended
    licence.status = status
    licence.rejection_reason = ""
    licence.reviewed_by = ""
    licence.reviewed_by_organization_id = None
    licence.reviewed_at = None


@transaction.atomic
def update_licence(actor: Actor, organization_id: int, licence_id: int, **changes: Any) -> Licence:
    licence = get_licence(actor, organization_id, licence_id, "licences.manage")
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    before = audit.snapshot(licence, LICENCE_FIELDS)
    for field, value in changes.items():
        if field not in {
            "issuer",
            "valid_from",
            "valid_to",
            "waste_codes",
            "annual_capacity_t",
            "is_revoked",
        }:
            raise Invalid.field(field, _("this field cannot be changed"))
        if field == "annual_capacity_t":
            value = _decimal(value, field)
        if field == "waste_codes":
            value = _waste_codes(value)
        if field == "issuer":
            value = check_text(value, "issuer", max_length=_max_length(Licence, "issuer"), required=True)
        setattr(licence, field, value)
    _validate_licence(licence.kind, licence.number, licence.issuer, licence.valid_from, licence.valid_to)
    if rules.licence_is_amended(before, audit.snapshot(licence, LICENCE_FIELDS)):
        amend_licence_status(licence, actor)
    licence.save()
    changed = audit.diff(before, audit.snapshot(licence, LICENCE_FIELDS))
    if changed:
        audit.record(actor, "licence.update", licence, changed)
    return licence


def licence_covers(licence: Licence, *, on: date, waste_code: str | None = None) -> bool:
    """Whether a licence is verified, in force on `on` and (if given) lists `waste_code`.

    The same rule as `Licence.objects.in_force`, for licences already loaded."""
    if licence.status != rules.LICENCE_VERIFIED:
        return False
    if licence.is_revoked or not (licence.valid_from <= on <= licence.valid_to):
        return False
    return waste_code is None or not licence.waste_codes or waste_code in licence.waste_codes


def unverified_licence_note(licences: Iterable[Licence], on: date) -> str | None:
    """Why a licence that would otherwise be in force on `on` does not count: it is pending a
    regulator's verification, or a regulator rejected it (with the reason). None if there is none;
    refusals add this so that the holder knows what to do."""
    for licence in sorted(licences, key=lambda lic: -(lic.pk or 0)):
        if licence.is_revoked or not (licence.valid_from <= on <= licence.valid_to):
            continue
        note = unverified_reason(licence)
        if note:
            return note
    return None


def unverified_reason(licence: Licence) -> str | None:
    """Why a licence does not count whatever the date, if it is not verified: pending or rejected."""
    if licence.status == rules.LICENCE_PENDING:
        return _("licence %(number)s is pending verification by a regulator") % {"number": licence.number}
    if licence.status == rules.LICENCE_REJECTED:
        return _("licence %(number)s was rejected by a regulator: %(reason)s") % {
            "number": licence.number,
            "reason": licence.rejection_reason,
        }
    return None


def unverified_note_of(organization_id: int, kind: str, on: date) -> str | None:
    """`unverified_licence_note` for the organization's licences of `kind`."""
    return unverified_licence_note(
        Licence.objects.filter(organization_id=organization_id, kind=kind).exclude(
            status=rules.LICENCE_VERIFIED
        ),
        on,
    )


# --- Sites and vehicles ----------------------------------------------------------------------------


def list_sites(actor: Actor, organization_id: int) -> QuerySet[Site]:
    org = get_organization(actor, organization_id)
    return Site.objects.filter(zone_id=org.zone_id, organization=org).order_by("name", "pk")


def get_site(actor: Actor, organization_id: int, site_id: int, action: str = "org.view") -> Site:
    org = get_organization(actor, organization_id, action)
    site = Site.objects.filter(organization=org, pk=site_id).first()
    if site is None:
        raise NotFound(_("site %(id)s not found") % {"id": site_id})
    return site


def _check_coordinates(latitude: Any, longitude: Any) -> tuple[Decimal | None, Decimal | None]:
    lat = _decimal_signed(latitude, "latitude", Decimal(-90), Decimal(90))
    lon = _decimal_signed(longitude, "longitude", Decimal(-180), Decimal(180))
    return lat, lon


def _decimal_signed(value: Any, field: str, low: Decimal, high: Decimal) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid.field(field, _("not a number")) from exc
    if not (low <= result <= high):
        raise Invalid.field(field, _("must be between %(low)s and %(high)s") % {"low": low, "high": high})
    return result


SITE_FIELDS = ("organization_id", "name", "kind", "address", "latitude", "longitude", "area_id", "is_active")


@transaction.atomic
def add_site(
    actor: Actor,
    organization_id: int,
    *,
    name: str,
    kind: str,
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    area_id: int | None = None,
) -> Site:
    org = get_organization(actor, organization_id, "assets.manage")
    name = check_text(name, "name", max_length=_max_length(Site, "name"), required=True)
    address = check_text(address, "address", max_length=_max_length(Site, "address"))
    if kind not in dict(rules.SITE_KIND_CHOICES):
        raise Invalid.field("kind", _("unknown site kind %(kind)s") % {"kind": kind})
    lat, lon = _check_coordinates(latitude, longitude)
    _area(org.zone_id, area_id)
    if Site.objects.filter(zone_id=org.zone_id, organization=org, name=name).exists():
        raise Invalid.field("name", _("a site with this name already exists"))
    site = Site.objects.create(
        zone_id=org.zone_id,
        organization=org,
        name=name,
        kind=kind,
        address=address,
        latitude=lat,
        longitude=lon,
        area_id=area_id,
    )
    audit.record(actor, "site.add", site, audit.diff({}, audit.snapshot(site, SITE_FIELDS)))
    return site


@transaction.atomic
def update_site(actor: Actor, organization_id: int, site_id: int, **changes: Any) -> Site:
    site = get_site(actor, organization_id, site_id, "assets.manage")
    site = Site.objects.select_for_update().get(pk=site.pk)
    before = audit.snapshot(site, SITE_FIELDS)
    for field, value in changes.items():
        if field not in {"name", "kind", "address", "latitude", "longitude", "area_id", "is_active"}:
            raise Invalid.field(field, _("this field cannot be changed"))
        if field in {"name", "address"}:
            value = check_text(value, field, max_length=_max_length(Site, field), required=field == "name")
        if field == "kind" and value not in dict(rules.SITE_KIND_CHOICES):
            raise Invalid.field("kind", _("unknown site kind %(kind)s") % {"kind": value})
        if field == "area_id":
            _area(site.zone_id, value)
        setattr(site, field, value)
    site.latitude, site.longitude = _check_coordinates(site.latitude, site.longitude)
    try:
        with transaction.atomic():
            site.save()
    except IntegrityError as exc:
        raise Invalid.field("name", _("a site with this name already exists")) from exc
    changed = audit.diff(before, audit.snapshot(site, SITE_FIELDS))
    if changed:
        audit.record(actor, "site.update", site, changed)
    return site


def list_vehicles(actor: Actor, organization_id: int) -> QuerySet[Vehicle]:
    org = get_organization(actor, organization_id)
    return (
        Vehicle.objects.filter(zone_id=org.zone_id, organization=org)
        .prefetch_related("permits")
        .order_by("plate", "pk")
    )


def get_vehicle(actor: Actor, organization_id: int, vehicle_id: int, action: str = "org.view") -> Vehicle:
    org = get_organization(actor, organization_id, action)
    vehicle = Vehicle.objects.filter(organization=org, pk=vehicle_id).first()
    if vehicle is None:
        raise NotFound(_("vehicle %(id)s not found") % {"id": vehicle_id})
    return vehicle


def _vehicle_snapshot(v: Vehicle) -> dict[str, Any]:
    data = audit.snapshot(v, ("organization_id", "plate", "vehicle_type", "capacity_kg", "is_active"))
    data["permit_ids"] = sorted(v.permits.values_list("pk", flat=True)) if v.pk else []
    return data


def _permits(org: Organization, permit_ids: list[int] | None) -> list[Licence]:
    if not permit_ids:
        return []
    permits = list(Licence.objects.filter(organization=org, pk__in=permit_ids))
    if len(permits) != len(set(permit_ids)):
        raise Invalid.field("permit_ids", _("every permit must be a licence of this organization"))
    return permits


CAPACITY_KG_MAX = 2_000_000_000


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid.field("capacity_kg", _("must be a whole number of kilograms"))
    if not 0 <= value <= CAPACITY_KG_MAX:
        raise Invalid.field("capacity_kg", _("must be between 0 and %(max)d") % {"max": CAPACITY_KG_MAX})
    return value


@transaction.atomic
def add_vehicle(
    actor: Actor,
    organization_id: int,
    *,
    plate: str,
    vehicle_type: str = "",
    capacity_kg: int | None = None,
    permit_ids: list[int] | None = None,
) -> Vehicle:
    org = get_organization(actor, organization_id, "assets.manage")
    plate = check_text(plate, "plate", max_length=None).upper()
    fault = rules.validate_plate(plate)
    if fault:
        raise Invalid.field("plate", fault)
    vehicle_type = check_text(vehicle_type, "vehicle_type", max_length=_max_length(Vehicle, "vehicle_type"))
    _capacity(capacity_kg)
    permits = _permits(org, permit_ids)
    if Vehicle.objects.filter(zone_id=org.zone_id, plate=plate).exists():
        raise Invalid.field("plate", _("a vehicle with this plate is already registered"))
    vehicle = Vehicle.objects.create(
        zone_id=org.zone_id, organization=org, plate=plate, vehicle_type=vehicle_type, capacity_kg=capacity_kg
    )
    vehicle.permits.set(permits)
    audit.record(actor, "vehicle.add", vehicle, audit.diff({}, _vehicle_snapshot(vehicle)))
    return vehicle


@transaction.atomic
def update_vehicle(actor: Actor, organization_id: int, vehicle_id: int, **changes: Any) -> Vehicle:
    vehicle = get_vehicle(actor, organization_id, vehicle_id, "assets.manage")
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    before = _vehicle_snapshot(vehicle)
    for field, value in changes.items():
        if field == "permit_ids":
            vehicle.permits.set(_permits(vehicle.organization, value))
        elif field == "vehicle_type":
            vehicle.vehicle_type = check_text(value, field, max_length=_max_length(Vehicle, field))
        elif field == "is_active":
            vehicle.is_active = bool(value)
        elif field == "capacity_kg":
            vehicle.capacity_kg = _capacity(value)
        else:
            raise Invalid.field(field, _("this field cannot be changed"))
    vehicle.save()
    changed = audit.diff(before, _vehicle_snapshot(vehicle))
    if changed:
        audit.record(actor, "vehicle.update", vehicle, changed)
    return vehicle


# --- API tokens ------------------------------------------------------------------------------------

TOKEN_PREFIX = "zw_"  # noqa: S105 - the public prefix of every token


def _hash_token(secret: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def list_tokens(actor: Actor, organization_id: int) -> QuerySet[ApiToken]:
    org = get_organization(actor, organization_id, "tokens.manage")
    return ApiToken.objects.filter(zone_id=org.zone_id, organization=org).order_by("-created_at", "-pk")


def get_token(actor: Actor, organization_id: int, token_id: int) -> ApiToken:
    org = get_organization(actor, organization_id, "tokens.manage")
    token = ApiToken.objects.filter(organization=org, pk=token_id).first()
    if token is None:
        raise NotFound(_("token %(id)s not found") % {"id": token_id})
    return token


@transaction.atomic
def create_token(
    actor: Actor, organization_id: int, *, name: str, scopes: list[str], expires_at: datetime | None = None
) -> IssuedToken:
    org = get_organization(actor, organization_id, "tokens.manage")
    name = check_text(name, "name", max_length=_max_length(ApiToken, "name"), required=True)
    unknown = [s for s in scopes if s not in rules.TOKEN_SCOPES]
    if not scopes or unknown:
        raise Invalid.field(
            "scopes", _("choose one or more of: %(scopes)s") % {"scopes": ", ".join(rules.TOKEN_SCOPES)}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid.field("expires_at", _("must be in the future"))
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        zone_id=org.zone_id,
        organization=org,
        name=name,
        prefix=prefix,
        token_hash=_hash_token(secret),
        scopes=sorted(set(scopes)),
        created_by=actor.user,
        expires_at=expires_at,
    )
    audit.record(actor, "token.create", token, {"name": [None, token.name], "scopes": [None, token.scopes]})
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def revoke_token(actor: Actor, organization_id: int, token_id: int) -> ApiToken:
    token = get_token(actor, organization_id, token_id)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor, "token.revoke", token, {"revoked_at": [None, token.revoked_at]})
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The live token for this secret, with its last use recorded (at most once a minute)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.filter(token_hash=_hash_token(secret), revoked_at__isnull=True)
        .select_related("organization")
        .first()
    )
    if token is None or not token.organization.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Login throttling ------------------------------------------------------------------------------


LOGIN_LOCK_MAX = timedelta(hours=24)


def login_lock_remaining(username: str, ip: str) -> timedelta | None:
    """How long logins of `username` from address `ip` are still refused, or None.

    Failures count per account AND source address (ADR 0041): someone guessing from elsewhere
    locks only their own address out, never the owner. The LOGIN_FAILURE_LIMIT-th failure locks for
    the window (15 minutes); each further failure after a lock doubles it, up to a day. An address
    spraying many accounts is locked out by itself.
    """
    now = timezone.now()
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    limit = settings.LOGIN_FAILURE_LIMIT
    mine = LoginFailure.objects.filter(
        username=username.lower()[:150], ip=ip[:64], at__gte=now - LOGIN_LOCK_MAX
    )
    failures = mine.count()
    if failures >= limit:
        last = mine.order_by("-at").values_list("at", flat=True).first()
        lock = min(window * 2 ** (failures - limit), LOGIN_LOCK_MAX)
        if last is not None and last + lock > now:
            return last + lock - now
    if ip:
        # A shared office NAT may try a few accounts, but not spray many.
        spray = LoginFailure.objects.filter(ip=ip[:64], at__gte=now - window)
        if spray.count() >= limit * 4:
            last = spray.order_by("-at").values_list("at", flat=True).first()
            if last is not None:
                return last + window - now
    return None


def login_locked(username: str, ip: str) -> bool:
    return login_lock_remaining(username, ip) is not None


def record_login_failure(username: str, ip: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip=ip[:64])
    LoginFailure.objects.filter(at__lt=timezone.now() - LOGIN_LOCK_MAX).delete()


def clear_login_failures(username: str, ip: str) -> None:
    """After a successful login from `ip`: failures from other addresses keep counting there."""
    LoginFailure.objects.filter(username=username.lower()[:150], ip=ip[:64]).delete()


# --- Zones -----------------------------------------------------------------------------------------


def zone_by_code(code: str) -> Zone:
    zone = Zone.objects.filter(code=code).first()
    if zone is None:
        raise NotFound(_("zone %(code)s not found") % {"code": code})
    return zone
