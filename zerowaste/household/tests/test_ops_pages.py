"""Pages, API and CLI of the household operations (ops17): vehicle routes (the carrier sets, the
regulators read, off-route shown), education visits on the alarm page and on the black list, the
plants' roles and the source total-control quotas (zone regulators)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Area, AuditEntry, Organization, Zone
from zerowaste.household import ops, rules, settings_ops
from zerowaste.household.models import Alarm, EducationVisit, RouteStop, SiteRole, SourceQuota
from zerowaste.household.testing import Registry, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, TZ, at, household, last_working_day, send
from .test_ops import _graded, _loading, _quality_alarm

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone, stations=3)


def _login(org: Organization, role: str = "admin", **extra: Any) -> Client:
    client = Client()
    client.force_login(parties.make_member(org, role, **extra).user)
    return client


def _audits() -> int:
    return AuditEntry.objects.count()


def _json(zone: Zone, *args: str) -> Any:
    out = StringIO()
    call_command("household", *args, "--zone", zone.code, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


# --- Routes ---------------------------------------------------------------------------------------------


def test_carrier_sets_its_vehicles_route_on_the_page(reg: Registry) -> None:
    carrier = _login(reg.vehicle.organization)
    day = last_working_day()
    url = f"/household/routes/?vehicle={reg.vehicle.pk}&day={day.isoformat()}"
    page = carrier.get(url)
    assert page.status_code == 200
    assert reg.vehicle.plate in page.content.decode() and 'id="route-form"' in page.content.decode()
    before = _audits()
    saved = carrier.post(
        "/household/routes/",
        {
            "vehicle": reg.vehicle.pk,
            "day": day.isoformat(),
            "stations": f"{reg.stations[1].code}\n{reg.stations[0].code}",
        },
    )
    assert saved.status_code == 302 and saved["Location"].endswith(url)
    stops = RouteStop.objects.filter(zone=reg.zone, vehicle=reg.vehicle, day=day).order_by("position")
    assert [s.station_id for s in stops] == [reg.stations[1].pk, reg.stations[0].pk]
    assert _audits() == before + 1
    text = carrier.get(url).content.decode()
    assert f'<code class="mono code">{reg.stations[1].code}</code>' in text


def test_route_page_bad_station_names_the_field_and_writes_nothing(reg: Registry) -> None:
    carrier = _login(reg.vehicle.organization)
    day = last_working_day()
    ops.plan_route(Actor.system(reg.zone), reg.vehicle.pk, day, [reg.stations[0].pk])
    before = _audits()
    bad = carrier.post(
        "/household/routes/",
        {"vehicle": reg.vehicle.pk, "day": day.isoformat(), "stations": f"{reg.stations[1].code}, NOPE-1"},
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "NOPE-1" in text and 'id="form-errors"' in text
    assert [s.station_id for s in ops.route_of(reg.zone.pk, reg.vehicle.pk, day)] == [reg.stations[0].pk]
    assert _audits() == before
    assert carrier.get("/household/routes/?day=2026-02-31").status_code == 400
    assert carrier.get("/household/routes/?vehicle=abc").status_code == 400


def test_route_page_shows_the_off_route_loading_and_its_alarm(reg: Registry) -> None:
    day = last_working_day()
    ops.plan_route(Actor.system(reg.zone), reg.vehicle.pk, day, [reg.stations[0].pk])
    send(reg, *_loading(reg, 0, at(day, 8)))
    send(reg, *_loading(reg, 2, at(day, 9)))
    alarm = Alarm.objects.get(zone=reg.zone, kind=rules.ALARM_VEHICLE_OFF_ROUTE)
    regulator = _login(parties.make_org(reg.zone, roles=("regulator",)))
    text = regulator.get(
        f"/household/routes/?vehicle={reg.vehicle.pk}&day={day.isoformat()}"
    ).content.decode()
    assert 'id="route-verdict"' in text and 'class="error"' in text
    assert f"/household/alarms/{alarm.pk}/" in text
    day_list = regulator.get(f"/household/routes/?day={day.isoformat()}").content.decode()
    assert reg.vehicle.plate in day_list
    api = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)), ("read",))
    answer = api.get("/api/household/routes", vehicle_id=reg.vehicle.pk, day=day.isoformat())
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["off_route"] is True and body["alarm_ids"] == [alarm.pk]
    assert [s["station"] for s in body["stops"]] == [reg.stations[0].code]
    assert sorted(body["visited"]) == sorted([reg.stations[0].code, reg.stations[2].code])


def test_routes_refused_and_isolated(reg: Registry) -> None:
    day = last_working_day()
    url = f"/household/routes/?vehicle={reg.vehicle.pk}&day={day.isoformat()}"
    form = {"vehicle": reg.vehicle.pk, "day": day.isoformat(), "stations": reg.stations[0].code}
    producer = _login(parties.make_org(reg.zone, roles=("producer",)))
    assert producer.get("/household/routes/").status_code == 403
    assert producer.post("/household/routes/", form).status_code == 403
    other_carrier = _login(parties.make_org(reg.zone, roles=("carrier",)))
    assert other_carrier.get("/household/routes/").status_code == 200
    assert reg.vehicle.plate not in other_carrier.get("/household/routes/").content.decode()
    assert other_carrier.get(url).status_code == 400  # another carrier's vehicle: not shown
    assert other_carrier.post("/household/routes/", form).status_code == 422
    viewer = _login(reg.vehicle.organization, "viewer")
    assert viewer.get(url).status_code == 200
    assert viewer.post("/household/routes/", form).status_code == 403
    street_b = Area.objects.create(zone=reg.zone, code="SB-R", name="另一街道", kind="street")
    street_regulator = _login(parties.make_org(reg.zone, roles=("regulator",), area_id=street_b.pk))
    assert street_regulator.get(url).status_code == 400
    assert not RouteStop.objects.filter(zone=reg.zone, vehicle=reg.vehicle).exists()
    foreign_zone = parties.make_zone()
    foreign = parties.api_client(parties.make_org(foreign_zone, roles=("regulator",)))
    assert (
        foreign.get("/api/household/routes", vehicle_id=reg.vehicle.pk, day=day.isoformat()).status_code
        == 422
    )
    assert (
        foreign.post(
            "/api/household/routes",
            {"vehicle_id": reg.vehicle.pk, "day": day.isoformat(), "station_ids": [reg.stations[0].pk]},
        ).status_code
        == 422
    )
    assert not RouteStop.objects.filter(zone=reg.zone).exists()


def test_carrier_plans_by_api(reg: Registry) -> None:
    day = last_working_day()
    carrier = parties.api_client(reg.vehicle.organization)
    answer = carrier.post(
        "/api/household/routes",
        {"vehicle_id": reg.vehicle.pk, "day": day.isoformat(), "station_ids": [reg.stations[2].pk]},
    )
    assert answer.status_code == 200, answer.content
    assert [r["station"] for r in answer.json()] == [reg.stations[2].code]


# --- Education visits ---------------------------------------------------------------------------------


def test_alarm_page_records_an_education_visit(reg: Registry) -> None:
    alarm = _quality_alarm(reg)
    regulator = _login(parties.make_org(reg.zone, roles=("regulator",)))
    url = f"/household/alarms/{alarm.pk}/"
    page = regulator.get(url).content.decode()
    assert 'id="visit-form"' in page and 'id="resolve-form"' not in page
    before = _audits()
    bad = regulator.post(url, {"visited_on": "2026-13-01", "visited_by": "王楼门长"})
    assert bad.status_code == 422 and 'id="form-errors"' in bad.content.decode()
    future = (NOW.astimezone(TZ).date() + timedelta(days=3)).isoformat()
    assert regulator.post(url, {"visited_on": future, "visited_by": "王楼门长"}).status_code == 422
    assert regulator.post(url, {"visited_on": "2024-01-02", "visited_by": " "}).status_code == 422
    assert _audits() == before and not EducationVisit.objects.filter(alarm=alarm).exists()
    visited_on = NOW.astimezone(TZ).date().isoformat()
    done = regulator.post(url, {"visited_on": visited_on, "visited_by": "王楼门长", "note": "讲解厨余分类"})
    assert done.status_code == 302
    visit = EducationVisit.objects.get(alarm=alarm)
    assert (visit.visited_by, visit.note) == ("王楼门长", "讲解厨余分类")
    alarm.refresh_from_db()
    assert alarm.resolved_at is not None
    assert AuditEntry.objects.filter(action="household.education_visit.record").count() == 1
    shown = regulator.get(url).content.decode()
    assert 'id="education-visit"' in shown and "讲解厨余分类" in shown and 'id="visit-form"' not in shown


def test_other_alarms_keep_the_plain_resolution_form(reg: Registry) -> None:
    send(reg, *_loading(reg, 0, NOW - timedelta(hours=2), receiver="30.000"))
    mismatch = Alarm.objects.get(zone=reg.zone, kind=rules.ALARM_WEIGHT_MISMATCH)
    regulator = _login(parties.make_org(reg.zone, roles=("regulator",)))
    page = regulator.get(f"/household/alarms/{mismatch.pk}/").content.decode()
    assert 'id="resolve-form"' in page and 'id="visit-form"' not in page


def test_black_list_shows_the_visit_status(reg: Registry) -> None:
    day = last_working_day()
    good, bad = household(reg), household(reg)
    _graded(reg, good, "AAA", day)
    _graded(reg, bad, "CCA", day)
    ops.compile_lists(reg.zone.pk, day.replace(day=1))
    regulator_org = parties.make_org(reg.zone, roles=("regulator",))
    regulator = _login(regulator_org)
    text = regulator.get(f"/household/lists/?month={day:%Y-%m}").content.decode()
    assert "visit-status" in text
    open_alarm = Alarm.objects.filter(
        zone=reg.zone, kind=rules.ALARM_QUALITY, source=bad, resolved_at__isnull=True
    ).first()
    if open_alarm is not None:
        assert f"/household/alarms/{open_alarm.pk}/" in text
        ops.record_education_visit(
            parties.actor_of(regulator_org), open_alarm.pk, visited_on=day, visited_by="李网格员"
        )
    else:
        alarm = _quality_alarm(reg)
        EducationVisit.objects.create(
            zone=reg.zone, alarm=alarm, source=bad, visited_on=day, visited_by="李网格员", recorded_at=NOW
        )
    text = regulator.get(f"/household/lists/?month={day:%Y-%m}").content.decode()
    assert "李网格员" in text


# --- Plants' roles --------------------------------------------------------------------------------------


def test_zone_regulator_sets_a_plants_role_on_the_page(reg: Registry) -> None:
    zone_regulator = _login(parties.make_org(reg.zone, roles=("regulator",)))
    page = zone_regulator.get("/household/site-roles/")
    assert page.status_code == 200 and 'id="site-role-form"' in page.content.decode()
    before = _audits()
    done = zone_regulator.post("/household/site-roles/", {"site": reg.plant.pk, "role": rules.SITE_KITCHEN})
    assert done.status_code == 302
    assert SiteRole.objects.get(zone=reg.zone, site=reg.plant).role == rules.SITE_KITCHEN
    assert _audits() == before + 1
    again = zone_regulator.post("/household/site-roles/", {"site": reg.plant.pk, "role": rules.SITE_LANDFILL})
    assert again.status_code == 302
    assert SiteRole.objects.get(zone=reg.zone, site=reg.plant).role == rules.SITE_LANDFILL
    text = zone_regulator.get("/household/site-roles/").content.decode()
    assert reg.plant.name in text and str(dict(rules.SITE_ROLE_CHOICES)[rules.SITE_LANDFILL]) in text
    assert rules.SITE_LANDFILL not in text.split('id="site-roles"')[1].split("</table>")[0]


def test_site_role_bad_input_and_refusals(reg: Registry) -> None:
    zone_regulator_org = parties.make_org(reg.zone, roles=("regulator",))
    zone_regulator = _login(zone_regulator_org)
    before = _audits()
    bad = zone_regulator.post("/household/site-roles/", {"site": reg.plant.pk, "role": "volcano"})
    assert bad.status_code == 422 and "errorlist" in bad.content.decode()
    assert not SiteRole.objects.filter(zone=reg.zone).exists() and _audits() == before
    with pytest.raises(Invalid) as error:
        settings_ops.set_site_role(parties.actor_of(zone_regulator_org), 999999, rules.SITE_KITCHEN)
    assert error.value.errors[0]["field"] == "site"
    street_regulator = _login(parties.make_org(reg.zone, roles=("regulator",), area_id=reg.street.pk))
    assert street_regulator.get("/household/site-roles/").status_code == 403
    producer = _login(parties.make_org(reg.zone, roles=("producer",)))
    assert producer.get("/household/site-roles/").status_code == 403
    viewer = _login(zone_regulator_org, "viewer")
    assert 'id="site-role-form"' not in viewer.get("/household/site-roles/").content.decode()
    assert viewer.post("/household/site-roles/", {"site": reg.plant.pk, "role": "kitchen"}).status_code == 403
    assert not SiteRole.objects.filter(zone=reg.zone).exists()
    foreign = parties.api_client(parties.make_org(parties.make_zone(), roles=("regulator",)))
    answer = foreign.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "kitchen"})
    assert answer.status_code == 422 and "site" in answer.content.decode()
    assert not SiteRole.objects.filter(site=reg.plant).exists()


def test_site_roles_api_and_cli(reg: Registry) -> None:
    api = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)))
    answer = api.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "incineration"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["role"] == "incineration" and answer.json()["site"] == reg.plant.name
    listed = api.get("/api/household/site-roles")
    assert [r["site_id"] for r in listed.json()] == [reg.plant.pk]
    bad = api.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "volcano"})
    assert bad.status_code == 422 and "role" in bad.content.decode()
    street = parties.api_client(parties.make_org(reg.zone, roles=("regulator",), area_id=reg.street.pk))
    assert street.get("/api/household/site-roles").status_code == 403
    assert (
        street.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "kitchen"}).status_code
        == 403
    )
    rows = _json(reg.zone, "site-role", "--site", str(reg.plant.pk), "--role", "kitchen")
    assert rows[0]["role"] == "kitchen"
    assert SiteRole.objects.get(site=reg.plant).role == "kitchen"
    assert _json(reg.zone, "site-role")[0]["role_label"]
    with pytest.raises(SystemExit):
        _json(reg.zone, "site-role", "--site", str(reg.plant.pk), "--role", "volcano")
    assert SiteRole.objects.get(site=reg.plant).role == "kitchen"


# --- Source total-control quotas -----------------------------------------------------------------------


def test_zone_regulator_sets_quotas_on_the_page(reg: Registry) -> None:
    zone_regulator = _login(parties.make_org(reg.zone, roles=("regulator",)))
    assert zone_regulator.get("/household/quotas/").status_code == 200
    before = _audits()
    done = zone_regulator.post(
        "/household/quotas/", {"area": "", "year": "2020", "quota_t": "86723", "source": "京管发〔2019〕测试"}
    )
    assert done.status_code == 302
    zone_quota = SourceQuota.objects.get(zone=reg.zone, area__isnull=True, year=2020)
    assert zone_quota.quota_t == Decimal("86723.000")
    street = zone_regulator.post(
        "/household/quotas/", {"area": reg.street.code, "year": "2020", "quota_t": "1200.5"}
    )
    assert street.status_code == 302
    again = zone_regulator.post("/household/quotas/", {"area": "", "year": "2020", "quota_t": "90000"})
    assert again.status_code == 302
    assert SourceQuota.objects.filter(zone=reg.zone).count() == 2
    assert SourceQuota.objects.get(zone=reg.zone, area__isnull=True).quota_t == Decimal("90000")
    assert _audits() == before + 3
    text = zone_regulator.get("/household/quotas/").content.decode()
    assert "90,000" in text and reg.street.name in text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"area": "", "year": "2020", "quota_t": "-5"}, "quota_t"),
        ({"area": "", "year": "2020", "quota_t": "12.3456"}, "quota_t"),
        ({"area": "", "year": "2020", "quota_t": "many"}, "quota_t"),
        ({"area": "", "year": "1850", "quota_t": "5"}, "year"),
        ({"area": "NOWHERE", "year": "2020", "quota_t": "5"}, "area"),
    ],
)
def test_quota_bad_input_names_the_field_and_writes_nothing(
    reg: Registry, form: dict[str, str], field: str
) -> None:
    org = parties.make_org(reg.zone, roles=("regulator",))
    zone_regulator = _login(org)
    before = _audits()
    bad = zone_regulator.post("/household/quotas/", form)
    assert bad.status_code == 422 and "errorlist" in bad.content.decode()
    assert not SourceQuota.objects.filter(zone=reg.zone).exists() and _audits() == before
    api = parties.api_client(org)
    payload: dict[str, Any] = {
        "area": form["area"] or None,
        "year": int(form["year"]),
        "quota_t": form["quota_t"],
    }
    answer = api.post("/api/household/quotas", payload)
    assert answer.status_code == 422 and field in answer.content.decode()
    assert not SourceQuota.objects.filter(zone=reg.zone).exists()


def test_quotas_refused_api_and_cli(reg: Registry) -> None:
    street_regulator = _login(parties.make_org(reg.zone, roles=("regulator",), area_id=reg.street.pk))
    assert street_regulator.get("/household/quotas/").status_code == 403
    carrier = _login(reg.vehicle.organization)
    assert carrier.post("/household/quotas/", {"year": "2020", "quota_t": "5"}).status_code == 403
    api = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)))
    answer = api.post("/api/household/quotas", {"year": 2021, "quota_t": "100.5", "source": "测试"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["area"] is None and Decimal(str(answer.json()["quota_t"])) == Decimal("100.5")
    assert [r["year"] for r in api.get("/api/household/quotas").json()] == [2021]
    foreign = parties.api_client(parties.make_org(parties.make_zone(), roles=("regulator",)))
    assert foreign.get("/api/household/quotas").json() == []
    rows = _json(reg.zone, "quota", "--area", reg.street.code, "--year", "2021", "--quota-t", "12.5")
    assert {(r["area"], r["year"]) for r in rows} == {(None, 2021), (reg.street.code, 2021)}
    with pytest.raises(SystemExit):
        _json(reg.zone, "quota", "--year", "2021", "--quota-t", "-1")
    assert SourceQuota.objects.filter(zone=reg.zone).count() == 2


# --- Removing a setting set by mistake ------------------------------------------------------------------


def test_zone_regulator_removes_a_role_and_a_quota_on_the_page(reg: Registry) -> None:
    org = parties.make_org(reg.zone, roles=("regulator",))
    actor = parties.actor_of(org)
    settings_ops.set_site_role(actor, reg.plant.pk, rules.SITE_KITCHEN)
    quota = settings_ops.set_quota(actor, area_code=None, year=2020, quota_t="100")
    page = _login(org)
    text = page.get("/household/quotas/").content.decode()
    assert f"/household/quotas/{quota.pk}/remove/" in text
    viewer = _login(org, "viewer")
    assert f"/household/quotas/{quota.pk}/remove/" not in viewer.get("/household/quotas/").content.decode()
    assert viewer.post(f"/household/quotas/{quota.pk}/remove/").status_code == 403
    assert viewer.post(f"/household/site-roles/{reg.plant.pk}/remove/").status_code == 403
    before = _audits()
    assert page.post(f"/household/quotas/{quota.pk}/remove/").status_code == 302
    assert page.post(f"/household/site-roles/{reg.plant.pk}/remove/").status_code == 302
    assert not SourceQuota.objects.filter(zone=reg.zone).exists()
    assert not SiteRole.objects.filter(zone=reg.zone).exists()
    assert _audits() == before + 2
    assert AuditEntry.objects.filter(action="household.quota.remove").get().changes["quota_t"] == [
        "100.000",
        None,
    ]
    again = page.post(f"/household/quotas/{quota.pk}/remove/", follow=True)
    assert again.status_code == 200 and _audits() == before + 2
    audit_page = page.get("/audit/").content.decode()
    assert "删除源头总量控制指标" in audit_page or "Remove a source total-control quota" in audit_page


def test_settings_api_tokens_and_removal_by_api_and_cli(reg: Registry) -> None:
    org = parties.make_org(reg.zone, roles=("regulator",))
    reader = parties.api_client(org, ("read",))
    writer = parties.api_client(org)
    assert reader.get("/api/household/site-roles").status_code == 200
    assert reader.get("/api/household/quotas").status_code == 200
    refused = reader.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "kitchen"})
    assert refused.status_code == 403
    assert reader.post("/api/household/quotas", {"year": 2021, "quota_t": "5"}).status_code == 403
    assert not SiteRole.objects.filter(zone=reg.zone).exists()
    assert not SourceQuota.objects.filter(zone=reg.zone).exists()
    assert (
        writer.post("/api/household/site-roles", {"site_id": reg.plant.pk, "role": "kitchen"}).status_code
        == 200
    )
    quota_id = writer.post("/api/household/quotas", {"year": 2021, "quota_t": "5"}).json()["id"]
    assert reader.delete(f"/api/household/quotas/{quota_id}").status_code == 403
    assert reader.delete(f"/api/household/site-roles/{reg.plant.pk}").status_code == 403
    foreign = parties.api_client(parties.make_org(parties.make_zone(), roles=("regulator",)))
    assert foreign.delete(f"/api/household/quotas/{quota_id}").status_code == 404
    assert foreign.delete(f"/api/household/site-roles/{reg.plant.pk}").status_code == 404
    producer = parties.api_client(parties.make_org(reg.zone, roles=("producer",)))
    assert producer.delete(f"/api/household/quotas/{quota_id}").status_code == 404
    assert writer.delete(f"/api/household/quotas/{quota_id}").status_code == 204
    assert writer.delete(f"/api/household/site-roles/{reg.plant.pk}").status_code == 204
    assert writer.delete(f"/api/household/site-roles/{reg.plant.pk}").status_code == 404
    assert not SiteRole.objects.filter(zone=reg.zone).exists()
    assert not SourceQuota.objects.filter(zone=reg.zone).exists()
    _json(reg.zone, "site-role", "--site", str(reg.plant.pk), "--role", "landfill")
    rows = _json(reg.zone, "quota", "--year", "2022", "--quota-t", "7")
    assert _json(reg.zone, "site-role", "--site", str(reg.plant.pk), "--remove") == []
    assert _json(reg.zone, "quota", "--remove", str(rows[0]["id"])) == []
    with pytest.raises(SystemExit):
        _json(reg.zone, "quota", "--remove", str(rows[0]["id"]))
