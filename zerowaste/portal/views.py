"""Server-rendered pages. Each view parses a form, makes one service call, and renders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.api import ACTIVE_ORG_SESSION_KEY
from zerowaste.core import (
    audit,
    audit_checkpoints,
    audit_display,
    formatting,
    imports,
    invitations,
    rules,
    services,
)
from zerowaste.core import home as home_todos
from zerowaste.core.authz import Actor, active_memberships, actor_for_user, require, visible_audit_entries
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.forms import apply_errors
from zerowaste.core.middleware import client_ip
from zerowaste.core.models import Area

from . import services as cockpit_services

View = Callable[..., HttpResponse]


def with_actor(view: View) -> View:
    """Log-in required; sets `request.actor`; maps domain errors to 404/403 pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{_login_url()}?next={request.get_full_path()}")
        actor = actor_for_user(request.user, request.session.get(ACTIVE_ORG_SESSION_KEY))  # type: ignore[arg-type]
        if actor is None:
            if invitations.pending_for(request.user).exists():  # type: ignore[arg-type]
                return redirect("portal:invitations")
            logout(request)
            messages.error(request, _("Your account belongs to no active organization."))
            return redirect(_login_url())
        request.actor = actor  # type: ignore[attr-defined]
        request.memberships = list(active_memberships(request.user))  # type: ignore[attr-defined, arg-type]
        try:
            return view(request, actor, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except Forbidden as exc:
            return forbidden(request, exc.message)
        except Invalid as exc:  # a value out of bounds in the address (ADR 0045): not a server error
            return render(request, "400.html", {"message": exc.message}, status=400)

    return wrapper


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page: the refusal's own words inside the site's frame, with a way back."""
    return render(request, "403.html", {"message": message}, status=403)


def _login_url() -> str:
    from django.urls import reverse

    return reverse("portal:login")


# --- Login ---------------------------------------------------------------------------------------


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = client_ip(request)
        locked_for = services.login_lock_remaining(username, ip)
        if locked_for is not None:
            minutes = max(1, -(-int(locked_for.total_seconds()) // 60))
            form.add_error(
                None,
                _("Too many failed attempts from this address. Try again in %(n)d minutes.") % {"n": minutes},
            )
            status = 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                services.record_login_failure(username, ip)
                form.add_error(None, _("Wrong username or password."))
                status = 401
            else:
                services.clear_login_failures(username, ip)
                login(request, user)
                services.remember_default_organization(user)
                next_url = request.GET.get("next", "")
                if next_url.startswith("/") and not next_url.startswith("//"):
                    return redirect(next_url)
                return redirect("portal:home")
    return render(request, "portal/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:login")


@require_POST
@with_actor
def switch_organization(request: HttpRequest, actor: Actor) -> HttpResponse:
    try:
        organization_id = int(request.POST.get("organization_id", ""))
    except ValueError as exc:
        raise Http404 from exc
    if not active_memberships(request.user).filter(organization_id=organization_id).exists():  # type: ignore[arg-type]
        raise Http404
    request.session[ACTIVE_ORG_SESSION_KEY] = organization_id
    services.remember_default_organization(request.user, organization_id)  # type: ignore[arg-type]
    return redirect("portal:home")


@with_actor
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Where a role lands: its to-dos, each a link to where it is done (ADR 0052); a regulator's home is
    the cockpit, its to-dos on top."""
    if actor.is_regulator:
        return redirect("portal:cockpit")
    assert actor.organization_id is not None
    return render(request, "portal/home.html", {"todos": home_todos.todos_for(actor)})


# --- Organizations ---------------------------------------------------------------------------------


@with_actor
def organization_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    role = request.GET.get("role") or None
    query = (request.GET.get("q") or "").strip() or None
    orgs = services.list_organizations(actor, role=role, query=query)
    page = Paginator(orgs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/organization_list.html",
        {
            "page": page,
            "role": role or "",
            "q": query or "",
            "role_choices": rules.ORG_ROLE_CHOICES,
            "may_register": actor.can("zone.register_org"),
        },
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel or CSV file"))


@require_http_methods(["GET", "POST"])
@with_actor
def organization_import(request: HttpRequest, actor: Actor) -> HttpResponse:
    require(actor, "zone.register_org")
    form = ImportForm(request.POST or None, request.FILES or None)
    faults: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            started = imports.start_organization_import(actor, upload.read(), filename=upload.name)
        except Invalid as exc:
            faults = exc.errors
            form.add_error(None, exc.message)
        else:
            if started.task_id is not None:
                messages.info(
                    request,
                    _("%(n)d rows checked; they are being imported in the background.") % {"n": started.rows},
                )
                from django.urls import reverse

                return redirect(f"{reverse('portal:organization_import')}?task={started.task_id}")
            messages.success(request, _("%(n)d organizations imported.") % {"n": len(started.created)})
            return redirect("portal:organizations")
    task = None
    if request.GET.get("task"):
        try:
            task = imports.organization_import_status(actor, request.GET["task"][:64])
        except NotFound:
            task = None
    return render(
        request,
        "portal/organization_import.html",
        {"form": form, "faults": faults, "columns": imports.ORGANIZATION_COLUMNS, "task": task},
        status=422 if request.method == "POST" else 200,  # a refused file is not a success
    )


@with_actor
def organization_detail(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    org = services.get_organization(actor, organization_id)
    own = org.pk == actor.organization_id
    context: dict[str, Any] = {
        "org": org,
        "members": services.list_memberships(actor, organization_id),
        "licences": services.list_licences(actor, organization_id),
        "sites": services.list_sites(actor, organization_id),
        "vehicles": services.list_vehicles(actor, organization_id),
        "may_edit": bool(services.editable_organization_fields(actor, org)),
        "may_manage_members": own and actor.can("members.manage"),
        "may_manage_licences": own and actor.can("licences.manage"),
        "may_review_licences": not own and actor.can("licences.verify"),
        "may_manage_assets": own and actor.can("assets.manage"),
        "may_manage_tokens": own and actor.can("tokens.manage"),
        "member_roles": rules.MEMBER_ROLE_CHOICES,
        "new_token": request.session.pop("new_token_secret", None),
        "may_invite": invitations.may_invite(actor, org),
    }
    if context["may_invite"] or context["may_manage_members"]:
        context["invitations"] = [
            (i, invitations.status(i)) for i in invitations.list_invitations(actor, organization_id)[:50]
        ]
    if context["may_manage_tokens"]:
        context["tokens"] = services.list_tokens(actor, organization_id)
    response = render(request, "portal/organization_detail.html", context)
    if context["new_token"]:
        # The page shows a token secret once: no cache (browser, proxy) may keep a copy.
        patch_cache_control(response, no_store=True, no_cache=True, private=True)
    return response


def _organization_form(
    request: HttpRequest,
    actor: Actor,
    organization_id: int,
    *,
    action: str,
    form: forms.Form,
    save: Callable[[dict[str, Any]], object],
    title: str,
    done: str | None,
) -> HttpResponse:
    """The add/edit pages of an organization's records: check access, save through a service, show faults."""
    org = services.get_organization(actor, organization_id, action)
    if request.method == "POST" and form.is_valid():
        try:
            save(dict(form.cleaned_data))
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            if done:
                messages.success(request, done)
            return redirect("portal:organization", organization_id=organization_id)
    return render(request, "portal/form.html", {"form": form, "title": title, "org": org})


class OrganizationForm(forms.Form):
    """Every field of an organization; each page keeps only those the actor may change
    (services.editable_organization_fields, the rule rules.ORG_FIELD_EDITOR)."""

    uscc = forms.CharField(label=gettext_lazy("Unified social credit code"), max_length=18)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    area_id = forms.TypedChoiceField(label=gettext_lazy("Area"), required=False, coerce=int, empty_value=None)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    contact_name = forms.CharField(label=gettext_lazy("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), max_length=40, required=False)
    industry = forms.CharField(label=gettext_lazy("Industry"), max_length=40, required=False)
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"), choices=rules.ORG_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)


@require_http_methods(["GET", "POST"])
@with_actor
def organization_edit(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    org = services.get_organization(actor, organization_id)
    editable = services.editable_organization_fields(actor, org)
    if not editable:
        require(actor, "org.edit", org)
    if request.method == "POST":
        # A field posted that this page did not offer is refused by name, never silently dropped.
        forged = {
            f: request.POST.get(f) for f in rules.ORG_FIELD_EDITOR if f in request.POST and f not in editable
        }
        if forged:
            services.update_organization(actor, organization_id, **forged)
    initial = {f: getattr(org, f) for f in OrganizationForm.base_fields if f != "roles"}
    initial["roles"] = org.role_codes
    form = OrganizationForm(request.POST or None, initial=initial)
    for name in list(form.fields):
        if name not in editable:
            del form.fields[name]
    if "area_id" in form.fields:
        areas = Area.objects.filter(zone_id=actor.zone_id).order_by("code")
        if actor.jurisdiction_area_ids is not None and not actor.is_system:
            areas = areas.filter(pk__in=actor.jurisdiction_area_ids)
        form.fields["area_id"].choices = [("", "—")] + [(a.pk, a.name) for a in areas]  # type: ignore[attr-defined]
    return _organization_form(
        request,
        actor,
        organization_id,
        action="org.view",
        form=form,
        save=lambda data: services.update_organization(actor, organization_id, **data),
        title=_("Edit organization"),
        done=_("Saved."),
    )


class InvitationForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=150,
        required=False,
        help_text=gettext_lazy("of a person who has an account; or give their email"),
    )
    email = forms.EmailField(
        label=gettext_lazy("Email"),
        required=False,
        help_text=gettext_lazy("a person without an account sets a password through the link"),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=rules.MEMBER_ROLE_CHOICES)


@require_http_methods(["GET", "POST"])
@with_actor
def member_invite(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    """Invite a person; the page then shows the one-time link to pass on (no mail is sent)."""
    org = services.get_organization(actor, organization_id)
    if not invitations.may_invite(actor, org):
        require(actor, "members.manage", org)
        raise Forbidden(
            _("a regulator may invite only the first admin of an organization that has no member yet")
        )
    form = InvitationForm(request.POST or None)
    if org.pk != actor.organization_id:
        form.fields["role"].choices = [(c, label) for c, label in rules.MEMBER_ROLE_CHOICES if c == "admin"]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            issued = invitations.invite(actor, organization_id, **form.cleaned_data)
        except Invalid as exc:
            apply_errors(form, exc)
        else:
            link = request.build_absolute_uri(reverse("portal:invitation_link", args=[issued.link_token]))
            response = render(
                request,
                "portal/invitation_created.html",
                {"org": org, "invitation": issued.invitation, "link": link},
            )
            patch_cache_control(response, no_store=True, no_cache=True, private=True)
            return response
    return render(request, "portal/form.html", {"form": form, "title": _("Invite member"), "org": org})


@require_POST
@with_actor
def invitation_revoke(
    request: HttpRequest, actor: Actor, organization_id: int, invitation_id: int
) -> HttpResponse:
    try:
        invitations.revoke(actor, organization_id, invitation_id)
    except Invalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Invitation revoked."))
    return redirect("portal:organization", organization_id=organization_id)


def _person_page(view: View) -> View:
    """Log-in required, but no organization: a person answers invitations before belonging to one."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{_login_url()}?next={request.get_full_path()}")
        actor = actor_for_user(request.user, request.session.get(ACTIVE_ORG_SESSION_KEY))  # type: ignore[arg-type]
        if actor is not None:
            request.actor = actor  # type: ignore[attr-defined]
            request.memberships = list(active_memberships(request.user))  # type: ignore[attr-defined, arg-type]
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except Forbidden as exc:
            return forbidden(request, exc.message)

    return wrapper


@_person_page
def my_invitations(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/invitations.html",
        {"invitations": invitations.pending_for(request.user), "person": True},  # type: ignore[arg-type]
    )


@require_POST
@_person_page
def invitation_answer(request: HttpRequest, invitation_id: int, answer: str) -> HttpResponse:
    if answer not in ("accept", "decline"):
        raise Http404
    if answer == "accept":
        membership = invitations.accept(request.user, invitation_id)  # type: ignore[arg-type]
        messages.success(
            request,
            _("You joined %(org)s. Switch to it in the header to act for it.")
            % {"org": membership.organization.name},
        )
    else:
        invitations.decline(request.user, invitation_id)  # type: ignore[arg-type]
        messages.success(request, _("Invitation declined."))
    return redirect("portal:invitations")


class NewAccountForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=150, required=False)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput, max_length=128)
    password_again = forms.CharField(
        label=gettext_lazy("Password again"), widget=forms.PasswordInput, max_length=128
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("the two passwords differ"))
        return data


@require_http_methods(["GET", "POST"])
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link: a logged-in person accepts or declines; someone without an account sets a
    username and password and joins."""
    try:
        invitation = invitations.by_link(token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    user = request.user if request.user.is_authenticated else None
    form = None
    if user is None:
        form = NewAccountForm(
            request.POST if request.POST.get("answer") == "create" else None,
            initial={"username": invitation.username},
        )
        if invitation.username:
            form.fields["username"].disabled = True
    if request.method == "POST":
        answer = request.POST.get("answer")
        try:
            if answer == "decline":
                invitations.decline_by_link(user, token)  # type: ignore[arg-type]
                messages.success(request, _("Invitation declined."))
                return redirect("portal:invitations" if user else "portal:login")
            if answer == "accept" and user is not None:
                invitations.accept_by_link(user, token)  # type: ignore[arg-type]
                messages.success(request, _("You joined %(org)s.") % {"org": invitation.organization.name})
                return redirect("portal:home")
            if answer == "create" and form is not None and form.is_valid():
                membership = invitations.accept_with_new_account(
                    token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    full_name=form.cleaned_data["full_name"],
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("You joined %(org)s.") % {"org": invitation.organization.name})
                return redirect("portal:home")
        except Invalid as exc:
            if form is not None:
                apply_errors(form, exc)
            else:
                messages.error(request, exc.message)
        except Forbidden as exc:
            return forbidden(request, exc.message)
    response = render(
        request,
        "portal/invitation_link.html",
        {"invitation": invitation, "form": form, "next": request.get_full_path()},
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@require_POST
@with_actor
def member_update(
    request: HttpRequest, actor: Actor, organization_id: int, membership_id: int
) -> HttpResponse:
    role = request.POST.get("role") or None
    active = request.POST.get("is_active")
    try:
        services.update_member(
            actor,
            organization_id,
            membership_id,
            role=role,
            is_active=None if active is None else active == "1",
        )
    except Invalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("portal:organization", organization_id=organization_id)


class LicenceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=rules.LICENCE_KIND_CHOICES)
    number = forms.CharField(label=gettext_lazy("Number"), max_length=64)
    issuer = forms.CharField(label=gettext_lazy("Issuer"), max_length=200)
    valid_from = forms.DateField(
        label=gettext_lazy("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(label=gettext_lazy("Valid to"), widget=forms.DateInput(attrs={"type": "date"}))
    waste_codes = forms.CharField(label=gettext_lazy("Covered waste codes (comma separated)"), required=False)
    annual_capacity_t = forms.DecimalField(
        label=gettext_lazy("Annual capacity (t)"),
        required=False,
        max_digits=18,
        decimal_places=3,
        min_value=0,
    )

    def clean_waste_codes(self) -> list[str]:
        text = self.cleaned_data.get("waste_codes") or ""
        return [c.strip() for c in text.replace("，", ",").split(",") if c.strip()]


@require_http_methods(["GET", "POST"])
@with_actor
def licence_add(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    return _organization_form(
        request,
        actor,
        organization_id,
        action="licences.manage",
        form=LicenceForm(request.POST or None),
        save=lambda data: services.add_licence(actor, organization_id, **data),
        title=_("Add licence"),
        done=_("Licence added. Upload its certificate scan: it counts once a regulator has verified it."),
    )


class SiteForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=rules.SITE_KIND_CHOICES)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False)
    latitude = forms.DecimalField(
        label=gettext_lazy("Latitude"), required=False, max_digits=9, decimal_places=6
    )
    longitude = forms.DecimalField(
        label=gettext_lazy("Longitude"), required=False, max_digits=9, decimal_places=6
    )
    area_id = forms.TypedChoiceField(label=gettext_lazy("Area"), required=False, coerce=int, empty_value=None)


@require_http_methods(["GET", "POST"])
@with_actor
def site_add(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    form = SiteForm(request.POST or None)
    form.fields["area_id"].choices = [("", "—")] + [  # type: ignore[attr-defined]
        (a.pk, a.name) for a in Area.objects.filter(zone_id=actor.zone_id).order_by("code")
    ]
    return _organization_form(
        request,
        actor,
        organization_id,
        action="assets.manage",
        form=form,
        save=lambda data: services.add_site(actor, organization_id, **data),
        title=_("Add site"),
        done=_("Site added."),
    )


class VehicleForm(forms.Form):
    plate = forms.CharField(label=gettext_lazy("Plate"), max_length=16)
    vehicle_type = forms.CharField(label=gettext_lazy("Vehicle type"), max_length=40, required=False)
    capacity_kg = forms.IntegerField(label=gettext_lazy("Load capacity (kg)"), required=False, min_value=0)
    permit_ids = forms.TypedMultipleChoiceField(label=gettext_lazy("Permits"), required=False, coerce=int)


@require_http_methods(["GET", "POST"])
@with_actor
def vehicle_add(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    services.get_organization(actor, organization_id, "assets.manage")
    form = VehicleForm(request.POST or None)
    form.fields["permit_ids"].choices = [  # type: ignore[attr-defined]
        (lic.pk, f"{lic.get_kind_display()} {lic.number}")
        for lic in services.list_licences(actor, organization_id)
    ]
    return _organization_form(
        request,
        actor,
        organization_id,
        action="assets.manage",
        form=form,
        save=lambda data: services.add_vehicle(actor, organization_id, **data),
        title=_("Add vehicle"),
        done=_("Vehicle added."),
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(s, rules.TOKEN_SCOPE_LABELS[s]) for s in rules.TOKEN_SCOPES],
    )


@require_http_methods(["GET", "POST"])
@with_actor
def token_add(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    def save(data: dict[str, Any]) -> object:
        issued = services.create_token(actor, organization_id, **data)
        request.session["new_token_secret"] = issued.secret  # shown once on the organization page
        return issued

    return _organization_form(
        request,
        actor,
        organization_id,
        action="tokens.manage",
        form=TokenForm(request.POST or None),
        save=save,
        title=_("Create API token"),
        done=None,
    )


@require_POST
@with_actor
def token_revoke(request: HttpRequest, actor: Actor, organization_id: int, token_id: int) -> HttpResponse:
    services.revoke_token(actor, organization_id, token_id)
    messages.success(request, _("Token revoked."))
    return redirect("portal:organization", organization_id=organization_id)


@with_actor
def audit_log(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The audit log as a regulator reads it: names, formatted values, filters, export."""
    form = audit_display.AuditFilterForm(actor, request.GET)
    entries = audit_display.search(actor, form) if form.is_valid() else visible_audit_entries(actor).none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    verified = audit.verify(actor.zone_id) if request.GET.get("verify") else None
    rows = audit_display.readable(page.object_list)
    return render(
        request, "portal/audit.html", {"page": page, "rows": rows, "form": form, "verified": verified}
    )


@with_actor
def audit_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The filtered audit log as Excel or CSV (what the page lists, every page of it)."""
    form = audit_display.filter_form(actor, request.GET.dict())  # Invalid: the 400 page names the field
    content, content_type, ext = audit_display.export(
        audit_display.search(actor, form), request.GET.get("format") or "xlsx"
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-log.{ext}"'
    return response


# --- Regulator cockpit -----------------------------------------------------------------------------

MONTH_CHOICES = list(range(1, 13))


def _cockpit_period(request: HttpRequest, actor: Actor) -> tuple[int, int | None]:
    """The period asked for; by default the latest year with accepted declarations."""
    year = request.GET.get("year")
    if not year:
        years = cockpit_services.public_years(cockpit_services.zone_of(actor))
        year = str(years[-1]) if years else str(timezone.localdate().year)
    try:
        return cockpit_services.period_args(year, request.GET.get("month"))
    except Invalid as exc:
        raise Http404(exc.message) from exc


def _chart_labels() -> dict[str, str]:
    """Words the charts draw (translated here: the scripts hold none)."""
    return {
        "generated": _("Generated"),
        "utilized": _("Utilized"),
        "disposed": _("Disposed"),
        "stored": _("Stored"),
        "issued": _("Issued"),
        "closed": _("Closed"),
        "open": _("Open"),
        "met": _("Met"),
        "not_met": _("Not met"),
        "unknown": _("Not yet known"),
        "tonnes": _("t"),
        "intensity": _("t / 10k CNY"),
        "target": _("Target"),
        "way:utilized": _("Utilized in-house"),
        "way:disposed": _("Disposed in-house"),
        "way:transferred_util": _("Transferred for utilization"),
        "way:transferred_disp": _("Transferred for disposal"),
        "way:stored": _("Put into storage"),
        "source:stock": _("Drawn from storage"),
        "isw": _("General industrial"),
        "hw": _("Hazardous"),
    }


def _charts(data: dict[str, Any], categories: dict[str, str] | None = None) -> dict[str, Any]:
    """The numbers each chart draws, taken from the cockpit's sections (no figure is computed here)."""
    labels = _chart_labels()
    for code, name in (categories or {}).items():
        labels[f"category:{code}"] = f"{code} {name}"
    tonnages = data["tonnages"]
    backlog = data["backlog"]
    indicators = data["indicators"]
    intensity = data["intensity"]
    return {
        "labels": labels,
        "tonnages": {
            "keys": [f"{r['stream']}:{r['category']}" for r in tonnages["rows"]],
            "series": {
                k: [r[f"{k}_t"] for r in tonnages["rows"]]
                for k in ("generated", "utilized", "disposed", "stored")
            },
        },
        "flows": {"nodes": data["flows"]["nodes"], "links": data["flows"]["links"]},
        "backlog": {
            "months": [r["month"] for r in backlog["by_month"]],
            "series": {k: [r[k] for r in backlog["by_month"]] for k in ("issued", "closed", "open")},
        },
        "indicators": {
            "available": indicators.get("available", False),
            "met": indicators.get("met", 0),
            "not_met": indicators.get("not_met", 0),
            "unknown": indicators.get("unknown", 0),
        },
        "intensity": {
            "ids": [str(r["organization_id"]) for r in intensity["rows"]],
            "names": [r["organization"] for r in intensity["rows"]],
            "values": [r["intensity_t_per_wan"] for r in intensity["rows"]],
            "target": intensity["target_t_per_wan"],
        },
    }


def _tables(actor: Actor, data: dict[str, Any], year: int, month: int | None, query: str) -> dict[str, Any]:
    """Each chart's table; rows that drill down carry their link (built once here, not per template tag)."""
    from urllib.parse import quote

    from django.urls import reverse

    drill_url = reverse("portal:cockpit_drill")
    out = {}
    for name in cockpit_services.TABLES:
        section = name if name in cockpit_services.SECTIONS else "alerts"
        head, rows = cockpit_services.table(actor, name, year=year, month=month, data=data[section])
        keys = DRILL_KEY.get(name)
        if name == "intensity":  # a producer is drilled by its id (names need not be unique)
            row_keys: list[str | None] = [str(r["organization_id"]) for r in data["intensity"]["rows"]]
        else:
            row_keys = [keys(row) if keys else None for row in rows]
        out[name] = {
            "headers": [label for _key, label in head],
            "rows": [
                {
                    "cells": cockpit_services.shown_row(
                        name,
                        [
                            _table_cell(key, cell, actor.zone_id)
                            for (key, _label), cell in zip(head, row, strict=True)
                        ],
                    ),
                    "href": f"{drill_url}?chart={name}&key={quote(key, safe='')}&{query}" if key else None,
                }
                for row, key in zip(rows, row_keys, strict=True)
            ],
        }
    return out


def _table_cell(key: str, value: Any, zone_id: int) -> Any:
    """A chart table's cell as the page shows it (the downloads keep the numbers, see services.export):
    tonnes and intensities with 3 decimals and separators, counts with separators, a catalog code
    with its name, a flow's node by its label."""
    if value is None or isinstance(value, bool):
        return value
    if key.endswith("_t") or key in ("intensity_t_per_wan", "value_added_wan"):
        return formatting.format_number(value, 3 if key != "value_added_wan" else 2)
    if key in ("issued", "closed", "open", "age_days", "working_days_overdue", "pending"):
        return formatting.format_count(value)
    if key in ("code", "waste_code"):
        return formatting.format_code("", value, zone_id)
    if key == "category":
        return formatting.format_code("", value, zone_id)
    if key in ("source", "target") and isinstance(value, str) and ":" in value:  # a flow's node
        kind, node = value.split(":", 1)
        if kind == "category":
            return formatting.format_code("", node, zone_id)
        return _chart_labels().get(value, node)
    return value


# The drill-down key of a table row (the same element the chart's click opens).
DRILL_KEY: dict[str, Callable[[list[Any]], str]] = {
    "tonnages": lambda row: f"{row[0]}:{row[1]}",
    "flows": lambda row: str(row[1]),
    "backlog": lambda row: str(row[0]),
}


@with_actor
def cockpit(request: HttpRequest, actor: Actor) -> HttpResponse:
    cockpit_services.require_regulator(actor)
    year, month = _cockpit_period(request, actor)
    data = cockpit_services.cockpit(actor, year=year, month=month)
    query = f"year={year}" + (f"&month={month}" if month else "")
    years = cockpit_services.public_years(cockpit_services.zone_of(actor))
    categories = cockpit_services.category_names(
        actor.zone_id, cockpit_services.period_bounds(year, month)[1], translation.get_language() == "en"
    )
    if year not in years:
        years = sorted({*years, year})
    return render(
        request,
        "portal/cockpit.html",
        {
            "data": data,
            "charts": _charts(data, categories),
            "tables": _tables(actor, data, year, month, query),
            "year": year,
            "month": month,
            "years": years,
            "months": MONTH_CHOICES,
            "query": query,
            "todos": home_todos.todos_for(actor),
            "backlog_links": [
                (key, label, data["backlog"][key])
                for key, label in (
                    ("issued", _("issued")),
                    ("closed", _("closed")),
                    ("open", _("open")),
                    ("overdue", _("overdue")),
                    ("discrepancies", _("discrepancies")),
                )
            ],
        },
    )


@with_actor
def cockpit_drill(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The list behind a chart element: a fragment for htmx, a page without it."""
    year, month = _cockpit_period(request, actor)
    try:
        data = cockpit_services.drill(
            actor, request.GET.get("chart", ""), request.GET.get("key", ""), year=year, month=month
        )
    except Invalid as exc:
        return HttpResponse(exc.message, status=422)
    context = {"drill": data, "year": year, "month": month}
    if request.headers.get("HX-Request"):
        return render(request, "portal/_drill.html", context)
    return render(request, "portal/drill.html", context)


@with_actor
def cockpit_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    year, month = _cockpit_period(request, actor)
    try:
        content, content_type, name = cockpit_services.export(
            actor,
            request.GET.get("chart", ""),
            year=year,
            month=month,
            fmt=request.GET.get("format", "csv"),
        )
    except Invalid as exc:
        return HttpResponse(exc.message, status=422)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class PublicationForm(forms.Form):
    indicators = forms.BooleanField(label=gettext_lazy("The indicator table"), required=False)
    tonnages = forms.BooleanField(label=gettext_lazy("Yearly tonnages by stream"), required=False)
    exchange = forms.BooleanField(label=gettext_lazy("The recycling exchange board"), required=False)
    company_figures = forms.BooleanField(
        label=gettext_lazy("Producers by name with their generation intensity"), required=False
    )


@require_http_methods(["GET", "POST"])
@with_actor
def publication(request: HttpRequest, actor: Actor) -> HttpResponse:
    cockpit_services.require_regulator(actor)
    current = cockpit_services.publication(cockpit_services.zone_of(actor))
    # Unticked boxes send nothing: a POST is always a bound form, even an empty one.
    form = PublicationForm(request.POST if request.method == "POST" else None, initial=current)
    if request.method == "POST" and form.is_valid():
        cockpit_services.set_publication(actor, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("portal:publication")
    return render(request, "portal/publication.html", {"form": form})


# --- Public open-data page -------------------------------------------------------------------------


def public(request: HttpRequest) -> HttpResponse:
    """No login: the zone's published aggregates and the manifest verification form."""
    zone = cockpit_services.public_zone((request.GET.get("zone") or "")[:32] or None)
    if zone is None:
        raise Http404(_("no such zone"))
    year = None
    if request.GET.get("year"):
        try:
            year = cockpit_services.period_args(request.GET["year"])[0]
        except Invalid as exc:
            raise Http404(exc.message) from exc
    data = cockpit_services.public_data(zone, year=year)
    from zerowaste.indicators.rules import CLASS_LABELS

    for row in data.get("indicators") or []:  # the class in words (the export keeps its key)
        row["class_label"] = CLASS_LABELS.get(row.get("class") or "", row.get("class"))
    yearly: dict[str, Any] = {"years": [], "series": {"isw": [], "hw": []}}
    for row in data.get("tonnages") or []:
        if str(row["year"]) not in yearly["years"]:
            yearly["years"].append(str(row["year"]))
        yearly["series"][row["stream"]].append(row["generated_t"])
    return render(
        request,
        "portal/public.html",
        {
            "data": data,
            "zone": zone,
            "charts": {"labels": _chart_labels(), **({"yearly": yearly} if data.get("tonnages") else {})},
            "audit": audit_checkpoints.published(zone.pk),
        },
    )


def public_audit_checkpoints(request: HttpRequest, day: str) -> HttpResponse:
    """The zone's signed audit checkpoints of one day, as the day file (no login)."""
    zone = cockpit_services.public_zone((request.GET.get("zone") or "")[:32] or None)
    try:
        parsed = date.fromisoformat(day)
    except ValueError as exc:
        raise Http404(_("no such day")) from exc
    document = audit_checkpoints.zone_day_document(zone.pk, parsed) if zone else None
    if zone is None or document is None:
        raise Http404(_("No checkpoint was signed that day."))
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = f'attachment; filename="audit-checkpoints-{zone.code}-{day}.json"'
    return response


def public_export(request: HttpRequest) -> HttpResponse:
    """A published table of the open-data page as CSV or Excel (no login)."""
    zone = cockpit_services.public_zone((request.GET.get("zone") or "")[:32] or None)
    if zone is None:
        raise Http404(_("no such zone"))
    try:
        year = cockpit_services.period_args(request.GET["year"])[0] if request.GET.get("year") else None
        content, content_type, name = cockpit_services.public_export(
            zone, request.GET.get("table", ""), year=year, fmt=request.GET.get("format", "csv")
        )
    except Invalid as exc:
        return HttpResponse(exc.message, status=422)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def public_verify(request: HttpRequest) -> HttpResponse:
    """The QR verification form: to the manifest's public page (the code proves the QR was seen)."""
    from django.urls import reverse
    from django.utils.http import urlencode

    number = (request.GET.get("number") or "").strip()[:40]
    code = (request.GET.get("c") or "").strip()[:64]
    if not number:
        return redirect("portal:public")
    return redirect(reverse("transfers:verify", args=[number]) + "?" + urlencode({"c": code}))
