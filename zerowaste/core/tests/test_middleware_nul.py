"""A NUL character in a query parameter is refused with the parameter named, on the API and on pages."""

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/indicators/entries", "/api/transfers", "/login/"])
def test_nul_in_a_query_parameter_is_refused(path: str, english: None) -> None:
    response = Client().get(path, {"key": "a\x00b", "year": "2020"})
    assert response.status_code in (400, 422)
    if path.startswith("/api/"):
        body = response.json()
        assert body["errors"][0]["field"] == "key"
        assert "NUL" in body["detail"]
    else:
        assert b"NUL" in response.content


@pytest.mark.django_db
def test_plain_parameters_pass() -> None:
    assert Client().get("/login/", {"next": "/废"}).status_code == 200
