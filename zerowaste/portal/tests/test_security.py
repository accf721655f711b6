"""Passwords, login throttling, CSRF and security headers."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from zerowaste.core.models import ApiToken, LoginFailure, Organization, User
from zerowaste.testing import parties


def _csrf(client: Client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_argon2_is_the_password_hasher(producer: Organization, argon2_hashing: None) -> None:
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = parties.make_member(producer).user
    assert user.password.startswith("argon2")
    assert user.check_password(parties.PASSWORD)


def test_login_throttled_after_limit(producer: Organization) -> None:
    user = parties.make_member(producer).user
    client = Client()
    limit = settings.LOGIN_FAILURE_LIMIT
    assert limit == 5
    for _ in range(limit):
        response = client.post("/login/", {"username": user.username, "password": "wrong-password-1"})
        assert response.status_code == 401
    response = client.post("/login/", {"username": user.username, "password": parties.PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_successful_login_clears_failures(producer: Organization) -> None:
    user = parties.make_member(producer).user
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": user.username, "password": "wrong-password-1"})
    response = client.post("/login/", {"username": user.username, "password": parties.PASSWORD})
    assert response.status_code == 302
    assert LoginFailure.objects.filter(username=user.username.lower()).count() == 0


def test_login_and_logout_need_csrf(producer: Organization) -> None:
    user = parties.make_member(producer).user
    client = Client(enforce_csrf_checks=True)
    refused = client.post("/login/", {"username": user.username, "password": parties.PASSWORD})
    assert refused.status_code == 403
    token = _csrf(client, "/login/")
    response = client.post(
        "/login/", {"username": user.username, "password": parties.PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert client.post("/logout/").status_code == 403
    assert "_auth_user_id" in client.session
    token = _csrf(client, f"/organizations/{producer.pk}/")
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert "_auth_user_id" not in client.session


def test_session_api_writes_need_csrf(producer: Organization) -> None:
    user = parties.make_member(producer).user
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.patch(
        f"/api/organizations/{producer.pk}", {"contact_name": "x"}, content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert Organization.objects.get(pk=producer.pk).contact_name == ""


@pytest.mark.parametrize("url", ["/login/", "/api/openapi.json"])
def test_security_headers(url: str, db: None) -> None:
    response = Client().get(url)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response  # only behind TLS


def test_logged_in_pages_have_headers(producer: Organization) -> None:
    client = Client()
    client.force_login(parties.make_member(producer).user)
    response = client.get(f"/organizations/{producer.pk}/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in response


def test_api_tokens_are_stored_hashed(producer: Organization) -> None:
    secret = parties.token_for(producer)
    for row in ApiToken.objects.values():
        assert secret not in " ".join(str(v) for v in row.values())
    assert not User.objects.filter(password__contains=secret).exists()
