"""Idempotency keys survive a first attempt that died mid-request, and a lost database answers 503."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from zerowaste.core import services
from zerowaste.core.models import IdempotencyRecord, Licence
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

LICENCE = {
    "kind": "hw_transport",
    "number": "京危运2021-777",
    "issuer": "北京市交通委员会",
    "valid_from": "2021-01-01",
    "valid_to": "2025-12-31",
}


def _path(org) -> str:  # type: ignore[no-untyped-def]
    return f"/api/organizations/{org.pk}/licences"


def test_a_first_attempt_that_fails_leaves_no_record_and_no_writes_so_the_retry_runs_once(
    zone, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    org = parties.make_org(zone, roles=["carrier"])
    client = parties.api_client(org)
    real_add_licence = services.add_licence

    def add_then_lose_the_database(*args: Any, **kwargs: Any) -> object:
        real_add_licence(*args, **kwargs)  # the licence is written ...
        raise OperationalError("server closed the connection unexpectedly")  # ... then the database goes

    monkeypatch.setattr(services, "add_licence", add_then_lose_the_database)
    first = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert first.status_code == 503
    # Record and writes went together: nothing of the first attempt remains to block or double the retry.
    assert not IdempotencyRecord.objects.filter(key="k-1").exists()
    assert not Licence.objects.filter(number=LICENCE["number"]).exists()

    monkeypatch.setattr(services, "add_licence", real_add_licence)
    retried = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert retried.status_code == 201
    replayed = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == retried.json()["id"]
    assert Licence.objects.filter(number=LICENCE["number"]).count() == 1
    assert IdempotencyRecord.objects.get(key="k-1").status_code == 201


def test_a_lost_database_connection_answers_503_with_retry_after(zone, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    org = parties.make_org(zone)
    client = parties.api_client(org)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("zerowaste.core.services.list_licences", refuse)
    response = client.get(_path(org))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "重试" in response.json()["detail"]  # in the request's language (zh-Hans by default)
