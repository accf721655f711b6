"""Server pages: log in, the organization list in Chinese and English, forms with field errors, 404."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.core import services
from zerowaste.core.authz import Actor
from zerowaste.core.models import ApiToken, Licence, Organization, Site, Vehicle, Zone
from zerowaste.testing import parties


def _logged_in(org: Organization, role: str = "admin") -> Client:
    client = Client()
    member = parties.make_member(org, role)
    response = client.post("/login/", {"username": member.user.username, "password": parties.PASSWORD})
    assert response.status_code == 302
    return client


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match
    return match.group(1)


def test_login_page_in_chinese(db: None) -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    assert _lang(response.content.decode()) == "zh-hans"


def test_regulator_sees_list_in_chinese_then_english(regulator: Organization, producer: Organization) -> None:
    client = _logged_in(regulator)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/cockpit/"  # a regulator's home (ADR 0052)
    page = client.get("/organizations/")
    html = page.content.decode()
    assert _lang(html) == "zh-hans"
    assert producer.name in html and producer.uscc in html and regulator.name in html
    assert "单位" in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/organizations/"})
    assert response.status_code == 302
    html = client.get("/organizations/").content.decode()
    assert _lang(html) == "en"
    assert "Organizations" in html and producer.name in html


def test_filters_on_list(regulator: Organization, producer: Organization, zone: Zone) -> None:
    carrier = parties.make_org(zone, roles=("carrier",), name="鼎泰鹏宇")
    client = _logged_in(regulator)
    html = client.get("/organizations/", {"role": "carrier"}).content.decode()
    assert carrier.name in html and producer.name not in html
    html = client.get("/organizations/", {"q": "鼎泰"}).content.decode()
    assert carrier.name in html and producer.name not in html


def test_producer_gets_404_for_another_org(producer: Organization, zone: Zone) -> None:
    other = parties.make_org(zone)
    client = _logged_in(producer)
    assert client.get(f"/organizations/{other.pk}/").status_code == 404
    assert client.get(f"/organizations/{other.pk}/sites/add/").status_code == 404
    assert client.get("/organizations/").status_code == 200
    assert other.name not in client.get("/organizations/").content.decode()
    assert client.get("/").status_code == 200  # its home page, with its to-dos (ADR 0052)


def test_viewer_cannot_reach_forms(producer: Organization) -> None:
    client = _logged_in(producer, "viewer")
    assert client.get(f"/organizations/{producer.pk}/").status_code == 200
    for form in ("members/invite", "licences/add", "sites/add", "vehicles/add", "tokens/add"):
        assert client.get(f"/organizations/{producer.pk}/{form}/").status_code == 403
    assert (
        client.post(f"/organizations/{producer.pk}/sites/add/", {"name": "x", "kind": "plant"}).status_code
        == 403
    )
    assert not Site.objects.filter(organization=producer).exists()


def test_anonymous_is_sent_to_login(producer: Organization) -> None:
    response = Client().get(f"/organizations/{producer.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


FORMS = [
    (
        "licences",
        {
            "kind": "hw_transport",
            "number": "京危运-1",
            "issuer": "交通委",
            "valid_from": "2021-01-01",
            "valid_to": "2025-01-01",
            "waste_codes": "HW08，HW49",
            "annual_capacity_t": "10.5",
        },
        {
            "kind": "hw_transport",
            "number": "京危运-1",
            "issuer": "交通委",
            "valid_from": "2021-01-01",
            "valid_to": "2020-01-01",
        },
        "valid_to",
        lambda org: Licence.objects.filter(
            organization=org, number="京危运-1", waste_codes=["HW08", "HW49"]
        ).exists(),
    ),
    (
        "sites",
        {"name": "一号库房", "kind": "storage", "latitude": "39.8", "longitude": "116.5"},
        {"name": "一号库房", "kind": "storage", "latitude": "91"},
        "latitude",
        lambda org: Site.objects.filter(organization=org, name="一号库房").exists(),
    ),
    (
        "vehicles",
        {"plate": "京A54321", "capacity_kg": "3000"},
        {"plate": "XYZ"},
        "plate",
        lambda org: Vehicle.objects.filter(organization=org, plate="京A54321").exists(),
    ),
    (
        "tokens",
        {"name": "ERP", "scopes": ["read", "declare"]},
        {"name": "ERP"},
        "scopes",
        lambda org: ApiToken.objects.filter(organization=org, name="ERP").exists(),
    ),
]


@pytest.mark.parametrize(("kind", "good", "bad", "field", "exists"), FORMS, ids=[f[0] for f in FORMS])
def test_admin_adds_through_forms(
    producer: Organization,
    kind: str,
    good: dict[str, object],
    bad: dict[str, object],
    field: str,
    exists: object,
) -> None:
    client = _logged_in(producer)
    url = f"/organizations/{producer.pk}/{kind}/add/"
    assert client.get(url).status_code == 200
    response = client.post(url, bad)
    assert response.status_code == 200
    html = response.content.decode()
    # the error is rendered right after the field's input
    match = re.search(rf'name="{field}"[^>]*>.*?<ul class="errorlist', html, re.S)
    assert match, html[:3000]
    assert not exists(producer)  # type: ignore[operator]
    response = client.post(url, good)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert exists(producer)  # type: ignore[operator]
    detail = client.get(response["Location"]).content.decode()
    if kind == "tokens":
        secret = re.search(r"zw_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", detail)
        assert secret, "the secret is shown once"
        assert secret.group(0) not in client.get(response["Location"]).content.decode()


def test_service_error_shown_next_to_field(producer: Organization) -> None:
    """A fault found by the service (not the form) lands on the field it names."""
    client = _logged_in(producer)
    services.add_site(
        Actor.system(Zone.objects.get(pk=producer.zone_id)), producer.pk, name="重名", kind="plant"
    )
    html = client.post(
        f"/organizations/{producer.pk}/sites/add/", {"name": "重名", "kind": "plant"}
    ).content.decode()
    assert re.search(r'name="name"[^>]*>.*?<ul class="errorlist', html, re.S)


def test_import_page(regulator: Organization, producer: Organization) -> None:
    client = _logged_in(regulator)
    assert client.get("/organizations/import/").status_code == 200
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile(
        "bad.csv", "统一社会信用代码,单位名称,角色\n91110000600037341N,坏,产废\n".encode()
    )
    html = client.post("/organizations/import/", {"file": bad}).content.decode()
    assert 'id="import-faults"' in html and "bad.csv" in html
    good = SimpleUploadedFile(
        "good.csv", f"统一社会信用代码,单位名称,角色\n{parties.make_uscc()},页面导入单位,产废\n".encode("gbk")
    )
    response = client.post("/organizations/import/", {"file": good})
    assert response.status_code == 302
    assert Organization.objects.filter(name="页面导入单位").exists()
    producer_client = _logged_in(producer)
    assert producer_client.get("/organizations/import/").status_code == 403


def test_organization_list_page_query_count(regulator: Organization, zone: Zone) -> None:
    client = _logged_in(regulator)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/organizations/").status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for _ in range(49):
        parties.make_org(zone, roles=("producer", "carrier"))
    assert Organization.objects.filter(zone=zone).count() == 50
    assert count() == one
