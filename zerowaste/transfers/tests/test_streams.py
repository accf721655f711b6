"""The stream interface (ADR 0057): every registered stream implements it, and the engine names none.

No database: the registry, the interface's pure answers and the engine's source are read directly.
"""

from __future__ import annotations

import inspect
import re
from decimal import Decimal
from pathlib import Path

import pytest

from zerowaste.transfers import rules, streams
from zerowaste.transfers.streams.base import TransferStream

PACKAGE = Path(streams.__file__).resolve().parents[1]

# The modules of the engine: they know the life of a transfer and ask its stream the rest.
ENGINE_MODULES = (
    "access.py",
    "checks.py",
    "drafts.py",
    "figures.py",
    "inputs.py",
    "machine.py",
    "registers.py",
    "revisions.py",
    "services.py",
    "sheets.py",
    "signature_codes.py",
    "snapshots.py",
    "verification.py",
)
# The app's other modules: the choices and data (`rules`, `models`), the edges (pages, API, CLI, PDF,
# webhooks) and the demo and test helpers. A new module must be put in one list or the other.
OTHER_MODULES = (
    "__init__.py",
    "api.py",
    "apps.py",
    "audit_labels.py",
    "cli.py",
    "demo.py",
    "models.py",
    "pdf.py",
    "rules.py",
    "testing.py",
    "todos.py",
    "urls.py",
    "views.py",
    "webhooks.py",
)
# Every method of the interface: what a stream answers at each step, its numbering and limits.
INTERFACE = (
    "counter_prefix",
    "number",
    "settings",
    "due_days",
    "tolerance",
    "road_limit_t",
    "hazard_of",
    "check_consignee",
    "check_carrier",
    "check_storage",
    "check_not_park_internal",
    "check_capacity",
    "check_vehicle",
    "check_delivery",
    "check_receipt",
    "qualified_candidates",
)
REGISTERED = sorted(streams.REGISTRY.items())


def test_the_registry_holds_every_stream_a_transfer_may_have() -> None:
    assert streams.codes() == rules.STREAMS
    assert all(code == stream.code for code, stream in streams.REGISTRY.items())


@pytest.mark.parametrize(("code", "stream"), REGISTERED)
def test_every_stream_implements_the_interface(code: str, stream: TransferStream) -> None:
    assert isinstance(stream, TransferStream)
    for name in INTERFACE:
        assert callable(getattr(stream, name)), name
    # The consignee rule has no default: each stream states its own.
    assert type(stream).check_consignee is not TransferStream.check_consignee
    assert stream.catalog_stream
    assert isinstance(stream.park_store_rules, bool) and isinstance(stream.park_internal_rule, bool)
    assert streams.get(code) is stream and streams.find(code) is stream


@pytest.mark.parametrize(("code", "stream"), REGISTERED)
def test_every_stream_answers_its_numbering_and_limits(code: str, stream: TransferStream) -> None:
    assert isinstance(stream.counter_prefix("110115"), str)
    number = stream.number(zone_code="bda", division_code="110115", year=2020, seq=7)
    assert number.startswith("2020") or number.startswith("bda-2020-")
    assert number.endswith("000007")
    for state in (rules.ISSUED, rules.IN_TRANSIT, rules.DELIVERED):
        days = stream.due_days(None, state)
        assert isinstance(days, int) and days > 0
    assert stream.due_days(None, rules.CLOSED) is None
    assert stream.tolerance(None).allowed(Decimal("10")) > 0
    assert stream.road_limit_t(None) > 0
    # A zone's setting overrides the default.
    assert stream.road_limit_t({"transfers": {code: {"road_limit_t": "30"}}}) == Decimal("30")
    for label in stream.import_labels:
        assert streams.code_for_label(label) == code


@pytest.mark.parametrize(
    ("code", "prefix", "number", "hazard_kept", "park_rules"),
    [
        ("isw", "", "bda-2020-isw-000007", False, True),
        ("hw", "1101", "20201101000007", True, True),
    ],
)
def test_what_each_stream_answers_today(
    code: str, prefix: str, number: str, hazard_kept: bool, park_rules: bool
) -> None:
    stream = streams.get(code)
    assert stream.counter_prefix("110115") == prefix
    assert stream.number(zone_code="bda", division_code="110115", year=2020, seq=7) == number
    entry = type("Entry", (), {"hazard_raw": "T,In"})()
    assert (stream.hazard_of(entry) == "T,In") is hazard_kept  # type: ignore[arg-type]
    assert stream.park_store_rules is park_rules and stream.park_internal_rule is park_rules
    assert stream.due_days(None, rules.ISSUED) == rules.due_days(None, code, rules.ISSUED)
    assert stream.tolerance(None) == rules.tolerance_for(None, code)


def test_an_unknown_word_is_left_for_the_draft_to_refuse() -> None:
    assert streams.find("medical") is None
    assert streams.code_for_label("医废") == "医废"


def test_every_module_of_the_app_is_engine_or_named_otherwise() -> None:
    present = {path.name for path in PACKAGE.glob("*.py")}
    assert present == set(ENGINE_MODULES) | set(OTHER_MODULES)
    assert not set(ENGINE_MODULES) & set(OTHER_MODULES)


def test_the_engine_names_no_stream() -> None:
    """No stream code as a literal and no stream constant in the engine: it asks the stream object."""
    codes = "|".join(re.escape(code) for code in streams.codes())
    literal = re.compile(rf"""["']({codes})["']""")
    constant = re.compile(r"\bSTREAM_(" + "|".join(c.upper() for c in streams.codes()) + r")\b")
    offenders = []
    for name in ENGINE_MODULES:
        source = (PACKAGE / name).read_text(encoding="utf-8")
        for number, line in enumerate(source.splitlines(), start=1):
            if literal.search(line) or constant.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_stream_modules_are_where_the_streams_are_named() -> None:
    """Each stream module registers itself by its code (the registry reads `STREAM`)."""
    for code, stream in REGISTERED:
        module = inspect.getmodule(type(stream))
        assert module is not None and module.__name__ == f"zerowaste.transfers.streams.{code}"
