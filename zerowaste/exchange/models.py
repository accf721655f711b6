"""Listings, matching runs, proposals, agreements and pooled collection runs of the exchange.

Quantities are `Decimal(18,3)` tonnes; money is Decimal CNY to the fen. Nothing regulated is deleted:
a listing is withdrawn, a proposal declined or superseded.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import Organization, Site, ZonedModel

from . import rules


def _tonnes(label: Any, **kwargs: Any) -> Any:
    return models.DecimalField(label, max_digits=18, decimal_places=3, **kwargs)


def _cny(label: Any, **kwargs: Any) -> Any:
    return models.DecimalField(label, max_digits=14, decimal_places=2, **kwargs)


class SupplyListing(ZonedModel):
    """A producer's offer of one waste code: a quantity per month or a one-off lot."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    stream = models.CharField(_("stream"), max_length=16)
    waste_code = models.CharField(_("waste code"), max_length=40)
    category = models.CharField(_("category"), max_length=32)
    waste_name = models.CharField(_("waste name"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=rules.SUPPLY_KIND_CHOICES)
    quantity_t = _tonnes(_("quantity (t)"))
    divisible = models.BooleanField(_("may be split between buyers"), default=True)
    quality_notes = models.TextField(_("quality and composition"), blank=True)
    packaging = models.CharField(_("packaging"), max_length=60, blank=True)
    photos = models.JSONField(_("photos"), default=list, blank=True)
    pickup_from = models.DateField(_("earliest pick-up"), null=True, blank=True)
    pickup_to = models.DateField(_("latest pick-up"), null=True, blank=True)
    price_cny_per_t = _cny(_("asking price (CNY/t; negative: fee the producer pays)"))
    anonymous = models.BooleanField(_("hide our name until a match is accepted"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=rules.LISTING_STATUS_CHOICES, default=rules.STATUS_OPEN
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "status", "waste_code"], name="exch_supply_zone_status_idx"),
            models.Index(fields=["zone", "organization"], name="exch_supply_zone_org_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.waste_code} {self.quantity_t} t"


class DemandListing(ZonedModel):
    """A receiver's standing demand: the codes it takes, its monthly capacity, its reach."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    capacity_t_per_month = _tonnes(_("capacity (t per month)"))
    service_radius_km = models.DecimalField(_("service radius (km)"), max_digits=8, decimal_places=1)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=rules.LISTING_STATUS_CHOICES, default=rules.STATUS_OPEN
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "status"], name="exch_demand_zone_status_idx"),
            models.Index(fields=["zone", "organization"], name="exch_demand_zone_org_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.capacity_t_per_month} t/month"


class DemandPrice(ZonedModel):
    """One accepted code of a demand and the price offered for it (CNY per tonne)."""

    demand = models.ForeignKey(DemandListing, on_delete=models.CASCADE, related_name="prices")
    stream = models.CharField(_("stream"), max_length=16)
    waste_code = models.CharField(_("waste code"), max_length=40)
    category = models.CharField(_("category"), max_length=32)
    price_cny_per_t = _cny(_("price offered (CNY/t)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "demand", "waste_code"], name="exch_price_zone_demand_code_uniq"
            )
        ]
        indexes = [models.Index(fields=["zone", "waste_code"], name="exch_price_zone_code_idx")]
        ordering = ["waste_code"]

    def __str__(self) -> str:
        return f"{self.waste_code} {self.price_cny_per_t} CNY/t"


class MatchRun(ZonedModel):
    """One run of the matching engine for a month, with its proof figures."""

    period = models.DateField(_("period (first day of the month)"))
    value_cny = _cny(_("total net value (CNY)"))
    greedy_value_cny = _cny(_("greedy nearest-buyer value (CNY)"))
    bound_cny = _cny(_("LP bound (CNY)"))
    gap = models.DecimalField(_("optimality gap"), max_digits=10, decimal_places=6)
    optimal = models.BooleanField(default=False)
    seconds = models.DecimalField(max_digits=10, decimal_places=3)
    supplies = models.PositiveIntegerField(default=0)
    demands = models.PositiveIntegerField(default=0)
    arcs = models.PositiveIntegerField(default=0)
    settings = models.JSONField(default=dict)
    stats = models.JSONField(default=dict)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "period"], name="exch_run_zone_period_idx")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} #{self.pk}"


class Proposal(ZonedModel):
    """One pairing the engine proposes: a quantity of a supply to a demand, with its value."""

    run = models.ForeignKey(MatchRun, on_delete=models.PROTECT, related_name="proposals")
    supply = models.ForeignKey(SupplyListing, on_delete=models.PROTECT, related_name="proposals")
    demand = models.ForeignKey(DemandListing, on_delete=models.PROTECT, related_name="proposals")
    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    waste_code = models.CharField(_("waste code"), max_length=40)
    quantity_t = _tonnes(_("quantity (t)"))
    price_cny_per_t = _cny(_("price (CNY/t)"))
    transport_cny_per_t = _cny(_("transport (CNY/t)"))
    handling_cny_per_t = _cny(_("handling (CNY/t)"))
    value_cny = _cny(_("net value (CNY)"))
    distance_km = models.DecimalField(_("distance (km)"), max_digits=10, decimal_places=3)
    alternatives = models.JSONField(default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=rules.PROPOSAL_STATUS_CHOICES, default=rules.PROPOSED
    )
    supplier_accepted_at = models.DateTimeField(null=True, blank=True)
    receiver_accepted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["zone", "supplier", "status"], name="exch_prop_zone_supplier_idx"),
            models.Index(fields=["zone", "receiver", "status"], name="exch_prop_zone_receiver_idx"),
        ]
        ordering = ["-run_id", "-value_cny", "pk"]

    def __str__(self) -> str:
        return f"{self.waste_code} {self.quantity_t} t → {self.receiver_id}"


class Agreement(ZonedModel):
    """A proposal both parties accepted; the transfer (e-manifest draft) it created."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="agreement")
    supplier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    quantity_t = _tonnes(_("quantity (t)"))
    price_cny_per_t = _cny(_("price (CNY/t)"))
    transfer = models.ForeignKey(
        "transfers.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"agreement {self.pk}"


class PoolRun(ZonedModel):
    """A pooled collection of small supplies of one code: vehicle routes to one receiver."""

    waste_code = models.CharField(_("waste code"), max_length=40)
    stream = models.CharField(_("stream"), max_length=16)
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    receiver_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    carrier = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    vehicle_capacity_t = _tonnes(_("vehicle capacity (t)"))
    vehicles = models.PositiveIntegerField(_("vehicles used"), default=0)
    total_t = _tonnes(_("total (t)"), default=0)
    road_km = models.DecimalField(_("road distance (km)"), max_digits=12, decimal_places=3, default=0)
    pooled_cost_cny = _cny(_("pooled cost (CNY)"), default=0)
    alone_cost_cny = _cny(_("sum of single trips (CNY)"), default=0)
    saving_cny = _cny(_("saving (CNY)"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=rules.POOL_STATUS_CHOICES, default=rules.POOL_PLANNED
    )
    solver = models.JSONField(default=dict)
    settings = models.JSONField(default=dict)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "waste_code"], name="exch_pool_zone_code_idx")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"pool {self.waste_code} #{self.pk}"


class PoolStop(ZonedModel):
    """One producer visited by one vehicle of a pooled run, in route order (all its small listings)."""

    run = models.ForeignKey(PoolRun, on_delete=models.PROTECT, related_name="stops")
    vehicle = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    supply = models.ForeignKey(SupplyListing, on_delete=models.PROTECT, related_name="+")
    supply_ids = models.JSONField(default=list, help_text="every listing picked up at this stop")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    quantity_t = _tonnes(_("quantity (t)"))
    load_after_t = _tonnes(_("load after the stop (t)"))
    leg_km = models.DecimalField(_("road km from the previous stop"), max_digits=10, decimal_places=3)
    alone_cost_cny = _cny(_("cost alone (CNY)"))
    transfer = models.ForeignKey(
        "transfers.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "run", "supply"], name="exch_stop_zone_run_supply_uniq")
        ]
        ordering = ["vehicle", "seq"]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.vehicle}/{self.seq}"


class SupplyPhoto(ZonedModel):
    """A photo of a supply listing, uploaded and re-encoded as a JPEG without metadata (ADR 34).

    Seen by the listing's organization, a regulator who may see it, and a receiver with a proposal
    for the listing; the image is stored in the database like indicator evidence.
    """

    listing = models.ForeignKey(SupplyListing, on_delete=models.PROTECT, related_name="uploaded_photos")
    content = models.BinaryField(_("image"))
    # A small copy for pages that list photos (a board row, a proposal), so that a phone does not
    # fetch six 1600 px images to show six thumbnails (migration 0004 made those of earlier photos).
    thumbnail = models.BinaryField(_("thumbnail"), default=b"", blank=True)
    content_type = models.CharField(max_length=40, default="image/jpeg")
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "listing"], name="exch_photo_zone_listing_idx")]
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"photo {self.pk} of supply {self.listing_id}"
