"""Login throttling by account AND source address with back-off, and secrets never cached
(issue 15, defect 16)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from zerowaste.core import services
from zerowaste.core.models import IdempotencyRecord, LoginFailure, Organization
from zerowaste.testing import parties

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def _login(client: Client, username: str, password: str, ip: str) -> int:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip).status_code


def test_guessing_from_elsewhere_does_not_lock_the_owner_out(producer: Organization) -> None:
    user = parties.make_member(producer).user
    attacker = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _login(attacker, user.username, "wrong-password-1", ATTACKER) == 401
    # The guesser's address is locked, even with the right password ...
    assert _login(attacker, user.username, parties.PASSWORD, ATTACKER) == 429
    # ... the owner, from their own address, is not.
    owner = Client()
    assert _login(owner, user.username, parties.PASSWORD, OWNER) == 302
    # and the owner's success does not unlock the guesser.
    assert _login(Client(), user.username, parties.PASSWORD, ATTACKER) == 429


def test_the_lock_doubles_with_each_failure_after_it(producer: Organization) -> None:
    user = parties.make_member(producer).user
    limit = settings.LOGIN_FAILURE_LIMIT
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    for _ in range(limit):
        services.record_login_failure(user.username, ATTACKER)
    first = services.login_lock_remaining(user.username, ATTACKER)
    assert first is not None and window - timedelta(seconds=5) < first <= window
    # The first lock runs out; one more wrong guess locks twice as long, the next four times.
    for factor in (2, 4):
        LoginFailure.objects.update(at=timezone.now() - window * factor)
        assert services.login_lock_remaining(user.username, ATTACKER) is None
        services.record_login_failure(user.username, ATTACKER)
        remaining = services.login_lock_remaining(user.username, ATTACKER)
        assert remaining is not None and window * factor - timedelta(seconds=5) < remaining <= window * factor
    # Never longer than a day.
    for _ in range(20):
        services.record_login_failure(user.username, ATTACKER)
    longest = services.login_lock_remaining(user.username, ATTACKER)
    assert longest is not None and longest <= services.LOGIN_LOCK_MAX
    assert services.login_lock_remaining(user.username, OWNER) is None


def test_an_address_spraying_many_accounts_is_locked_by_itself(producer: Organization) -> None:
    victim = parties.make_member(producer).user
    for n in range(settings.LOGIN_FAILURE_LIMIT * 4):
        services.record_login_failure(f"guess-{n}", ATTACKER)
    assert _login(Client(), victim.username, parties.PASSWORD, ATTACKER) == 429
    assert _login(Client(), victim.username, parties.PASSWORD, OWNER) == 302


def test_lock_message_names_no_account(producer: Organization) -> None:
    client = Client()
    for name in ("nobody-here", parties.make_member(producer).user.username):
        for _ in range(settings.LOGIN_FAILURE_LIMIT):
            _login(client, name, "wrong-password-1", ATTACKER)
        response = client.post("/login/", {"username": name, "password": "x"}, REMOTE_ADDR=ATTACKER)
        assert response.status_code == 429
        assert name not in response.content.decode().split("<form", 1)[0]


def test_a_new_token_secret_is_never_cached(producer: Organization) -> None:
    api = parties.api_client(producer)
    response = api.post(f"/api/organizations/{producer.pk}/tokens", {"name": "ERP", "scopes": ["read"]})
    assert response.status_code == 201
    assert "no-store" in response.headers["Cache-Control"]
    replay_key = "tok-1"
    first = api.post(
        f"/api/organizations/{producer.pk}/tokens", {"name": "ERP2", "scopes": ["read"]}, replay_key
    )
    retry = api.post(
        f"/api/organizations/{producer.pk}/tokens", {"name": "ERP2", "scopes": ["read"]}, replay_key
    )
    assert first.json()["secret"] == retry.json()["secret"]
    assert "no-store" in retry.headers["Cache-Control"]
    # The replay copy is sealed: whoever reads the database finds no usable secret in it.
    stored = bytes(IdempotencyRecord.objects.get(key=replay_key).body or b"")
    assert first.json()["secret"].encode() not in stored
    assert first.json()["secret"][3:12].encode() not in stored

    browser = Client()
    browser.force_login(parties.make_member(producer, "admin").user)
    created = browser.post(f"/organizations/{producer.pk}/tokens/add/", {"name": "站点", "scopes": ["read"]})
    assert created.status_code == 302
    page = browser.get(f"/organizations/{producer.pk}/")
    assert 'id="new-token"' in page.content.decode()
    assert "no-store" in page.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/me", "/api/organizations"])
def test_ordinary_reads_stay_cacheable_by_default(producer: Organization, path: str) -> None:
    # Only secrets opt out: this guards against a blanket header hiding a missing one.
    response = parties.api_client(producer).get(path)
    assert "no-store" not in response.headers.get("Cache-Control", "")
