"""Indicator sets a zone loaded, and the input values departments entered (never deleted).

The definitions themselves are data (`sets/*.toml`, validated by `rules.load_set`); a zone uses the
bundled set until it loads another one. An entry is one department's value of one input for one
zone-year with its source and evidence file; the newest entry of a key counts, older ones stay as
history, and an entry with an empty value withdraws the entered figure (the derived one counts again).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import Organization, ZonedModel


class IndicatorSetVersion(ZonedModel):
    """A set file loaded for a zone; the active one is the zone's indicator system."""

    code = models.CharField(_("code"), max_length=64)
    version = models.CharField(_("version"), max_length=32)
    name = models.CharField(_("name"), max_length=300)
    source_text = models.TextField()
    checksum = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False)
    loaded_by = models.CharField(max_length=150, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "code", "version"], name="indset_zone_code_version_uniq"),
        ]
        indexes = [models.Index(fields=["zone", "is_active"], name="indset_zone_active_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"


class InputEntry(ZonedModel):
    """A department's value of one input quantity for a zone-year, with source and evidence."""

    year = models.PositiveIntegerField(_("year"))
    key = models.CharField(_("input"), max_length=64)
    value = models.CharField(_("value"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=500)
    department = models.CharField(_("department"), max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence_name = models.CharField(_("evidence file"), max_length=255, blank=True)
    evidence_type = models.CharField(max_length=100, blank=True)
    evidence = models.BinaryField(null=True, blank=True)
    entered_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "year", "key", "created_at"], name="indentry_zone_year_key_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.year} {self.key}={self.value}"


class Judgment(ZonedModel):
    """A regulator's verdict on an indicator whose direction is a judgment ("a reasonable level"), with
    its reason. Never changed or deleted: the newest of a zone-year-indicator counts."""

    year = models.PositiveIntegerField(_("year"))
    number = models.CharField(_("indicator"), max_length=8)
    met = models.BooleanField(_("met"))
    reason = models.CharField(_("reason"), max_length=1000)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    judged_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "year", "number", "created_at"], name="indjudg_zone_year_num_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.year} {self.number} {'met' if self.met else 'not met'}"
