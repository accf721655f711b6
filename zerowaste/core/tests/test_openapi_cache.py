"""`/api/openapi.json` is built once per process and language (issue 16, item 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ninja.main
import pytest
from django.test import Client
from django.utils import translation
from ninja.openapi.schema import get_schema

from zerowaste.api import api


@pytest.fixture
def schema_builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """Every build of the schema, as the language it was built in; the process cache starts empty."""
    builds: list[str | None] = []

    def counted(**kwargs: Any) -> Any:
        builds.append(translation.get_language())
        return get_schema(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counted)
    api.forget_openapi_schemas()
    yield builds
    api.forget_openapi_schemas()


@pytest.mark.django_db
def test_the_second_request_is_served_from_the_cache_and_equals_a_fresh_build(
    schema_builds: list[str | None],
) -> None:
    client = Client()
    first = client.get("/api/openapi.json")
    second = client.get("/api/openapi.json")
    assert first.status_code == second.status_code == 200
    assert len(schema_builds) == 1
    fresh = get_schema(api=api, path_prefix=api.get_root_path({}))
    assert json.loads(second.content) == json.loads(json.dumps(fresh, default=str))


@pytest.mark.django_db
def test_each_language_has_its_own_schema(schema_builds: list[str | None]) -> None:
    with translation.override("en"):
        english = api.get_openapi_schema()
        assert api.get_openapi_schema() is english
    with translation.override("zh-hans"):
        chinese = api.get_openapi_schema()
    assert schema_builds == ["en", "zh-hans"]
    assert chinese is not english
