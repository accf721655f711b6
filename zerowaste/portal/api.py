"""HTTP API of the cockpit (regulators) and the public open-data aggregates.

Each cockpit figure has its own route and is the very dict the cockpit page draws: the handlers call
`portal.services`, which calls the owning apps' services.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from zerowaste.api import actor_of
from zerowaste.core import audit_checkpoints
from zerowaste.core.api import ErrorOut
from zerowaste.core.errors import Invalid, NotFound

from . import services

router = Router(tags=["portal"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class PortalPublicationIn(Schema):
    indicators: bool | None = None
    tonnages: bool | None = None
    exchange: bool | None = None
    company_figures: bool | None = None


class PortalPublicationOut(Schema):
    indicators: bool
    tonnages: bool
    exchange: bool
    company_figures: bool


def _period(year: int, month: int | None) -> tuple[int, int | None]:
    return services.period_args(year, month)


@router.get("/portal/cockpit", response={200: dict[str, Any], **ERRORS})
def cockpit(request: HttpRequest, year: int, month: int | None = None) -> Any:
    """Every figure of the cockpit for the period (regulators)."""
    y, m = _period(year, month)
    return services.cockpit(actor_of(request), year=y, month=m)


@router.get("/portal/cockpit/tonnages", response={200: dict[str, Any], **ERRORS})
def cockpit_tonnages(request: HttpRequest, year: int, month: int | None = None) -> Any:
    """Generated, utilized, disposed and stored tonnes by stream and category."""
    y, m = _period(year, month)
    return services.tonnages(actor_of(request), year=y, month=m)


@router.get("/portal/cockpit/flows", response={200: dict[str, Any], **ERRORS})
def cockpit_flows(
    request: HttpRequest, year: int, month: int | None = None, stream: str | None = None
) -> Any:
    """The material-flow graph (industries → categories → ways → receivers), balanced at every node."""
    y, m = _period(year, month)
    return services.flows(actor_of(request), year=y, month=m, stream=stream)


@router.get("/portal/cockpit/backlog", response={200: dict[str, Any], **ERRORS})
def cockpit_backlog(request: HttpRequest, year: int, month: int | None = None) -> Any:
    """Manifests issued vs closed, open, overdue, discrepancies."""
    y, m = _period(year, month)
    return services.backlog(actor_of(request), year=y, month=m)


@router.get("/portal/cockpit/indicators", response={200: dict[str, Any], **ERRORS})
def cockpit_indicators(request: HttpRequest, year: int) -> Any:
    """The indicator completion of the year, with the indicators not met."""
    y, _m = _period(year, None)
    return services.indicators(actor_of(request), year=y)


@router.get("/portal/cockpit/alerts", response={200: dict[str, Any], **ERRORS})
def cockpit_alerts(request: HttpRequest, year: int, month: int | None = None) -> Any:
    """Storage past its age limit, overdue manifest steps, producers with no accepted declaration."""
    y, m = _period(year, month)
    return services.alerts(actor_of(request), year=y, month=m)


@router.get("/portal/cockpit/intensity", response={200: dict[str, Any], **ERRORS})
def cockpit_intensity(request: HttpRequest, year: int) -> Any:
    """The producers of highest generation intensity (t per 10k CNY value added)."""
    y, _m = _period(year, None)
    return services.intensity(actor_of(request), year=y)


@router.get("/portal/cockpit/drill", response={200: dict[str, Any], **ERRORS})
def cockpit_drill(
    request: HttpRequest,
    chart: str,
    year: int,
    key: str = "",
    month: int | None = None,
) -> Any:
    """The rows behind one element of a chart."""
    y, m = _period(year, month)
    data = services.drill(actor_of(request), chart, key, year=y, month=m)
    return {**data, "headers": [k for k, _label in data["headers"]]}


@router.get("/portal/cockpit/export", response={200: None, **ERRORS})
def cockpit_export(
    request: HttpRequest,
    chart: str,
    year: int,
    month: int | None = None,
    format: str = "csv",
) -> HttpResponse:
    """One chart's numbers as CSV or Excel."""
    y, m = _period(year, month)
    content, content_type, name = services.export(actor_of(request), chart, year=y, month=m, fmt=format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/portal/publication", response={200: PortalPublicationOut, **ERRORS})
def get_publication(request: HttpRequest) -> Any:
    """Which aggregates the zone's public page shows."""
    actor = actor_of(request)
    services.require_regulator(actor)
    return services.publication(services.zone_of(actor))


@router.put("/portal/publication", response={200: PortalPublicationOut, **ERRORS})
def put_publication(request: HttpRequest, payload: PortalPublicationIn) -> Any:
    """Change which aggregates the zone publishes (a regulator's administrator; audited)."""
    return services.set_publication(actor_of(request), **payload.dict())


@router.get("/portal/public", response={200: dict[str, Any], 404: ErrorOut, 422: ErrorOut}, auth=None)
def public(
    request: HttpRequest,
    zone: str | None = None,
    year: int | None = None,
) -> Any:
    """The zone's published aggregates (no login): indicators, yearly tonnages by stream, exchange board."""
    found = services.public_zone((zone or "")[:32] or None)
    if found is None:
        raise NotFound(_("no such zone"))
    y = services.period_args(year)[0] if year is not None else None
    return services.public_data(found, year=y)


@router.get(
    "/portal/public/audit-checkpoints",
    response={200: dict[str, Any], 404: ErrorOut, 422: ErrorOut},
    auth=None,
)
def public_audit_checkpoints(request: HttpRequest, zone: str | None = None, limit: int = 14) -> Any:
    """The zone's latest signed audit checkpoints and the public keys that verify them (no login).

    Each checkpoint's `signature` (base64 Ed25519) is over the UTF-8 bytes of its `payload`."""
    found = services.public_zone((zone or "")[:32] or None)
    if found is None:
        raise NotFound(_("no such zone"))
    if not 1 <= limit <= 366:
        raise Invalid.field("limit", _("between 1 and 366"))
    return audit_checkpoints.published(found.pk, limit=limit)
