"""The producer's signature code: the driver collects the producer's signature on the driver's device."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import AuditEntry
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.models import Signature, SignatureCode, Transfer
from zerowaste.transfers.testing import World, advance

# These tests assert messages by their English wording.
pytestmark = pytest.mark.usefixtures("english")


def _pick_up(w: World, **extra: Any) -> dict[str, Any]:
    return {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10", "driver": "张师傅", **extra}


def test_only_the_admin_rotates_and_the_code_is_kept_hashed(world: World) -> None:
    w = world
    with pytest.raises(Forbidden):
        services.rotate_signature_code(w.actor(w.producer, "clerk"))
    admin = w.actor(w.producer, "admin")
    first = services.rotate_signature_code(admin)
    assert len(first) == services.SIGNATURE_CODE_LENGTH
    record = SignatureCode.objects.get(organization=w.producer)
    assert first not in record.digest and record.digest == services._code_digest(w.producer.pk, first)
    assert AuditEntry.objects.filter(action="transfers.signature_code.rotate").count() == 1
    assert first not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
    second = services.rotate_signature_code(admin)
    assert second != first
    services.check_signature_code(w.producer.pk, second)
    with pytest.raises(Invalid) as old:
        services.check_signature_code(w.producer.pk, first)
    assert old.value.errors[0]["field"] == "consignor_code"


def test_pick_up_of_a_draft_with_the_code_issues_in_the_producers_name(world: World) -> None:
    w = world
    code = services.rotate_signature_code(w.actor(w.producer, "admin"))
    t = services.create_transfer(w.actor(w.producer, "clerk"), data=w.data())
    driver = w.actor(w.carrier, "signer")
    t = services.perform(driver, t.pk, "pick_up", **_pick_up(w, consignor_code=code.lower()))
    assert t.state == "in_transit" and t.number and len(t.number) == 14
    sigs = list(
        Signature.objects.filter(transfer=t).order_by("pk").values_list("action", "party", "organization_id")
    )
    assert sigs == [("issue", "consignor", w.producer.pk), ("pick_up", "carrier", w.carrier.pk)]
    assert "signature code" in Signature.objects.get(transfer=t, action="issue").note


def test_pick_up_of_an_issued_manifest_adds_the_producers_release(world: World) -> None:
    w = world
    code = services.rotate_signature_code(w.actor(w.producer, "admin"))
    t = advance(w, services.create_transfer(w.actor(w.producer), data=w.data()), "issued")
    t = services.perform(w.actor(w.carrier, "signer"), t.pk, "pick_up", **_pick_up(w, consignor_code=code))
    actions = list(
        Signature.objects.filter(transfer=t).order_by("pk").values_list("action", "party", "quantity_t")
    )
    assert [a[:2] for a in actions] == [
        ("issue", "consignor"),
        ("pick_up", "carrier"),
        ("release", "consignor"),
    ]
    assert str(actions[-1][2]) == "10.000"


def test_wrong_code_is_refused_naming_the_field_and_throttled(world: World) -> None:
    w = world
    code = services.rotate_signature_code(w.actor(w.producer, "admin"))
    t = services.create_transfer(w.actor(w.producer), data=w.data())
    driver = w.actor(w.carrier, "signer")
    for _attempt in range(services.SIGNATURE_CODE_MAX_FAILURES):
        with pytest.raises(Invalid) as wrong:
            services.perform(driver, t.pk, "pick_up", **_pick_up(w, consignor_code="WRONG123"))
        assert wrong.value.errors[0]["field"] == "consignor_code"
    # locked now: even the right code is refused until the window passes
    with pytest.raises(Forbidden) as locked:
        services.perform(driver, t.pk, "pick_up", **_pick_up(w, consignor_code=code))
    assert locked.value.errors[0]["field"] == "consignor_code"
    t.refresh_from_db()
    assert t.state == "draft" and not Signature.objects.filter(transfer=t).exists()
    SignatureCode.objects.filter(organization=w.producer).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    t = services.perform(driver, t.pk, "pick_up", **_pick_up(w, consignor_code=code))
    assert t.state == "in_transit"
    assert SignatureCode.objects.get(organization=w.producer).failed_attempts == 0


def test_no_code_other_party_or_other_step(world: World) -> None:
    w = world
    t = services.create_transfer(w.actor(w.producer), data=w.data())
    driver = w.actor(w.carrier, "signer")
    with pytest.raises(Invalid) as none:
        services.perform(driver, t.pk, "pick_up", **_pick_up(w, consignor_code="ABCDEFGH"))
    assert none.value.errors[0]["field"] == "consignor_code"
    code = services.rotate_signature_code(w.actor(w.producer, "admin"))
    with pytest.raises(NotFound):  # the other carrier is no party: it does not even see the manifest
        services.perform(w.actor(w.carrier2, "signer"), t.pk, "pick_up", **_pick_up(w, consignor_code=code))
    with pytest.raises(Forbidden):  # a viewer of the carrier may not sign
        services.perform(w.actor(w.carrier, "viewer"), t.pk, "pick_up", **_pick_up(w, consignor_code=code))
    with pytest.raises(Invalid) as step:
        services.perform(driver, t.pk, "deliver", consignor_code=code)
    assert step.value.errors[0]["field"] == "consignor_code"
    assert Transfer.objects.get(pk=t.pk).state == "draft"


def test_api_rotate_once_and_pick_up_with_code(world: World) -> None:
    w = world
    producer = parties.api_client(w.producer)
    assert producer.get("/api/transfers/signature-code").json()["exists"] is False
    r = producer.post("/api/transfers/signature-code")
    assert r.status_code == 201
    code = r.json()["code"]
    status = producer.get("/api/transfers/signature-code").json()
    assert status["exists"] is True and "code" not in status
    clerk_token = parties.api_client(w.producer, scopes=("declare",))
    assert clerk_token.post("/api/transfers/signature-code").status_code == 403
    t = services.create_transfer(w.actor(w.producer), data=w.data())
    carrier = parties.api_client(w.carrier, scopes=("sign",))
    bad = carrier.post(f"/api/transfers/{t.pk}/pick-up", _pick_up(w, consignor_code="WRONG123"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "consignor_code"
    ok = carrier.post(
        f"/api/transfers/{t.pk}/pick-up", _pick_up(w, consignor_code=code), idempotency_key="p1"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["state"] == "in_transit"
    again = carrier.post(
        f"/api/transfers/{t.pk}/pick-up", _pick_up(w, consignor_code=code), idempotency_key="p1"
    )
    assert again.status_code == 200 and Signature.objects.filter(transfer=t).count() == 2


def test_page_rotates_and_shows_code_once(world: World) -> None:
    w = world
    admin = parties.make_member(w.producer, "admin")
    client = Client()
    client.force_login(admin.user)
    assert b"rotate-signature-code" in client.get("/transfers/signature-code/").content
    shown = client.post("/transfers/signature-code/")
    assert shown.status_code == 200 and b'id="new-signature-code"' in shown.content
    assert b'id="new-signature-code"' not in client.get("/transfers/signature-code/").content
    clerk = parties.make_member(w.producer, "clerk")
    other = Client()
    other.force_login(clerk.user)
    assert b"rotate-signature-code" not in other.get("/transfers/signature-code/").content
