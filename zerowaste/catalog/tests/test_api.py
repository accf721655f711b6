"""The catalog API: public reads scoped to a zone, regulator-only writes."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from zerowaste.catalog.models import CatalogVersion
from zerowaste.catalog.testing import ISOLATION_PARAMS
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def test_public_search_without_auth(catalogs) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/api/catalog/entries", {"q": "900-041", "zone": catalogs.code})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    hit = body["results"][0]
    assert hit["code"] == "900-041-49" and hit["category"] == "HW49"
    assert hit["hazard"] == {"primary": [], "possible": ["T", "In"], "one_or_more": True, "raw": "T/In"}
    assert body["versions"]["isw"] == "2020"


def test_entry_detail_and_check(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    detail = client.get("/api/catalog/entries/isw/99-08-03", {"zone": catalogs.code}).json()
    assert detail["entry"]["name"] == "废铜" and detail["entry"]["category_name"] == "废金属"
    assert [v["version"] for v in detail["versions"]] == ["2020"]
    assert client.get("/api/catalog/entries/isw/99-99-99", {"zone": catalogs.code}).status_code == 404
    check = client.get(
        "/api/catalog/check",
        {"stream": "isw", "code": "99-14-01", "on": "2021-06-01", "free_text": "", "zone": catalogs.code},
    ).json()
    assert check["ok"] is False and check["requires_free_text"] is True
    bad = client.get("/api/catalog/entries", {"stream": "nope", "zone": catalogs.code})
    assert bad.status_code == 422


def test_export_xlsx(catalogs) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    response = Client().get("/api/catalog/export/isw", {"zone": catalogs.code})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 82 and rows[0][4] == "废物代码"
    assert any(r[4] == "99-08-03" and r[5] == "废铜" for r in rows)


def test_regulator_imports_and_publishes(catalogs) -> None:  # type: ignore[no-untyped-def]
    regulator = parties.make_org(catalogs, roles=["regulator"])
    api = parties.api_client(regulator)
    export = Client().get("/api/catalog/export/construction", {"zone": catalogs.code}).content
    upload = SimpleUploadedFile("construction.xlsx", export)
    response = api.client.post(
        "/api/catalog/imports",
        {"file": upload, "stream": "construction", "label": "2022"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"]["status"] == "draft" and body["entries"] == 5 and body["diff"]["unchanged"] == 5
    version_id = body["version"]["id"]
    assert Client().get(f"/api/catalog/versions/{version_id}", {"zone": catalogs.code}).status_code == 404
    assert api.get(f"/api/catalog/versions/{version_id}").status_code == 200
    patched = api.patch(f"/api/catalog/versions/{version_id}/entries/mud", {"name_en": "Waste mud"})
    assert patched.status_code == 200 and patched.json()["name_en"] == "Waste mud"
    published = api.post(f"/api/catalog/versions/{version_id}/publish", {"effective_from": "2022-01-01"})
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = api.post(f"/api/catalog/versions/{version_id}/publish", {"effective_from": "2023-01-01"})
    assert again.status_code == 409
    diff = api.get(f"/api/catalog/versions/{version_id}/diff").json()
    assert diff["against"] == "2021" and diff["renamed"] == [] and diff["unchanged"] == 5


def test_import_faults_by_row_and_column(catalogs) -> None:  # type: ignore[no-untyped-def]
    api = parties.api_client(parties.make_org(catalogs, roles=["regulator"]))
    content = "废物类别,废物代码,废物名称\nISW01 电子行业废物,99-01-01,废硅片\nISW01,99-01-01,重复\n".encode()
    response = api.client.post(
        "/api/catalog/imports",
        {"file": SimpleUploadedFile("bad.csv", content), "stream": "isw", "label": "x"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == 3 and response.json()["errors"][0]["column"] == "B"
    assert not CatalogVersion.objects.filter(zone=catalogs, label="x").exists()


def test_writes_need_the_regulator(catalogs) -> None:  # type: ignore[no-untyped-def]
    version_id = CatalogVersion.objects.get(zone=catalogs, stream="isw").pk
    producer = parties.api_client(parties.make_org(catalogs, roles=["producer"]))
    assert (
        producer.post(
            f"/api/catalog/versions/{version_id}/publish", {"effective_from": "2030-01-01"}
        ).status_code
        == 403
    )
    assert (
        Client()
        .post(
            f"/api/catalog/versions/{version_id}/publish",
            {"effective_from": "2030-01-01"},
            content_type="application/json",
        )
        .status_code
        == 401
    )


def test_other_zone_sees_nothing_of_this_zone(catalogs, other_zone) -> None:  # type: ignore[no-untyped-def]
    owner = parties.make_org(catalogs, roles=["regulator"])
    foreign = parties.api_client(parties.make_org(other_zone, roles=["regulator"]))
    version_id = ISOLATION_PARAMS["version_id"](owner)
    assert foreign.get(f"/api/catalog/versions/{version_id}").status_code == 404
    assert foreign.get(f"/api/catalog/versions/{version_id}/diff").status_code == 404
    assert (
        foreign.post(
            f"/api/catalog/versions/{version_id}/publish", {"effective_from": "2030-01-01"}
        ).status_code
        == 404
    )
    assert foreign.get("/api/catalog/entries/isw/99-08-03").status_code == 404
    assert foreign.get("/api/catalog/entries", q="废铜").json()["total"] == 0
