"""Idempotency keys survive a first attempt that died without answering, and a lost database answers 503."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

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


def test_a_key_whose_first_attempt_never_answered_blocks_until_stale_then_runs_once(zone, settings) -> None:  # type: ignore[no-untyped-def]
    settings.IDEMPOTENCY_STALE_SECONDS = 35
    org = parties.make_org(zone, roles=["carrier"])
    client = parties.api_client(org)
    first = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert first.status_code == 201
    # Simulate a first attempt that died mid-request: its record has no response.
    record = IdempotencyRecord.objects.get(key="k-1")
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None, body=None)
    Licence.objects.filter(number=LICENCE["number"]).update(number="京危运2021-778")  # its write rolled back

    still_running = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert still_running.status_code == 409

    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(seconds=40))
    retried = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert retried.status_code == 201
    assert retried.json()["number"] == LICENCE["number"]
    replayed = client.post(_path(org), LICENCE, idempotency_key="k-1")
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == retried.json()["id"]
    assert Licence.objects.filter(number=LICENCE["number"]).count() == 1


def test_a_lost_database_connection_answers_503_with_retry_after(zone, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    org = parties.make_org(zone)
    client = parties.api_client(org)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("zerowaste.core.services.list_licences", refuse)
    response = client.get(_path(org))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "retry" in response.json()["detail"]
