"""Pages: list, form with errors per line, detail with review, upload with dry run, statistics."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration
from zerowaste.testing import parties

from .conftest import World, line

pytestmark = pytest.mark.django_db


def _client(org: object, role: str = "admin") -> Client:
    member = parties.make_member(org, role)  # type: ignore[arg-type]
    client = Client()
    client.force_login(member.user)
    return client


def test_form_shows_line_errors_and_saves(world: World) -> None:
    client = _client(world.producer, "clerk")
    assert client.get("/declarations/new/?period=2020-03&stream=isw").status_code == 200
    post = {
        "stream": "isw",
        "period": "2020-03",
        "line_count": "2",
        "lines-0-waste_code": "99-01-01",
        "lines-0-unit": "kg",
        "lines-0-generated_t": "1500",
        "lines-0-transferred_util_t": "1400",
        "lines-0-closing_t": "0",
        "lines-1-waste_code": "",
    }
    response = client.post("/declarations/new/", post)
    # The fault is shown in words, without the rule's key (issue 16, item 5).
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert "[balance]" not in response.content.decode()
    post["lines-0-closing_t"] = "100"
    response = client.post("/declarations/new/", {**post, "and_submit": "1"})
    assert response.status_code == 302
    decl = Declaration.objects.get()
    assert decl.status == "submitted" and decl.lines.get().closing_t.to_eng_string() == "0.100"
    assert client.get(f"/declarations/{decl.pk}/").status_code == 200
    codes = client.get("/declarations/codes/?stream=isw&period=2020-03&q=99-01").json()["results"]
    assert codes[0]["code"].startswith("99-01")


def test_regulator_reviews(world: World) -> None:
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-03", lines=[line()])
    services.submit(world.clerk, decl.pk)
    client = _client(world.regulator_org)
    page = client.get(f"/declarations/{decl.pk}/").content.decode()
    assert 'id="accept-declaration"' in page
    client.post(f"/declarations/{decl.pk}/", {"action": "return", "reason": "请补充去向"})
    decl.refresh_from_db()
    assert decl.status == "returned" and decl.return_reason == "请补充去向"


def test_upload_dry_run_page(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = _client(world.producer, "clerk")
    bad = "申报期,废物代码,产生量,委托利用量,期末贮存量\n2020-03,99-01-01,1,0,0\n2020-03,99-00-00,1,1,0\n"
    response = client.post("/declarations/import/", {"file": SimpleUploadedFile("a.csv", bad.encode())})
    assert response.status_code == 422
    body = response.content.decode()
    assert body.count("<tr><td>a.csv</td>") == 2 and "[balance]" not in body and "[catalog-code]" not in body
    good = bad.replace("2020-03,99-01-01,1,0,0", "2020-03,99-01-01,1,0,1").replace("99-00-00", "99-01-02")
    response = client.post("/declarations/import/", {"file": SimpleUploadedFile("a.csv", good.encode())})
    assert response.status_code == 302
    job_url = response["Location"]
    assert "check-ok" in client.get(job_url).content.decode()
    assert client.post(job_url, {"submit": "1"}).status_code == 302
    assert Declaration.objects.get().status == "submitted"


def test_list_stats_intensity_production_pages(world: World) -> None:
    client = _client(world.producer, "clerk")
    for i in range(3):
        decl = services.save_declaration(world.clerk, stream="isw", period=f"2020-0{i + 1}", lines=[line()])
        services.submit(world.clerk, decl.pk)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/declarations/").status_code == 200
    for i in range(3, 9):
        decl = services.save_declaration(world.clerk, stream="isw", period=f"2020-0{i + 1}", lines=[line()])
        services.submit(world.clerk, decl.pk)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/declarations/").status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)
    assert "90.000" in client.get("/declarations/stats/?year=2020&by=month").content.decode()
    assert client.get("/declarations/stats/?year=2020&format=xlsx").content[:2] == b"PK"
    assert client.get("/declarations/intensity/?year=2020").status_code == 200
    response = client.post(
        "/declarations/production/",
        {
            "year": "2020",
            "value_added_wan": "1000",
            "product_name": ["面板"],
            "product_quantity": ["5"],
            "product_unit": ["万片"],
        },
    )
    assert response.status_code == 302
    intensity = client.get("/declarations/intensity/?year=2020").content.decode()
    assert "0.090" in intensity and "0.0900" not in intensity  # 3 decimals, as every figure (ADR 0050)
    assert client.get("/declarations/export/?format=csv").content.decode("utf-8-sig").count("99-01-01") == 9
    assert client.get("/declarations/template/?period=2020-10").content[:2] == b"PK"
