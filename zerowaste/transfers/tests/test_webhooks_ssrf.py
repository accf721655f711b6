"""Webhook URLs lead to the public internet only, and deliveries go to the address pinned when the
URL was given (issue 15, defect 17: SSRF).

This network has no outside host: name resolution is replaced at its edge (`webhooks.resolve_host`)
and the receiver listens on 127.0.0.1, which `TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES` admits for these
tests alone.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Zone
from zerowaste.testing import parties
from zerowaste.transfers import webhooks
from zerowaste.transfers.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.usefixtures("english")

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "0.0.0.0",  # noqa: S104 - unspecified
    "10.1.2.3",  # private
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "169.254.169.254",  # link-local: cloud metadata
    "192.0.0.1",  # IETF protocol assignments
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "::1",  # IPv6 loopback
    "::",  # unspecified
    "fe80::1",  # link-local
    "fec0::1",  # site-local
    "fc00::1",  # unique local
    "fd12:3456::1",
    "ff02::1",  # multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1 (the client address, inverted)
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


def _literal_url(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Name → addresses, in place of DNS; an unknown name does not resolve."""
    names: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError("name not known")
        return names[host]

    monkeypatch.setattr(webhooks, "resolve_host", resolve)
    return names


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_urls_at_addresses_that_are_not_public_are_refused(
    zone: Zone, resolver: dict[str, list[str]], address: str
) -> None:
    actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
    with pytest.raises(Invalid) as literal:
        webhooks.subscribe(actor, url=_literal_url(address))
    assert literal.value.errors[0]["field"] == "url"
    resolver["hooks.example.com"] = ["93.184.215.14", address]  # one bad address is enough
    with pytest.raises(Invalid) as named:
        webhooks.subscribe(actor, url="https://hooks.example.com/hook")
    assert "public" in named.value.message
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted_and_pinned(
    zone: Zone, resolver: dict[str, list[str]], address: str
) -> None:
    actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
    assert webhooks.subscribe(actor, url=_literal_url(address)).pinned_address == address
    resolver["hooks.example.com"] = [address]
    sub = webhooks.subscribe(actor, url="https://hooks.example.com/in")
    assert sub.pinned_address == address


def test_unresolvable_names_are_refused(zone: Zone, resolver: dict[str, list[str]]) -> None:
    actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
    with pytest.raises(Invalid, match="cannot be resolved"):
        webhooks.subscribe(actor, url="https://nowhere.example.com/hook")


def test_the_api_refuses_a_loopback_url_naming_the_field(zone: Zone) -> None:
    client = parties.api_client(parties.make_org(zone, roles=("producer",)))
    for url in ("http://127.0.0.1:8000/api/organizations", "http://[::1]/", "http://169.254.169.254/latest"):
        response = client.post("/api/transfers/webhooks", {"url": url})
        assert response.status_code == 422, response.content
        assert response.json()["errors"][0]["field"] == "url"
    created = client.post("/api/transfers/webhooks", {"url": "https://93.184.215.14/hook"})
    assert created.status_code == 201
    sub_id = created.json()["id"]
    moved = client.patch(f"/api/transfers/webhooks/{sub_id}", {"url": "http://10.0.0.8/hook"})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "url"
    assert WebhookSubscription.objects.get(pk=sub_id).pinned_address == "93.184.215.14"


# --- Delivery to the pinned address ----------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.seen.append({"host": self.headers["Host"], "path": self.path, "body": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _serve(server: HTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.seen = []
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[int]:
    settings.TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.TRANSFERS_WEBHOOK_BACKOFF = 0
    yield from _serve(HTTPServer(("127.0.0.1", 0), _Receiver))


def _delivery(sub: WebhookSubscription) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        zone_id=sub.zone_id,
        subscription=sub,
        event="issue",
        payload={"event": "transfer.issue", "transfer_id": 1},
    )


def test_delivery_connects_to_the_pinned_address_with_the_name_as_host(
    zone: Zone, resolver: dict[str, list[str]], receiver: int, settings: Any
) -> None:
    actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
    resolver["hooks.example.com"] = ["127.0.0.1"]
    sub = webhooks.subscribe(actor, url=f"http://hooks.example.com:{receiver}/in?x=1")
    assert sub.pinned_address == "127.0.0.1"
    resolver["hooks.example.com"] = ["10.9.9.9"]  # the name moves (DNS rebinding): the pin holds
    assert webhooks.deliver.call(_delivery(sub).pk) == "delivered"
    assert _Receiver.seen == [
        {
            "host": f"hooks.example.com:{receiver}",
            "path": "/in?x=1",
            "body": {"event": "transfer.issue", "transfer_id": 1},
        }
    ]


def test_delivery_checks_the_pinned_address_again(
    zone: Zone, resolver: dict[str, list[str]], receiver: int, settings: Any
) -> None:
    actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
    resolver["hooks.example.com"] = ["127.0.0.1"]
    sub = webhooks.subscribe(actor, url=f"http://hooks.example.com:{receiver}/in")
    settings.TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES = []  # the rule as in production
    delivery = _delivery(sub)
    webhooks.deliver.call(delivery.pk)  # with every retry (inline backend, no back-off)
    assert _Receiver.seen == []
    sub.refresh_from_db()
    assert "public" in sub.last_error
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


def test_a_subscription_from_before_pinning_is_checked_at_delivery(
    zone: Zone, resolver: dict[str, list[str]], receiver: int
) -> None:
    org = parties.make_org(zone, roles=("producer",))
    old = WebhookSubscription.objects.create(
        zone=zone, organization=org, url="http://metadata.internal/x", secret="s" * 48
    )
    resolver["metadata.internal"] = ["169.254.169.254"]
    webhooks.deliver.call(_delivery(old).pk)
    old.refresh_from_db()
    assert old.pinned_address is None and "public" in old.last_error


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_delivery_sends_the_name_as_sni_and_checks_the_certificate_against_it(
    zone: Zone, resolver: dict[str, list[str]], settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.TRANSFERS_WEBHOOK_BACKOFF = 0
    cert, key = _certificate(tmp_path, "hooks.example.com")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this receiver alone
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for port in _serve(server):
        actor = parties.actor_of(parties.make_org(zone, roles=("producer",)))
        resolver["hooks.example.com"] = ["127.0.0.1"]
        sub = webhooks.subscribe(actor, url=f"https://hooks.example.com:{port}/tls")
        assert webhooks.deliver.call(_delivery(sub).pk) == "delivered"
        assert names == ["hooks.example.com"] and _Receiver.seen[0]["path"] == "/tls"
        resolver["other.example.com"] = ["127.0.0.1"]  # a name the certificate does not carry
        wrong = webhooks.subscribe(actor, url=f"https://other.example.com:{port}/tls")
        webhooks.deliver.call(_delivery(wrong).pk)
        wrong.refresh_from_db()
        assert wrong.failure_count == webhooks.MAX_ATTEMPTS and len(_Receiver.seen) == 1


def test_no_setting_admits_loopback_in_production() -> None:
    from zerowaste import settings as production

    assert not hasattr(production, "TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES")


def test_cli_adds_lists_and_refuses_webhooks(zone: Zone, capsys: pytest.CaptureFixture[str]) -> None:
    from io import StringIO

    from django.core.management import call_command

    org = parties.make_org(zone, roles=("producer",))
    argv = ["transfers", "webhooks", "--zone", zone.code, "--organization", org.uscc, "--format", "json"]

    def run(*extra: str) -> dict[str, Any]:
        out = StringIO()
        call_command(*argv, *extra, stdout=out)
        return dict(json.loads(out.getvalue()))

    added = run("--add", "https://93.184.215.14/hook")
    assert len(added["secret"]) == 48 and added["webhooks"][0]["pinned_address"] == "93.184.215.14"
    with pytest.raises(SystemExit) as refused:
        run("--add", "http://169.254.169.254/latest/meta-data")
    assert refused.value.code == 1 and "public" in capsys.readouterr().err
    assert run("--disable", str(added["created"]))["webhooks"][0]["active"] is False


def test_page_adds_refuses_and_switches_webhooks(zone: Zone) -> None:
    from django.test import Client

    org = parties.make_org(zone, roles=("producer",))
    client = Client()
    client.force_login(parties.make_member(org, "admin").user)
    page = client.get("/transfers/webhooks/")
    assert page.status_code == 200 and b'id="add-webhook"' in page.content
    refused = client.post("/transfers/webhooks/", {"url": "http://192.168.1.1/hook"})
    assert refused.status_code == 422 and "公网地址" in refused.content.decode()  # the page speaks Chinese
    added = client.post("/transfers/webhooks/", {"url": "https://93.184.215.14/hook"})
    sub = WebhookSubscription.objects.get(organization=org)
    assert added.status_code == 200 and sub.secret in added.content.decode() and sub.pinned_address
    client.post("/transfers/webhooks/", {"subscription": sub.pk, "active": "0"})
    sub.refresh_from_db()
    assert not sub.active
    assert sub.secret not in client.get("/transfers/webhooks/").content.decode()
