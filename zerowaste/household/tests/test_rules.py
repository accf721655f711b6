"""Pure rules: the payload's fields, bounds, signatures, roll-up places. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerowaste.household import rules

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
CLASSES = frozenset({"kitchen", "other", "recyclable", "recyclable.paper"})


def _event(**changes: Any) -> dict[str, Any]:
    base = {
        "device": "T1",
        "seq": 7,
        "occurred_at": "2026-12-02T15:30:00+08:00",
        "node": "source_station",
        "side": "receiver",
        "handover": "h-1",
        "class": "kitchen",
        "weight_kg": "3.250",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_good_event_parses_exactly() -> None:
    fields = rules.parse_event(
        _event(quality_grade="A", impurities=["metal"]), now=NOW, household_classes=CLASSES
    )
    assert fields.weight_kg == Decimal("3.250") and isinstance(fields.weight_kg, Decimal)
    assert fields.occurred_at == datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    assert fields.impurities == ("metal",) and fields.quality_grade == "A"


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"weight_kg": "-2.5"}, "weight_kg", "weight_positive"),
        ({"weight_kg": "0"}, "weight_kg", "weight_positive"),
        ({"weight_kg": "501"}, "weight_kg", "weight_absurd"),
        ({"weight_kg": 3.25}, "weight_kg", "weight_format"),  # a float has lost its grams already
        ({"weight_kg": "1.0005"}, "weight_kg", "weight_format"),
        ({"weight_kg": "NaN"}, "weight_kg", "weight_format"),
        ({"class": "plutonium"}, "class", "unknown_class"),
        ({"occurred_at": "2026-12-02T16:06:00+08:00"}, "occurred_at", "ahead"),  # 6 min ahead
        ({"occurred_at": "2026-10-01T00:00:00+08:00"}, "occurred_at", "too_old"),
        ({"occurred_at": "2026-12-02T15:30:00"}, "occurred_at", "datetime"),  # no offset
        ({"seq": -1}, "seq", "seq"),
        ({"seq": "7"}, "seq", "seq"),
        ({"node": "moon"}, "node", "choice"),
        ({"side": None}, "side", "required"),
        ({"handover": None}, "handover", "required"),
        ({"class": "other", "quality_grade": "A"}, "quality_grade", "kitchen_only"),
        ({"impurities": ["sand"]}, "impurities", "impurities"),
        ({"recyclable_kind": "paper"}, "recyclable_kind", "recyclable_only"),
    ],
)
def test_each_fault_names_its_field(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(rules.Rejected) as caught:
        rules.parse_event(_event(**changes), now=NOW, household_classes=CLASSES)
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert rules.reason_text(caught.value.field, caught.value.rule, caught.value.params).startswith(
        f"{field}: "
    )


def test_weight_bounds_follow_the_node() -> None:
    assert rules.parse_weight("4999.999", rules.NODE_STATION_VEHICLE) == Decimal("4999.999")
    with pytest.raises(rules.Rejected):
        rules.parse_weight("5000.001", rules.NODE_STATION_VEHICLE)
    assert rules.parse_weight("48000", rules.NODE_VEHICLE_SITE) == Decimal("48000.000")


def test_clock_ahead_within_the_limit_passes() -> None:
    at = (NOW + timedelta(minutes=4, seconds=59)).isoformat()
    assert rules.parse_event(_event(occurred_at=at), now=NOW, household_classes=CLASSES).occurred_at > NOW


def test_signature_is_over_the_canonical_json_whatever_the_key_order() -> None:
    key = rules.device_key(b"m" * 32, "z1", "T1", 1)
    event = _event()
    reordered = dict(reversed(list(event.items())))
    signature = rules.sign(key, event)
    assert rules.signature_valid(key, reordered, signature)
    assert not rules.signature_valid(key, {**event, "weight_kg": "3.251"}, signature)
    other_key = rules.device_key(b"m" * 32, "z1", "T1", 2)  # a bumped key version revokes the old key
    assert not rules.signature_valid(other_key, event, signature)
    assert rules.device_key(b"m" * 32, "z1", "T2", 1) != key


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        (b'{"event": {', "payload", "json"),
        (b"\xff\xfe", "payload", "json"),
        (b"[1, 2]", "event", "envelope"),
        (b'{"event": {"device": "T1"}}', "sig", "envelope"),
        (b"x" * (rules.MAX_PAYLOAD_BYTES + 1), "payload", "too_large"),
    ],
)
def test_envelope_faults(raw: bytes, field: str, rule: str) -> None:
    with pytest.raises(rules.Rejected) as caught:
        rules.envelope(raw)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_roll_up_places_and_sides() -> None:
    assert rules.place_kind(rules.NODE_SOURCE_STATION, rules.SIDE_GIVER) == "station"
    assert rules.place_kind(rules.NODE_STATION_VEHICLE, rules.SIDE_GIVER) == "station"
    assert rules.place_kind(rules.NODE_STATION_VEHICLE, rules.SIDE_RECEIVER) == "vehicle"
    assert rules.place_kind(rules.NODE_VEHICLE_SITE, rules.SIDE_RECEIVER) == "site"
    flows: dict[rules.FlowKey, rules.FlowSums] = {}
    day = datetime(2026, 12, 2).date()
    for side, kg in (("receiver", "1.125"), ("receiver", "2.250"), ("giver", "3.000")):
        rules.add_to_flows(
            flows,
            day=day,
            node="source_station",
            side=side,
            place="station:1",
            household_class="kitchen",
            weight_kg=Decimal(kg),
        )
    (sums,) = flows.values()
    assert (sums.in_kg, sums.out_kg, sums.events) == (Decimal("3.375"), Decimal("3.000"), 3)


def test_the_day_is_the_zone_s_calendar_day() -> None:
    import zoneinfo

    late_utc = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 December in Beijing
    assert rules.local_day(late_utc, zoneinfo.ZoneInfo("Asia/Shanghai")).isoformat() == "2026-12-02"
    assert rules.month_start(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)).isoformat() == "2026-12-01"


def test_reasons_speak_the_reader_s_language() -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        assert rules.reason_text("weight_kg", "weight_positive", {}) == "weight_kg: 应大于 0 千克"
        absurd = rules.reason_text("weight_kg", "weight_absurd", {"value": "900", "limit": "500"})
        assert absurd == "weight_kg: 900 千克超过该节点可信的 500 千克"
    with translation.override("en"):
        assert (
            rules.reason_text("sig", "signature", {}) == "sig: the signature does not match the device's key"
        )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
FIELD_NAMES = st.sampled_from(
    [
        "device",
        "seq",
        "occurred_at",
        "node",
        "side",
        "handover",
        "class",
        "weight_kg",
        "quality_grade",
        "impurities",
        "recyclable_kind",
        "bin",
        "source",
        "station",
        "vehicle",
        "site",
    ]
)


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6))
def test_any_json_in_any_field_parses_or_is_rejected_naming_a_field(changes: dict[str, Any]) -> None:
    """Whatever a device sends, the rules answer with fields or a Rejected naming a field; never crash."""
    try:
        fields = rules.parse_event({**_event(), **changes}, now=NOW, household_classes=CLASSES)
    except rules.Rejected as exc:
        assert exc.field in {
            "device",
            "seq",
            "occurred_at",
            "node",
            "side",
            "handover",
            "class",
            "weight_kg",
            "quality_grade",
            "impurities",
            "recyclable_kind",
            "bin",
            "source",
            "station",
            "vehicle",
            "site",
        }
        assert rules.reason_text(exc.field, exc.rule, exc.params)
    else:
        assert isinstance(fields.weight_kg, Decimal) and fields.weight_kg > 0


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_open_as_an_envelope_or_are_rejected(raw: bytes | str) -> None:
    try:
        event, signature = rules.envelope(raw)
    except rules.Rejected as exc:
        assert exc.field in {"payload", "event", "sig"}
    else:
        assert isinstance(event, dict) and isinstance(signature, str)
