"""Catalog pages through the Django test client."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from zerowaste.catalog.models import CatalogVersion
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def _logged_in(org) -> Client:  # type: ignore[no-untyped-def]
    member = parties.make_member(org)
    client = Client()
    client.force_login(member.user)
    return client


def test_search_page_is_public(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    page = client.get(reverse("catalog:search"), {"q": "废铜", "zone": catalogs.code})
    assert page.status_code == 200
    html = page.content.decode()
    assert "99-08-03" in html and "废铜" in html
    html = client.get(reverse("catalog:search"), {"q": "900-041", "zone": catalogs.code}).content.decode()
    assert "900-041-49" in html and 'data-possible="In"' in html


def test_english_names(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = Client(headers={"accept-language": "en"})
    html = client.get(reverse("catalog:search"), {"q": "copper", "zone": catalogs.code}).content.decode()
    assert "Scrap copper" in html


def test_entry_page_shows_category_versions_and_missing_name(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    html = client.get(
        reverse("catalog:entry", args=["hw", "900-041-49"]), {"zone": catalogs.code}
    ).content.decode()
    assert "HW49" in html and "其他废物" in html and "T/In" in html
    html = client.get(
        reverse("catalog:entry", args=["isw", "99-07-01"]), {"zone": catalogs.code}
    ).content.decode()
    assert 'class="missing"' in html
    assert (
        client.get(reverse("catalog:entry", args=["isw", "00-00-00"]), {"zone": catalogs.code}).status_code
        == 404
    )


def test_export_page_download(catalogs) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("catalog:export", args=["isw"]), {"zone": catalogs.code})
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_regulator_imports_and_publishes_through_pages(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = _logged_in(parties.make_org(catalogs, roles=["regulator"]))
    content = Client().get(reverse("catalog:export", args=["household"]), {"zone": catalogs.code}).content
    response = client.post(
        reverse("catalog:import"),
        {"stream": "household", "label": "2022", "file": SimpleUploadedFile("h.xlsx", content)},
    )
    assert response.status_code == 302
    version = CatalogVersion.objects.get(zone=catalogs, stream="household", label="2022")
    page = client.get(reverse("catalog:version", args=[version.pk])).content.decode()
    assert 'id="publish-form"' in page
    client.post(
        reverse("catalog:edit_entry", args=[version.pk]), {"code": "kitchen", "name_en": "Food waste"}
    )
    client.post(reverse("catalog:publish", args=[version.pk]), {"effective_from": "2022-05-01"})
    version.refresh_from_db()
    assert version.is_published and str(version.effective_from) == "2022-05-01"


def test_bad_import_shows_faults(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = _logged_in(parties.make_org(catalogs, roles=["regulator"]))
    bad = "废物类别,废物代码,废物名称\nISW01 电子,99-1-01,x\n".encode()
    response = client.post(
        reverse("catalog:import"),
        {"stream": "isw", "label": "bad", "file": SimpleUploadedFile("bad.csv", bad)},
    )
    assert response.status_code == 422
    assert 'id="import-faults"' in response.content.decode()


def test_producer_may_not_import(catalogs) -> None:  # type: ignore[no-untyped-def]
    client = _logged_in(parties.make_org(catalogs, roles=["producer"]))
    assert client.get(reverse("catalog:import")).status_code == 403
    assert Client().get(reverse("catalog:import")).status_code == 302
