"""Pages of licence verification (ADR 0042): regulators' queue and review, an organization's scan upload.

Each view parses a form, makes one call to `core.licences`, and renders; access is decided there.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from zerowaste.core import licences, services
from zerowaste.core.authz import Actor, require
from zerowaste.core.errors import Conflict, Invalid, NotFound
from zerowaste.core.forms import apply_errors

from .views import with_actor


@with_actor
def licence_pending(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The licences awaiting verification in the regulator's jurisdiction, oldest first."""
    page = Paginator(licences.pending_licences(actor), 50).get_page(request.GET.get("page"))
    return render(request, "portal/licence_pending.html", {"page": page})


class VerifyForm(forms.Form):
    checked = forms.BooleanField(
        label=gettext_lazy(
            "I have checked the number, issuer, validity and scope against the certificate scan."
        ),
        required=True,
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for rejection (the organization sees it)"),
        max_length=licences.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_http_methods(["GET", "POST"])
@with_actor
def licence_review(request: HttpRequest, actor: Actor, organization_id: int, licence_id: int) -> HttpResponse:
    """One licence with its scan, and the regulator's decision: verify (confirmed) or reject (a reason)."""
    require(actor, "licences.verify")
    licence = (
        services.list_licences(actor, organization_id)
        .select_related("organization")
        .filter(pk=licence_id)
        .first()
    )
    if licence is None:
        raise NotFound(_("licence %(id)s not found") % {"id": licence_id})
    decision = request.POST.get("decision") if request.method == "POST" else None
    verify_form = VerifyForm(request.POST if decision == "verify" else None)
    reject_form = RejectForm(request.POST if decision == "reject" else None)
    status = 200
    form = {"verify": verify_form, "reject": reject_form}.get(decision or "")
    if form is not None and form.is_valid():
        try:
            if decision == "verify":
                done = licences.verify_licence(
                    actor, organization_id, licence_id, scan_id=_int(request.POST.get("scan_id"))
                )
                messages.success(request, _("Licence %(n)s verified.") % {"n": done.number})
            else:
                done = licences.reject_licence(
                    actor, organization_id, licence_id, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("Licence %(n)s rejected.") % {"n": done.number})
        except (Invalid, Conflict) as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            return redirect("portal:licence_pending")
    elif form is not None:
        status = 422
    return render(
        request,
        "portal/licence_review.html",
        {
            "licence": licence,
            "org": licence.organization,
            "verify_form": verify_form,
            "reject_form": reject_form,
            "may_decide": licence.organization_id != actor.organization_id,
        },
        status=status,
    )


@with_actor
def licence_scan(request: HttpRequest, actor: Actor, organization_id: int, licence_id: int) -> HttpResponse:
    """The newest certificate scan, for the organization and the regulators that see it."""
    return licences.scan_response(licences.get_scan(actor, organization_id, licence_id))


class ScanForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Certificate scan (PDF, PNG or JPEG, at most 10 MB)"))


@require_http_methods(["GET", "POST"])
@with_actor
def licence_scan_upload(
    request: HttpRequest, actor: Actor, organization_id: int, licence_id: int
) -> HttpResponse:
    """The organization uploads its licence's certificate scan (the licence goes to a regulator)."""
    licence = services.get_licence(actor, organization_id, licence_id, "licences.manage")
    form = ScanForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                licences.upload_scan(
                    actor,
                    organization_id,
                    licence_id,
                    content=licences.read_scan_upload(upload),
                    filename=upload.name or "",
                )
            except Invalid as exc:
                form.add_error("file", str(exc.errors[0]["message"]) if exc.errors else exc.message)
                status = 422
            else:
                messages.success(request, _("Scan uploaded; the licence awaits a regulator's verification."))
                return redirect("portal:organization", organization_id=organization_id)
        else:
            status = 422
    return render(
        request,
        "portal/licence_scan_upload.html",
        {"form": form, "licence": licence, "org": licence.organization},
        status=status,
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
