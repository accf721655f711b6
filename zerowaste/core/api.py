"""HTTP API of the platform core: organizations, members, licences, sites, vehicles, tokens, audit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.security import SessionAuth
from pydantic import ConfigDict

from zerowaste.api import Pagination, TokenAuth, actor_of, resolved_annotations

from . import audit, audit_display, imports, invitations, licences, services
from .authz import Actor, require
from .errors import Forbidden, NotFound
from .models import (
    ApiToken,
    Invitation,
    Licence,
    Membership,
    Organization,
    Site,
    User,
    Vehicle,
)

router = Router(tags=["core"])


# --- Schemas ---------------------------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str
    errors: list[dict[str, Any]] = []


class OrganizationOut(Schema):
    id: int
    uscc: str
    name: str
    name_en: str
    roles: list[str]
    area_id: int | None
    address: str
    contact_name: str
    contact_phone: str
    industry: str
    is_active: bool

    @staticmethod
    def resolve_roles(obj: Organization) -> list[str]:
        return obj.role_codes


class OrganizationIn(Schema):
    uscc: str = Field(
        ..., max_length=18, description="统一社会信用代码, 18 characters, check digit validated"
    )
    name: str = Field(..., max_length=200)
    roles: list[str] = Field(
        ..., description="regulator, producer, carrier, receiver, park_operator, property, construction"
    )
    name_en: str = Field("", max_length=200)
    area_id: int | None = None
    address: str = Field("", max_length=300)
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=40)
    industry: str = Field("", max_length=40)


class OrganizationPatch(Schema):
    """Who may change which field is a rule (ADR 0041): the organization's admin changes name_en,
    address, contact_name, contact_phone and industry; a regulator of its jurisdiction changes uscc,
    name, area_id, roles and is_active. Another field answers 403 naming it; an unknown one 422."""

    model_config = ConfigDict(extra="forbid")

    uscc: str | None = Field(None, max_length=18, description="regulator only")
    name: str | None = Field(None, max_length=200, description="registered name; regulator only")
    name_en: str | None = Field(None, max_length=200)
    area_id: int | None = Field(None, description="street or park; regulator only")
    address: str | None = Field(None, max_length=300)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=40)
    industry: str | None = Field(None, max_length=40)
    roles: list[str] | None = Field(None, description="regulator only")
    is_active: bool | None = Field(None, description="regulator only")


class MeOut(Schema):
    username: str
    zone_id: int
    organization: OrganizationOut | None
    member_role: str
    is_regulator: bool
    token_scopes: list[str] | None


class MembershipOut(Schema):
    id: int
    username: str = Field(..., alias="user.username")
    full_name: str = Field(..., alias="user.first_name")
    email: str = Field(..., alias="user.email")
    role: str
    jurisdiction_id: int | None
    is_active: bool


class InvitationIn(Schema):
    username: str = Field("", max_length=150, description="an existing account's username, or")
    email: str = Field("", max_length=254, description="the person's email (they may have no account)")
    role: str
    jurisdiction_id: int | None = None


class InvitationOut(Schema):
    """What the inviter typed and where the invitation stands; nothing about any account."""

    id: int
    username: str
    email: str
    role: str
    jurisdiction_id: int | None
    status: str
    created_at: datetime
    expires_at: datetime

    @staticmethod
    def resolve_status(obj: Invitation) -> str:
        return invitations.status(obj)


class InvitationCreatedOut(InvitationOut):
    accept_url: str = Field(
        ..., description="One-time link for the person (no mail is sent: pass it on). Shown once."
    )


class MyInvitationOut(Schema):
    id: int
    organization_id: int
    organization_name: str = Field(..., alias="organization.name")
    role: str
    created_at: datetime
    expires_at: datetime


class JoinedOut(Schema):
    organization_id: int
    organization_name: str = Field(..., alias="organization.name")
    role: str


class MembershipPatch(Schema):
    role: str | None = None
    is_active: bool | None = None


class LicenceOut(Schema):
    id: int
    kind: str
    number: str
    issuer: str
    valid_from: date
    valid_to: date
    waste_codes: list[str]
    annual_capacity_t: Decimal | None
    is_revoked: bool
    status: str = Field(
        ..., description="pending (awaiting a regulator), verified (qualifies) or rejected (see the reason)"
    )
    rejection_reason: str
    reviewed_by: str = Field(..., description="who verified or rejected it")
    reviewed_by_organization_id: int | None
    reviewed_at: datetime | None
    scan_url: str | None = Field(None, description="the newest certificate scan (PDF, PNG or JPEG)")

    scan_id: int | None = Field(None, description="the newest certificate scan's id (pass it to verify)")

    @staticmethod
    def resolve_scan_id(obj: Licence) -> int | None:
        if not hasattr(obj, "scan_id"):
            obj.scan_id = obj.scans.order_by("-created_at", "-pk").values_list("pk", flat=True).first()  # type: ignore[attr-defined]
        return obj.scan_id  # type: ignore[attr-defined, no-any-return]

    @staticmethod
    def resolve_scan_url(obj: Licence) -> str | None:
        if LicenceOut.resolve_scan_id(obj) is None:
            return None
        return f"/api/organizations/{obj.organization_id}/licences/{obj.pk}/scan"


class PendingLicenceOut(LicenceOut):
    organization_id: int
    organization_name: str = Field(..., alias="organization.name")
    organization_uscc: str = Field(..., alias="organization.uscc")


class LicenceRejectIn(Schema):
    reason: str = Field(..., max_length=500, description="why, for the organization to correct it")


class LicenceIn(Schema):
    kind: str
    number: str = Field(..., max_length=64)
    issuer: str = Field(..., max_length=200)
    valid_from: date
    valid_to: date
    waste_codes: list[str] = []
    annual_capacity_t: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=3)


class LicencePatch(Schema):
    issuer: str | None = Field(None, max_length=200)
    valid_from: date | None = None
    valid_to: date | None = None
    waste_codes: list[str] | None = None
    annual_capacity_t: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=3)
    is_revoked: bool | None = None


class SiteOut(Schema):
    id: int
    name: str
    kind: str
    address: str
    latitude: Decimal | None
    longitude: Decimal | None
    area_id: int | None
    is_active: bool


class SiteIn(Schema):
    name: str = Field(..., max_length=200)
    kind: str
    address: str = Field("", max_length=300)
    latitude: Decimal | None = Field(None, ge=-90, le=90)
    longitude: Decimal | None = Field(None, ge=-180, le=180)
    area_id: int | None = None


class SitePatch(Schema):
    name: str | None = Field(None, max_length=200)
    kind: str | None = None
    address: str | None = Field(None, max_length=300)
    latitude: Decimal | None = Field(None, ge=-90, le=90)
    longitude: Decimal | None = Field(None, ge=-180, le=180)
    area_id: int | None = None
    is_active: bool | None = None


class VehicleOut(Schema):
    id: int
    plate: str
    vehicle_type: str
    capacity_kg: int | None
    permit_ids: list[int]
    is_active: bool

    @staticmethod
    def resolve_permit_ids(obj: Vehicle) -> list[int]:
        return sorted(p.pk for p in obj.permits.all())


class VehicleIn(Schema):
    plate: str = Field(..., max_length=16)
    vehicle_type: str = Field("", max_length=40)
    capacity_kg: int | None = Field(None, ge=0, le=2_000_000_000)
    permit_ids: list[int] = []


class VehiclePatch(Schema):
    vehicle_type: str | None = Field(None, max_length=40)
    capacity_kg: int | None = Field(None, ge=0, le=2_000_000_000)
    permit_ids: list[int] | None = None
    is_active: bool | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(Schema):
    name: str = Field(..., max_length=100)
    scopes: list[str]
    expires_at: datetime | None = None


class TokenCreatedOut(TokenOut):
    secret: str = Field(..., description="Shown once; store it now.")


class OrganizationImportOut(Schema):
    created: int
    organization_ids: list[int]


class OrganizationImportStatusOut(Schema):
    task_id: str
    status: str
    rows: int
    created: int | None = None
    organization_ids: list[int] = []
    errors: list[str] = []


class AuditFiltersIn(Schema):
    user: str | None = Field(None, description="the username that acted")
    organization_id: int | None = Field(None, description="entries made by, or about, this organization")
    action: str | None = Field(None, description="an action code such as `transfer.accept`")
    model: str | None = Field(None, description="a record type such as `transfers.transfer`")
    object_id: str | None = Field(None, description="the record's id (with `model`)")
    # Text, checked by the filter form: a bad day is a 422 naming the field like every other fault.
    date_from: str | None = Field(None, description="from this day, YYYY-MM-DD (Asia/Shanghai), inclusive")
    date_to: str | None = Field(None, description="to this day, YYYY-MM-DD (Asia/Shanghai), inclusive")


class AuditChangeOut(Schema):
    field: str
    label: str = Field(..., description="the field's name in the request's language")
    old: str | None = Field(None, description="the value before (absent when the entry stores one value)")
    value: str = Field(..., description="the value after, or the value stored, formatted")


class AuditEntryOut(Schema):
    id: int
    seq: int
    at: datetime
    actor_username: str
    actor_org_id: int | None
    via: str
    action: str
    model: str
    object_id: str
    changes: dict[str, Any]
    request_id: str
    hash: str
    action_label: str = Field(..., description="the action in the request's language")
    record_type_label: str
    record_label: str = Field(..., description="record type and a readable identifier (number, name)")
    actor_organization: str
    via_label: str
    at_local: str = Field(..., description="the time in Asia/Shanghai")
    changes_readable: list[AuditChangeOut]


class AuditCheckpointRef(Schema):
    zone_id: int
    seq: int
    at: str = Field(..., description="when it was signed (UTC)")
    source: str = Field(..., description="the day file it was read from, or `database`")


class AuditVerifyOut(Schema):
    ok: bool
    entries_checked: int
    first_fault: str | None = Field(None, description="the first broken entry or contradicted checkpoint")
    checkpoints_checked: int = Field(..., description="signed checkpoints the chain was checked against")
    latest_checkpoint: AuditCheckpointRef | None


def _set(data: Schema) -> dict[str, Any]:
    return data.model_dump(exclude_unset=True)


# --- Routes ----------------------------------------------------------------------------------------


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    return {
        "username": actor.username,
        "zone_id": actor.zone_id,
        "organization": actor.organization,
        "member_role": actor.member_role,
        "is_regulator": actor.is_regulator,
        "token_scopes": sorted(actor.token_scopes) if actor.token_scopes is not None else None,
    }


@router.get("/organizations", response=list[OrganizationOut])
@paginate(Pagination)
def list_organizations(request: HttpRequest, role: str | None = None, q: str | None = None) -> Any:
    return services.list_organizations(actor_of(request), role=role, query=q)


@router.post("/organizations", response={201: OrganizationOut, 422: ErrorOut, 403: ErrorOut})
def register_organization(request: HttpRequest, data: OrganizationIn) -> tuple[int, Organization]:
    return 201, services.register_organization(actor_of(request), **data.model_dump())


@router.post(
    "/organizations/import",
    response={201: OrganizationImportOut, 202: OrganizationImportStatusOut, 422: ErrorOut, 403: ErrorOut},
)
def import_organizations(request: HttpRequest, file: File[UploadedFile]) -> tuple[int, dict[str, Any]]:
    """Every row is checked first (422 with every fault); a large file is then written in the
    background (202: poll `/organizations/imports/{task_id}`), a small one at once (201)."""
    actor = actor_of(request)
    require(actor, "zone.register_org")
    started = imports.start_organization_import(actor, file.read(), filename=file.name or "upload.xlsx")
    if started.task_id is not None:
        return 202, imports.organization_import_status_or_queued(actor, started)
    return 201, {"created": len(started.created), "organization_ids": [o.pk for o in started.created]}


@router.get(
    "/organizations/imports/{task_id}",
    response={200: OrganizationImportStatusOut, 403: ErrorOut, 404: ErrorOut},
)
def organization_import_status(request: HttpRequest, task_id: str) -> dict[str, Any]:
    """The state of a background organization import: READY, RUNNING, SUCCESSFUL or FAILED."""
    return imports.organization_import_status(actor_of(request), task_id)


@router.get("/organizations/{organization_id}", response={200: OrganizationOut, 404: ErrorOut})
def get_organization(request: HttpRequest, organization_id: int) -> Organization:
    return services.get_organization(actor_of(request), organization_id)


@router.patch(
    "/organizations/{organization_id}",
    response={200: OrganizationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    description="A field the caller may not change answers 403 naming it (see OrganizationPatch).",
)
def update_organization(request: HttpRequest, organization_id: int, data: OrganizationPatch) -> Organization:
    return services.update_organization(actor_of(request), organization_id, **_set(data))


@router.get(
    "/organizations/{organization_id}/memberships", response={200: list[MembershipOut], 404: ErrorOut}
)
def list_memberships(request: HttpRequest, organization_id: int) -> Any:
    return services.list_memberships(actor_of(request), organization_id)


@router.get(
    "/organizations/{organization_id}/invitations",
    response={200: list[InvitationOut], 403: ErrorOut, 404: ErrorOut},
)
def list_invitations(request: HttpRequest, organization_id: int) -> Any:
    return invitations.list_invitations(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/invitations",
    response={201: InvitationCreatedOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    description=(
        "Invite a person by username or email; they become a member when they accept. The answer is "
        "the same whether or not an account exists. A regulator may invite the first admin of an "
        "organization of its jurisdiction that has no member."
    ),
)
def invite_member(
    request: HttpRequest, response: HttpResponse, organization_id: int, data: InvitationIn
) -> tuple[int, Invitation]:
    issued = invitations.invite(actor_of(request), organization_id, **data.model_dump())
    patch_cache_control(response, no_store=True, no_cache=True, private=True)  # the link is a secret
    invitation: Any = issued.invitation
    invitation.accept_url = request.build_absolute_uri(
        reverse("portal:invitation_link", args=[issued.link_token])
    )
    return 201, invitation


@router.post(
    "/organizations/{organization_id}/invitations/{invitation_id}/revoke",
    response={200: InvitationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def revoke_invitation(request: HttpRequest, organization_id: int, invitation_id: int) -> Invitation:
    return invitations.revoke(actor_of(request), organization_id, invitation_id)


class PersonSessionAuth(SessionAuth):
    """The logged-in person, even one who belongs to no organization yet (to answer invitations)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


PERSON_AUTH = [TokenAuth(), PersonSessionAuth()]


def _person(request: HttpRequest, *, row: int | None = None) -> User:
    """The person answering an invitation. An API token belongs to an organization, not a person."""
    if isinstance(request.auth, Actor):  # type: ignore[attr-defined]
        if row is not None:
            raise NotFound(_("invitation %(id)s not found") % {"id": row})
        raise Forbidden(_("invitations are answered by the person, logged in, not by an API token"))
    return request.user  # type: ignore[return-value]


@router.get("/me/invitations", response={200: list[MyInvitationOut], 403: ErrorOut}, auth=PERSON_AUTH)
def my_invitations(request: HttpRequest) -> Any:
    return invitations.pending_for(_person(request))


@router.post(
    "/me/invitations/{invitation_id}/accept",
    response={200: JoinedOut, 404: ErrorOut},
    auth=PERSON_AUTH,
)
def accept_invitation(request: HttpRequest, invitation_id: int) -> Membership:
    return invitations.accept(_person(request, row=invitation_id), invitation_id)


@router.post(
    "/me/invitations/{invitation_id}/decline",
    response={200: MyInvitationOut, 404: ErrorOut},
    auth=PERSON_AUTH,
)
def decline_invitation(request: HttpRequest, invitation_id: int) -> Invitation:
    return invitations.decline(_person(request, row=invitation_id), invitation_id)


@router.patch(
    "/organizations/{organization_id}/memberships/{membership_id}",
    response={200: MembershipOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def update_member(
    request: HttpRequest, organization_id: int, membership_id: int, data: MembershipPatch
) -> Membership:
    return services.update_member(actor_of(request), organization_id, membership_id, **_set(data))


@router.get("/organizations/{organization_id}/licences", response={200: list[LicenceOut], 404: ErrorOut})
def list_licences(request: HttpRequest, organization_id: int) -> Any:
    return services.list_licences(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/licences",
    response={201: LicenceOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def add_licence(request: HttpRequest, organization_id: int, data: LicenceIn) -> tuple[int, Licence]:
    return 201, services.add_licence(actor_of(request), organization_id, **data.model_dump())


@router.get(
    "/organizations/{organization_id}/licences/{licence_id}", response={200: LicenceOut, 404: ErrorOut}
)
def get_licence(request: HttpRequest, organization_id: int, licence_id: int) -> Licence:
    return services.get_licence(actor_of(request), organization_id, licence_id)


@router.patch(
    "/organizations/{organization_id}/licences/{licence_id}",
    response={200: LicenceOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def update_licence(
    request: HttpRequest, organization_id: int, licence_id: int, data: LicencePatch
) -> Licence:
    return services.update_licence(actor_of(request), organization_id, licence_id, **_set(data))


@router.get("/licences/pending", response={200: list[PendingLicenceOut], 403: ErrorOut})
@paginate(Pagination)
def pending_licences(request: HttpRequest) -> Any:
    """Licences awaiting verification in the regulator's jurisdiction, oldest first (regulators)."""
    return licences.pending_licences(actor_of(request))


@router.post(
    "/organizations/{organization_id}/licences/{licence_id}/verify",
    response={200: LicenceOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def verify_licence(
    request: HttpRequest,
    organization_id: int,
    licence_id: int,
    scan_id: int | None = Query(None, ge=1, le=2**62, description="the certificate scan looked at"),
) -> Licence:
    """A regulator verifies the licence (number, issuer, validity, scope) against its certificate scan.
    `?scan_id=` (optional): the scan looked at; 409 if the organization uploaded a newer one since."""
    return licences.verify_licence(actor_of(request), organization_id, licence_id, scan_id=scan_id)


@router.post(
    "/organizations/{organization_id}/licences/{licence_id}/reject",
    response={200: LicenceOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def reject_licence(
    request: HttpRequest, organization_id: int, licence_id: int, data: LicenceRejectIn
) -> Licence:
    """A regulator rejects the licence, with the reason the organization will see."""
    return licences.reject_licence(actor_of(request), organization_id, licence_id, reason=data.reason)


@router.post(
    "/organizations/{organization_id}/licences/{licence_id}/scan",
    response={201: LicenceOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def upload_licence_scan(
    request: HttpRequest, organization_id: int, licence_id: int, file: File[UploadedFile]
) -> Status:
    """Upload the certificate scan (PDF, PNG or JPEG, at most 10 MB). A verified or rejected licence
    goes back to pending verification."""
    actor = actor_of(request)
    licences.upload_scan(
        actor,
        organization_id,
        licence_id,
        content=licences.read_scan_upload(file),
        filename=file.name or "",
    )
    return Status(201, services.get_licence(actor, organization_id, licence_id))


@router.get(
    "/organizations/{organization_id}/licences/{licence_id}/scan", response={200: None, 404: ErrorOut}
)
def licence_scan(request: HttpRequest, organization_id: int, licence_id: int) -> HttpResponse:
    """The newest certificate scan (the organization and the regulators that see it)."""
    return licences.scan_response(licences.get_scan(actor_of(request), organization_id, licence_id))


@router.get("/organizations/{organization_id}/sites", response={200: list[SiteOut], 404: ErrorOut})
def list_sites(request: HttpRequest, organization_id: int) -> Any:
    return services.list_sites(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/sites",
    response={201: SiteOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def add_site(request: HttpRequest, organization_id: int, data: SiteIn) -> tuple[int, Site]:
    return 201, services.add_site(actor_of(request), organization_id, **data.model_dump())


@router.get("/organizations/{organization_id}/sites/{site_id}", response={200: SiteOut, 404: ErrorOut})
def get_site(request: HttpRequest, organization_id: int, site_id: int) -> Site:
    return services.get_site(actor_of(request), organization_id, site_id)


@router.patch(
    "/organizations/{organization_id}/sites/{site_id}",
    response={200: SiteOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def update_site(request: HttpRequest, organization_id: int, site_id: int, data: SitePatch) -> Site:
    return services.update_site(actor_of(request), organization_id, site_id, **_set(data))


@router.get("/organizations/{organization_id}/vehicles", response={200: list[VehicleOut], 404: ErrorOut})
def list_vehicles(request: HttpRequest, organization_id: int) -> Any:
    return services.list_vehicles(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/vehicles",
    response={201: VehicleOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def add_vehicle(request: HttpRequest, organization_id: int, data: VehicleIn) -> tuple[int, Vehicle]:
    return 201, services.add_vehicle(actor_of(request), organization_id, **data.model_dump())


@router.get(
    "/organizations/{organization_id}/vehicles/{vehicle_id}", response={200: VehicleOut, 404: ErrorOut}
)
def get_vehicle(request: HttpRequest, organization_id: int, vehicle_id: int) -> Vehicle:
    return services.get_vehicle(actor_of(request), organization_id, vehicle_id)


@router.patch(
    "/organizations/{organization_id}/vehicles/{vehicle_id}",
    response={200: VehicleOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def update_vehicle(
    request: HttpRequest, organization_id: int, vehicle_id: int, data: VehiclePatch
) -> Vehicle:
    return services.update_vehicle(actor_of(request), organization_id, vehicle_id, **_set(data))


@router.get(
    "/organizations/{organization_id}/tokens", response={200: list[TokenOut], 403: ErrorOut, 404: ErrorOut}
)
def list_tokens(request: HttpRequest, organization_id: int) -> Any:
    return services.list_tokens(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/tokens",
    response={201: TokenCreatedOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def create_token(
    request: HttpRequest, response: HttpResponse, organization_id: int, data: TokenIn
) -> tuple[int, dict[str, Any]]:
    issued = services.create_token(actor_of(request), organization_id, **data.model_dump())
    # The body carries the secret, shown once: no cache (client, proxy) may keep a copy.
    patch_cache_control(response, no_store=True, no_cache=True, private=True)
    out = TokenOut.from_orm(issued.token).model_dump()
    out["secret"] = issued.secret
    return 201, out


@router.post(
    "/organizations/{organization_id}/tokens/{token_id}/revoke",
    response={200: TokenOut, 403: ErrorOut, 404: ErrorOut},
)
def revoke_token(request: HttpRequest, organization_id: int, token_id: int) -> ApiToken:
    return services.revoke_token(actor_of(request), organization_id, token_id)


def _audit_filters(request: HttpRequest, filters: AuditFiltersIn) -> Any:
    actor = actor_of(request)
    require(actor, "zone.audit")
    data = filters.model_dump()
    data["organization"] = data.pop("organization_id")
    return audit_display.search(actor, audit_display.filter_form(actor, data))


@router.get("/audit", response={200: list[AuditEntryOut], 403: ErrorOut, 422: ErrorOut})
@paginate(Pagination)
@resolved_annotations
def list_audit(request: HttpRequest, filters: Query[AuditFiltersIn]) -> Any:
    """The audit log the caller may read, narrowed by the filters, newest first: each entry's raw
    fields and, beside them, its readable names and values in the request's language."""
    return audit_display.ReadablePage(_audit_filters(request, filters))


@router.get("/audit/export", response={200: None, 403: ErrorOut, 422: ErrorOut})
def export_audit(request: HttpRequest, filters: Query[AuditFiltersIn], format: str = "xlsx") -> HttpResponse:
    """The filtered audit log as Excel (`format=xlsx`) or CSV, readable like the page."""
    content, content_type, ext = audit_display.export(_audit_filters(request, filters), format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-log.{ext}"'
    return response


@router.get("/audit/verify", response={200: AuditVerifyOut, 403: ErrorOut})
def verify_audit(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    require(actor, "zone.audit")
    return audit.verify(actor.zone_id).as_dict()
