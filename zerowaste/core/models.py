"""Parties, access and the audit trail: the ground every other app stands on.

Every domain row carries `zone_id` (the tenant and future shard key) and keeps it leading in unique
constraints and indexes. Regulated records are never deleted: they are deactivated or revoked.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import rules


class Zone(models.Model):
    """A tenant: one development zone or city district."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    division_code = models.CharField(_("administrative division code"), max_length=6, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("zone")

    def __str__(self) -> str:
        return self.name


class ZonedModel(models.Model):
    """Base of every domain row: `zone_id` is the tenant and the shard key."""

    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class Area(ZonedModel):
    """A street (街道), community (社区/小区) or park (园区) inside a zone; regulators' jurisdictions."""

    class Kind(models.TextChoices):
        STREET = "street", _("street")
        COMMUNITY = "community", _("community")
        PARK = "park", _("park")

    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="area_zone_code_uniq")]

    def __str__(self) -> str:
        return self.name


class Organization(ZonedModel):
    """A legal entity identified by its USCC (统一社会信用代码)."""

    uscc = models.CharField(_("unified social credit code"), max_length=18)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    area = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.PROTECT, related_name="organizations"
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "uscc"], name="org_zone_uscc_uniq")]
        indexes = [models.Index(fields=["zone", "name"], name="org_zone_name_idx")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def role_codes(self) -> list[str]:
        return sorted(r.role for r in self.roles.all())


class OrganizationRole(ZonedModel):
    """One of the roles an organization holds; several per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=24, choices=rules.ORG_ROLE_CHOICES)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "organization", "role"], name="orgrole_zone_org_role_uniq"
            )
        ]
        indexes = [models.Index(fields=["zone", "role"], name="orgrole_zone_role_idx")]

    def __str__(self) -> str:
        return f"{self.organization_id}:{self.role}"


class User(AbstractUser):
    """A person. What they may do comes from their memberships, never from the user row itself."""

    preferred_language = models.CharField(max_length=8, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True)
    # The organization the user last chose to act for: the default at the next login, so that a new
    # membership never silently becomes the organization the user acts for.
    default_organization = models.ForeignKey(
        "Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class Membership(ZonedModel):
    """A user's place in an organization, with one role there; regulators also have a jurisdiction."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=rules.MEMBER_ROLE_CHOICES)
    jurisdiction = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For regulator members: a street inside the zone; empty means the whole zone."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "organization", "user"], name="membership_zone_org_user_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organization_id} ({self.role})"


class Invitation(ZonedModel):
    """An offer to join an organization with a role; a Membership exists only once it is accepted.

    The inviting admin types a username or an email; nothing about an account behind it is ever
    shown back. The one-time link (only its SHA-256 is stored) lets the person accept, or create an
    account first when they have none.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="invitations")
    role = models.CharField(_("role"), max_length=16, choices=rules.MEMBER_ROLE_CHOICES)
    jurisdiction = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(_("username"), max_length=150, blank=True)
    email = models.EmailField(_("email"), blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    invited_by_org = models.ForeignKey(Organization, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["zone", "organization"], name="invitation_zone_org_idx"),
            models.Index(fields=["username"], name="invitation_username_idx"),
            models.Index(fields=["email"], name="invitation_email_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username or self.email}@{self.organization_id} ({self.role})"


class LicenceQuerySet(models.QuerySet["Licence"]):
    """The one place that says which licences count (ADR 0042): ask it, never filter by hand."""

    def qualifying(self) -> LicenceQuerySet:
        """Licences a regulator has verified and the holder has not revoked."""
        return self.filter(status=rules.LICENCE_VERIFIED, is_revoked=False)

    def in_force(self, on: date, kind: str | None = None) -> LicenceQuerySet:
        """Qualifying licences valid on `on` (of `kind`, if given)."""
        qs = self.qualifying().filter(valid_from__lte=on, valid_to__gte=on)
        return qs.filter(kind=kind) if kind else qs


class Licence(ZonedModel):
    """A licence or permit: HW operating licence, transport permits, collection permits ...

    An organization's own entry is pending until a regulator verifies it; only a verified licence
    qualifies (`Licence.objects.in_force`, `core.services.licence_covers`).
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="licences")
    kind = models.CharField(_("kind"), max_length=32, choices=rules.LICENCE_KIND_CHOICES)
    number = models.CharField(_("number"), max_length=64)
    issuer = models.CharField(_("issuer"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    waste_codes = models.JSONField(_("covered waste codes"), default=list, blank=True)
    annual_capacity_t = models.DecimalField(
        _("annual capacity (t)"), max_digits=18, decimal_places=3, null=True, blank=True
    )
    is_revoked = models.BooleanField(_("revoked"), default=False)
    status = models.CharField(
        _("verification"),
        max_length=16,
        choices=rules.LICENCE_STATUS_CHOICES,
        default=rules.LICENCE_PENDING,
    )
    rejection_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)
    # Who verified or rejected it, and when: the user (or token, or "system") and its organization.
    reviewed_by = models.CharField(_("reviewed by"), max_length=150, blank=True)
    reviewed_by_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LicenceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "kind", "number"], name="licence_zone_kind_number_uniq")
        ]
        indexes = [models.Index(fields=["zone", "status"], name="licence_zone_status_idx")]
        ordering = ["valid_to"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def is_verified(self) -> bool:
        return self.status == rules.LICENCE_VERIFIED


class LicenceScan(ZonedModel):
    """A scan of a licence's certificate (image or PDF) uploaded by its organization.

    Kept like other binaries of the platform, in the database (indicator evidence, listing photos).
    Nothing regulated is deleted: a new scan is a new row; the newest is the licence's certificate.
    """

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="scans")
    content = models.BinaryField(_("certificate scan"))
    content_type = models.CharField(max_length=100)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "licence"], name="licence_scan_zone_licence_idx")]

    def __str__(self) -> str:
        return f"scan {self.pk} of licence {self.licence_id}"


class Site(ZonedModel):
    """A place of an organization: plant, storage, station, disposal site."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=24, choices=rules.SITE_KIND_CHOICES)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "organization", "name"], name="site_zone_org_name_uniq")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Vehicle(ZonedModel):
    """A vehicle of a carrier, with its plate and the permits it runs under."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="vehicles")
    plate = models.CharField(_("plate"), max_length=16)
    vehicle_type = models.CharField(_("vehicle type"), max_length=40, blank=True)
    capacity_kg = models.PositiveIntegerField(_("load capacity (kg)"), null=True, blank=True)
    permits = models.ManyToManyField(Licence, blank=True, related_name="vehicles")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "plate"], name="vehicle_zone_plate_uniq")]
        ordering = ["plate"]

    def __str__(self) -> str:
        return self.plate


class ApiToken(ZonedModel):
    """A per-organization API token. Only its SHA-256 is stored; the secret is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "organization"], name="token_zone_org_idx")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (zw_{self.prefix}_…)"

    @property
    def scope_labels(self) -> list[str]:
        """The scopes in the page's language (the keys are the API's)."""
        return [str(rules.TOKEN_SCOPE_LABELS.get(s, s)) for s in self.scopes]


class AuditEntry(models.Model):
    """One link of a zone's append-only, hash-chained audit log.

    Actor and object are stored as plain values, not foreign keys, so that nothing ever needs to
    update or cascade into an entry. A trigger refuses UPDATE and DELETE (PostgreSQL and SQLite).
    """

    zone_id = models.BigIntegerField(db_index=False)
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_org_id = models.BigIntegerField(null=True)
    via = models.CharField(max_length=16)  # web, api, cli, system
    action = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # The HMAC key that made `hash` (audit_keys); "" for entries made before the chain was keyed,
    # whose hash is plain SHA-256.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone_id", "seq"], name="audit_zone_seq_uniq")]
        indexes = [models.Index(fields=["zone_id", "model", "object_id"], name="audit_zone_object_idx")]

    def __str__(self) -> str:
        return f"{self.zone_id}#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    """The last link of each zone's chain; locked while appending so links never fork."""

    zone_id = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.zone_id}#{self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement "zone Z's chain had `seq` entries ending in `head_hash` at `at`".

    `payload` is the exact signed text (canonical JSON), `signature` its Ed25519 signature by the key
    `key_fingerprint`. The same record goes to the day's file under AUDIT_CHECKPOINT_DIR, which
    `zerowaste audit verify` reads back; this row is what the public page lists.
    """

    zone_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    day = models.DateField()
    key_fingerprint = models.CharField(max_length=16)
    payload = models.TextField()
    signature = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["zone_id", "-at"], name="audit_checkpoint_zone_at_idx")]

    def __str__(self) -> str:
        return f"{self.zone_id}#{self.seq} @ {self.day}"


class IdempotencyRecord(models.Model):
    """The first response to a write request carrying an `Idempotency-Key`, replayed on retries."""

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=200)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idem_principal_key_uniq")]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key}"


class LoginFailure(models.Model):
    """A failed login, counted per account and source address (and per address) to throttle guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # Locks are per account AND source address: this is the lookup of every login attempt.
        indexes = [models.Index(fields=["username", "ip", "at"], name="loginfailure_user_ip_at_idx")]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip}"
