"""A regulator's judgment of a "reasonable level" (issue 16, item 15): service, audit, API, CLI, page;
and the derived inputs' meanings say what their queries count."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from zerowaste.core.audit_display import readable
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import AuditEntry
from zerowaste.declarations.models import Declaration
from zerowaste.indicators import services
from zerowaste.indicators.models import Judgment
from zerowaste.testing import parties

from .conftest import World, declare

pytestmark = pytest.mark.django_db


def _row(world: World, number: str) -> dict[str, object]:
    return next(r for r in services.report_rows(world.zone.pk, 2020) if r["number"] == number)


def test_a_reasonable_level_needs_judgment_until_a_regulator_records_one(world: World, english: None) -> None:
    # HW 200 t generated, 130 utilized, 70 to disposal: 0.01 万吨 disposed, within the planned 2.74.
    row = _row(world, "15")
    assert row["met"] is None and row["state"] == "needs_judgment" and row["needs_judgment"] is True
    assert str(row["reason"]).startswith("needs judgment: 0.01 万吨")
    assert services.completion_summary(world.zone.pk, 2020)["needs_judgment"] >= 1

    services.record_judgment(world.regulator, year=2020, number="15", met="met", reason="all of it disposed")
    row = _row(world, "15")
    assert row["met"] is True and row["state"] == "met" and row["needs_judgment"] is False
    assert row["judgment"]["reason"] == "all of it disposed"  # type: ignore[index]
    # The newest judgment counts; the earlier one stays as history.
    services.record_judgment(
        world.regulator, year=2020, number="15", met=False, reason="too little, see 2021"
    )
    row = _row(world, "15")
    assert row["met"] is False and "too little" in str(row["reason"])
    assert Judgment.objects.filter(zone=world.zone, number="15").count() == 2
    # Another year is not judged by it.
    assert next(r for r in services.report_rows(world.zone.pk, 2019) if r["number"] == "15")["met"] is None

    entry = AuditEntry.objects.filter(action="indicators.judge").order_by("-pk").first()
    assert entry is not None and entry.zone_id == world.zone.pk
    with translation.override("zh-hans"):
        shown = readable([entry])[0]
    assert shown.action_label == "研判指标达标情况" and shown.record_type == "指标研判"
    assert "2020 15" in shown.record_label


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"number": "9", "met": True, "reason": "r"}, "number"),  # decided by its figure
        ({"number": "99", "met": True, "reason": "r"}, "number"),
        ({"number": "15", "met": "perhaps", "reason": "r"}, "met"),
        ({"number": "15", "met": True, "reason": "  "}, "reason"),
        ({"number": "15", "met": True, "reason": "x" * 1001}, "reason"),
        ({"number": "15", "met": True, "reason": "r", "year": "20x0"}, "year"),
    ],
)
def test_bad_judgments_name_the_field_and_write_nothing(
    world: World, fields: dict[str, object], field: str
) -> None:
    args = {"year": 2020, **fields}
    with pytest.raises(Invalid) as caught:
        services.record_judgment(world.regulator, **args)  # type: ignore[arg-type]
    assert caught.value.errors[0]["field"] == field
    assert not Judgment.objects.exists() and not AuditEntry.objects.filter(action="indicators.judge").exists()


def test_only_a_regulators_admin_or_clerk_judges(world: World) -> None:
    for actor in (world.viewer, world.producer_actor):
        with pytest.raises(Forbidden):
            services.record_judgment(actor, year=2020, number="15", met=True, reason="r")


def test_a_street_office_reads_the_zones_figures_but_does_not_decide_them(world: World) -> None:
    from zerowaste.core.authz import actor_for_membership
    from zerowaste.core.models import Area

    street = Area.objects.create(zone=world.zone, code="rh", name="荣华街道", kind="street")
    office = parties.make_org(world.zone, roles=("regulator",), area_id=street.pk)
    street_admin = actor_for_membership(parties.make_member(office, "admin", jurisdiction=street))
    assert street_admin.is_regulator and street_admin.jurisdiction_area_ids is not None
    assert not services.may_enter(street_admin)
    with pytest.raises(Forbidden):
        services.record_judgment(street_admin, year=2020, number="15", met=True, reason="r")
    with pytest.raises(Forbidden):
        services.enter_input(street_admin, year=2020, key="msw_collected_t", value="1", source="r")
    api = parties.api_client(office)
    answer = api.post("/api/indicators/judgments", {"year": 2020, "number": "15", "met": True, "reason": "r"})
    assert answer.status_code == 403
    assert not Judgment.objects.exists()
    assert api.get("/api/indicators/judgments", year=2020).status_code == 200


def test_api_records_and_lists_judgments(world: World) -> None:
    api = parties.api_client(world.regulator_org, ("admin",))
    response = api.post(
        "/api/indicators/judgments", {"year": 2020, "number": "19", "met": True, "reason": "稳定"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == "19" and response.json()["met"] is True
    listed = api.get("/api/indicators/judgments?year=2020").json()
    assert [j["reason"] for j in listed] == ["稳定"]
    report = api.get("/api/indicators/report?year=2020").json()
    row = next(r for r in report["rows"] if r["number"] == "15")
    assert row["state"] == "needs_judgment" and row["rounding_note"] is None and row["exact"] == "0.007"
    assert report["summary"]["needs_judgment"] == 1  # 19 has no figure yet: unknown, not judged
    refused = api.post("/api/indicators/judgments", {"year": 2020, "number": "9", "met": True, "reason": "r"})
    assert refused.status_code == 422 and "number" in refused.content.decode()
    reader = parties.api_client(world.producer, ("read",))
    assert (
        reader.post(
            "/api/indicators/judgments", {"year": 2020, "number": "15", "met": True, "reason": "r"}
        ).status_code
        == 403
    )


def test_cli_judge(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    clerk = parties.make_member(world.regulator_org, "clerk")
    call_command(
        "indicators", "judge", "15", "--year", "2020", "--met", "--reason", "全部安全处置",
        "--user", clerk.user.username, "--format", "json",
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["met"] is True and data["judged_by"] == clerk.user.username
    call_command("indicators", "judge", "15", "--year", "2020", "--not-met", "--reason", "复核")
    assert "judged indicator 15 not met for 2020" in capsys.readouterr().out
    assert _row(world, "15")["met"] is False


def test_the_page_asks_for_a_judgment_and_records_it(world: World) -> None:
    member = parties.make_member(world.regulator_org, "clerk")
    client = Client()
    client.force_login(member.user)
    report = client.get("/indicators/report/?year=2020").content.decode()
    assert "需研判" in report and 'id="needs-judgment-list"' in report
    page = client.get("/indicators/indicator/15/?year=2020").content.decode()
    assert 'id="judgment-form"' in page and "需研判" in page
    assert 'id="judgment-form"' not in client.get("/indicators/indicator/9/?year=2020").content.decode()
    bad = client.post("/indicators/indicator/15/?year=2020", {"met": "met", "reason": ""})
    assert bad.status_code == 422 and not Judgment.objects.exists()
    done = client.post("/indicators/indicator/15/?year=2020", {"met": "met", "reason": "全部安全处置"})
    assert done.status_code == 302
    page = client.get("/indicators/indicator/15/?year=2020").content.decode()
    assert 'id="judgments"' in page and "全部安全处置" in page
    assert Judgment.objects.get().judged_by == member.user.username


# --- What the derived inputs count -----------------------------------------------------------------

# What each derivation's query counts, in the words its input's meaning must use.
COUNTED_AS = {
    "declarations.isw.": "first versions awaiting review",  # effective_lines: accepted + first submitted
    "declarations.hw.": "first versions awaiting review",
    "licences.hw_operating": "verified",  # Licence.objects.qualifying()
    "transfers.hw.received": "planned for the year",  # planned_date__year
    "hazardous.inspections": "latest result",  # inspection_rates: each unit once, its latest result
}


def test_each_derived_inputs_meaning_says_what_its_query_counts() -> None:
    indicator_set = services.bundled_set()
    derived = [d for d in indicator_set.inputs.values() if d.derive]
    assert derived
    for definition in derived:
        assert definition.derive is not None
        phrases = [p for prefix, p in COUNTED_AS.items() if definition.derive.startswith(prefix)]
        for phrase in phrases:
            assert phrase in definition.meaning, (definition.key, phrase)
    # No meaning claims a check its query does not make: transfers out for disposal are declared
    # without the receiver, so the licence is checked on the manifests, not here.
    disposal = indicator_set.inputs["hw_licensed_disposal_t"].meaning
    assert "not name the receiver" in disposal


def test_a_first_declaration_awaiting_review_counts_as_the_meaning_says(world: World) -> None:
    other = parties.make_org(world.zone, roles=("producer",), name="待审企业")
    declaration = declare(other, "isw", 2020, generated_t="5")
    Declaration.objects.filter(pk=declaration.pk).update(status="submitted")
    states = services.resolve_inputs(world.zone.pk, 2020)
    assert states["isw_generated_t"].derived == Decimal("1005")  # 1,000 accepted + 5 awaiting review
    assert "awaiting review" in states["isw_generated_t"].definition.meaning
    assert date(2020, 1, 1).year == 2020
