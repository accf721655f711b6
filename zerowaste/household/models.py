"""The household registry (sources, stations, bins, devices), the hand-over events devices report,
the dead letters of payloads that could not be stored, and the daily roll-ups pages read.

Weights are `Decimal(12,3)` kilograms (to the gram). On PostgreSQL `HandoverEvent` is partitioned by
month (migration 0001, ADR 0054); the (device, seq) idempotency is held by `EventSequence`, a plain
table whose unique key needs no partition key.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from zerowaste.core.models import Area, Organization, Site, User, Vehicle, ZonedModel

from . import park_rules, rules


def _kg(label: Any, **kwargs: Any) -> Any:
    return models.DecimalField(label, max_digits=12, decimal_places=3, **kwargs)


class Source(ZonedModel):
    """An emission source (排放主体): a household (一户一码: its code is printed as its QR code) or a
    social unit, with its responsible party (管理责任人)."""

    kind = models.CharField(_("kind"), max_length=16, choices=rules.SOURCE_KIND_CHOICES)
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    responsible_party = models.CharField(_("responsible party"), max_length=100, blank=True)
    residents = models.PositiveIntegerField(_("residents"), null=True, blank=True)
    # Registry (issue 17): a social unit's kind, the address printed on its QR tile, its collection
    # contract, and deactivation (a source events reference is never deleted).
    unit_kind = models.CharField(_("unit kind"), max_length=16, choices=rules.UNIT_KIND_CHOICES, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contract_number = models.CharField(_("contract number"), max_length=64, blank=True)
    collector = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contract_from = models.DateField(_("contract valid from"), null=True, blank=True)
    contract_to = models.DateField(_("contract valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="hh_source_zone_code_uniq")]

    def __str__(self) -> str:
        return self.code


class Station(ZonedModel):
    """A collection point in a community: fixed, mobile, staffed 驿站, drop points, smart cabinets."""

    kind = models.CharField(_("kind"), max_length=16, choices=rules.STATION_KIND_CHOICES)
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    # The organization running the station (property company, community): its members keep it.
    operator = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("operator"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="hh_station_zone_code_uniq")]

    def __str__(self) -> str:
        return self.name


class Bin(ZonedModel):
    """A container with an identity chip (kitchen bins must have one, seed:5004), at a station or a
    source."""

    chip = models.CharField(_("chip id"), max_length=64)
    household_class = models.CharField(_("household class"), max_length=40)
    capacity_l = models.PositiveIntegerField(_("capacity (L)"))
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "chip"], name="hh_bin_zone_chip_uniq")]

    def __str__(self) -> str:
        return self.chip


class Device(ZonedModel):
    """A reporting device, bound to one station, vehicle or site. Its HMAC key is derived from the
    platform's master key, the zone, its code and `key_version` (nothing secret is stored here)."""

    code = models.CharField(_("device id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=rules.DEVICE_KIND_CHOICES)
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The street or community the device reports from: what a street regulator's jurisdiction filters.
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    key_version = models.PositiveIntegerField(_("key version"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="hh_device_zone_code_uniq"),
            models.CheckConstraint(
                condition=(
                    models.Q(station__isnull=False, vehicle__isnull=True, site__isnull=True)
                    | models.Q(station__isnull=True, vehicle__isnull=False, site__isnull=True)
                    | models.Q(station__isnull=True, vehicle__isnull=True, site__isnull=False)
                ),
                name="hh_device_one_binding",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class EventSequence(ZonedModel):
    """The (device, seq) pairs already stored: the idempotency ledger. A partitioned table's unique
    key must hold its partition key (the month), so a duplicate uploaded in another month could slip
    past one there; this plain table's key cannot be slipped past (ADR 0054)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "device", "seq"], name="hh_eventseq_zone_device_seq_uniq")
        ]


class HandoverEvent(ZonedModel):
    """One side's confirmation of a hand-over (交接, seed:5008): class, weight, time and place.

    On PostgreSQL the table is partitioned by month of `occurred_at` (its primary key is (id,
    occurred_at)); rows are written only by `ingest`, in bulk, after `EventSequence` admitted them.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    day = models.DateField(help_text="the zone's calendar day of occurred_at")
    node = models.CharField(max_length=16, choices=rules.NODE_CHOICES)
    side = models.CharField(max_length=8, choices=rules.SIDE_CHOICES)
    handover_key = models.CharField(max_length=64)
    household_class = models.CharField(max_length=40)
    weight_kg = _kg(_("weight (kg)"))
    quality_grade = models.CharField(max_length=1, blank=True)
    impurities = models.CharField(max_length=64, blank=True, help_text="comma-separated")
    recyclable_kind = models.CharField(max_length=64, blank=True)
    bin = models.ForeignKey(Bin, null=True, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Source, null=True, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(Station, null=True, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["zone", "device", "seq"], name="hh_event_zone_device_seq_idx"),
            models.Index(fields=["zone", "handover_key"], name="hh_event_zone_handover_idx"),
            models.Index(fields=["zone", "day"], name="hh_event_zone_day_idx"),
        ]


class DeadLetter(ZonedModel):
    """A payload that could not be stored, kept as received with the reason (field, rule, params)."""

    topic = models.CharField(_("topic"), max_length=200)
    payload = models.TextField(_("payload"))
    field = models.CharField(_("field"), max_length=40)
    rule = models.CharField(_("rule"), max_length=40)
    params = models.JSONField(default=dict, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    # SHA-256 of topic and payload: a message redelivered after its batch committed (at-least-once
    # delivery) is the same dead letter, not a second one.
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["zone", "received_at"], name="hh_deadletter_zone_recv_idx")]
        constraints = [
            models.UniqueConstraint(fields=["zone", "digest"], name="hh_deadletter_zone_digest_uniq")
        ]
        ordering = ["-received_at", "-pk"]

    @property
    def reason(self) -> str:
        """In words, naming the field, in the reader's language."""
        return rules.reason_text(self.field, self.rule, self.params)


class DailyFlow(ZonedModel):
    """Per zone, calendar day, node, place and household class: the weight received (receiver side)
    and handed over (giver side) and the number of events. Kept by the ingest in the transaction that
    stores the events; pages read these, never the events."""

    day = models.DateField()
    node = models.CharField(max_length=16, choices=rules.NODE_CHOICES)
    place = models.CharField(max_length=40, help_text="station:<id>, vehicle:<id> or site:<id>")
    station = models.ForeignKey(Station, null=True, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, null=True, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, null=True, on_delete=models.PROTECT, related_name="+")
    household_class = models.CharField(max_length=40)
    in_kg = _kg(_("received (kg)"), default=0)
    out_kg = _kg(_("handed over (kg)"), default=0)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "day", "node", "place", "household_class"], name="hh_dailyflow_key_uniq"
            )
        ]
        ordering = ["day", "node", "place", "household_class"]


# --- Slice 2: alarms, stock counts, residents' points ------------------------------------------------


class Alarm(ZonedModel):
    """A closed-loop alarm as a task: raised once per cause (`cause` is unique in the zone, so a
    detection run twice or two consumers seeing the same events raise one), owned by the organization
    or community that must act, due in working days, escalated to the street past its deadline, closed
    with a resolution."""

    kind = models.CharField(_("kind"), max_length=24, choices=rules.ALARM_KIND_CHOICES)
    cause = models.CharField(_("cause"), max_length=200)
    # The street or community the alarm belongs to: what a street regulator's jurisdiction filters.
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    owner_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"), null=True, blank=True)
    handover_key = models.CharField(max_length=64, blank=True)
    household_class = models.CharField(max_length=40, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    deadline = models.DateField(_("deadline"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_by_name = models.CharField(max_length=150, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "cause"], name="hh_alarm_zone_cause_uniq")]
        indexes = [models.Index(fields=["zone", "kind", "day"], name="hh_alarm_zone_kind_day_idx")]
        ordering = ["-raised_at", "-pk"]

    @property
    def figures_text(self) -> str:
        return rules.figures_text(self.kind, self.figures)

    @property
    def state(self) -> str:
        if self.resolved_at is not None:
            return "resolved"
        return "escalated" if self.escalated_at is not None else "open"


class StockCount(ZonedModel):
    """What a station or vehicle held at the end of a day, per class (counted or weighed). The mass
    balance takes the change since the previous count; with no count the place is taken as emptied."""

    day = models.DateField()
    place = models.CharField(max_length=40)
    household_class = models.CharField(max_length=40)
    stock_kg = _kg(_("stock (kg)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "day", "place", "household_class"], name="hh_stockcount_key_uniq"
            ),
            models.CheckConstraint(condition=models.Q(stock_kg__gte=0), name="hh_stockcount_nonneg"),
        ]


class CommunityCentre(ZonedModel):
    """The centre of a community's 2 km service circle, where its residents' points are spent."""

    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "community"], name="hh_centre_zone_community_uniq")
        ]


class Merchant(ZonedModel):
    """A shop or service where residents redeem points (property or home services, goods)."""

    name = models.CharField(_("name"), max_length=200)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    is_active = models.BooleanField(_("active"), default=True)

    def __str__(self) -> str:
        return self.name


class PointsAccount(ZonedModel):
    """A household's points balance: the row a redemption locks (`select_for_update`)."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    balance = models.BigIntegerField(_("balance"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "source"], name="hh_points_account_uniq"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="hh_points_account_nonneg"),
        ]


class PointsEntry(ZonedModel):
    """One line of the append-only points ledger: a grant from a device event (unique: an event grants
    at most once), a redemption at a merchant, or the reversal of an earlier line."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="entries")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    delta = models.BigIntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=16, choices=rules.POINTS_REASON_CHOICES)
    event_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event_seq = models.BigIntegerField(null=True, blank=True)
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "event_device", "event_seq"],
                condition=models.Q(event_device__isnull=False),
                name="hh_points_event_uniq",
            ),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="hh_points_entry_nonneg"),
        ]
        ordering = ["pk"]


# --- Park "1+4" regime: enterprises' registration and discharges, the four stations' logs ---------


class ParkEnterprise(ZonedModel):
    """An enterprise registered with a park's discharge system (登记排放系统, seed:5535): the classes
    it discharges with the quantities it expects a day, and whom to call."""

    park = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    waste_classes = models.CharField(_("waste classes"), max_length=100, help_text="comma-separated")
    expected_kg = models.JSONField(_("expected kg a day per class"), default=dict, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    registered_at = models.DateTimeField(_("registered at"))
    registered_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "park", "organization"], name="hh_park_ent_uniq")
        ]
        ordering = ["pk"]

    def __str__(self) -> str:
        return str(self.organization)


class ParkStation(ZonedModel):
    """One of a park's four station rooms; a compactor station names its compactor model."""

    park = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=park_rules.STATION_KIND_CHOICES)
    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    compactor_model = models.CharField(_("compactor model"), max_length=8, blank=True)
    # The first day its logs are owed: days before it are not judged.
    in_service_from = models.DateField(_("in service from"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "code"], name="hh_park_station_code_uniq")]
        ordering = ["park", "kind", "code"]

    def __str__(self) -> str:
        return self.name


class StationLog(ZonedModel):
    """One recorded act at a park station: a round, a cleaning, a disinfection, pest control, a
    clearance or a re-inspection (with its result), at a time, by someone."""

    station = models.ForeignKey(ParkStation, on_delete=models.PROTECT, related_name="logs")
    kind = models.CharField(_("kind"), max_length=16, choices=park_rules.LOG_KIND_CHOICES)
    at = models.DateTimeField(_("at"))
    day = models.DateField(help_text="the zone's calendar day of at")
    slot = models.CharField(max_length=5, blank=True, help_text="a round's slot: 13:00 or 16:00")
    by = models.CharField(_("by"), max_length=150)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    quantity_kg = _kg(_("quantity (kg)"), null=True, blank=True)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=6, decimal_places=2, null=True, blank=True)
    result = models.CharField(_("result"), max_length=8, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "station", "day"], name="hh_station_log_day_idx")]
        ordering = ["at", "pk"]


class ParkDischarge(ZonedModel):
    """What an enterprise discharged at a station on a day, per class (kg)."""

    enterprise = models.ForeignKey(ParkEnterprise, on_delete=models.PROTECT, related_name="discharges")
    station = models.ForeignKey(ParkStation, on_delete=models.PROTECT, related_name="+")
    household_class = models.CharField(max_length=16, choices=park_rules.CLASS_CHOICES)
    quantity_kg = _kg(_("quantity (kg)"))
    day = models.DateField(_("day"))
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [models.Index(fields=["zone", "enterprise", "day"], name="hh_park_discharge_day_idx")]
        ordering = ["day", "pk"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity_kg__gt=0), name="hh_park_dis_pos")]


# --- Field pages: phone confirmations (ADR 0056) -----------------------------------------------------


class FieldConfirmation(ZonedModel):
    """A hand-over confirmed on a phone: the form's idempotency token, the app device and the seq
    allocated to it (under the device's row lock), and the signed message sent to the ingest. A form
    posted twice finds its token here and stores nothing more."""

    token = models.CharField(max_length=rules.FIELD_TOKEN_MAX)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    handover_key = models.CharField(max_length=64)
    payload = models.TextField()
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "token"], name="hh_fieldconf_zone_token_uniq"),
            models.UniqueConstraint(
                fields=["zone", "device", "seq"], name="hh_fieldconf_zone_device_seq_uniq"
            ),
        ]


# --- Demo and figures (issue 17 points 6-7): what a plant does with what it receives; quotas -------


class SiteRole(ZonedModel):
    """What a core site does with the household waste it receives (transfer station, kitchen-waste
    plant, recyclables sorting centre, incineration plant, landfill, hazardous-waste receiver): the
    figures read recovery and landfill from the plants' weighbridge roll-ups through it."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=16, choices=rules.SITE_ROLE_CHOICES)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "site"], name="hh_siterole_zone_site_uniq")]


class SourceQuota(ZonedModel):
    """The annual source total-control quota (生活垃圾源头总量年度控制指标, seed:5102-5126) of the zone
    (`area` empty) or of a street or community, in tonnes."""

    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField(_("year"))
    quota_t = models.DecimalField(_("quota (t)"), max_digits=14, decimal_places=3)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "area", "year"], name="hh_sourcequota_area_year_uniq"),
            models.UniqueConstraint(
                fields=["zone", "year"],
                condition=models.Q(area__isnull=True),
                name="hh_sourcequota_zone_year_uniq",
            ),
        ]


class ParticipationMonth(ZonedModel):
    """Per community and month: the households with at least one hand-over (居民参与). A roll-up like
    DailyFlow, so that participation never needs a scan of the raw events:
    `participation.refresh_month` rebuilds a month from the events (the scheduler daily, the CLI and
    the API on demand; the demo too, after writing its month)."""

    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="the first day of the month")
    households = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "community", "month"], name="hh_participation_key_uniq")
        ]


# --- Operations (ops17): the detection runs, planned routes, red/black lists, education visits ---------


class DetectRun(ZonedModel):
    """One run of the day-level detection of a zone's day, by the scheduler or a person: the scheduler
    runs a day once (idempotent anyway: alarms are raised once per cause)."""

    day = models.DateField(_("day"))
    ran_at = models.DateTimeField(_("ran at"))
    raised = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=16, default="scheduler")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="hh_detectrun_zone_day_uniq")]


class RouteStop(ZonedModel):
    """One station of a vehicle's planned route of a day (the stops ordered by `position`). A vehicle
    with a route that day loading at a station not on it is off its route."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    position = models.PositiveIntegerField(_("position"))
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "vehicle", "day", "station"], name="hh_routestop_vehicle_day_station_uniq"
            )
        ]
        ordering = ["vehicle", "day", "position"]


class QualityListEntry(ZonedModel):
    """A source on a community's monthly red list (红榜: the best sorting) or black list (黑榜: the
    worst), compiled from the month's graded drops (社区红黑榜, seed:4894)."""

    month = models.DateField(_("month"), help_text="the first day of the month")
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    list_kind = models.CharField(_("list"), max_length=8, choices=rules.QUALITY_LIST_CHOICES)
    rank = models.PositiveIntegerField(_("rank"))
    graded = models.PositiveIntegerField(_("graded drops"))
    good = models.PositiveIntegerField(_("grade A drops"))
    failed = models.PositiveIntegerField(_("failed drops"))
    compiled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "month", "community", "list_kind", "source"], name="hh_qualitylist_uniq"
            )
        ]
        ordering = ["month", "community", "list_kind", "rank"]


class EducationVisit(ZonedModel):
    """A household visit (入户宣传, 一对一入户, seed:4886-4888) that resolved a quality alarm: when, by
    whom, what was said."""

    alarm = models.OneToOneField(Alarm, on_delete=models.PROTECT, related_name="education_visit")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField(_("visited on"))
    visited_by = models.CharField(_("visited by"), max_length=150)
    note = models.TextField(_("note"), blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150, blank=True)
