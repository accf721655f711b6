"""Joining an organization: an invitation the person accepts (issue 15, defect 8; ADR 0041).

An organization's admin invites by username or email; a regulator may invite the first admin of an
organization of its jurisdiction that has no member. Nothing about an account behind what the
inviter typed is ever shown back: every invitation answers the same, and carries a one-time link
(shown once, only its SHA-256 stored) by which the person accepts — creating an account first when
they have none. A Membership exists only once the invitation is accepted. The system operator (CLI)
may still add a member directly (`services.add_member`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, rules
from .authz import Actor, get_organization, require
from .errors import Forbidden, Invalid, NotFound
from .models import Invitation, Membership, Organization, OrganizationRole, User
from .services import _area, check_text

INVITATION_VALID_DAYS = 14
INVITATION_FIELDS = ("organization_id", "role", "jurisdiction_id", "username", "email", "expires_at")


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    link_token: str  # shown once to the inviter, never stored


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status(invitation: Invitation, now: Any = None) -> str:
    """pending, accepted, declined, revoked or expired."""
    if invitation.accepted_at:
        return "accepted"
    if invitation.declined_at:
        return "declined"
    if invitation.revoked_at:
        return "revoked"
    if invitation.expires_at <= (now or timezone.now()):
        return "expired"
    return "pending"


def _pending() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True,
        declined_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def _has_members(org: Organization) -> bool:
    return Membership.objects.filter(organization=org, is_active=True).exists()


def may_invite(actor: Actor, org: Organization) -> bool:
    """Whether the actor may invite people into `org` (a regulator: only the first admin)."""
    if actor.is_system:
        return True
    if org.pk == actor.organization_id:
        return actor.can("members.manage")
    return actor.is_regulator and actor.can("zone.regulate_org") and not _has_members(org)


def _require_may_invite(actor: Actor, org: Organization, role: str | None) -> None:
    if actor.is_system or org.pk == actor.organization_id:
        require(actor, "members.manage", org)
        return
    if not (actor.is_regulator and actor.can("zone.regulate_org")):
        require(actor, "members.manage", org)  # the refusal naming the organization
    if _has_members(org):
        raise Forbidden(
            _("a regulator may invite only the first admin of an organization that has no member yet")
        )
    if role is not None and role != "admin":
        raise Forbidden.field("role", _("the first member of an organization is its admin"))


@transaction.atomic
def invite(
    actor: Actor,
    organization_id: int,
    *,
    role: str,
    username: str = "",
    email: str = "",
    jurisdiction_id: int | None = None,
) -> IssuedInvitation:
    """Invite a person (an existing username, or an email) to join with `role`; nothing is revealed
    about whether an account answers to it. Returns the invitation and its one-time link token."""
    org = get_organization(actor, organization_id)
    _require_may_invite(actor, org, role)
    if role not in rules.MEMBER_ROLES:
        raise Invalid.field("role", _("unknown role %(role)s") % {"role": role})
    username = check_text(username, "username", max_length=150)
    email = check_text(email, "email", max_length=254).lower()
    if not username and not email:
        raise Invalid.field("username", _("give the person's username or email"))
    if email:
        try:
            validate_email(email)
        except DjangoValidationError as exc:
            raise Invalid.field("email", _("not a valid email address")) from exc
    if jurisdiction_id is not None:
        if not OrganizationRole.objects.filter(organization=org, role="regulator").exists():
            raise Invalid.field("jurisdiction_id", _("only members of a regulator have a jurisdiction"))
        _area(org.zone_id, jurisdiction_id, "jurisdiction_id")
    # Only what the inviter can see already (its own members and invitations) decides a refusal.
    members = Membership.objects.filter(organization=org)
    if username and members.filter(user__username=username).exists():
        raise Invalid.field("username", _("this user is already a member"))
    if email and members.filter(user__email__iexact=email).exists():
        raise Invalid.field("email", _("a member already has this email"))
    pending = _pending().filter(organization=org)
    if (username and pending.filter(username=username).exists()) or (
        email and pending.filter(email=email).exists()
    ):
        raise Invalid.field(
            "username" if username else "email", _("an invitation for this person is already pending")
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        zone_id=org.zone_id,
        organization=org,
        role=role,
        jurisdiction_id=jurisdiction_id,
        username=username,
        email=email,
        token_hash=_hash(token),
        invited_by=actor.user,
        invited_by_org_id=actor.organization_id,
        expires_at=timezone.now() + timedelta(days=INVITATION_VALID_DAYS),
    )
    audit.record(
        actor, "invitation.create", invitation, audit.diff({}, audit.snapshot(invitation, INVITATION_FIELDS))
    )
    return IssuedInvitation(invitation=invitation, link_token=token)


def list_invitations(actor: Actor, organization_id: int) -> QuerySet[Invitation]:
    """The invitations of an organization: all of them for its admins; for a regulator, those its
    own people made (a first admin's)."""
    org = get_organization(actor, organization_id)
    invitations = Invitation.objects.filter(zone_id=org.zone_id, organization=org).order_by(
        "-created_at", "-pk"
    )
    if actor.is_system:
        return invitations
    if org.pk != actor.organization_id and actor.is_regulator and actor.can("zone.regulate_org"):
        return invitations.filter(invited_by_org_id=actor.organization_id)
    require(actor, "members.manage", org)
    return invitations


@transaction.atomic
def revoke(actor: Actor, organization_id: int, invitation_id: int) -> Invitation:
    org = get_organization(actor, organization_id)
    invitation = Invitation.objects.filter(organization=org, pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("invitation %(id)s not found") % {"id": invitation_id})
    theirs = actor.is_regulator and invitation.invited_by_org_id == actor.organization_id
    if not (org.pk != actor.organization_id and theirs and actor.can("zone.regulate_org")):
        require(actor, "members.manage", org)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if status(invitation) != "pending":
        raise Invalid.field("status", _("only a pending invitation can be revoked"))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(actor, "invitation.revoke", invitation, {"revoked_at": [None, invitation.revoked_at]})
    return invitation


# --- The invited person ---------------------------------------------------------------------------


def pending_for(user: User) -> QuerySet[Invitation]:
    """Invitations waiting for `user`: by their username, or by their email."""
    match = Q(username=user.get_username())
    if user.email:
        match |= Q(email__iexact=user.email, username="")
    return _pending().filter(match).select_related("organization").order_by("-created_at", "-pk")


def by_link(token: str) -> Invitation:
    """The pending invitation of a one-time link, or NotFound (used, revoked, expired or wrong)."""
    invitation = (
        _pending().filter(token_hash=_hash(token or "")).select_related("organization").first()
        if token
        else None
    )
    if invitation is None:
        raise NotFound(_("this invitation link is not valid any more"))
    return invitation


def _person_actor(user: User, invitation: Invitation) -> Actor:
    # The invitee acts for nobody yet: the entry names the person, not an organization.
    return Actor(zone_id=invitation.zone_id, organization=None, user=user)


def _accept(user: User, invitation: Invitation) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if status(invitation) != "pending":
        raise NotFound(_("this invitation is not pending any more"))
    membership = Membership.objects.filter(organization_id=invitation.organization_id, user=user).first()
    before: dict[str, Any] = {}
    if membership is None:
        membership = Membership(
            zone_id=invitation.zone_id, organization_id=invitation.organization_id, user=user
        )
    else:
        before = audit.snapshot(membership, _MEMBERSHIP_FIELDS)
    membership.role = invitation.role
    membership.jurisdiction_id = invitation.jurisdiction_id
    membership.is_active = True
    membership.save()
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    actor = _person_actor(user, invitation)
    audit.record(actor, "invitation.accept", invitation, {"accepted_at": [None, invitation.accepted_at]})
    audit.record(
        actor,
        "membership.add",
        membership,
        audit.diff(before, audit.snapshot(membership, _MEMBERSHIP_FIELDS)),
    )
    return membership


_MEMBERSHIP_FIELDS = ("user_id", "organization_id", "role", "jurisdiction_id", "is_active")


def _mine(user: User, invitation_id: int) -> Invitation:
    invitation = pending_for(user).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("invitation %(id)s not found") % {"id": invitation_id})
    return invitation


@transaction.atomic
def accept(user: User, invitation_id: int) -> Membership:
    """The invited person accepts: only now do they become a member."""
    return _accept(user, _mine(user, invitation_id))


@transaction.atomic
def decline(user: User, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=_mine(user, invitation_id).pk)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    audit.record(
        _person_actor(user, invitation),
        "invitation.decline",
        invitation,
        {"declined_at": [None, invitation.declined_at]},
    )
    return invitation


def _link_fits(user: User, invitation: Invitation) -> bool:
    # An invitation naming an account is that account's; one sent to an email is the link holder's.
    return not invitation.username or invitation.username == user.get_username()


@transaction.atomic
def accept_by_link(user: User, token: str) -> Membership:
    """A logged-in person accepts through the one-time link."""
    invitation = by_link(token)
    if not _link_fits(user, invitation):
        raise Forbidden(_("this invitation is for another account"))
    return _accept(user, invitation)


@transaction.atomic
def decline_by_link(user: User | None, token: str) -> Invitation:
    invitation = by_link(token)
    if user is not None and not _link_fits(user, invitation):
        raise Forbidden(_("this invitation is for another account"))
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    actor = Actor(zone_id=invitation.zone_id, organization=None, user=user)
    audit.record(actor, "invitation.decline", invitation, {"declined_at": [None, invitation.declined_at]})
    return invitation


@transaction.atomic
def accept_with_new_account(token: str, *, username: str, password: str, full_name: str = "") -> Membership:
    """A person without an account sets a username and password through the one-time link, and joins."""
    invitation = by_link(token)
    username = check_text(invitation.username or username, "username", max_length=150, required=True)
    full_name = check_text(full_name, "full_name", max_length=150)
    password = check_text(password, "password", max_length=128, required=True, strip=False)
    if User.objects.filter(username=username).exists():
        raise Invalid.field("username", _("this username is taken: choose another, or log in to accept"))
    user = User(username=username, email=invitation.email, first_name=full_name)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise Invalid.field("password", " ".join(exc.messages)) from exc
    user.set_password(password)
    user.save()
    membership = _accept(user, invitation)
    user.default_organization_id = membership.organization_id
    user.save(update_fields=["default_organization"])
    return membership
