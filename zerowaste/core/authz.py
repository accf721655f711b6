"""Who is acting, and what they may see and do. Shared by pages, API and CLI.

An `Actor` is a person acting for one organization (through a membership), an API token of an
organization, or the system (CLI maintenance, demo builder). Every service takes an actor and asks
this module; views and API handlers never decide access themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps
from django.db.models import CharField, ForeignKey, Model, Q, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from . import rules
from .errors import Forbidden, NotFound
from .models import ApiToken, Area, AuditEntry, Membership, Organization, User, Zone


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


def _area_and_descendants(zone_id: int, area_id: int) -> frozenset[int]:
    ids = {area_id}
    frontier = {area_id}
    while frontier:  # streets hold communities and parks; walk down however deep the tree goes
        frontier = set(
            Area.objects.filter(zone_id=zone_id, parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("id", flat=True)
        )
        ids |= frontier
    return frozenset(ids)


def _jurisdiction(
    organization: Organization, org_roles: frozenset[str], membership: Membership | None
) -> frozenset[int] | None:
    """The areas a regulator sees: its organization's own area (a street office's street) narrowed to
    its member's jurisdiction; either alone if the other is unset; the whole zone (None) if neither is.
    A member never reaches beyond its organization's area, whatever jurisdiction it was given.
    Non-regulators see by organization, not by area.
    """
    if "regulator" not in org_roles:
        return None
    reaches = [
        _area_and_descendants(organization.zone_id, area_id)
        for area_id in (organization.area_id, membership.jurisdiction_id if membership else None)
        if area_id is not None
    ]
    if not reaches:
        return None
    return frozenset.intersection(*reaches)


def _actor(
    organization: Organization,
    *,
    membership: Membership | None,
    member_role: str,
    token: ApiToken | None = None,
) -> Actor:
    """The one place an actor's visibility is built, for sessions and tokens alike (ADR 0040)."""
    org_roles = frozenset(organization.roles.values_list("role", flat=True))
    return Actor(
        zone_id=organization.zone_id,
        organization=organization,
        user=membership.user if membership is not None and token is None else None,
        member_role=member_role,
        org_roles=org_roles,
        jurisdiction_area_ids=_jurisdiction(organization, org_roles, membership),
        token=token,
        token_scopes=frozenset(token.scopes) if token is not None else None,
    )


def actor_for_membership(membership: Membership) -> Actor:
    return _actor(membership.organization, membership=membership, member_role=membership.role)


def token_membership(token: ApiToken) -> Membership | None:
    """The membership a token acts through: its creator's, in the token's organization."""
    if token.created_by_id is None:
        return None
    return (
        Membership.objects.filter(
            zone_id=token.zone_id, organization_id=token.organization_id, user_id=token.created_by_id
        )
        .select_related("user", "jurisdiction")
        .first()
    )


def actor_for_token(token: ApiToken) -> Actor | None:
    """The actor of an API token: never more than the person who created it (ADR 0040).

    A token made by a person acts through that person's membership of the organization: the same
    jurisdiction, and no higher role than theirs (its scopes narrow it further). When that membership
    or the person's account is gone or inactive, the token stops working (None). A token made by the
    system (the CLI, the demo builder) acts with its organization's own reach: a regulator
    organization's area, if it has one.
    """
    scope_role = "admin" if "admin" in token.scopes else "clerk"
    if token.created_by_id is None:
        return _actor(token.organization, membership=None, member_role=scope_role, token=token)
    membership = token_membership(token)
    if membership is None or not membership.is_active or not membership.user.is_active:
        return None
    member_role = scope_role if membership.role == "admin" else membership.role
    return _actor(token.organization, membership=membership, member_role=member_role, token=token)


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


def _organization_foreign_keys(model: type[Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, ForeignKey) and f.related_model is Organization
    ]


def visible_audit_entries(actor: Actor) -> QuerySet[AuditEntry]:
    """The audit log as the actor may read it (regulators only, `zone.audit`).

    A zone regulator reads its whole zone's log. A regulator with a jurisdiction reads the entries
    about rows of its jurisdiction's organizations — an organization itself, or any row naming one of
    them through a foreign key (a membership, token, licence, declaration, transfer of which one is a
    party …) — and every entry its own organization made. Entries about zone-wide rows (catalogs,
    indicator entries, settings) and rows of other streets' organizations stay hidden (issue 15,
    defect 7).
    """
    require(actor, "zone.audit")
    base = AuditEntry.objects.filter(zone_id=actor.zone_id)
    if actor.is_system or actor.jurisdiction_area_ids is None:
        return base
    orgs = visible_organizations(actor).values("pk")
    return base.filter(Q(actor_org_id=actor.organization_id) | audit_entries_about(orgs))


def audit_entries_about(orgs: QuerySet[Any]) -> Q:
    """Audit entries about the organizations `orgs` (a query of their pks): about an organization
    itself, or about any row naming one of them through a foreign key."""
    about = Q(model=Organization._meta.label_lower, object_id__in=_as_text_ids(Organization, Q(pk__in=orgs)))
    for model in django_apps.get_models():
        fields = _organization_foreign_keys(model)
        if not fields or not model.__module__.startswith("zerowaste."):
            continue
        naming = Q()
        for name in fields:
            naming |= Q(**{f"{name}__in": orgs})
        about |= Q(model=model._meta.label_lower, object_id__in=_as_text_ids(model, naming))
    return about


def _as_text_ids(model: type[Model], condition: Q) -> QuerySet[Any]:
    """The primary keys of `model`'s rows matching `condition`, as text (an entry's object_id)."""
    return (
        model._default_manager.filter(condition)
        .annotate(audit_object_id=Cast("pk", output_field=CharField()))
        .values("audit_object_id")
    )
