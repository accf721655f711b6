"""Licence verification (issue 15, defect 6; ADR 0042): an organization's own licence is pending until
a regulator of its jurisdiction verifies it against the certificate scan; only verified licences count."""

from __future__ import annotations

import ast
import importlib
import io
import json
from dataclasses import dataclass
from datetime import date
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.test import Client
from PIL import Image

from zerowaste.api import ACTIVE_ORG_SESSION_KEY
from zerowaste.core import licences, rules, services
from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, AuditEntry, Licence, Organization, Zone
from zerowaste.testing import parties

TODAY = date(2026, 6, 1)
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, "PNG")
    return out.getvalue()


# --- The machine as data (no database) ---------------------------------------------------------------

EXPECTED = {
    ("pending", "verify"): "verified",
    ("pending", "reject"): "rejected",
    ("pending", "amend"): "pending",
    ("verified", "verify"): None,
    ("verified", "reject"): "rejected",
    ("verified", "amend"): "pending",
    ("rejected", "verify"): None,
    ("rejected", "reject"): None,
    ("rejected", "amend"): "pending",
}


@pytest.mark.parametrize(
    ("status", "event"), list(product([s for s, _ in rules.LICENCE_STATUS_CHOICES], rules.LICENCE_EVENTS))
)
def test_every_status_and_event(status: str, event: str) -> None:
    assert rules.licence_next_status(status, event) == EXPECTED[(status, event)]


BASE = {
    "kind": "hw_operating",
    "number": "N1",
    "issuer": "局",
    "valid_from": "2020-01-01",
    "valid_to": "2030-12-31",
    "waste_codes": ["HW49"],
    "annual_capacity_t": "10.000",
    "is_revoked": False,
}


@pytest.mark.parametrize(
    ("change", "amended"),
    [
        ({"number": "N2"}, True),
        ({"issuer": "另一局"}, True),
        ({"valid_from": "2019-01-01"}, True),
        ({"valid_to": "2031-12-31"}, True),
        ({"waste_codes": ["HW49", "HW08"]}, True),
        ({"annual_capacity_t": "11.000"}, True),
        ({"kind": "hw_transport"}, True),
        ({"is_revoked": True}, False),  # giving a licence up needs nobody's check
        ({}, False),
    ],
)
def test_what_is_an_amendment(change: dict[str, Any], amended: bool) -> None:
    assert rules.licence_is_amended(BASE, {**BASE, **change}) is amended
    # Lifting a revocation brings a licence back into force: a regulator looks again.
    assert rules.licence_is_amended({**BASE, "is_revoked": True}, BASE)


# --- A zone with two streets, a street regulator, and organizations in each -----------------------


@dataclass
class Streets:
    zone: Zone
    street_a: Area
    street_b: Area
    regulator: Organization  # the street regulator of street A
    regulator_actor: Actor
    zone_regulator_actor: Actor
    holder_a: Organization  # a receiver in street A
    holder_b: Organization  # a receiver in street B
    admin_a: Actor
    admin_b: Actor


@pytest.fixture
def streets(zone: Zone) -> Streets:
    street_a = Area.objects.create(zone=zone, code="A", name="荣华街道", kind="street")
    street_b = Area.objects.create(zone=zone, code="B", name="博兴街道", kind="street")
    regulator = parties.make_org(zone, roles=("regulator",), name="荣华街道办", area_id=street_a.pk)
    member = parties.make_member(regulator, "clerk", jurisdiction=street_a)
    zone_regulator = parties.make_org(zone, roles=("regulator",), name="专班")
    holder_a = parties.make_org(zone, roles=("receiver",), area_id=street_a.pk)
    holder_b = parties.make_org(zone, roles=("receiver",), area_id=street_b.pk)
    return Streets(
        zone=zone,
        street_a=street_a,
        street_b=street_b,
        regulator=regulator,
        regulator_actor=actor_for_membership(member),
        zone_regulator_actor=parties.actor_of(zone_regulator, "admin"),
        holder_a=holder_a,
        holder_b=holder_b,
        admin_a=parties.actor_of(holder_a, "admin"),
        admin_b=parties.actor_of(holder_b, "admin"),
    )


def own_licence(actor: Actor, org: Organization, number: str = "京环危0001", **extra: Any) -> Licence:
    data: dict[str, Any] = {
        "kind": "hw_operating",
        "number": number,
        "issuer": "北京市生态环境局",
        "valid_from": date(2020, 1, 1),
        "valid_to": date(2030, 12, 31),
        "waste_codes": ["HW49"],
        "annual_capacity_t": "1000",
        **extra,
    }
    return services.add_licence(actor, org.pk, **data)


def with_scan(actor: Actor, licence: Licence, content: bytes = PDF_BYTES) -> Licence:
    licences.upload_scan(actor, licence.organization_id, licence.pk, content=content, filename="证书.pdf")
    licence.refresh_from_db()
    return licence


def in_force(org: Organization) -> bool:
    return Licence.objects.filter(organization=org).in_force(TODAY, "hw_operating").exists()


# --- The defect: an organization's own licence does not qualify until verified ------------------------


def test_licence_added_by_an_organization_admin_does_not_qualify_until_verified(
    streets: Streets, english: None
) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    assert licence.status == "pending"
    assert not services.licence_covers(licence, on=TODAY, waste_code="HW49")
    assert not in_force(streets.holder_a)
    assert services.unverified_note_of(streets.holder_a.pk, "hw_operating", TODAY) == (
        "licence 京环危0001 is pending verification by a regulator"
    )

    with_scan(streets.admin_a, licence)
    verified = licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    assert verified.status == "verified" and in_force(streets.holder_a)
    assert services.licence_covers(verified, on=TODAY, waste_code="HW49")
    assert verified.reviewed_by == streets.regulator_actor.username
    assert verified.reviewed_by_organization_id == streets.regulator.pk and verified.reviewed_at


def test_licences_entered_by_the_system_are_verified(streets: Streets) -> None:
    licence = own_licence(Actor.system(streets.zone), streets.holder_a)
    assert licence.status == "verified" and licence.reviewed_by == "system" and in_force(streets.holder_a)


def test_rejection_with_a_reason(streets: Streets) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    with pytest.raises(Invalid) as exc:
        licences.reject_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk, reason="  ")
    assert exc.value.errors[0]["field"] == "reason"
    rejected = licences.reject_licence(
        streets.regulator_actor, streets.holder_a.pk, licence.pk, reason="证书编号与发证机关记录不符"
    )
    assert rejected.status == "rejected" and rejected.rejection_reason == "证书编号与发证机关记录不符"
    assert not in_force(streets.holder_a)
    assert "证书编号与发证机关记录不符" in (
        services.unverified_note_of(streets.holder_a.pk, "hw_operating", TODAY) or ""
    )
    # A rejected licence is not verified as it was: it is corrected first.
    with pytest.raises(Conflict):
        licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    corrected = services.update_licence(
        streets.admin_a, streets.holder_a.pk, licence.pk, issuer="北京市生态环境局 "
    )
    assert corrected.status == "rejected"  # the same text once trimmed: nothing was corrected
    corrected = services.update_licence(streets.admin_a, streets.holder_a.pk, licence.pk, issuer="生态环境部")
    assert corrected.status == "pending" and corrected.rejection_reason == ""
    assert (
        licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk).status == "verified"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "生态环境部"},
        {"valid_from": date(2019, 1, 1)},
        {"valid_to": date(2031, 12, 31)},
        {"waste_codes": ["HW49", "HW08"]},
        {"annual_capacity_t": "2000"},
    ],
)
def test_an_edit_of_a_verified_licence_returns_it_to_pending(
    streets: Streets, change: dict[str, Any]
) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    edited = services.update_licence(streets.admin_a, streets.holder_a.pk, licence.pk, **change)
    assert edited.status == "pending" and edited.reviewed_by == "" and edited.reviewed_at is None
    assert not in_force(streets.holder_a)
    entry = AuditEntry.objects.filter(zone_id=streets.zone.pk, action="licence.update").latest("seq")
    assert entry.changes["status"] == ["verified", "pending"]


def test_revoking_keeps_the_decision_and_reviving_asks_again(streets: Streets) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    revoked = services.update_licence(streets.admin_a, streets.holder_a.pk, licence.pk, is_revoked=True)
    assert revoked.status == "verified" and not in_force(streets.holder_a)
    revived = services.update_licence(streets.admin_a, streets.holder_a.pk, licence.pk, is_revoked=False)
    assert revived.status == "pending" and not in_force(streets.holder_a)


def test_a_new_scan_of_a_verified_licence_returns_it_to_pending(streets: Streets) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    assert with_scan(streets.admin_a, licence, png_bytes()).status == "pending"


def test_verification_needs_a_scan(streets: Streets) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    with pytest.raises(Conflict):
        licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    assert Licence.objects.get(pk=licence.pk).status == "pending"


# --- Who may decide -----------------------------------------------------------------------------------


def test_a_street_regulator_cannot_verify_outside_its_street(streets: Streets) -> None:
    in_a = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a, "A-1"))
    in_b = with_scan(streets.admin_b, own_licence(streets.admin_b, streets.holder_b, "B-1"))
    assert [lic.pk for lic in licences.pending_licences(streets.regulator_actor)] == [in_a.pk]
    assert {lic.pk for lic in licences.pending_licences(streets.zone_regulator_actor)} == {in_a.pk, in_b.pk}
    for decide in (
        lambda: licences.verify_licence(streets.regulator_actor, streets.holder_b.pk, in_b.pk),
        lambda: licences.reject_licence(streets.regulator_actor, streets.holder_b.pk, in_b.pk, reason="x"),
        lambda: licences.get_scan(streets.regulator_actor, streets.holder_b.pk, in_b.pk),
    ):
        with pytest.raises(NotFound):
            decide()
    # The licence of street A's organization cannot be reached through street B's either.
    with pytest.raises(NotFound):
        licences.verify_licence(streets.regulator_actor, streets.holder_b.pk, in_a.pk)
    assert Licence.objects.get(pk=in_b.pk).status == "pending"
    assert licences.verify_licence(streets.zone_regulator_actor, streets.holder_b.pk, in_b.pk).is_verified


def test_a_producer_cannot_verify_its_own_licence_nor_another(streets: Streets) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    with pytest.raises(Forbidden):
        licences.verify_licence(streets.admin_a, streets.holder_a.pk, licence.pk)
    with pytest.raises(Forbidden):
        licences.pending_licences(streets.admin_a)
    with pytest.raises(NotFound):
        licences.verify_licence(streets.admin_b, streets.holder_a.pk, licence.pk)
    assert Licence.objects.get(pk=licence.pk).status == "pending"


def test_a_regulator_does_not_verify_its_own_organizations_licence(streets: Streets) -> None:
    regulator_admin = parties.actor_of(streets.regulator, "admin")
    licence = with_scan(regulator_admin, own_licence(regulator_admin, streets.regulator, kind="discharge"))
    assert licence.pk not in [lic.pk for lic in licences.pending_licences(regulator_admin)]
    with pytest.raises(Forbidden):
        licences.verify_licence(regulator_admin, streets.regulator.pk, licence.pk)


@pytest.mark.parametrize("role", ["signer", "viewer"])
def test_a_regulator_viewer_or_signer_cannot_verify(streets: Streets, role: str) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    actor = actor_for_membership(parties.make_member(streets.regulator, role, jurisdiction=streets.street_a))
    with pytest.raises(Forbidden):
        licences.verify_licence(actor, streets.holder_a.pk, licence.pk)


def test_every_step_is_audited(streets: Streets) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    with_scan(streets.admin_a, licence)
    licences.reject_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk, reason="模糊")
    with_scan(streets.admin_a, licence, png_bytes())
    licences.verify_licence(streets.regulator_actor, streets.holder_a.pk, licence.pk)
    entries = list(
        AuditEntry.objects.filter(zone_id=streets.zone.pk, model="core.licence", object_id=str(licence.pk))
        .order_by("seq")
        .values_list("action", "changes")
    )
    assert [a for a, _ in entries] == [
        "licence.add",
        "licence.scan",
        "licence.reject",
        "licence.scan",
        "licence.verify",
    ]
    assert entries[0][1]["status"] == [None, "pending"]
    assert entries[2][1]["status"] == ["pending", "rejected"] and entries[2][1]["rejection_reason"] == [
        "",
        "模糊",
    ]
    assert entries[3][1]["status"] == ["rejected", "pending"]
    assert entries[4][1]["status"] == ["pending", "verified"]
    assert entries[4][1]["scan_sha256"][1] == entries[3][1]["scan_sha256"][1]


# --- The scan: its type by content, its size, who sees it -----------------------------------------------


def test_scan_type_comes_from_the_content_not_the_name() -> None:
    assert licences.scan_type(PDF_BYTES, "a.png") == "application/pdf"
    assert licences.scan_type(png_bytes(), "a.pdf") == "image/png"
    jpeg = io.BytesIO()
    Image.new("RGB", (10, 10)).save(jpeg, "JPEG")
    assert licences.scan_type(jpeg.getvalue(), "a.txt") == "image/jpeg"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<html><script>alert(1)</script></html>",
        b"%PDF-1.4 truncated",
        b"GIF89a" + b"\0" * 100,
        b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
        b"%PDF-1.4\n" + b"0" * licences.MAX_SCAN_BYTES + b"\n%%EOF",
    ],
    ids=["empty", "html", "truncated-pdf", "gif", "broken-png", "too-large"],
)
def test_scan_refusals(streets: Streets, content: bytes) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    with pytest.raises(Invalid) as exc:
        licences.upload_scan(
            streets.admin_a, streets.holder_a.pk, licence.pk, content=content, filename="x.pdf"
        )
    assert exc.value.errors[0]["field"] == "scan"
    assert not licence.scans.exists()


def test_a_scan_of_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(Invalid):
        licences.scan_type(png_bytes((10000, 7000)))


def test_scans_are_seen_only_by_the_organization_and_its_regulators(streets: Streets) -> None:
    licence = with_scan(streets.admin_a, own_licence(streets.admin_a, streets.holder_a))
    for actor in (streets.admin_a, parties.actor_of(streets.holder_a, "viewer"), streets.regulator_actor):
        assert bytes(licences.get_scan(actor, streets.holder_a.pk, licence.pk).content) == PDF_BYTES
    other_street = parties.make_org(streets.zone, roles=("regulator",), name="博兴街道办")
    outsider_regulator = actor_for_membership(
        parties.make_member(other_street, "admin", jurisdiction=streets.street_b)
    )
    for actor in (streets.admin_b, outsider_regulator):
        with pytest.raises(NotFound):
            licences.get_scan(actor, streets.holder_a.pk, licence.pk)
    # Only the organization uploads: not a regulator, not a viewer.
    for actor in (streets.regulator_actor, parties.actor_of(streets.holder_a, "viewer")):
        with pytest.raises(Forbidden):
            licences.upload_scan(actor, streets.holder_a.pk, licence.pk, content=PDF_BYTES, filename="x.pdf")


# --- API ----------------------------------------------------------------------------------------------


def test_api_verify_reject_pending_and_scan(streets: Streets) -> None:
    holder = parties.api_client(streets.holder_a)
    created = holder.post(
        f"/api/organizations/{streets.holder_a.pk}/licences",
        {
            "kind": "hw_operating",
            "number": "API-1",
            "issuer": "局",
            "valid_from": "2020-01-01",
            "valid_to": "2030-12-31",
            "waste_codes": ["HW49"],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending" and body["scan_url"] is None
    licence_id = body["id"]
    base = f"/api/organizations/{streets.holder_a.pk}/licences/{licence_id}"

    # The holder cannot verify its own (its token is admin-scoped, but it is no regulator).
    assert holder.post(f"{base}/verify").status_code == 403

    upload = holder.client.post(
        f"{base}/scan",
        {"file": io.BytesIO(png_bytes())},
        headers={"Authorization": f"Bearer {holder.token}"},
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["scan_url"] == f"{base}/scan"
    scan = holder.get(f"{base}/scan")
    assert scan.status_code == 200 and scan["Content-Type"] == "image/png"
    assert scan["X-Content-Type-Options"] == "nosniff" and "sandbox" in scan["Content-Security-Policy"]

    regulator = parties.api_client(streets.regulator)  # a zone-wide token of the street regulator org
    pending = regulator.get("/api/licences/pending")
    assert pending.status_code == 200
    assert [row["id"] for row in pending.json()["items"]] == [licence_id]
    assert pending.json()["items"][0]["organization_name"] == streets.holder_a.name
    assert holder.get("/api/licences/pending").status_code == 403

    rejected = regulator.post(f"{base}/reject", {"reason": "扫描件不清晰"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert holder.get(base).json()["rejection_reason"] == "扫描件不清晰"
    assert regulator.post(f"{base}/verify").status_code == 409
    assert regulator.post(f"{base}/reject", {}).status_code == 422

    read_only = parties.api_client(streets.regulator, scopes=("read",))
    assert read_only.post(f"{base}/verify").status_code == 403
    holder.patch(base, {"issuer": "生态环境部"})
    seen = holder.get(base).json()["scan_id"]
    holder.client.post(
        f"{base}/scan", {"file": io.BytesIO(PDF_BYTES)}, headers={"Authorization": f"Bearer {holder.token}"}
    )
    # The regulator looked at the previous scan: a newer one came since.
    assert regulator.post(f"{base}/verify?scan_id={seen}").status_code == 409
    assert (
        regulator.client.post(
            f"{base}/verify", headers={"Authorization": f"Bearer {regulator.token}"}
        ).status_code
        == 200
    )
    holder.patch(base, {"issuer": "北京市生态环境局"})
    verified = regulator.post(f"{base}/verify?scan_id={holder.get(base).json()['scan_id']}")
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert verified.json()["reviewed_by"].startswith("token:")


# --- Pages --------------------------------------------------------------------------------------------


def page_client(actor: Actor) -> Client:
    client = Client()
    assert actor.user is not None
    client.force_login(actor.user)
    session = client.session
    session[ACTIVE_ORG_SESSION_KEY] = actor.organization_id
    session.save()
    return client


def test_pages_regulator_queue_review_and_the_organizations_view(streets: Streets) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    holder = page_client(streets.admin_a)
    upload = holder.post(
        f"/organizations/{streets.holder_a.pk}/licences/{licence.pk}/scan/upload/",
        {"file": _named(b"not a certificate", "scan.pdf")},
    )
    assert upload.status_code == 422
    upload = holder.post(
        f"/organizations/{streets.holder_a.pk}/licences/{licence.pk}/scan/upload/",
        {"file": _named(png_bytes(), "scan.png")},
    )
    assert upload.status_code == 302

    regulator = page_client(streets.regulator_actor)
    queue = regulator.get("/licences/pending/")
    assert queue.status_code == 200 and licence.number in queue.content.decode()
    review_url = f"/organizations/{streets.holder_a.pk}/licences/{licence.pk}/review/"
    review = regulator.get(review_url)
    assert review.status_code == 200 and f"/licences/{licence.pk}/scan/" in review.content.decode()
    # Verifying needs the confirmation box ticked.
    assert regulator.post(review_url, {"decision": "verify"}).status_code == 422
    assert Licence.objects.get(pk=licence.pk).status == "pending"
    assert regulator.post(review_url, {"decision": "reject", "reason": "有效期与证书不符"}).status_code == 302
    assert Licence.objects.get(pk=licence.pk).status == "rejected"

    own_page = holder.get(f"/organizations/{streets.holder_a.pk}/").content.decode()
    assert "有效期与证书不符" in own_page
    assert holder.get("/licences/pending/").status_code == 403
    assert holder.get(review_url).status_code == 403

    services.update_licence(streets.admin_a, streets.holder_a.pk, licence.pk, valid_to=date(2029, 12, 31))
    assert regulator.post(review_url, {"decision": "verify", "checked": "on"}).status_code == 302
    assert Licence.objects.get(pk=licence.pk).status == "verified"

    outsider = page_client(actor_for_membership(parties.make_member(streets.holder_b, "admin")))
    assert (
        outsider.get(f"/organizations/{streets.holder_a.pk}/licences/{licence.pk}/scan/").status_code == 404
    )
    assert holder.get(f"/organizations/{streets.holder_a.pk}/licences/{licence.pk}/scan/").status_code == 200


def _named(content: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


# --- Command line ---------------------------------------------------------------------------------------


def test_cli_pending_verify_reject_and_scan(
    streets: Streets, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = own_licence(streets.admin_a, streets.holder_a, "CLI-1")
    second = own_licence(streets.admin_b, streets.holder_b, "CLI-2")
    scan = tmp_path / "certificate.png"
    scan.write_bytes(png_bytes())
    zone = ["--zone", streets.zone.code, "--format", "json"]
    call_command("org", "licence", "scan", str(streets.holder_a.pk), str(first.pk), str(scan), *zone)
    capsys.readouterr()
    call_command("org", "licence", "pending", *zone)
    rows = json.loads(capsys.readouterr().out)
    assert {r["number"]: r["has_scan"] for r in rows} == {"CLI-1": True, "CLI-2": False}
    call_command("org", "licence", "verify", str(streets.holder_a.pk), str(first.pk), *zone)
    assert json.loads(capsys.readouterr().out)["status"] == "verified"
    call_command(
        "org", "licence", "reject", str(streets.holder_b.pk), str(second.pk), "--reason", "无证书", *zone
    )
    assert json.loads(capsys.readouterr().out)["rejection_reason"] == "无证书"
    with pytest.raises(SystemExit):
        call_command("org", "licence", "verify", str(streets.holder_b.pk), str(second.pk), *zone)
    assert Licence.objects.get(pk=second.pk).status == "rejected"


# --- The migration: licences already on the platform stay in force -------------------------------------


def test_the_migration_marks_existing_licences_verified(streets: Streets) -> None:
    licence = own_licence(streets.admin_a, streets.holder_a)
    assert licence.status == "pending"
    migration = importlib.import_module("zerowaste.core.migrations.0004_licence_verification")
    migration.existing_licences_verified(django_apps, None)
    licence.refresh_from_db()
    assert licence.status == "verified" and licence.reviewed_by == "migration" and in_force(streets.holder_a)


# --- The class: every licence query outside core asks for the qualifying ones ----------------------------

ROOT = Path(__file__).resolve().parents[2]
# Queries that may see unverified licences, and why (function names inside the file).
MAY_SEE_UNVERIFIED = {
    ("hazardous/facilities.py", "_licence"): "the named licence is looked up to refuse it with the reason",
    ("transfers/streams/hw.py", "check_vehicle"): "the vehicle's permits are read to say why none counts",
}


def _licence_queries(tree: ast.AST) -> list[tuple[ast.expr, str]]:
    """Every chain starting at `Licence.objects` or `<x>.permits`, with the function it is in."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found: list[tuple[ast.expr, str]] = []
    for node in ast.walk(tree):
        starts = isinstance(node, ast.Attribute) and (
            (node.attr == "objects" and isinstance(node.value, ast.Name) and node.value.id == "Licence")
            or node.attr == "permits"
        )
        if not starts:
            continue
        chain: ast.expr = node  # type: ignore[assignment]
        while isinstance(parents.get(chain), (ast.Attribute, ast.Call)) and (
            getattr(parents[chain], "value", None) is chain or getattr(parents[chain], "func", None) is chain
        ):
            chain = parents[chain]  # type: ignore[assignment]
        function, up = "", parents.get(node)
        while up is not None and not function:
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = up.name
            up = parents.get(up)
        found.append((chain, function))
    return found


def test_every_licence_query_outside_core_counts_only_verified_licences() -> None:
    """A new check of a licence must go through `qualifying()` / `in_force()` (or be listed above)."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("core/") or "/tests/" in relative or "/migrations/" in relative:
            continue
        if path.name in ("demo.py", "testing.py"):
            continue
        source = path.read_text(encoding="utf-8")
        for chain, function in _licence_queries(ast.parse(source)):
            text = ast.get_source_segment(source, chain) or ""
            if "qualifying(" in text or "in_force(" in text or (relative, function) in MAY_SEE_UNVERIFIED:
                continue
            offenders.append(f"{relative}:{chain.lineno} in {function}: {text}")
    assert offenders == []
