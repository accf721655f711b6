"""API, pages, PDF and QR verification, corrections, reconciliation, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client

from zerowaste.core.authz import Actor
from zerowaste.testing import parties
from zerowaste.transfers import services, webhooks
from zerowaste.transfers.models import RevisionRequest, Transfer, TransferVersion, WebhookSubscription
from zerowaste.transfers.testing import World, advance

# These tests assert messages by their English wording.
pytestmark = pytest.mark.usefixtures("english")


def _body(w: World, **extra: Any) -> dict[str, Any]:
    data = w.data(**extra)
    return {**data, "lines": [{**line, "estimated_t": str(line["estimated_t"])} for line in data["lines"]]}


def test_api_lifecycle_and_errors(world: World) -> None:
    w = world
    producer, carrier, receiver = (parties.api_client(o) for o in (w.producer, w.carrier, w.receiver))
    r = producer.post("/api/transfers", {**_body(w), "issue": True}, idempotency_key="k1")
    assert r.status_code == 201, r.content
    t = r.json()
    assert t["state"] == "issued" and len(t["number"]) == 14 and t["next_actions"]
    again = producer.post("/api/transfers", {**_body(w), "issue": True}, idempotency_key="k1")
    assert again.json()["id"] == t["id"] and Transfer.objects.count() == 1
    bad = producer.post(
        "/api/transfers", {**_body(w), "lines": [{"waste_code": "900-041-49", "estimated_t": "-1"}]}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines[1].estimated_t"
    assert Client().get(f"/api/transfers/{t['id']}").status_code == 401
    stranger = parties.api_client(parties.make_org(w.zone, roles=("producer",)))
    assert stranger.get(f"/api/transfers/{t['id']}").status_code == 404
    assert stranger.get("/api/transfers").json()["count"] == 0
    assert (
        receiver.post(
            f"/api/transfers/{t['id']}/pick-up", {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10"}
        ).status_code
        == 403
    )
    assert receiver.post(f"/api/transfers/{t['id']}/accept", {"received_t": "10"}).status_code == 409
    r = carrier.post(
        f"/api/transfers/{t['id']}/pick-up", {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10"}
    )
    assert r.status_code == 200 and r.json()["state"] == "in_transit"
    assert (
        carrier.post(
            f"/api/transfers/{t['id']}/pick-up", {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10"}
        ).status_code
        == 409
    )
    assert carrier.post(f"/api/transfers/{t['id']}/deliver", {}).json()["state"] == "delivered"
    r = receiver.post(
        f"/api/transfers/{t['id']}/accept-part", {"received_t": "10", "refused_t": "1", "reason": "破损"}
    )
    assert r.json()["state"] == "closed" and Decimal(r.json()["refused_t"]) == 1
    listing = carrier.get("/api/transfers", kind="carried").json()
    assert listing["count"] == 1 and listing["items"][0]["number"] == t["number"]
    assert producer.get(f"/api/transfers/by-number/{t['number']}").json()["id"] == t["id"]
    regulator = parties.api_client(w.regulator)
    stats = regulator.get("/api/transfers/statistics").json()
    assert stats["issued"] == 1 and stats["closed"] == 1 and stats["partial_refusals"] == 1
    csv = producer.get("/api/transfers/export", format="csv")
    assert csv.status_code == 200 and t["number"] in csv.content.decode("utf-8-sig")
    pdf = producer.get(f"/api/transfers/{t['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"


def test_list_query_count_does_not_grow(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = parties.api_client(world.producer)
    system = Actor.system(world.zone)
    services.create_transfer(system, data={**world.data(), "consignor_id": world.producer.pk})
    client.get("/api/transfers")  # warm-up: the token's first use is recorded once
    with CaptureQueriesContext(connection) as one:
        client.get("/api/transfers")
    for _ in range(9):
        services.create_transfer(system, data={**world.data(), "consignor_id": world.producer.pk})
    with CaptureQueriesContext(connection) as ten:
        assert client.get("/api/transfers").json()["count"] == 10
    assert len(one.captured_queries) == len(ten.captured_queries)


def test_revision_needs_every_party(world: World) -> None:
    w = world
    t = advance(
        w,
        services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk}),
        "closed",
    )
    req = services.request_revision(
        w.actor(w.receiver), t.pk, changes={"received_t": "9.8"}, reason="过磅单录错"
    )
    assert req.approvals == [w.receiver.pk] and sorted(req.required) == sorted(
        [w.producer.pk, w.carrier.pk, w.receiver.pk]
    )
    from zerowaste.core.errors import Conflict, Forbidden

    with pytest.raises(Conflict, match="already pending"):
        services.request_revision(w.actor(w.producer), t.pk, changes={"treatment": "R4"}, reason="x")
    with pytest.raises(Forbidden):
        services.decide_revision(w.actor(w.regulator), req.pk, approve=True)
    services.decide_revision(w.actor(w.producer), req.pk, approve=True)
    t.refresh_from_db()
    assert t.received_t == 10 and t.version == 1  # not yet: the carrier has not approved
    req = services.decide_revision(w.actor(w.carrier), req.pk, approve=True)
    t.refresh_from_db()
    assert (
        req.status == "applied"
        and t.received_t == Decimal("9.8")
        and t.version == 2
        and not t.revision_pending
    )
    assert list(TransferVersion.objects.filter(transfer=t).values_list("version", flat=True)) == [1, 2]
    assert req.initial == {"received_t": "10.000"}
    # a rejected request closes without change; then a new one may be made
    req2 = services.request_revision(w.actor(w.producer), t.pk, changes={"treatment": "R4"}, reason="y")
    services.decide_revision(w.actor(w.receiver), req2.pk, approve=False)
    assert RevisionRequest.objects.get(pk=req2.pk).status == "rejected"
    t.refresh_from_db()
    assert t.version == 2 and t.treatment != "R4"


def test_reconciliation_flags_a_declaration_disagreeing_with_closed_manifests(world: World) -> None:
    from zerowaste.declarations import services as declarations

    assert services.closed_quantities in declarations.TRANSFER_PROVIDERS
    w = world
    t = services.create_transfer(
        Actor.system(w.zone),
        data={**w.data(tonnes="10"), "consignor_id": w.producer.pk, "planned_date": "2020-03-10"},
    )
    advance(w, t, "closed", received="9.8")
    open_one = services.create_transfer(
        Actor.system(w.zone),
        data={**w.data(tonnes="5"), "consignor_id": w.producer.pk, "planned_date": "2020-03-11"},
    )
    advance(w, open_one, "in_transit")  # not closed: does not count
    assert services.closed_quantities(w.zone.pk, w.producer.pk, date(2020, 3, 1), date(2020, 3, 31)) == {
        "900-041-49": Decimal("9.800")
    }

    class FakeDeclaration:
        zone_id = w.zone.pk
        organization_id = w.producer.pk
        period_start = date(2020, 3, 1)
        period_end = date(2020, 3, 31)

        class lines:
            @staticmethod
            def values_list(*names: str) -> list[tuple[str, Decimal, Decimal]]:
                return [("900-041-49", Decimal("12"), Decimal("0"))]

    rows = declarations.reconcile(FakeDeclaration())  # type: ignore[arg-type]
    assert rows is not None
    row = next(r for r in rows if r.waste_code == "900-041-49")
    assert row.transferred_t == Decimal("9.8") and row.flagged


def test_pages_and_public_verification(world: World) -> None:
    w = world
    t = advance(
        w,
        services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk}),
        "issued",
    )
    client = Client()
    m = parties.make_member(w.carrier, "signer")
    client.force_login(m.user)
    assert client.get("/transfers/").status_code == 200
    page = client.get(f"/transfers/{t.pk}/sign/")
    assert page.status_code == 200 and b"sign-pick-up" in page.content
    r = client.post(
        f"/transfers/{t.pk}/act/pick_up/",
        {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10", "back": "sign"},
    )
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.state == "in_transit"
    pdf = client.get(f"/transfers/{t.pk}/pdf/")
    assert pdf.content[:4] == b"%PDF"
    public = Client()
    code = services.verification_code(t)
    ok = public.get(f"/transfers/verify/{t.number}/", {"c": code})
    assert ok.status_code == 200 and str(t.number).encode() in ok.content and b"10.000" not in ok.content
    assert public.get(f"/transfers/verify/{t.number}/", {"c": "wrong"}).status_code == 404
    other = Client()
    other.force_login(parties.make_member(parties.make_org(w.zone), "admin").user)
    assert other.get(f"/transfers/{t.pk}/").status_code == 404


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((body, self.headers[webhooks.SIGNATURE_HEADER]))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server():  # type: ignore[no-untyped-def]
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    _Hook.status = 200
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.mark.django_db(transaction=True)
def test_webhooks_signed_retried_disabled(hook_server: str, settings) -> None:  # type: ignore[no-untyped-def]
    from zerowaste.transfers.testing import make_world

    settings.TRANSFERS_WEBHOOK_BACKOFF = 0
    settings.TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES = ["127.0.0.1"]  # the test receiver (loopback)
    w = make_world()
    sub = webhooks.subscribe(w.actor(w.producer), url=hook_server)
    t = services.create_transfer(w.actor(w.producer), data=w.data(), issue=True)
    events = [json.loads(b)["event"] for b, _sig in _Hook.received]
    assert events == ["transfer.issue"]
    body, signature = _Hook.received[0]
    assert signature == "sha256=" + hmac.new(sub.secret.encode(), body, hashlib.sha256).hexdigest()
    assert set(json.loads(body)) == {"event", "transfer_id", "number", "state", "version"}
    _Hook.status = 500
    services.perform(w.actor(w.carrier), t.pk, "pick_up", vehicle_id=w.vehicle.pk, quantity_seen_t="10")
    assert len(_Hook.received) == 1 + webhooks.MAX_ATTEMPTS  # retried with back-off
    sub.refresh_from_db()
    assert sub.failure_count == webhooks.MAX_ATTEMPTS and sub.active
    services.perform(w.actor(w.carrier), t.pk, "deliver")
    sub.refresh_from_db()
    assert not sub.active and sub.failure_count == webhooks.MAX_CONSECUTIVE_FAILURES
    n = len(_Hook.received)
    services.perform(w.actor(w.receiver), t.pk, "accept", received_t="10")
    assert len(_Hook.received) == n  # disabled: nothing sent
    assert WebhookSubscription.objects.get(pk=sub.pk).last_error == "HTTP 500"
