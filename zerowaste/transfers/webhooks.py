"""Webhooks: each party's subscriptions get a minimal signed payload for each transition.

The payload names the event and the transfer (id, number, state) and nothing else; the subscriber
fetches details with its own token. The body is signed with HMAC-SHA256 of the subscriber's secret
(`X-Zerowaste-Signature: sha256=<hex>`). Deliveries run as django tasks; a failed attempt is retried
with exponential back-off; a subscription is disabled after `MAX_CONSECUTIVE_FAILURES` failures in a row.

A URL must lead to the public internet (issue 15, defect 17: no SSRF into the platform's own network):
its host — an address, or a name and every address it resolves to — may not be loopback, private,
link-local, multicast, reserved, unspecified or otherwise not global, in IPv4 or IPv6 (mapped,
6to4 and Teredo forms included). The name is resolved once, when the URL is given, and the address
pinned: each delivery connects to the pinned address, sending the name as Host and as TLS SNI (the
certificate is checked against the name), after checking the address again. A name that later
resolves elsewhere (DNS rebinding) changes nothing. `TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES` lets tests
deliver to a receiver on 127.0.0.1; no setting reads it from the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import default_task_backend, task

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.services import check_text

from . import rules
from .models import Transfer, WebhookDelivery, WebhookSubscription

MAX_ATTEMPTS = 5
MAX_CONSECUTIVE_FAILURES = 10
BACKOFF_BASE_SECONDS = 30
TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-Zerowaste-Signature"
# Events that the regulators of the zone hear of as well (refusals, discrepancies).
REGULATOR_EVENTS = frozenset({"refuse", "accept_part"})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _require(actor: Actor) -> None:
    if actor.is_system:
        return
    if actor.organization_id is None or not rules.member_may(
        "webhooks", member_role=actor.member_role, token_scopes=actor.token_scopes
    ):
        raise Forbidden(_("your role does not allow this (transfers.webhooks)"))


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (tests replace this, the network's edge)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public(address: IPAddress) -> bool:
    """Whether a delivery may connect to `address`: a global unicast address, in IPv4 or IPv6."""
    allowed = getattr(settings, "TRANSFERS_WEBHOOK_ALLOWED_ADDRESSES", ())
    if str(address) in allowed:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def _url_parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid.field("url", _("an http(s) URL is required"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Invalid.field("url", _("an http(s) URL is required")) from exc
    return parts.scheme, parts.hostname, port


def pin_address(url: str) -> str:
    """The address a delivery to `url` connects to; refused unless every address of the host is public."""
    _scheme, host, port = _url_parts(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = resolve_host(host, port)
        except (OSError, UnicodeError) as exc:
            raise Invalid.field("url", _("the host %(host)s cannot be resolved") % {"host": host}) from exc
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise Invalid.field("url", _("the host %(host)s cannot be resolved") % {"host": host})
    for address in addresses:
        if not is_public(address):
            raise Invalid.field(
                "url",
                _("webhooks go to public addresses only; %(host)s is %(address)s")
                % {"host": host, "address": address},
            )
    return str(addresses[0])


def _check_url(url: Any) -> tuple[str, str]:
    """The URL as stored and its pinned address."""
    text = check_text(url, "url", max_length=500, required=True)
    return text, pin_address(text)


def subscriptions(actor: Actor) -> QuerySet[WebhookSubscription]:
    if actor.organization_id is None:
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.filter(
        zone_id=actor.zone_id, organization_id=actor.organization_id or 0
    )


def get_subscription(actor: Actor, subscription_id: int) -> WebhookSubscription:
    sub = subscriptions(actor).filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound(_("webhook %(id)s not found") % {"id": subscription_id})
    return sub


@transaction.atomic
def subscribe(actor: Actor, *, url: str) -> WebhookSubscription:
    _require(actor)
    checked_url, address = _check_url(url)
    sub = WebhookSubscription.objects.create(
        zone_id=actor.zone_id,
        organization_id=actor.organization_id or 0,
        url=checked_url,
        pinned_address=address,
        secret=secrets.token_hex(24),
    )
    audit.record(actor, "transfer.webhook_subscribe", sub, {"url": sub.url})
    return sub


@transaction.atomic
def update_subscription(
    actor: Actor, subscription_id: int, *, active: bool | None = None, url: str | None = None
) -> WebhookSubscription:
    _require(actor)
    sub = WebhookSubscription.objects.select_for_update().get(pk=get_subscription(actor, subscription_id).pk)
    before = audit.snapshot(sub, ("url", "active", "failure_count"))
    if url is not None:
        sub.url, sub.pinned_address = _check_url(url)
    if active is not None:
        sub.active = bool(active)
        if active:
            sub.failure_count = 0
    sub.save()
    audit.record(
        actor,
        "transfer.webhook_update",
        sub,
        audit.diff(before, audit.snapshot(sub, ("url", "active", "failure_count"))),
    )
    return sub


def payload(t: Transfer, event: str) -> dict[str, Any]:
    return {
        "event": f"transfer.{event}",
        "transfer_id": t.pk,
        "number": t.number,
        "state": t.state,
        "version": t.version,
    }


def notify(t: Transfer, event: str) -> None:
    """Queue one delivery per active subscription of the parties (sent after the commit)."""
    orgs = {t.consignor_id, t.consignee_id, t.carrier_id, t.current_carrier_id}
    query = Q(organization_id__in=orgs)
    if event in REGULATOR_EVENTS:
        query |= Q(organization__roles__role="regulator")
    subs = list(WebhookSubscription.objects.filter(query, zone_id=t.zone_id, active=True).distinct())
    if not subs:
        return
    body = payload(t, event)
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(zone_id=t.zone_id, subscription=s, event=event, payload=body) for s in subs]
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: [deliver.enqueue(pk) for pk in ids])


def _backoff(attempts: int) -> float:
    base = float(getattr(settings, "TRANSFERS_WEBHOOK_BACKOFF", BACKOFF_BASE_SECONDS))
    return base * (2 ** max(attempts - 1, 0))


def _post(url: str, address: str, body: bytes, signature: str) -> int:
    """POST to `url` over a connection to `address`, with the URL's host as Host and TLS name."""
    import urllib3

    scheme, host, port = _url_parts(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    default_port = 443 if scheme == "https" else 80
    with pool:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            redirect=False,
            assert_same_host=False,
            headers={
                "Host": host if port == default_port else f"{host}:{port}",
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature,
                "User-Agent": "zerowaste-webhooks/1",
            },
        )
        return int(response.status)


def delivery_address(sub: WebhookSubscription) -> str:
    """The pinned address, checked again (a subscription from before pinning is pinned now)."""
    if not sub.pinned_address:
        sub.pinned_address = pin_address(sub.url)
        WebhookSubscription.objects.filter(pk=sub.pk).update(pinned_address=sub.pinned_address)
    if not is_public(ipaddress.ip_address(sub.pinned_address)):
        raise Invalid.field("url", _("webhooks go to public addresses only"))
    return str(sub.pinned_address)


@task()
def deliver(delivery_id: int) -> str:
    """One attempt; on failure the next is queued after the back-off (inline backends wait instead)."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != "pending":
        return "skipped"
    sub = delivery.subscription
    if not sub.active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(status="failed")
        return "inactive"
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    code: int | None = None
    error = ""
    try:
        code = _post(sub.url, delivery_address(sub), body, sign(sub.secret, body))
    except Invalid as exc:
        error = exc.message[:300]
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts = delivery.attempts + 1
    ok = code is not None and 200 <= code < 300
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().get(pk=sub.pk)
        if ok:
            sub.failure_count = 0
            sub.last_error = ""
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                attempts=attempts, status="delivered", response_code=code, delivered_at=timezone.now()
            )
        else:
            sub.failure_count += 1
            sub.last_error = error or f"HTTP {code}"
            if sub.failure_count >= MAX_CONSECUTIVE_FAILURES:
                sub.active = False
            final = attempts >= MAX_ATTEMPTS or not sub.active
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                attempts=attempts, response_code=code, status="failed" if final else "pending"
            )
        sub.save(update_fields=["failure_count", "last_error", "active"])
    if ok:
        return "delivered"
    if attempts >= MAX_ATTEMPTS or not sub.active:
        return "failed"
    wait = _backoff(attempts)
    if default_task_backend.supports_defer:
        deliver.using(run_after=timezone.now() + timedelta(seconds=wait)).enqueue(delivery_id)
    else:
        time.sleep(min(wait, 5.0))
        deliver.enqueue(delivery_id)
    return "retrying"
