"""Declarations (申报) of producers, their lines per site and waste code, production data, import jobs.

Quantities are `Decimal(18,3)` tonnes: three decimals are kilograms. Nothing here is ever deleted:
an accepted declaration is amended by a new version (`previous` points at the one it amends).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import Organization, Site, ZonedModel

from . import rules


def _qty(label: Any) -> Any:
    return models.DecimalField(label, max_digits=18, decimal_places=3, default=0)


class Declaration(ZonedModel):
    """One producer's statement for one stream and one period, in one version."""

    Status = rules.Status

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="declarations")
    stream = models.CharField(_("stream"), max_length=16, choices=rules.STREAM_CHOICES)
    period_kind = models.CharField(
        _("period kind"), max_length=8, choices=rules.PERIOD_KIND_CHOICES, default="month"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    version = models.PositiveIntegerField(_("version"), default=1)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amendments"
    )
    status = models.CharField(_("status"), max_length=16, choices=rules.STATUS_CHOICES, default="draft")
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)
    return_reason = models.TextField(_("reason for returning"), blank=True)
    submissions = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "organization", "stream", "period_start", "version"],
                name="decl_zone_org_stream_period_version_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["zone", "status", "period_start"], name="decl_zone_status_period_idx"),
            models.Index(
                fields=["zone", "organization", "stream", "period_end"], name="decl_zone_org_end_idx"
            ),
        ]
        ordering = ["-period_start", "organization_id", "stream", "-version"]

    def __str__(self) -> str:
        return f"{self.stream} {rules.period_label(self.period_kind, self.period_start)} v{self.version}"

    @property
    def period_label(self) -> str:
        return rules.period_label(self.period_kind, self.period_start)


class DeclarationLine(ZonedModel):
    """One waste code at one site: the balance opening + generated − … = closing, in tonnes."""

    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="lines")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    waste_code = models.CharField(_("waste code"), max_length=40)
    waste_name = models.CharField(_("waste name"), max_length=300, blank=True)
    category_code = models.CharField(_("category"), max_length=32, blank=True)
    opening_t = _qty(_("opening stock (t)"))
    generated_t = _qty(_("generated (t)"))
    utilized_t = _qty(_("utilized in-house (t)"))
    disposed_t = _qty(_("disposed in-house (t)"))
    transferred_util_t = _qty(_("transferred out for utilization (t)"))
    transferred_disp_t = _qty(_("transferred out for disposal (t)"))
    closing_t = _qty(_("closing stock (t)"))
    destination = models.CharField(_("destination"), max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "declaration"], name="declline_zone_decl_idx"),
            models.Index(fields=["zone", "waste_code"], name="declline_zone_code_idx"),
        ]
        ordering = ["position", "pk"]

    def quantities(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in rules.QTY_FIELDS}


class ProductionData(ZonedModel):
    """A producer's production data of one year: value added (万元), main products, main raw materials."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="production_data")
    year = models.PositiveIntegerField(_("year"))
    value_added_wan = models.DecimalField(
        _("industrial value added (10k CNY)"), max_digits=18, decimal_places=2
    )
    products = models.JSONField(_("main products"), default=list, blank=True)
    raw_materials = models.JSONField(_("main raw materials"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "organization", "year"], name="prod_zone_org_year_uniq"),
        ]


class ImportJob(ZonedModel):
    """One uploaded file: checked (dry run), then imported inline or in the background, with progress."""

    class Status(models.TextChoices):
        CHECKED = "checked", _("checked")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("imported")
        FAILED = "failed", _("rejected")

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="declaration_imports"
    )
    created_by = models.CharField(max_length=150, blank=True)
    filename = models.CharField(max_length=255)
    content = models.BinaryField(null=True, blank=True)
    submit = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=32, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    faults = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "organization", "created_at"], name="declimport_zone_org_idx")
        ]

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))
