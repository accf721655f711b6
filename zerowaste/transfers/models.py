"""Transfers (电子联单): one movement of waste from a consignor to a consignee via carrier legs.

Data only; the state machine lives in `rules.py`, the use cases in `services.py`. Quantities are
`Decimal(18,3)` tonnes. Nothing here is deleted: a discarded draft is `cancelled`, a correction is a
new version (`TransferVersion`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import Organization, Site, Vehicle, ZonedModel

from . import rules


def _qty(label: Any, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(label, max_digits=18, decimal_places=3, **kwargs)  # type: ignore[arg-type]


class Transfer(ZonedModel):
    stream = models.CharField(_("stream"), max_length=16, choices=rules.STREAM_CHOICES)
    number = models.CharField(_("number"), max_length=40, null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=rules.STATE_CHOICES, default=rules.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    consignor = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="transfers_out")
    consignor_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consignee = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="transfers_in")
    consignee_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    carrier = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="transfers_carried",
        help_text=_("the carrier of the first leg"),
    )
    current_carrier = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", help_text=_("the carrier whose turn it is")
    )
    storage = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("an intermediate pilot-park store or transfer station"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="linked",
        help_text=_("the refused transfer whose rest this one moves"),
    )
    planned_date = models.DateField(_("planned date"))
    estimated_t = _qty(_("estimated (t)"), default=0)
    received_t = _qty(_("received (t)"), null=True, blank=True)
    refused_t = _qty(_("refused (t)"), default=0)
    refusal_reason = models.TextField(_("refusal reason"), blank=True)
    discrepancy = models.BooleanField(_("discrepancy"), default=False)
    discrepancy_note = models.TextField(_("discrepancy explanation"), blank=True)
    acknowledged = models.BooleanField(_("acknowledged by the regulator"), default=False)
    treatment = models.CharField(_("treatment"), max_length=100, blank=True)
    inter_provincial = models.BooleanField(_("inter-provincial"), default=False)
    emergency_measures = models.TextField(_("emergency measures"), blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    rest_redirected = models.BooleanField(default=False)
    revision_pending = models.BooleanField(default=False)
    due_date = models.DateField(_("due"), null=True, blank=True)
    due_step = models.CharField(max_length=16, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "number"], name="transfer_zone_number_uniq"),
            models.CheckConstraint(condition=models.Q(estimated_t__gte=0), name="transfer_estimated_nonneg"),
            models.CheckConstraint(condition=models.Q(refused_t__gte=0), name="transfer_refused_nonneg"),
        ]
        indexes = [
            models.Index(fields=["zone", "consignor", "state"], name="transfer_zone_consignor_idx"),
            models.Index(fields=["zone", "consignee", "state"], name="transfer_zone_consignee_idx"),
            models.Index(fields=["zone", "carrier", "state"], name="transfer_zone_carrier_idx"),
            models.Index(fields=["zone", "state", "due_date"], name="transfer_zone_due_idx"),
            models.Index(fields=["zone", "stream", "issued_at"], name="transfer_zone_issued_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        # A draft has no number yet: "草稿 #2250" on a Chinese page.
        return self.number or _("draft #%(id)s") % {"id": self.pk}

    @property
    def label(self) -> str:
        return str(self)


class TransferLine(ZonedModel):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=1)
    waste_code = models.CharField(_("waste code"), max_length=40)
    category = models.CharField(_("category"), max_length=16, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    hazard = models.CharField(_("hazard characteristics"), max_length=20, blank=True)
    highly_toxic = models.BooleanField(_("highly toxic (剧毒)"), default=False)
    physical_form = models.CharField(_("physical form"), max_length=40, blank=True)
    packaging = models.CharField(_("packaging"), max_length=60, blank=True)
    package_count = models.PositiveIntegerField(_("packages"), default=0)
    estimated_t = _qty(_("estimated (t)"))
    received_t = _qty(_("received (t)"), null=True, blank=True)
    treatment = models.CharField(_("intended treatment"), max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "transfer", "position"], name="tline_zone_transfer_pos_uniq"
            ),
            models.CheckConstraint(condition=models.Q(estimated_t__gt=0), name="tline_estimated_pos"),
        ]
        indexes = [models.Index(fields=["zone", "waste_code"], name="tline_zone_code_idx")]
        ordering = ["position"]


class TransferLeg(ZonedModel):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="legs")
    seq = models.PositiveIntegerField(default=1)
    carrier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=16, blank=True)
    driver = models.CharField(_("driver"), max_length=100, blank=True)
    quantity_seen_t = _qty(_("quantity seen (t)"), null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "transfer", "seq"], name="tleg_zone_transfer_seq_uniq")
        ]
        indexes = [models.Index(fields=["zone", "carrier"], name="tleg_zone_carrier_idx")]
        ordering = ["seq"]


class Signature(ZonedModel):
    """One party's signature of one step: who, when, and the quantity it saw."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="signatures")
    action = models.CharField(max_length=32)
    party = models.CharField(max_length=16)
    organization = models.ForeignKey(Organization, null=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    at = models.DateTimeField()
    quantity_t = _qty(_("quantity (t)"), null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "transfer"], name="tsig_zone_transfer_idx")]
        ordering = ["at", "pk"]

    @property
    def action_label(self) -> str:
        """The signed step in the page's language (`pick_up` → 起运签收)."""
        return str(rules.ACTION_LABELS.get(self.action, self.action))

    @property
    def party_label(self) -> str:
        return str(rules.PARTY_LABELS.get(self.party, self.party))


class NumberCounter(ZonedModel):
    """The last number given per zone, stream, year and sending prefecture; locked while numbering."""

    stream = models.CharField(max_length=16)
    year = models.PositiveIntegerField()
    prefix = models.CharField(max_length=8, blank=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "stream", "year", "prefix"], name="tcounter_zone_key_uniq"
            )
        ]


class TransferVersion(ZonedModel):
    """The content of a transfer at each version: v1 as closed, then one per applied correction."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "transfer", "version"], name="tversion_zone_transfer_v_uniq"
            )
        ]
        ordering = ["version"]


class RevisionRequest(ZonedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPLIED = "applied", _("applied")
        REJECTED = "rejected", _("rejected")

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="revisions")
    requested_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    requested_by_user = models.CharField(max_length=150, blank=True)
    reason = models.TextField(_("reason"))
    proposed = models.JSONField(default=dict)
    initial = models.JSONField(default=dict)
    required = models.JSONField(default=list, help_text=_("organization ids that must approve"))
    approvals = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One pending request per transfer, enforced by the database as well.
            models.UniqueConstraint(
                fields=["zone", "transfer"],
                condition=models.Q(status="pending"),
                name="trevision_one_pending",
            ),
        ]
        ordering = ["-created_at", "-pk"]


class WebhookSubscription(ZonedModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="transfer_webhooks")
    url = models.URLField(_("URL"), max_length=500)
    # The public address the URL's host resolved to when it was given: deliveries connect there.
    pinned_address = models.GenericIPAddressField(null=True, blank=True)
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "organization"], name="twebhook_zone_org_idx")]
        ordering = ["pk"]


class WebhookDelivery(ZonedModel):
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, default="pending")  # pending, delivered, failed
    response_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "subscription", "status"], name="tdelivery_zone_sub_idx")]
        ordering = ["-pk"]


class SignatureCode(ZonedModel):
    """A producer's signature code (签名码): lets a carrier's driver collect the producer's signature
    on the driver's device when the producer's clerk is not at the dock. Only a keyed digest is kept;
    the code is shown once when rotated. Wrong attempts are counted and throttled."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="signature_code")
    digest = models.CharField(max_length=64)
    rotated_at = models.DateTimeField()
    rotated_by = models.CharField(max_length=150, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signature code of {self.organization_id}"
