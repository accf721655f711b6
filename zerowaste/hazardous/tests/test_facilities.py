"""In-plant and group-shared utilization/disposal facilities (危险废物试点管理实施细则第四条,
seed:3925-3935): registration and its refusals, which facility covers a waste on a date, the
supervision list of declared in-house treatment without a facility, the C.1 method, access, and the
API, command line and page."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import AuditEntry, Licence, Organization, Site
from zerowaste.declarations.models import Declaration, DeclarationLine
from zerowaste.hazardous import declaration_reports, facilities
from zerowaste.hazardous.models import FacilitySharing, TreatmentFacility
from zerowaste.hazardous.testing import Park, make_facility, make_park
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db
D = Decimal
PACKAGING = "900-041-49"  # HW49
MINERAL_OIL = "900-249-08"  # HW08


def _licence(org: Organization, number: str, **extra: Any) -> Licence:
    data: dict[str, Any] = {
        "kind": "hw_operating",
        "number": number,
        "issuer": "生态环境局",
        "valid_from": date(2015, 1, 1),
        "valid_to": date(2035, 12, 31),
        "waste_codes": ["HW49", "HW06"],
        **extra,
    }
    return core.add_licence(_system(org), org.pk, **data)


def _system(org: Organization) -> Actor:
    from zerowaste.core.models import Zone

    return Actor.system(Zone.objects.get(pk=org.zone_id))


def _site(org: Organization, name: str = "一号厂区") -> Site:
    return Site.objects.create(zone_id=org.zone_id, organization=org, name=name, kind="plant")


def _form(park: Park, **extra: Any) -> dict[str, Any]:
    """A valid registration of the producer's own incinerator."""
    site = Site.objects.filter(organization=park.producer).first() or _site(park.producer)
    licence = Licence.objects.filter(organization=park.producer, number="京环危自营1").first() or _licence(
        park.producer, "京环危自营1"
    )
    return {
        "site_id": site.pk,
        "mode": "own_plant",
        "activity": "disposal",
        "method": "焚烧",
        "waste_codes": ["HW49", "900-404-06"],
        "eia_approval_number": "京技环审字[2019]0001号",
        "eia_approval_date": "2019-06-01",
        "licence_id": licence.pk,
        **extra,
    }


def _declare(
    org: Organization,
    year: int,
    month: int,
    lines: dict[str, tuple[str, str]],
    *,
    version: int = 1,
    status: str = "accepted",
) -> Declaration:
    """A monthly HW declaration; per code (utilized, disposed)."""
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    decl = Declaration.objects.create(
        zone_id=org.zone_id,
        organization=org,
        stream="hw",
        period_kind="month",
        period_start=start,
        period_end=end,
        status=status,
        version=version,
    )
    for position, (code, (utilized, disposed)) in enumerate(lines.items()):
        DeclarationLine.objects.create(
            zone_id=org.zone_id,
            declaration=decl,
            waste_code=code,
            category_code="HW" + code[-2:],
            opening_t=D("0"),
            generated_t=D(utilized) + D(disposed),
            utilized_t=D(utilized),
            disposed_t=D(disposed),
            transferred_util_t=D("0"),
            transferred_disp_t=D("0"),
            closing_t=D("0"),
            position=position,
        )
    return decl


def _counts() -> tuple[int, int, int]:
    return TreatmentFacility.objects.count(), FacilitySharing.objects.count(), AuditEntry.objects.count()


# --- Registration --------------------------------------------------------------------------------------


def test_register_own_plant_and_group_shared(park: Park) -> None:
    clerk = park.actor(park.producer, "clerk")
    own = facilities.register_facility(clerk, data=_form(park))
    assert (own.operator_id, own.mode, own.activity, own.method, own.status) == (
        park.producer.pk,
        "own_plant",
        "disposal",
        "焚烧",
        "active",
    )
    assert own.waste_codes == ["HW49", "900-404-06"] and own.zone_id == park.zone.pk
    assert own.eia_approval_date == date(2019, 6, 1) and own.created_by
    assert list(own.shared_with.all()) == []
    entry = AuditEntry.objects.filter(action="hazardous.facility.register").latest("pk")
    assert entry.changes["method"] == "焚烧" and entry.changes["shared_with"] == []

    group = facilities.register_facility(
        clerk,
        data=_form(
            park,
            mode="group_shared",
            activity="utilization",
            method="溶剂回收",
            waste_codes="HW06",
            shared_with=[str(park.producer2.pk), park.outsider.uscc],
        ),
    )
    assert {o.pk for o in group.shared_with.all()} == {park.producer2.pk, park.outsider.pk}
    assert group.waste_codes == ["HW06"]
    assert FacilitySharing.objects.filter(facility=group, zone_id=park.zone.pk).count() == 2


REFUSALS = [
    ("no EIA number", {"eia_approval_number": ""}, "eia_approval_number"),
    ("no method", {"method": " "}, "method"),
    ("unknown code", {"waste_codes": ["999-999-99"]}, "waste_codes"),
    ("unknown category", {"waste_codes": ["HW99"]}, "waste_codes"),
    ("no codes", {"waste_codes": []}, "waste_codes"),
    ("licence not covering a code", {"waste_codes": ["HW49", MINERAL_OIL]}, "licence_id"),
    ("group without subsidiaries", {"mode": "group_shared"}, "shared_with"),
    ("own plant with subsidiaries", {"shared_with": ["1"]}, "shared_with"),
    ("bad mode", {"mode": "elsewhere"}, "mode"),
    ("future EIA date", {"eia_approval_date": "2099-01-01"}, "eia_approval_date"),
]


@pytest.mark.parametrize(("case", "change", "field"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_field_and_write_nothing(
    park: Park, case: str, change: dict[str, Any], field: str
) -> None:
    data = _form(park, **change)
    before = _counts()
    with pytest.raises(Invalid) as exc:
        facilities.register_facility(park.actor(park.producer, "clerk"), data=data)
    assert exc.value.errors[0]["field"] == field, case
    assert _counts() == before


def test_licence_and_site_refusals(park: Park, english: None) -> None:
    clerk = park.actor(park.producer, "clerk")
    _form(park)  # the producer's site and licence
    other_licence = Licence.objects.get(organization=park.receiver)
    expired = _licence(park.producer, "京环危过期", valid_from=date(2015, 1, 1), valid_to=date(2020, 12, 31))
    revoked = _licence(park.producer, "京环危吊销")
    Licence.objects.filter(pk=revoked.pk).update(is_revoked=True)
    transport = _licence(park.producer, "京危运1", kind="hw_transport")
    foreign_site = _site(park.producer2, "别人的厂区")
    before = _counts()
    for data, field, words in (
        (_form(park, licence_id=other_licence.pk), "licence_id", "of the operator"),
        (_form(park, licence_id=expired.pk), "licence_id", "not in force"),
        (_form(park, licence_id=revoked.pk), "licence_id", "revoked"),
        (_form(park, licence_id=transport.pk), "licence_id", "operating licence"),
        (_form(park, site_id=foreign_site.pk), "site_id", "red line"),
    ):
        with pytest.raises(Invalid) as exc:
            facilities.register_facility(clerk, data=data)
        error = exc.value.errors[0]
        message = str(error["message"])
        assert error["field"] == field and words in message, error
        assert (
            error["rule"] == "R-IN-PLANT"
            and "危险废物试点管理实施细则第四条" in message
            and "seed" not in message
        )
    assert _counts() == before


def test_who_may_register_and_close(park: Park) -> None:
    form = _form(park)
    before = _counts()
    with pytest.raises(Forbidden):  # a regulator reads, it does not register
        facilities.register_facility(park.actor(park.regulator), data=form)
    with pytest.raises(Forbidden):  # a viewer of the producer
        facilities.register_facility(park.actor(park.producer, "viewer"), data=form)
    assert _counts() == before
    f = make_facility(park.producer, mode="group_shared", shared_with=[park.producer2.pk])
    with pytest.raises(Forbidden):  # a group member uses the facility; the operator closes it
        facilities.close_facility(park.actor(park.producer2), f.pk)
    with pytest.raises(Forbidden):
        facilities.close_facility(park.actor(park.regulator), f.pk)
    with pytest.raises(NotFound):
        facilities.close_facility(park.actor(park.outsider), f.pk)
    closed = facilities.close_facility(
        park.actor(park.producer, "clerk"), f.pk, data={"closed_on": "2021-01-31"}
    )
    assert (closed.status, closed.closed_on) == ("closed", date(2021, 1, 31))
    assert AuditEntry.objects.filter(action="hazardous.facility.close").count() == 1
    with pytest.raises(Conflict):
        facilities.close_facility(park.actor(park.producer, "clerk"), f.pk)
    with pytest.raises(Invalid) as exc:
        facilities.close_facility(
            park.system, make_facility(park.producer).pk, data={"closed_on": "2018-01-01"}
        )
    assert exc.value.errors[0]["field"] == "closed_on"


def test_records_are_kept(park: Park) -> None:
    f = make_facility(park.producer)
    with pytest.raises(Forbidden):
        f.delete()
    with pytest.raises(Forbidden):
        TreatmentFacility.objects.all().delete()


def test_visibility(park: Park) -> None:
    f = make_facility(park.producer, mode="group_shared", shared_with=[park.producer2.pk])
    for org, sees in (
        (park.producer, True),
        (park.producer2, True),
        (park.regulator, True),
        (park.outsider, False),
        (park.operator, False),
    ):
        assert facilities.visible_facilities(park.actor(org)).filter(pk=f.pk).exists() is sees, org.name
    foreign = parties.make_org(parties.make_zone(), roles=("regulator",))
    assert not facilities.visible_facilities(parties.actor_of(foreign)).exists()


# --- Which facility covers a waste ---------------------------------------------------------------------


def test_facility_for(park: Park) -> None:
    z = park.zone.pk
    on = date(2020, 6, 30)
    own = make_facility(park.producer, codes=["HW49"])
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on) == own
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on, "disposal") == own
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on, "utilization") is None
    assert facilities.facility_for(z, park.producer.pk, MINERAL_OIL, on) is None  # code not covered
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, date(2019, 5, 31)) is None  # before EIA

    group = make_facility(
        park.producer2,
        codes=["HW49"],
        mode="group_shared",
        activity="utilization",
        shared_with=[park.producer.pk],
    )
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on, "utilization") == group  # member
    assert facilities.facility_for(z, park.producer2.pk, PACKAGING, on, "utilization") == group  # operator
    assert facilities.facility_for(z, park.outsider.pk, PACKAGING, on) is None  # non-member

    # The licence expired at the end of 2020: it covered June 2020, not 2021.
    Licence.objects.filter(pk=own.licence_id).update(valid_to=date(2020, 12, 31))
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on, "disposal") == own
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, date(2021, 3, 31), "disposal") is None

    # Closed on 2020-06-01: no longer covers June, still covers May (declared before the closure).
    facilities.close_facility(park.system, group.pk, data={"closed_on": "2020-06-01"})
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, on, "utilization") is None
    assert facilities.facility_for(z, park.producer.pk, PACKAGING, date(2020, 5, 31), "utilization") == group


# --- Supervision ---------------------------------------------------------------------------------------


def test_unregistered_in_house_treatment(park: Park) -> None:
    _declare(park.producer, 2020, 3, {PACKAGING: ("0", "0.500"), MINERAL_OIL: ("0", "0")})
    _declare(park.producer2, 2020, 4, {PACKAGING: ("0", "0.200")})
    _declare(park.outsider, 2020, 4, {PACKAGING: ("0.100", "0")})
    _declare(park.outsider, 2020, 5, {PACKAGING: ("0", "9")}, status="draft")  # does not count
    _declare(park.outsider, 2020, 6, {PACKAGING: ("0", "3")})
    _declare(park.outsider, 2020, 6, {PACKAGING: ("0", "0")}, version=2)  # corrected: nothing own
    _declare(park.outsider, 2021, 1, {PACKAGING: ("0", "1")})  # another year
    regulator = park.actor(park.regulator)

    rows = facilities.unregistered_in_house_treatment(regulator, 2020)
    assert [
        (r["organization_id"], r["period"], r["code"], r["utilized_t"], r["disposed_t"]) for r in rows
    ] == sorted(
        [
            (park.producer.pk, "2020-03", PACKAGING, "0.000", "0.500"),
            (park.producer2.pk, "2020-04", PACKAGING, "0.000", "0.200"),
            (park.outsider.pk, "2020-04", PACKAGING, "0.100", "0.000"),
        ],
        key=lambda r: (Organization.objects.get(pk=r[0]).name, r[1]),
    )
    assert next(r for r in rows if r["organization_id"] == park.outsider.pk)["missing"] == ["utilization"]

    # A group disposal facility of the producer, shared with producer2 (not with the outsider).
    make_facility(park.producer, codes=["HW49"], mode="group_shared", shared_with=[park.producer2.pk])
    rows = facilities.unregistered_in_house_treatment(regulator, 2020)
    assert [(r["organization_id"], r["period"]) for r in rows] == [(park.outsider.pk, "2020-04")]
    # A producer sees its own only; the outsider still lacks a utilization facility.
    assert facilities.unregistered_in_house_treatment(park.actor(park.producer), 2020) == []
    mine = facilities.unregistered_in_house_treatment(park.actor(park.outsider), 2020)
    assert [(r["code"], r["missing"]) for r in mine] == [(PACKAGING, ["utilization"])]
    assert len(facilities.unregistered_in_house_treatment(regulator, 2021)) == 1
    with pytest.raises(Forbidden):  # neither a regulator nor a producer
        facilities.unregistered_in_house_treatment(park.actor(park.receiver), 2020)
    with pytest.raises(Invalid) as exc:
        facilities.unregistered_in_house_treatment(regulator, "20x0")
    assert exc.value.errors[0]["field"] == "year"


def test_c1_own_method_from_the_covering_facility(park: Park) -> None:
    _declare(park.producer, 2020, 4, {PACKAGING: ("0.200", "0.100"), MINERAL_OIL: ("0", "0")})
    actor = park.actor(park.producer)

    def own(code: str) -> tuple[str, str | None]:
        report = declaration_reports.build_report(actor, organization_id=park.producer.pk, period="2020-04")
        row = next(r for r in report.rows if r.code == code)
        return row.own_method, str(row.own_t)

    assert own(PACKAGING) == ("", "0.300")  # no registered facility: blank
    make_facility(park.producer, codes=["HW49"], activity="disposal", method="焚烧")
    assert own(PACKAGING) == ("焚烧", "0.300")
    make_facility(park.producer, codes=[PACKAGING], activity="utilization", method="清洗再用")
    assert own(PACKAGING) == ("清洗再用、焚烧", "0.300")
    assert own(MINERAL_OIL) == ("", "0.000")  # nothing treated in-house


# --- API ----------------------------------------------------------------------------------------------


def test_api_register_get_close_and_check(park: Park) -> None:
    api = parties.api_client(park.producer)
    url = "/api/hazardous/facilities"
    payload = {**_form(park), "eia_approval_date": "2019-06-01"}
    r = api.post(url, payload, idempotency_key="fac-1")
    assert r.status_code == 201, r.content
    body = r.json()
    licence = Licence.objects.get(pk=payload["licence_id"])
    assert (body["method"], body["mode"], body["status"], body["licence_number"]) == (
        "焚烧",
        "own_plant",
        "active",
        licence.number,
    )
    assert (body["licence_valid_to"], body["eia_approval_number"], body["shared_with"]) == (
        "2035-12-31",
        "京技环审字[2019]0001号",
        [],
    )
    again = api.post(url, payload, idempotency_key="fac-1")
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert TreatmentFacility.objects.count() == 1

    bad = api.post(url, {**payload, "eia_approval_number": ""})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "eia_approval_number"
    bad = api.post(url, {**payload, "waste_codes": ["HW99"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "waste_codes"
    group = api.post(url, {**payload, "mode": "group_shared", "shared_with": [park.producer2.uscc]})
    assert group.status_code == 201
    assert group.json()["shared_with"] == [{"id": park.producer2.pk, "name": park.producer2.name}]
    assert TreatmentFacility.objects.count() == 2

    listing = api.get(url).json()
    assert listing["count"] == 2
    one = api.get(f"{url}/{body['id']}")
    assert one.status_code == 200 and one.json()["waste_codes"] == ["HW49", "900-404-06"]

    member = parties.api_client(park.producer2)
    assert member.get(f"{url}/{group.json()['id']}").status_code == 200
    assert member.get(f"{url}/{body['id']}").status_code == 404  # own-plant facility of another
    assert member.post(f"{url}/{group.json()['id']}/close", {}).status_code == 403

    reg = parties.api_client(park.regulator)
    assert reg.get(f"{url}/{body['id']}").status_code == 200
    assert reg.get(url).json()["count"] == 2
    refused = reg.post(url, payload)
    assert refused.status_code == 403 and TreatmentFacility.objects.count() == 2

    foreign = parties.api_client(park.outsider)
    assert foreign.get(f"{url}/{body['id']}").status_code == 404
    assert foreign.post(f"{url}/{body['id']}/close", {}).status_code == 404
    assert foreign.get(url).json()["count"] == 0

    closed = api.post(f"{url}/{body['id']}/close", {"closed_on": "2021-01-31"}, idempotency_key="close-1")
    assert closed.status_code == 200 and (closed.json()["status"], closed.json()["closed_on"]) == (
        "closed",
        "2021-01-31",
    )
    retried = api.post(f"{url}/{body['id']}/close", {"closed_on": "2021-01-31"}, idempotency_key="close-1")
    assert retried.status_code == 200
    assert api.post(f"{url}/{body['id']}/close", {}).status_code == 409

    _declare(park.outsider, 2020, 4, {PACKAGING: ("0", "0.700")})
    check = reg.get("/api/hazardous/in-house-check", year=2020)
    assert check.status_code == 200
    assert [
        (r["organization_id"], r["period"], r["code"], r["disposed_t"], r["missing"]) for r in check.json()
    ] == [(park.outsider.pk, "2020-04", PACKAGING, "0.700", ["disposal"])]
    assert api.get("/api/hazardous/in-house-check", year=2020).json() == []
    assert reg.get("/api/hazardous/in-house-check", year=1900).status_code == 422
    assert (
        parties.api_client(park.receiver).get("/api/hazardous/in-house-check", year=2020).status_code == 403
    )


# --- Command line ---------------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("hazardous", *args, stdout=out)
    return out.getvalue()


def test_cli_add_list_close_and_check(park: Park, capsys: pytest.CaptureFixture[str]) -> None:
    zone = ("--zone", park.zone.code)
    form = _form(park)
    added = json.loads(
        run(
            "facility",
            "add",
            "--operator",
            park.producer.uscc,
            "--site",
            str(form["site_id"]),
            "--mode",
            "group_shared",
            "--activity",
            "disposal",
            "--method",
            "焚烧",
            "--codes",
            "HW49,900-404-06",
            "--eia-number",
            "京技环审字[2019]0002号",
            "--eia-date",
            "2019-06-01",
            "--licence",
            str(form["licence_id"]),
            "--shared-with",
            str(park.producer2.pk),
            "--format",
            "json",
            *zone,
        )
    )
    assert (added["operator_id"], added["method"], added["waste_codes"]) == (
        park.producer.pk,
        "焚烧",
        ["HW49", "900-404-06"],
    )
    assert added["shared_with"] == [{"id": park.producer2.pk, "name": park.producer2.name}]
    text = run("facility", "list", *zone)
    assert f"{added['id']:>5}" in text and "焚烧" in text and park.producer2.name in text
    assert json.loads(run("facility", "list", "--format", "json", *zone))[0]["id"] == added["id"]

    with pytest.raises(SystemExit):
        run("facility", "add", "--operator", str(park.producer.pk), "--site", str(form["site_id"]),
            "--mode", "own_plant", "--activity", "disposal", "--method", "焚烧", "--codes", "HW49",
            "--eia-date", "2019-06-01", "--licence", str(form["licence_id"]), *zone)  # fmt: skip
    assert "eia_approval_number" in capsys.readouterr().err
    assert TreatmentFacility.objects.count() == 1

    _declare(park.outsider, 2020, 4, {PACKAGING: ("0", "0.700")})
    rows = json.loads(run("in-house-check", "--year", "2020", "--format", "json", *zone))
    assert [(r["organization_id"], r["code"], r["disposed_t"]) for r in rows] == [
        (park.outsider.pk, PACKAGING, "0.700")
    ]
    assert park.outsider.name in run("in-house-check", "--year", "2020", *zone)
    assert "CLOSED" not in run("facility", "list", *zone)
    assert "closed on 2020-12-31" in run("facility", "close", str(added["id"]), "--on", "2020-12-31", *zone)
    assert "CLOSED 2020-12-31" in run("facility", "list", *zone)


# --- Page -----------------------------------------------------------------------------------------------


def test_page_register_close_and_supervision(park: Park, english: None) -> None:
    url = reverse("hazardous:facilities")
    client = Client()
    client.force_login(parties.make_member(park.producer, "clerk").user)
    form = _form(park)
    page = client.get(url)
    assert page.status_code == 200 and 'id="facility-form"' in page.content.decode()
    assert 'id="no-licence"' not in page.content.decode()  # the form offers the producer's licence
    unlicensed = Client()
    unlicensed.force_login(parties.make_member(park.producer2, "clerk").user)
    assert 'id="no-licence"' in unlicensed.get(url).content.decode()  # and says where to add one
    post = {**form, "waste_codes": "HW49, 900-404-06", "eia_approval_number": ""}
    r = client.post(url, post)
    assert r.status_code == 422 and "eia_approval_number" in r.content.decode()
    assert TreatmentFacility.objects.count() == 0
    r = client.post(url, {**post, "eia_approval_number": "京技环审字[2019]0001号"})
    assert r.status_code == 302
    f = TreatmentFacility.objects.get()
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    licence = Licence.objects.get(pk=form["licence_id"])
    for value in (
        "焚烧",
        "HW49, 900-404-06",
        "京技环审字[2019]0001号",
        licence.number,
        "2035-12-31",
        "active",
    ):
        assert value in html, value
    assert 'name="close"' in html
    nav = client.get(reverse("hazardous:home")).content.decode()
    assert url in nav

    _declare(park.producer2, 2020, 4, {PACKAGING: ("0", "0.200")})
    reg = Client()
    reg.force_login(parties.make_member(park.regulator).user)
    page = reg.get(url, {"year": "2020"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="unregistered"' in html and park.producer2.name in html
    assert "0.200" in html and 'id="facility-form"' not in html and "焚烧" in html
    assert reg.post(url, {**post, "eia_approval_number": "X"}).status_code == 403
    assert reg.post(url, {"close": str(f.pk)}).status_code == 403
    assert TreatmentFacility.objects.count() == 1

    r = client.post(url, {"close": str(f.pk), "closed_on": "2021-01-31"})
    assert r.status_code == 302
    f.refresh_from_db()
    assert (f.status, f.closed_on) == ("closed", date(2021, 1, 31))

    outsider = Client()
    outsider.force_login(parties.make_member(make_park(park.zone).producer).user)
    assert outsider.post(url, {"close": str(f.pk)}).status_code == 404
    assert "京技环审字[2019]0001号" not in outsider.get(url).content.decode()
