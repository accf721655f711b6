"""Versioned waste catalogs of a zone: general industrial (ISW), national hazardous list (HW),
household classes and construction-waste types, all in one model.

Every row carries `zone_id` (see ADR-catalog-versions.md): a zone holds its own copy of the national
list, so validation, search and foreign keys from records never cross a tenant.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import ZonedModel
from zerowaste.core.rules import without_seed_references

from . import rules


class CatalogVersion(ZonedModel):
    """One edition of one stream's catalog, e.g. the zone's ISW catalog of 2020."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    stream = models.CharField(_("stream"), max_length=16, choices=rules.STREAM_CHOICES)
    label = models.CharField(_("version"), max_length=32, help_text=_("e.g. 2020"))
    title = models.CharField(_("title"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    covers_earlier = models.BooleanField(
        _("also answers for earlier dates"),
        default=False,
        help_text=_("The first version known to the platform also answers for dates before it."),
    )
    warnings = models.JSONField(default=list, blank=True)
    recodes = models.JSONField(
        default=dict, blank=True, help_text=_("old code -> new code, set before publishing")
    )
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "stream", "label"], name="catver_zone_stream_label_uniq"),
            models.UniqueConstraint(
                fields=["zone", "stream", "effective_from"], name="catver_zone_stream_eff_uniq"
            ),
        ]
        indexes = [models.Index(fields=["zone", "stream", "status"], name="catver_zone_stream_idx")]
        ordering = ["stream", "-effective_from", "-created_at"]

    def __str__(self) -> str:
        return f"{self.stream} {self.label}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class CatalogCategory(ZonedModel):
    """A category of a version: ISW01 电子行业废物, HW49 其他废物, household `recyclable` (blue) ..."""

    version = models.ForeignKey(CatalogVersion, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    colour = models.CharField(_("colour"), max_length=16, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "version", "code"], name="catcat_zone_version_code_uniq"),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CatalogEntry(ZonedModel):
    """One code of a version. The code keeps its meaning inside the version."""

    version = models.ForeignKey(CatalogVersion, on_delete=models.CASCADE, related_name="entries")
    category = models.ForeignKey(CatalogCategory, on_delete=models.PROTECT, related_name="entries")
    stream = models.CharField(_("stream"), max_length=16, choices=rules.STREAM_CHOICES)
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=300, blank=True)
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    industry = models.CharField(_("industry source"), max_length=100, blank=True)
    hazard_raw = models.CharField(_("hazard characteristics"), max_length=20, blank=True)
    hazard_primary = models.CharField(max_length=20, blank=True)
    hazard_possible = models.CharField(max_length=20, blank=True)
    hazard_one_or_more = models.BooleanField(default=False)
    colour = models.CharField(_("colour"), max_length=16, blank=True)
    requires_free_text = models.BooleanField(_("requires a free-text name"), default=False)
    flags = models.JSONField(default=list, blank=True)
    remark = models.CharField(_("remark"), max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    search_text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "version", "code"], name="catentry_zone_version_code_uniq"
            ),
        ]
        indexes = [models.Index(fields=["zone", "stream", "code"], name="catentry_zone_stream_code_idx")]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def hazard(self) -> rules.Hazard:
        return rules.hazard_from_fields(
            self.hazard_primary, self.hazard_possible, self.hazard_one_or_more, self.hazard_raw
        )

    @property
    def needs_free_text(self) -> bool:
        """A record using this code must name the waste itself.

        That is `99-14-01` (自填), and a code whose name was lost in the source.
        """
        return self.requires_free_text or not self.name

    @property
    def display_name(self) -> str:
        return self.name or str(_("(name missing in the source)"))

    @property
    def display_remark(self) -> str:
        """The remark as a page shows it: without the source file's seed line references."""
        return without_seed_references(self.remark)


class CodeMapping(ZonedModel):
    """What an old code of a version became in a later one (re-coded, renamed, retired)."""

    class Kind(models.TextChoices):
        RECODED = "recoded", _("re-coded")
        RENAMED = "renamed", _("renamed")
        RECATEGORISED = "recategorised", _("moved to another category")
        RETIRED = "retired", _("retired")

    stream = models.CharField(max_length=16, choices=rules.STREAM_CHOICES)
    from_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="mappings_from")
    from_code = models.CharField(max_length=40)
    to_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="mappings_to")
    to_code = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "from_version", "from_code", "to_version"], name="catmap_zone_from_to_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["zone", "stream", "from_code"], name="catmap_zone_from_idx"),
            models.Index(fields=["zone", "stream", "to_code"], name="catmap_zone_to_idx"),
        ]
