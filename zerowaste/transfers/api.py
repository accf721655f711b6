"""HTTP API of transfers: registers, manifests, the signing steps, corrections, figures, webhooks.

Each handler parses, makes one service call and serializes. Every write accepts an `Idempotency-Key`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of
from zerowaste.core.api import ErrorOut

from . import pdf, rules, services, webhooks
from .models import RevisionRequest, Transfer, TransferVersion, WebhookSubscription

router = Router(tags=["transfers"])


# --- Schemas ---------------------------------------------------------------------------------------


class LineIn(Schema):
    waste_code: str = Field(..., max_length=40, description="catalog code: hw `900-041-49`, isw `99-01-01`")
    estimated_t: Decimal = Field(..., description="tonnes, > 0, at most 3 decimals")
    description: str = Field("", max_length=300)
    physical_form: str = Field("", max_length=40)
    packaging: str = Field("", max_length=60)
    package_count: int = Field(0, ge=0, le=1_000_000)
    treatment: str = Field("", max_length=100)
    highly_toxic: bool = False


class TransferIn(Schema):
    stream: str = Field(..., description="isw or hw")
    consignee_id: int = Field(..., ge=1, le=2**62)
    carrier_id: int = Field(..., ge=1, le=2**62)
    lines: list[LineIn]
    planned_date: date | None = None
    storage_id: int | None = Field(None, ge=1, le=2**62)
    consignor_site_id: int | None = Field(None, ge=1, le=2**62)
    consignee_site_id: int | None = Field(None, ge=1, le=2**62)
    treatment: str = Field("", max_length=100)
    emergency_measures: str = Field("", max_length=2000)
    issue: bool = Field(False, description="issue at once")


class TransferPatch(Schema):
    consignee_id: int | None = Field(None, ge=1, le=2**62)
    carrier_id: int | None = Field(None, ge=1, le=2**62)
    storage_id: int | None = Field(None, ge=1, le=2**62)
    planned_date: date | None = None
    treatment: str | None = Field(None, max_length=100)
    emergency_measures: str | None = Field(None, max_length=2000)
    lines: list[LineIn] | None = None


class ReceivedLineIn(Schema):
    position: int = Field(..., ge=1, le=50)
    received_t: Decimal


class StepIn(Schema):
    """The fields a step may carry; each step reads the ones it needs."""

    at: datetime | None = Field(None, description="signature time (default now); not before the previous one")
    vehicle_id: int | None = Field(None, ge=1, le=2**62)
    driver: str = Field("", max_length=100)
    quantity_seen_t: Decimal | None = None
    next_carrier_id: int | None = Field(None, ge=1, le=2**62)
    received_t: Decimal | None = None
    lines: list[ReceivedLineIn] | None = None
    refused_t: Decimal | None = None
    reason: str = Field("", max_length=2000)
    discrepancy_note: str = Field("", max_length=2000)
    treatment: str = Field("", max_length=100)
    consignee_id: int | None = Field(None, ge=1, le=2**62)
    carrier_id: int | None = Field(None, ge=1, le=2**62)
    consignor_code: str = Field(
        "",
        max_length=32,
        description="pick-up only: the producer's signature code, to collect the producer's signature "
        "on the driver's device (a draft is issued in the producer's name first)",
    )


class SignatureCodeOut(Schema):
    exists: bool
    rotated_at: datetime | None
    rotated_by: str
    locked_until: datetime | None


class SignatureCodeCreatedOut(Schema):
    code: str = Field(..., description="shown once; only a digest is kept")


class LineOut(Schema):
    position: int
    waste_code: str
    category: str
    description: str
    hazard: str
    physical_form: str
    packaging: str
    package_count: int
    estimated_t: Decimal
    received_t: Decimal | None
    treatment: str


class LegOut(Schema):
    seq: int
    carrier_id: int
    vehicle_plate: str
    driver: str
    quantity_seen_t: Decimal | None
    picked_up_at: datetime | None
    handed_over_at: datetime | None


class SignatureOut(Schema):
    action: str
    party: str
    organization_id: int | None
    username: str
    at: datetime
    quantity_t: Decimal | None
    note: str


class TransferOut(Schema):
    id: int
    number: str | None
    stream: str
    state: str
    version: int
    consignor_id: int
    consignor: str = Field(..., alias="consignor.name")
    consignee_id: int
    consignee: str = Field(..., alias="consignee.name")
    carrier_id: int
    current_carrier_id: int
    storage_id: int | None
    parent_id: int | None
    planned_date: date
    estimated_t: Decimal
    received_t: Decimal | None
    refused_t: Decimal
    refusal_reason: str
    discrepancy: bool
    discrepancy_note: str
    inter_provincial: bool
    treatment: str
    revision_pending: bool
    due_date: date | None
    due_step: str
    overdue: bool
    issued_at: datetime | None
    picked_up_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_overdue(obj: Transfer) -> bool:
        return services.is_overdue(obj)


class TransferDetailOut(TransferOut):
    lines: list[LineOut]
    legs: list[LegOut]
    signatures: list[SignatureOut]
    next_actions: list[str]

    @staticmethod
    def resolve_lines(obj: Transfer) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_legs(obj: Transfer) -> list[Any]:
        return list(obj.legs.all())

    @staticmethod
    def resolve_signatures(obj: Transfer) -> list[Any]:
        return list(obj.signatures.all())

    @staticmethod
    def resolve_next_actions(obj: Transfer) -> list[str]:
        return [t.action for t in rules.actions_from(obj.state)]


class RevisionIn(Schema):
    changes: dict[str, Any] = Field(
        ...,
        description="treatment, discrepancy_note, emergency_measures, received_t, "
        "estimated_t, waste_code, description, cancel",
    )
    reason: str = Field(..., max_length=2000)


class RevisionOut(Schema):
    id: int
    transfer_id: int
    requested_by_id: int
    reason: str
    proposed: dict[str, Any]
    initial: dict[str, Any]
    required: list[int]
    approvals: list[int]
    status: str
    created_at: datetime
    decided_at: datetime | None


class VersionOut(Schema):
    version: int
    data: dict[str, Any]
    reason: str
    created_at: datetime


class AlertOut(Schema):
    id: int
    number: str | None
    stream: str
    state: str
    step: str
    due_date: date
    working_days_overdue: int
    consignor: str
    consignee: str


class WebhookIn(Schema):
    url: str = Field(..., max_length=500)


class WebhookPatch(Schema):
    url: str | None = Field(None, max_length=500)
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    url: str
    active: bool
    failure_count: int
    last_error: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        ..., description="shown once: verify `X-Zerowaste-Signature: sha256=HMAC(secret, body)`"
    )


class ImportOut(Schema):
    created: int
    ids: list[int]


# --- Registers and manifests -----------------------------------------------------------------------


def _detail(request: HttpRequest, transfer_id: int) -> Transfer:
    return services.get_transfer(actor_of(request), transfer_id)


@router.get("/transfers", response={200: list[TransferOut], 422: ErrorOut})
@paginate(Pagination)
def list_transfers(
    request: HttpRequest,
    kind: str = "all",
    stream: str | None = None,
    state: str | None = None,
    year: int | None = None,
    overdue: bool = False,
    q: str | None = None,
) -> Any:
    return services.register(
        actor_of(request), kind=kind, stream=stream, state=state, year=year, overdue=overdue, query=q
    )


@router.post(
    "/transfers",
    response={201: TransferDetailOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def create_transfer(request: HttpRequest, data: TransferIn) -> tuple[int, Transfer]:
    payload = data.dict()
    issue = payload.pop("issue")
    t = services.create_transfer(actor_of(request), data=payload, issue=issue)
    return 201, _detail(request, t.pk)


@router.post("/transfers/import", response={201: ImportOut, 403: ErrorOut, 422: ErrorOut})
def import_transfers(
    request: HttpRequest, file: File[UploadedFile], issue: bool = False
) -> tuple[int, dict[str, Any]]:
    created = services.import_drafts(
        actor_of(request), content=file.read(), filename=file.name or "upload.xlsx", issue=issue
    )
    return 201, {"created": len(created), "ids": [t.pk for t in created]}


@router.get("/transfers/signature-code", response={200: SignatureCodeOut})
def signature_code(request: HttpRequest) -> Any:
    """Whether the organization has a producer's signature code, and when it was last rotated."""
    return services.signature_code_status(actor_of(request))


@router.post("/transfers/signature-code", response={201: SignatureCodeCreatedOut, 403: ErrorOut})
def rotate_signature_code(request: HttpRequest) -> tuple[int, dict[str, str]]:
    """A new signature code (admin only); the previous one stops working. The code is shown once."""
    return 201, {"code": services.rotate_signature_code(actor_of(request))}


@router.get("/transfers/overdue", response={200: list[AlertOut], 422: ErrorOut})
def overdue(request: HttpRequest, stream: str | None = None) -> Any:
    return services.overdue_alerts(actor_of(request), stream=stream)


@router.get("/transfers/statistics", response={200: dict[str, Any], 422: ErrorOut})
def statistics(request: HttpRequest, year: int | None = None, stream: str | None = None) -> Any:
    if year is not None and not 1900 <= year <= 2200:
        from zerowaste.core.errors import Invalid

        raise Invalid.field("year", "out of range")
    return services.statistics(actor_of(request), year=year, stream=stream)


@router.get("/transfers/export", response={200: None, 422: ErrorOut})
def export(
    request: HttpRequest,
    format: str = "xlsx",
    kind: str = "all",
    stream: str | None = None,
    state: str | None = None,
    year: int | None = None,
    overdue: bool = False,
) -> HttpResponse:
    content, content_type, ext = services.export(
        actor_of(request), fmt=format, kind=kind, stream=stream, state=state, year=year, overdue=overdue
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="transfers-{kind}.{ext}"'
    return response


# --- Webhooks --------------------------------------------------------------------------------------
# Declared before `/transfers/{transfer_id}`: Django tries the patterns in order, and that one would
# take `webhooks` for a transfer id (GET 422, POST 405).


@router.get("/transfers/webhooks", response={200: list[WebhookOut]})
def list_webhooks(request: HttpRequest) -> Any:
    return list(webhooks.subscriptions(actor_of(request)))


@router.post("/transfers/webhooks", response={201: WebhookCreatedOut, 403: ErrorOut, 422: ErrorOut})
def subscribe(request: HttpRequest, data: WebhookIn) -> tuple[int, WebhookSubscription]:
    return 201, webhooks.subscribe(actor_of(request), url=data.url)


@router.patch(
    "/transfers/webhooks/{subscription_id}",
    response={200: WebhookOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def update_webhook(request: HttpRequest, subscription_id: int, data: WebhookPatch) -> WebhookSubscription:
    return webhooks.update_subscription(actor_of(request), subscription_id, **data.dict(exclude_unset=True))


@router.get("/transfers/by-number/{number}", response={200: TransferDetailOut, 404: ErrorOut})
def by_number(request: HttpRequest, number: str) -> Transfer:
    return services.get_by_number(actor_of(request), number)


@router.get("/transfers/{transfer_id}", response={200: TransferDetailOut, 404: ErrorOut})
def get_transfer(request: HttpRequest, transfer_id: int) -> Transfer:
    return _detail(request, transfer_id)


@router.patch(
    "/transfers/{transfer_id}",
    response={200: TransferDetailOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def update_draft(request: HttpRequest, transfer_id: int, data: TransferPatch) -> Transfer:
    changes = data.dict(exclude_unset=True)
    services.update_draft(actor_of(request), transfer_id, data=changes)
    return _detail(request, transfer_id)


@router.post(
    "/transfers/{transfer_id}/copy",
    response={201: TransferDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def copy_transfer(request: HttpRequest, transfer_id: int) -> tuple[int, Transfer]:
    t = services.copy_transfer(actor_of(request), transfer_id)
    return 201, _detail(request, t.pk)


@router.get("/transfers/{transfer_id}/history", response={200: list[VersionOut], 404: ErrorOut})
def history(request: HttpRequest, transfer_id: int) -> list[TransferVersion]:
    return services.history(actor_of(request), transfer_id)


@router.get("/transfers/{transfer_id}/pdf", response={200: None, 404: ErrorOut})
def manifest_pdf(request: HttpRequest, transfer_id: int) -> HttpResponse:
    t = _detail(request, transfer_id)
    response = HttpResponse(pdf.render(t, request.build_absolute_uri("/")), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="manifest-{t.number or t.pk}.pdf"'
    return response


STEP_ROUTES = {
    "issue": "issue",
    "discard": "discard",
    "cancel": "cancel",
    "pick-up": "pick_up",
    "hand-over": "hand_over",
    "deliver": "deliver",
    "weigh": "weigh",
    "accept": "accept",
    "accept-part": "accept_part",
    "refuse": "refuse",
    "redirect-rest": "redirect_rest",
    "acknowledge": "acknowledge",
}


def _step_handler(action: str) -> Any:
    def handler(request: HttpRequest, transfer_id: int, data: StepIn) -> Any:
        payload = data.dict(exclude_unset=True)
        if "lines" in payload and payload["lines"] is not None:
            payload["lines"] = [dict(line) for line in payload["lines"]]
        result = services.perform(actor_of(request), transfer_id, action, **payload)
        return _detail(request, result.pk)

    handler.__name__ = f"step_{action}"
    handler.__doc__ = f"{rules.ACTION_LABELS[action]} ({action}). " + "; ".join(
        f"{t.source} → {t.target} by the {t.party}" for t in rules.TRANSITION_LIST if t.action == action
    )
    return handler


for _path, _action in STEP_ROUTES.items():
    router.post(
        f"/transfers/{{transfer_id}}/{_path}",
        response={200: TransferDetailOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
        operation_id=f"transfers_step_{_action}",
    )(_step_handler(_action))


# --- Corrections -----------------------------------------------------------------------------------


@router.post(
    "/transfers/{transfer_id}/revisions",
    response={201: RevisionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def request_revision(request: HttpRequest, transfer_id: int, data: RevisionIn) -> tuple[int, RevisionRequest]:
    return 201, services.request_revision(
        actor_of(request), transfer_id, changes=data.changes, reason=data.reason
    )


@router.get("/transfers/revisions/{request_id}", response={200: RevisionOut, 404: ErrorOut})
def get_revision(request: HttpRequest, request_id: int) -> RevisionRequest:
    return services.get_revision(actor_of(request), request_id)


@router.post(
    "/transfers/revisions/{request_id}/approve",
    response={200: RevisionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def approve_revision(request: HttpRequest, request_id: int) -> RevisionRequest:
    return services.decide_revision(actor_of(request), request_id, approve=True)


@router.post(
    "/transfers/revisions/{request_id}/reject",
    response={200: RevisionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def reject_revision(request: HttpRequest, request_id: int) -> RevisionRequest:
    return services.decide_revision(actor_of(request), request_id, approve=False)
