"""One text check for every input (core.text): control characters are refused in query parameters,
form fields and JSON bodies alike, before any view; tab, line feed and carriage return are text."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from zerowaste.core import text
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Organization, Site, Zone
from zerowaste.core.services import check_text
from zerowaste.testing import parties


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"])
def test_the_rule_refuses_control_characters(char: str) -> None:
    assert text.control_character(f"a{char}b") == f"U+{ord(char):04X}"
    assert text.printable(f"a{char}b") == "ab"
    with pytest.raises(Invalid):
        check_text(f"a{char}b", "name", max_length=None)


def test_tab_newline_and_carriage_return_are_text() -> None:
    assert text.control_character("a\tb\nc\r\nd 中文") is None
    assert check_text("第一行\r\n第二行", "note", max_length=None) == "第一行\r\n第二行"


@pytest.mark.django_db
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x7f"])
def test_a_json_body_with_a_control_character_is_refused_before_the_view(zone: Zone, char: str) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    client = parties.api_client(regulator)
    before = Organization.objects.count()
    body = {"uscc": parties.make_uscc(), "name": f"坏{char}名", "roles": ["producer"]}
    response = client.client.post(
        "/api/organizations",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert f"U+{ord(char):04X}" in response.json()["detail"] or "NUL" in response.json()["detail"]
    assert Organization.objects.count() == before


@pytest.mark.django_db
def test_nested_json_keys_and_lists_are_checked(zone: Zone) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    client = parties.api_client(regulator)
    body = {"uscc": parties.make_uscc(), "name": "好名", "roles": ["producer\x01"]}
    response = client.client.post(
        "/api/organizations",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "roles"


@pytest.mark.django_db
def test_a_form_field_with_a_control_character_is_refused(zone: Zone) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    client = Client()
    client.force_login(parties.make_member(regulator).user)
    before = Site.objects.count()
    response = client.post(f"/organizations/{regulator.pk}/sites/add/", {"name": "坏\x1b名", "kind": "plant"})
    assert response.status_code == 400
    assert b"U+001B" in response.content
    assert Site.objects.count() == before


@pytest.mark.django_db
def test_plain_multi_line_text_passes(zone: Zone) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    client = parties.api_client(regulator)
    body = {"uscc": parties.make_uscc(), "name": "好名\t有限公司", "roles": ["producer"]}
    response = client.client.post(
        "/api/organizations",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 201, response.content
