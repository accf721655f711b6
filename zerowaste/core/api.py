"""HTTP API of the platform core: organizations, members, licences, sites, vehicles, tokens, audit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of

from . import audit, imports, services
from .authz import require
from .models import ApiToken, AuditEntry, Licence, Membership, Organization, Site, Vehicle

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
    name: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)
    area_id: int | None = None
    address: str | None = Field(None, max_length=300)
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=40)
    industry: str | None = Field(None, max_length=40)
    roles: list[str] | None = None


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


class MembershipIn(Schema):
    username: str = Field(..., max_length=150)
    role: str
    email: str = Field("", max_length=254)
    full_name: str = Field("", max_length=150)
    password: str | None = Field(None, max_length=128)
    jurisdiction_id: int | None = None


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


class AuditVerifyOut(Schema):
    ok: bool
    entries_checked: int
    first_fault: str | None


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
)
def update_organization(request: HttpRequest, organization_id: int, data: OrganizationPatch) -> Organization:
    return services.update_organization(actor_of(request), organization_id, **_set(data))


@router.get(
    "/organizations/{organization_id}/memberships", response={200: list[MembershipOut], 404: ErrorOut}
)
def list_memberships(request: HttpRequest, organization_id: int) -> Any:
    return services.list_memberships(actor_of(request), organization_id)


@router.post(
    "/organizations/{organization_id}/memberships",
    response={201: MembershipOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def add_member(request: HttpRequest, organization_id: int, data: MembershipIn) -> tuple[int, Membership]:
    return 201, services.add_member(actor_of(request), organization_id, **data.model_dump())


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
def create_token(request: HttpRequest, organization_id: int, data: TokenIn) -> tuple[int, dict[str, Any]]:
    issued = services.create_token(actor_of(request), organization_id, **data.model_dump())
    out = TokenOut.from_orm(issued.token).model_dump()
    out["secret"] = issued.secret
    return 201, out


@router.post(
    "/organizations/{organization_id}/tokens/{token_id}/revoke",
    response={200: TokenOut, 403: ErrorOut, 404: ErrorOut},
)
def revoke_token(request: HttpRequest, organization_id: int, token_id: int) -> ApiToken:
    return services.revoke_token(actor_of(request), organization_id, token_id)


@router.get("/audit", response={200: list[AuditEntryOut], 403: ErrorOut})
@paginate(Pagination)
def list_audit(request: HttpRequest, model: str | None = None, object_id: str | None = None) -> Any:
    actor = actor_of(request)
    require(actor, "zone.audit")
    qs = AuditEntry.objects.filter(zone_id=actor.zone_id).order_by("-seq")
    if model:
        qs = qs.filter(model=model)
    if object_id:
        qs = qs.filter(object_id=object_id)
    return qs


@router.get("/audit/verify", response={200: AuditVerifyOut, 403: ErrorOut})
def verify_audit(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    require(actor, "zone.audit")
    result = audit.verify(actor.zone_id)
    return {
        "ok": result.ok,
        "entries_checked": result.entries_checked,
        "first_fault": str(result.fault) if result.fault else None,
    }
