"""The park operator's registration pages — enterprises with the discharge system and the four stations —
and the re-inspection result on the day page: register and update, bad input names the field and writes
nothing, a regulator reads but may not post, another park's operator sees nothing; their API lists and
CLI listings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from zerowaste.core.authz import Actor
from zerowaste.core.models import AuditEntry, Organization, Zone
from zerowaste.household import park
from zerowaste.household.models import ParkEnterprise, ParkStation, StationLog
from zerowaste.testing import parties

from .test_park import Park, _run, make_park

pytestmark = pytest.mark.django_db

ENTERPRISES = "/household/park/enterprises/"
STATIONS = "/household/park/stations/"


@pytest.fixture
def p(zone: Zone) -> Park:
    return make_park(zone)


def _client(org: Organization, role: str = "admin") -> Client:
    client = Client()
    client.force_login(parties.make_member(org, role).user)
    return client


def _written() -> tuple[int, int, int, int]:
    return (
        ParkEnterprise.objects.count(),
        ParkStation.objects.count(),
        StationLog.objects.count(),
        AuditEntry.objects.count(),
    )


def _errors(response: Any) -> dict[str, Any]:
    return dict(response.context["form"].errors)


# --- Enterprises ------------------------------------------------------------------------------------------


def test_operator_registers_and_updates_an_enterprise(p: Park) -> None:
    client = _client(p.operator)
    page = client.get(f"{ENTERPRISES}?park={p.park.code}")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="park-enterprise-form"' in body
    assert "园区企业1" in body and "园区运营1" not in body.split('id="park-enterprise-form"')[1]
    response = client.post(
        ENTERPRISES,
        {
            "park": p.park.code,
            "organization": p.enterprise.pk,
            "waste_classes": ["kitchen", "other"],
            "expected_kitchen": "12.5",
            "contact_name": "王经理",
            "contact_phone": "13800000000",
        },
        follow=True,
    )
    assert response.status_code == 200, response.content
    [e] = ParkEnterprise.objects.filter(park=p.park)
    assert (e.waste_classes, e.expected_kg, e.contact_name) == (
        "kitchen,other",
        {"kitchen": "12.500"},
        "王经理",
    )
    body = response.content.decode()
    assert 'id="park-enterprises"' in body and "12.500 千克" in body and "厨余垃圾" in body
    assert "kitchen" not in body.split('id="park-enterprises"')[1].split("</table>")[0]
    assert AuditEntry.objects.filter(action="household.park.register").count() == 1
    # The edit link fills the form with the registration; saving it again updates it.
    edit = client.get(f"{ENTERPRISES}?park={p.park.code}&organization={p.enterprise.pk}")
    assert edit.context["form"].initial["waste_classes"] == ["kitchen", "other"]
    client.post(
        ENTERPRISES,
        {"park": p.park.code, "organization": p.enterprise.pk, "waste_classes": ["recyclable"]},
    )
    e.refresh_from_db()
    assert (e.waste_classes, e.expected_kg) == ("recyclable", {})
    assert AuditEntry.objects.filter(action="household.park.reregister").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"waste_classes": []}, "waste_classes"),
        ({"waste_classes": ["glass"]}, "waste_classes"),
        ({"expected_other": "5"}, "expected_other"),  # a class not ticked
        ({"expected_kitchen": "-1"}, "expected_kitchen"),
        ({"expected_kitchen": "1.0001"}, "expected_kitchen"),
        ({"expected_kitchen": "abc"}, "expected_kitchen"),
        ({"organization": "999999999"}, "organization"),
        ({"contact_phone": "1" * 41}, "contact_phone"),
    ],
)
def test_bad_registration_names_the_field_and_writes_nothing(
    p: Park, data: dict[str, Any], field: str
) -> None:
    client = _client(p.operator)
    before = _written()
    post = {"park": p.park.code, "organization": p.enterprise.pk, "waste_classes": ["kitchen"], **data}
    response = client.post(ENTERPRISES, post)
    assert response.status_code == 422
    assert field in _errors(response), _errors(response)
    assert _written() == before


def test_an_organization_outside_the_park_is_not_offered(p: Park, zone: Zone) -> None:
    outsider = parties.make_org(zone, roles=("producer",), name="园外企业")
    client = _client(p.operator)
    assert "园外企业" not in client.get(ENTERPRISES).content.decode()
    response = client.post(ENTERPRISES, {"organization": outsider.pk, "waste_classes": ["other"]})
    assert response.status_code == 422 and "organization" in _errors(response)
    assert not ParkEnterprise.objects.exists()


def test_regulators_and_viewers_read_but_may_not_register(p: Park, zone: Zone) -> None:
    park.register_enterprise(
        Actor.system(zone), p.park.code, organization_id=p.enterprise.pk, waste_classes=["other"]
    )
    post = {"park": p.park.code, "organization": p.enterprise.pk, "waste_classes": ["kitchen"]}
    for client in (_client(parties.make_org(zone, roles=("regulator",))), _client(p.operator, "viewer")):
        page = client.get(f"{ENTERPRISES}?park={p.park.code}").content.decode()
        assert "园区企业1" in page and 'id="park-enterprise-form"' not in page
        before = _written()
        assert client.post(ENTERPRISES, post).status_code == 403
        assert (
            client.post(
                STATIONS, {"park": p.park.code, "kind": "digester", "code": "R-1", "name": "站"}
            ).status_code
            == 403
        )
        assert _written() == before
    assert ParkEnterprise.objects.get().waste_classes == "other"


def test_another_parks_operator_sees_nothing(p: Park, zone: Zone) -> None:
    park.register_enterprise(
        Actor.system(zone), p.park.code, organization_id=p.enterprise.pk, waste_classes=["other"]
    )
    other = make_park(zone, 2)
    foreign = _client(other.operator)
    for url in (ENTERPRISES, STATIONS):
        assert foreign.get(f"{url}?park={p.park.code}").status_code == 404
    before = _written()
    response = foreign.post(
        ENTERPRISES, {"park": p.park.code, "organization": p.enterprise.pk, "waste_classes": ["kitchen"]}
    )
    assert response.status_code == 404
    assert (
        foreign.post(
            STATIONS, {"park": p.park.code, "kind": "digester", "code": "F-1", "name": "站"}
        ).status_code
        == 404
    )
    assert _written() == before
    # Its own pages show its own park only; an enterprise sees no park.
    body = foreign.get(ENTERPRISES).content.decode()
    assert "园区企业1" not in body and "亦城财富中心2" in body
    assert 'id="no-park"' in _client(p.enterprise).get(STATIONS).content.decode()


# --- Stations ---------------------------------------------------------------------------------------------


def test_stations_page_lists_and_registers(zone: Zone) -> None:
    p = make_park(zone)
    client = _client(p.operator)
    page = client.get(STATIONS).content.decode()
    assert 'id="park-stations"' in page and "KJ-10 · 10 立方米" in page.split('id="park-stations"')[1]
    assert 'id="park-stations-missing"' not in page  # all four kinds are there
    assert "compactor" not in page.split('id="park-stations"')[1].split("</table>")[0]
    response = client.post(
        STATIONS,
        {
            "park": p.park.code,
            "kind": "compactor",
            "code": "P1-KJ12",
            "name": "二号挤压站",
            "compactor_model": "KJ-12",
        },
        follow=True,
    )
    assert response.status_code == 200
    station = ParkStation.objects.get(code="P1-KJ12")
    assert (station.compactor_model, station.in_service_from) == ("KJ-12", park.today(zone.pk))
    assert "KJ-12 · 12 立方米" in response.content.decode().split('id="park-stations"')[1]
    assert AuditEntry.objects.filter(action="household.park.station", object_id=str(station.pk)).exists()


def test_a_park_without_stations_says_which_are_missing(zone: Zone) -> None:
    p = make_park(zone)
    ParkStation.objects.filter(park=p.park, kind__in=["digester", "recyclables"]).delete()
    body = _client(p.operator).get(STATIONS).content.decode()
    missing = body.split('id="park-stations-missing"')[1].split("</p>")[0]
    assert "可回收物中转站" in missing and "餐厨垃圾生物降解站" in missing and "复检站" not in missing


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "compactor"}, "compactor_model"),  # a compactor names its model
        ({"compactor_model": "KJ-10"}, "compactor_model"),  # a digester has none
        ({"kind": "incinerator"}, "kind"),
        ({"code": ""}, "code"),
        ({"code": "P1-DIG"}, "code"),  # taken (the service's check)
        ({"name": " "}, "name"),
        ({"in_service_from": "2001-01-01"}, "in_service_from"),  # the service's bound
        ({"in_service_from": "yesterday"}, "in_service_from"),
    ],
)
def test_bad_station_names_the_field_and_writes_nothing(p: Park, data: dict[str, Any], field: str) -> None:
    client = _client(p.operator)
    before = _written()
    post = {"park": p.park.code, "kind": "digester", "code": "P1-NEW", "name": "新降解站", **data}
    response = client.post(STATIONS, post)
    assert response.status_code == 422
    assert field in _errors(response), _errors(response)
    assert _written() == before


# --- Re-inspection results --------------------------------------------------------------------------------


def test_the_reinspection_keeper_records_a_result(p: Park) -> None:
    client = _client(p.operator, "clerk")
    station = p.stations["reinspection"]
    body = client.get("/household/park/").content.decode()
    assert f'id="park-inspection-{station.code}"' in body
    assert f'id="park-inspection-{p.stations["digester"].code}"' not in body  # only at re-inspection
    response = client.post(
        "/household/park/log/",
        {
            "station": station.pk,
            "kind": "inspection",
            "result": "fail",
            "quantity_kg": "3.2",
            "notes": "混入塑料",
        },
        follow=True,
    )
    assert response.status_code == 200
    log = StationLog.objects.get(station=station, kind="inspection")
    assert (log.result, str(log.quantity_kg), log.notes) == ("fail", "3.200", "混入塑料")
    client.post("/household/park/log/", {"station": station.pk, "kind": "inspection", "result": "pass"})
    body = client.get("/household/park/").content.decode()
    card = body.split(f'id="station-{station.code}"')[1].split("</section>")[0]
    assert "复检 2 次：分类正确 1 次，二次分拣 1 次。" in card
    assert (
        "二次分拣" in card.split('class="park-logs"')[1] and "fail" not in card.split('class="park-logs"')[1]
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({}, "复检结果"),  # a re-inspection without its result
        ({"result": "maybe"}, "复检结果"),
        ({"result": "pass", "quantity_kg": "-2"}, "数量（千克）"),
        ({"result": "pass", "notes": "x" * 501}, "备注"),
    ],
)
def test_a_bad_reinspection_names_the_field_and_writes_nothing(
    p: Park, data: dict[str, Any], words: str
) -> None:
    client = _client(p.operator)
    before = _written()
    response = client.post(
        "/household/park/log/",
        {"station": p.stations["reinspection"].pk, "kind": "inspection", **data},
        follow=True,
    )
    assert _written() == before
    assert words in "".join(str(m) for m in response.context["messages"])


def test_a_result_only_on_a_reinspection(p: Park) -> None:
    client = _client(p.operator)
    before = _written()
    response = client.post(
        "/household/park/log/",
        {"station": p.stations["compactor"].pk, "kind": "cleaning", "result": "pass"},
        follow=True,
    )
    assert _written() == before
    assert any("result" in str(m) or "复检" in str(m) for m in response.context["messages"])


def test_a_regulator_sees_results_without_the_form(p: Park, zone: Zone) -> None:
    park.record_log(Actor.system(zone), p.stations["reinspection"].pk, kind="inspection", result="fail")
    regulator = _client(parties.make_org(zone, roles=("regulator",)))
    body = regulator.get(f"/household/park/?park={p.park.code}").content.decode()
    assert "二次分拣 1 次" in body and "park-inspection-" not in body
    before = _written()
    response = regulator.post(
        "/household/park/log/",
        {"station": p.stations["reinspection"].pk, "kind": "inspection", "result": "pass"},
    )
    assert response.status_code in (302, 403) and _written() == before


# --- The day page's sub-navigation, API and CLI -----------------------------------------------------------


def test_the_day_page_links_the_registration_pages(p: Park) -> None:
    body = _client(p.operator).get("/household/park/").content.decode()
    nav = body.split('id="park-nav"')[1].split("</nav>")[0]
    assert ENTERPRISES in nav and STATIONS in nav


def test_api_lists_stations_and_registers(p: Park, zone: Zone) -> None:
    api = parties.api_client(p.operator)
    rows = api.get("/api/household/park/stations").json()
    compactor = next(r for r in rows if r["kind"] == "compactor")
    assert (compactor["compactor_model"], compactor["capacity_m3"]) == ("KJ-10", 10)
    assert next(r for r in rows if r["kind"] == "digester")["compactor_model"] is None
    made = api.post(
        "/api/household/park/stations",
        {"kind": "compactor", "code": "API-KJ8", "name": "三号挤压站", "compactor_model": "KJ-8"},
    )
    assert made.status_code == 201 and made.json()["capacity_m3"] == 8, made.content
    bad = api.post("/api/household/park/stations", {"kind": "digester", "code": "API-KJ8", "name": "重复"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
    log = api.post(
        "/api/household/park/logs",
        {
            "station_id": p.stations["reinspection"].pk,
            "kind": "inspection",
            "result": "fail",
            "quantity_kg": "2",
        },
    )
    assert log.status_code == 201 and log.json()["result"] == "fail"
    other = make_park(zone, 5)
    assert (
        parties.api_client(other.operator).get("/api/household/park/stations", park=p.park.code).status_code
        == 404
    )


def test_cli_lists_enterprises_and_stations(p: Park) -> None:
    park.register_enterprise(
        Actor.system(p.zone),
        p.park.code,
        organization_id=p.enterprise.pk,
        waste_classes=["other"],
        expected_kg={"other": "30"},
    )
    [row] = _run(p.zone, "park", "enterprises", "--park", p.park.code)
    assert (row["organization"], row["classes"], row["expected_kg"]) == (
        "园区企业1",
        ["other"],
        {"other": "30.000"},
    )
    stations = _run(p.zone, "park", "stations", "--park", p.park.code)
    assert {s["kind"] for s in stations} == {"reinspection", "compactor", "recyclables", "digester"}
    assert next(s for s in stations if s["kind"] == "compactor")["capacity_m3"] == 10
    assert all(
        s["in_service_from"] == (park.today(p.zone.pk) - timedelta(days=35)).isoformat() for s in stations
    )
