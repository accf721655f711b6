"""Hazardous-waste pilot records: park stores and their containers, contracts, extensions, producer
tiers, management and transfer plans, identification reports, inspections.

Records are kept at least five years (seed:4033) and never deleted through the application: every
model here refuses `delete()`, on the instance and on querysets (`KeptQuerySet`); the services offer
no deletion and the API no DELETE route. Container quantities are integer kilograms, so that the
monthly summary balances to the kilogram; tonnes are `Decimal(18,3)`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.errors import Forbidden
from zerowaste.core.models import Area, Organization, ZonedModel

from . import rules

KEEP_MESSAGE = _("hazardous-waste records are kept at least five years and never deleted")


def _refuse_delete() -> None:
    text = str(KEEP_MESSAGE)
    raise Forbidden(rules.refusal("R-KEEP-5Y", text), errors=rules.refusal_errors("R-KEEP-5Y", text))


class KeptQuerySet(models.QuerySet):  # type: ignore[type-arg]
    def delete(self) -> Any:
        _refuse_delete()


class KeptModel(ZonedModel):
    objects = KeptQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        _refuse_delete()


def _t(label: Any, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(label, max_digits=18, decimal_places=3, **kwargs)


class Store(KeptModel):
    """A pilot park's central HW store (危险废物仓库), run by the park's operator (seed:4005, 4019-4029)."""

    operator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_stores")
    park = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    capacity_t = _t(_("capacity (t)"))
    bays = models.JSONField(_("storage bays"), default=list, blank=True)
    limit_days = models.PositiveIntegerField(_("storage limit (days)"), default=rules.DEFAULT_LIMIT_DAYS)
    warning_days = models.JSONField(_("warning ages (days)"), default=list, blank=True)
    c_categories = models.JSONField(
        _("categories accepted from C producers"), default=list, blank=True, help_text=_("e.g. HW49, HW06")
    )
    insurance_policy = models.CharField(_("pollution liability insurance policy"), max_length=64, blank=True)
    insurance_valid_to = models.DateField(_("insurance valid to"), null=True, blank=True)
    technicians = models.PositiveIntegerField(_("qualified technicians"), default=0)
    emergency_plan_on = models.DateField(_("emergency plan dated"), null=True, blank=True)
    last_drill_on = models.DateField(_("last emergency drill"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="hwstore_zone_code_uniq")]
        indexes = [models.Index(fields=["zone", "operator"], name="hwstore_zone_operator_idx")]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def warnings(self) -> tuple[int, ...]:
        return tuple(self.warning_days or rules.DEFAULT_WARNING_DAYS)


class DisposalContract(KeptModel):
    """The operator's contract with a licensed receiver: the "contracted route" of seed:4013, 4017."""

    operator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_contracts")
    receiver = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("contract number"), max_length=64)
    categories = models.JSONField(_("covered categories or codes"), default=list)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "operator", "number"], name="hwcontract_zone_op_num_uniq")
        ]
        ordering = ["valid_to"]

    def __str__(self) -> str:
        return self.number


class Container(KeptModel):
    """One container or package collected into a store (入库记录, HJ 1259 B.2), until it leaves by
    manifest (出库, B.3/B.5)."""

    class State(models.TextChoices):
        IN_STORE = "in_store", _("in store")
        SHIPPED = "shipped", _("shipped")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="containers")
    number = models.CharField(_("number"), max_length=32)
    producer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_containers")
    waste_code = models.CharField(_("waste code"), max_length=40)
    category = models.CharField(_("category"), max_length=16)
    waste_name = models.CharField(_("waste name"), max_length=300, blank=True)
    hazard = models.CharField(_("hazard characteristics"), max_length=20, blank=True)
    group = models.CharField(_("compatibility group"), max_length=20, choices=rules.GROUP_CHOICES)
    physical_form = models.CharField(_("physical form"), max_length=40, blank=True)
    packaging = models.CharField(_("packaging"), max_length=60, blank=True)
    bay = models.CharField(_("bay"), max_length=32)
    quantity_kg = models.PositiveIntegerField(_("quantity (kg)"))
    analysis_report = models.CharField(_("analysis report"), max_length=100)
    collected_on = models.DateField(_("collected on"))
    collected_by = models.CharField(max_length=150, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_STORE)
    out_number = models.CharField(_("out-of-store number"), max_length=32, blank=True)
    shipped_on = models.DateField(_("shipped on"), null=True, blank=True)
    transfer = models.ForeignKey(
        "transfers.Transfer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    extended_until = models.DateField(_("extended until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Batch codes (HJ 1259) are the operator's ledger numbers: unique per store.
            models.UniqueConstraint(
                fields=["zone", "store", "number"], name="hwcontainer_zone_store_number_uniq"
            ),
            models.CheckConstraint(condition=models.Q(quantity_kg__gt=0), name="hwcontainer_qty_pos"),
        ]
        indexes = [
            models.Index(
                fields=["zone", "store", "state", "collected_on"], name="hwcontainer_zone_store_idx"
            ),
            models.Index(fields=["zone", "producer", "collected_on"], name="hwcontainer_zone_prod_idx"),
            models.Index(fields=["zone", "store", "shipped_on"], name="hwcontainer_zone_ship_idx"),
        ]
        ordering = ["collected_on", "pk"]

    def __str__(self) -> str:
        return self.number

    @property
    def quantity_t(self) -> Any:
        return rules.kg_to_t(self.quantity_kg)

    @property
    def deadline(self) -> Any:
        return rules.storage_deadline(self.collected_on, self.extended_until)


class StorageExtension(KeptModel):
    """A regulator's approval to keep a container beyond one year (贮存指南第十二条, seed:4093)."""

    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="extensions")
    approved_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    approved_by_user = models.CharField(max_length=150, blank=True)
    approved_on = models.DateField(_("approved on"))
    until = models.DateField(_("extended until"))
    document = models.CharField(_("approval document"), max_length=100)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "container"], name="hwext_zone_container_idx")]
        ordering = ["approved_on", "pk"]


class TierAssessment(KeptModel):
    """A producer's tier for a year, from the previous year's declarations, with the evidence."""

    year = models.PositiveIntegerField(_("year"))
    park = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    producer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_tiers")
    generated_t = _t(_("generated last year (t)"))
    max_stock_t = _t(_("largest stock (t)"))
    tier = models.CharField(_("tier"), max_length=1, choices=rules.TIER_CHOICES)
    evidence = models.JSONField(default=dict)
    trigger = models.CharField(max_length=16, default="on_demand")  # january / on_demand
    computed_at = models.DateTimeField()
    computed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "year", "producer"], name="hwtier_zone_year_prod_uniq")
        ]
        indexes = [models.Index(fields=["zone", "year", "park"], name="hwtier_zone_year_park_idx")]
        ordering = ["producer__name"]

    @property
    def reason(self) -> str:
        """Why this tier, in the reader's language (the stored evidence keeps the figures)."""
        return rules.tier_reason(self.generated_t, self.max_stock_t)


class ManagementPlan(KeptModel):
    """The annual HW management plan (管理计划, seed:4033; HJ 1259 tables A.1-A.7), in versions."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_plans")
    year = models.PositiveIntegerField(_("year"))
    version = models.PositiveIntegerField(default=1)
    management_class = models.CharField(_("management class"), max_length=16, choices=rules.CLASS_CHOICES)
    largest_annual_t = _t(_("largest annual generation of the last three years (t)"), default=0)
    content = models.JSONField(default=dict)
    filed_at = models.DateTimeField()
    filed_by = models.CharField(max_length=150, blank=True)
    late = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "organization", "year", "version"], name="hwplan_zone_org_year_v_uniq"
            )
        ]
        ordering = ["-year", "-version"]


class TransferPlan(KeptModel):
    """A producer's transfer plan for a quarter, due 25 days before the previous quarter ends."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_transfer_plans")
    year = models.PositiveIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    version = models.PositiveIntegerField(default=1)
    lines = models.JSONField(default=list)
    due_on = models.DateField(_("due"))
    filed_at = models.DateTimeField()
    filed_by = models.CharField(max_length=150, blank=True)
    late = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "organization", "year", "quarter", "version"],
                name="hwtplan_zone_org_q_v_uniq",
            )
        ]
        ordering = ["-year", "-quarter", "-version"]


class IdentificationReport(KeptModel):
    """A 危险废物鉴别报告 (seed:3919-3923, sections seed:3957-3991)."""

    class Status(models.TextChoices):
        FILED = "filed", _("filed")
        PUBLISHED = "published", _("published")

    producer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_identifications")
    waste_name = models.CharField(_("waste"), max_length=300)
    waste_code = models.CharField(_("waste code it was managed under"), max_length=40, blank=True)
    agency = models.CharField(_("identification agency"), max_length=200)
    basics = models.TextField(_("1. basics"))
    process = models.TextField(_("2. identification process"))
    testing = models.TextField(_("3. testing"))
    analysis = models.TextField(_("4. analysis and conclusion"))
    annexes = models.TextField(_("5. annexes"))
    expert_opinion = models.TextField(_("6. expert panel opinion"))
    conclusion = models.CharField(_("conclusion"), max_length=16, choices=rules.CONCLUSION_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FILED)
    filed_at = models.DateTimeField()
    filed_by = models.CharField(max_length=150, blank=True)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "producer", "waste_code"], name="hwident_zone_prod_code_idx")]
        ordering = ["-filed_at", "-pk"]


class Inspection(KeptModel):
    """A standardized-management inspection (规范化管理抽查考核) of a producer or an operator."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_inspections")
    subject = models.CharField(_("inspected as"), max_length=16, choices=rules.SUBJECT_CHOICES)
    inspected_on = models.DateField(_("inspected on"))
    result = models.CharField(_("result"), max_length=20, choices=rules.RESULT_CHOICES)
    findings = models.TextField(_("findings"), blank=True)
    inspector = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "inspected_on"], name="hwinsp_zone_date_idx")]
        ordering = ["-inspected_on", "-pk"]


class OperatorRecord(KeptModel):
    """The operator's staffing, training, emergency plan and drill records (seed:4025, 4037-4043),
    each with its date and document."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(_("kind"), max_length=20, choices=rules.RECORD_KINDS)
    on = models.DateField(_("date"))
    title = models.CharField(_("title or name"), max_length=200)
    document = models.CharField(_("document"), max_length=200, blank=True)
    people = models.PositiveIntegerField(_("participants"), default=0)
    recorded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "store", "kind", "on"], name="hwoprec_zone_store_kind_idx")]
        ordering = ["-on", "-pk"]


class TreatmentFacility(KeptModel):
    """An in-plant or group-shared HW utilization/disposal facility (危险废物利用或处置试点, seed:3925-3935).

    Registered so that what producers declare as in-house utilization/disposal (declaration lines'
    `utilized_t` / `disposed_t`) can be checked against a facility with its EIA approval and an HW
    operating licence, and so that the HJ 1259 reports can name the method.
    """

    class Mode(models.TextChoices):
        OWN_PLANT = "own_plant", _("in the organization's own plant")
        GROUP_SHARED = "group_shared", _("shared between subsidiaries of one group")

    class Activity(models.TextChoices):
        UTILIZATION = "utilization", _("utilization")
        DISPOSAL = "disposal", _("disposal")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CLOSED = "closed", _("closed")

    operator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="hw_facilities")
    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    activity = models.CharField(_("activity"), max_length=16, choices=Activity.choices)
    method = models.CharField(_("utilization/disposal method"), max_length=100)
    waste_codes = models.JSONField(_("HW codes or categories"), default=list)
    eia_approval_number = models.CharField(_("EIA approval number"), max_length=100)
    eia_approval_date = models.DateField(_("EIA approval date"))
    licence = models.ForeignKey("core.Licence", on_delete=models.PROTECT, related_name="+")
    shared_with: models.ManyToManyField[Organization, FacilitySharing] = models.ManyToManyField(
        Organization, through="FacilitySharing", blank=True, related_name="hw_shared_facilities"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "operator", "status"], name="hwfacility_zone_op_idx")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} ({self.site_id})"


class FacilitySharing(KeptModel):
    """A subsidiary of the operator's group that may use a group-shared facility. An explicit table so
    that the row carries `zone_id` like every other."""

    facility = models.ForeignKey(TreatmentFacility, on_delete=models.PROTECT, related_name="sharings")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "facility", "organization"], name="hwfacshare_zone_fac_org_uniq"
            )
        ]
        indexes = [models.Index(fields=["zone", "organization"], name="hwfacshare_zone_org_idx")]
