"""Who is acting, and what they may see and do. Shared by pages, API and CLI.

An `Actor` is a person acting for one organization (through a membership), an API token of an
organization, or the system (CLI maintenance, demo builder). Every service takes an actor and asks
this module; views and API handlers never decide access themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from . import rules
from .errors import Forbidden, NotFound
from .models import ApiToken, Area, Membership, Organization, User, Zone


@dataclass(frozen=True)
class Actor:
    zone_id: int
    organization: Organization | None
    user: User | None = None
    member_role: str = "viewer"
    org_roles: frozenset[str] = field(default_factory=frozenset)
    jurisdiction_area_ids: frozenset[int] | None = None  # None: the whole zone
    token: ApiToken | None = None
    token_scopes: frozenset[str] | None = None  # None: not acting through a token
    is_system: bool = False

    @property
    def organization_id(self) -> int | None:
        return self.organization.pk if self.organization else None

    @property
    def is_regulator(self) -> bool:
        return "regulator" in self.org_roles

    @property
    def username(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        if self.token is not None:
            return f"token:{self.token.prefix}"
        return "system"

    def can(self, action: str) -> bool:
        if self.is_system:
            return True
        return rules.may(
            action, member_role=self.member_role, org_roles=self.org_roles, token_scopes=self.token_scopes
        )

    @classmethod
    def system(cls, zone: Zone) -> Actor:
        return cls(zone_id=zone.pk, organization=None, is_system=True, member_role="admin")


def _jurisdiction(membership: Membership, org_roles: frozenset[str]) -> frozenset[int] | None:
    if "regulator" not in org_roles or membership.jurisdiction_id is None:
        return None
    ids = {membership.jurisdiction_id}
    ids.update(
        Area.objects.filter(zone_id=membership.zone_id, parent_id=membership.jurisdiction_id).values_list(
            "id", flat=True
        )
    )
    return frozenset(ids)


def actor_for_membership(membership: Membership) -> Actor:
    org = membership.organization
    org_roles = frozenset(org.roles.values_list("role", flat=True))
    return Actor(
        zone_id=membership.zone_id,
        organization=org,
        user=membership.user,
        member_role=membership.role,
        org_roles=org_roles,
        jurisdiction_area_ids=_jurisdiction(membership, org_roles),
    )


def actor_for_token(token: ApiToken) -> Actor:
    org = token.organization
    return Actor(
        zone_id=token.zone_id,
        organization=org,
        member_role="admin" if "admin" in token.scopes else "clerk",
        org_roles=frozenset(org.roles.values_list("role", flat=True)),
        token=token,
        token_scopes=frozenset(token.scopes),
    )


def active_memberships(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
        .select_related("organization", "zone")
        .order_by("zone_id", "organization__name")
    )


def actor_for_user(user: User, organization_id: int | None = None) -> Actor | None:
    """The actor for a logged-in user, acting for `organization_id`, else the organization they last
    chose, else their first organization."""
    memberships = active_memberships(user)
    if organization_id is None:
        # The organization the user last chose, not whichever membership sorts first.
        organization_id = user.default_organization_id
    if organization_id is not None:
        membership = memberships.filter(organization_id=organization_id).first()
        if membership is not None:
            return actor_for_membership(membership)
    membership = memberships.first()
    return actor_for_membership(membership) if membership else None


# --- Visibility ------------------------------------------------------------------------------------


def visible_organizations(actor: Actor) -> QuerySet[Organization]:
    """Organizations the actor may see: all of a regulator's jurisdiction, else only its own."""
    base = Organization.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.organization_id is None:
        return base.none()
    if actor.is_regulator:
        if actor.jurisdiction_area_ids is None:
            return base
        return base.filter(Q(area_id__in=actor.jurisdiction_area_ids) | Q(pk=actor.organization_id))
    return base.filter(pk=actor.organization_id)


def get_organization(actor: Actor, organization_id: int, action: str = "org.view") -> Organization:
    """The organization if the actor may see it (else 404) and may do `action` on it (else 403)."""
    org = visible_organizations(actor).filter(pk=organization_id).first()
    if org is None:
        raise NotFound(_("organization %(id)s not found") % {"id": organization_id})
    require(actor, action, org)
    return org


REGULATOR_ON_OTHERS = frozenset({"org.view", "zone.regulate_org"})


def require(actor: Actor, action: str, organization: Organization | None = None) -> None:
    """Raise Forbidden unless the actor may do `action` (on `organization`, if given).

    Inside its own organization an actor is bound by its membership role and token scopes; a
    regulator may view the organizations of its jurisdiction and change only their registration.
    """
    if actor.is_system:
        return
    if organization is not None and organization.pk != actor.organization_id:
        # Callers reach here with an organization of the actor's jurisdiction (visible_organizations);
        # "zone.regulate_org" lets a regulator change its registration fields (rules.ORG_FIELD_EDITOR).
        if not (actor.is_regulator and action in REGULATOR_ON_OTHERS and actor.can(action)):
            raise Forbidden(_("you may not do this for %(org)s") % {"org": organization.name})
        return
    if not actor.can(action):
        raise Forbidden(_("your role does not allow this (%(action)s)") % {"action": action})
