"""Joining an organization is an invitation the person accepts (issue 15, defect 8; ADR 0041)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from zerowaste.core import invitations, services
from zerowaste.core.authz import Actor, actor_for_user
from zerowaste.core.errors import Forbidden, NotFound
from zerowaste.core.models import Area, AuditEntry, Invitation, Membership, Organization, User, Zone
from zerowaste.testing import parties

SECRET_EMAIL = "private.person@example.org"
SECRET_NAME = "隐私姓名"


@pytest.fixture
def org(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("producer",), name="AAA 新单位")


@pytest.fixture
def admin_api(org: Organization) -> parties.ApiClient:
    return parties.api_client(org)


@pytest.fixture
def person(zone: Zone) -> User:
    """Someone with an account in another organization, with a name and an email to protect."""
    home = parties.make_org(zone, roles=("carrier",), name="ZZZ 原单位")
    member = parties.make_member(home, "admin")
    member.user.email = SECRET_EMAIL
    member.user.first_name = SECRET_NAME
    member.user.save()
    return member.user


def _session(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _invite(api: parties.ApiClient, org: Organization, **body: Any) -> Any:
    return api.post(f"/api/organizations/{org.pk}/invitations", {"role": "clerk", **body})


# --- Consent ---------------------------------------------------------------------------------------


def test_inviting_creates_no_membership_until_the_person_accepts(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    response = _invite(admin_api, org, username=person.username)
    assert response.status_code == 201, response.content
    assert not Membership.objects.filter(organization=org, user=person).exists()
    invitee = _session(person)
    pending = invitee.get("/api/me/invitations").json()
    assert [(i["organization_id"], i["role"]) for i in pending] == [(org.pk, "clerk")]

    joined = invitee.post(f"/api/me/invitations/{pending[0]['id']}/accept")

    assert joined.status_code == 200 and joined.json()["organization_id"] == org.pk
    assert Membership.objects.get(organization=org, user=person).role == "clerk"
    assert invitee.get("/api/me/invitations").json() == []
    listed = admin_api.get(f"/api/organizations/{org.pk}/invitations").json()
    assert listed[0]["status"] == "accepted"
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["invitation.create", "invitation.accept", "membership.add"]


def test_the_answer_reveals_nothing_about_the_account(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    existing = _invite(admin_api, org, username=person.username)
    unknown = _invite(admin_api, org, username="nobody-by-this-name")
    by_email = _invite(admin_api, org, email=SECRET_EMAIL)
    for response in (existing, unknown, by_email):
        assert response.status_code == 201
        body = response.content.decode()
        assert SECRET_NAME not in body and str(person.pk) != response.json().get("user_id")
        assert "no-store" in response.headers["Cache-Control"]  # the link in it is a secret
    assert set(existing.json()) == set(unknown.json())
    assert existing.json()["status"] == unknown.json()["status"] == "pending"
    assert SECRET_EMAIL not in existing.content.decode()  # typed only in the third


def test_declined_revoked_and_expired_invitations_cannot_be_accepted(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    invitee = _session(person)
    declined = _invite(admin_api, org, username=person.username).json()
    assert invitee.post(f"/api/me/invitations/{declined['id']}/decline").status_code == 200
    assert invitee.post(f"/api/me/invitations/{declined['id']}/accept").status_code == 404

    revoked = _invite(admin_api, org, username=person.username, role="viewer").json()
    assert (
        admin_api.post(f"/api/organizations/{org.pk}/invitations/{revoked['id']}/revoke").status_code == 200
    )
    assert invitee.post(f"/api/me/invitations/{revoked['id']}/accept").status_code == 404

    expired = _invite(admin_api, org, username=person.username, role="signer").json()
    Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert invitee.post(f"/api/me/invitations/{expired['id']}/accept").status_code == 404
    assert admin_api.get(f"/api/organizations/{org.pk}/invitations").json()[0]["status"] == "expired"

    assert not Membership.objects.filter(organization=org, user=person).exists()
    fresh = Invitation.objects.get(pk=declined["id"])
    valid_for = fresh.expires_at - fresh.created_at
    assert abs(valid_for - timedelta(days=invitations.INVITATION_VALID_DAYS)) < timedelta(seconds=5)


def test_someone_else_cannot_accept(org: Organization, admin_api: parties.ApiClient, person: User) -> None:
    invitation = _invite(admin_api, org, username=person.username).json()
    stranger = parties.make_member(parties.make_org(org.zone), "admin").user
    assert _session(stranger).post(f"/api/me/invitations/{invitation['id']}/accept").status_code == 404
    # An organization's token is no person: it answers nobody's invitations.
    token = parties.api_client(org)
    assert token.get("/api/me/invitations").status_code == 403
    assert token.post(f"/api/me/invitations/{invitation['id']}/accept").status_code == 404
    assert not Membership.objects.filter(organization=org, user=person).exists()


def test_a_link_for_an_account_is_only_that_accounts(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    link = _invite(admin_api, org, username=person.username).json()["accept_url"]
    path = re.sub(r"^https?://[^/]+", "", link)
    stranger = _session(parties.make_member(parties.make_org(org.zone), "admin").user)
    assert stranger.post(path, {"answer": "accept"}).status_code == 403
    assert _session(person).post(path, {"answer": "accept"}).status_code == 302
    assert Membership.objects.filter(organization=org, user=person).exists()
    assert Client().get(path).status_code == 404  # one-time


def test_a_new_person_sets_a_password_through_the_link(
    org: Organization, admin_api: parties.ApiClient
) -> None:
    link = _invite(admin_api, org, email="New.Clerk@Example.org").json()["accept_url"]
    path = re.sub(r"^https?://[^/]+", "", link)
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert org.name in page.content.decode()
    weak = browser.post(
        path, {"answer": "create", "username": "new-clerk", "password": "123", "password_again": "123"}
    )
    assert weak.status_code == 200 and not User.objects.filter(username="new-clerk").exists()
    good = {"answer": "create", "username": "new-clerk", "full_name": "新员工"}
    good |= {"password": "a-long-enough-pass-1", "password_again": "a-long-enough-pass-1"}
    assert browser.post(path, good).status_code == 302
    user = User.objects.get(username="new-clerk")
    assert user.email == "new.clerk@example.org" and user.check_password("a-long-enough-pass-1")
    assert Membership.objects.get(organization=org, user=user).role == "clerk"
    assert browser.get("/api/me").json()["organization"]["id"] == org.pk
    assert Client().get(path).status_code == 404


def test_an_invitation_by_email_reaches_the_account_with_that_email(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    _invite(admin_api, org, email=SECRET_EMAIL.upper())
    assert [i["organization_id"] for i in _session(person).get("/api/me/invitations").json()] == [org.pk]


def test_duplicates_and_members_are_refused_by_field(
    org: Organization, admin_api: parties.ApiClient, person: User
) -> None:
    assert _invite(admin_api, org, username=person.username).status_code == 201
    again = _invite(admin_api, org, username=person.username)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "username"
    nothing = _invite(admin_api, org)
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "username"
    member = parties.make_member(org, "viewer")
    already = _invite(admin_api, org, username=member.user.username)
    assert already.status_code == 422 and already.json()["errors"][0]["field"] == "username"


# --- The default organization ------------------------------------------------------------------------


def test_a_new_membership_does_not_become_the_default(org: Organization, person: User) -> None:
    home = Membership.objects.get(user=person).organization  # "ZZZ 原单位"
    client = Client()
    assert (
        client.post("/login/", {"username": person.username, "password": parties.PASSWORD}).status_code == 302
    )
    issued = invitations.invite(
        Actor.system(Zone.objects.get(pk=org.zone_id)), org.pk, username=person.username, role="clerk"
    )
    invitations.accept(person, issued.invitation.pk)
    # "AAA 新单位" sorts first, but the person never chose it.
    fresh = Client()
    fresh.post("/login/", {"username": person.username, "password": parties.PASSWORD})
    assert fresh.get("/api/me").json()["organization"]["id"] == home.pk
    # Once chosen, it is the default at the next login.
    fresh.post("/switch-organization/", {"organization_id": org.pk})
    later = Client()
    later.post("/login/", {"username": person.username, "password": parties.PASSWORD})
    assert later.get("/api/me").json()["organization"]["id"] == org.pk
    person.refresh_from_db()
    actor = actor_for_user(person)
    assert actor is not None and actor.organization_id == org.pk


# --- A regulator's first admin -------------------------------------------------------------------------


@pytest.fixture
def street(zone: Zone) -> dict[str, Area]:
    rh = Area.objects.create(zone=zone, code="rh", name="荣华街道", kind="street")
    bx = Area.objects.create(zone=zone, code="bx", name="博兴街道", kind="street")
    return {"rh": rh, "bx": bx}


def test_a_regulator_invites_only_the_first_admin(zone: Zone, street: dict[str, Area]) -> None:
    office = parties.make_org(zone, roles=("regulator",), area_id=street["rh"].pk)
    officer = parties.make_member(office, "clerk", jurisdiction=street["rh"])
    actor = actor_for_user(officer.user)
    assert actor is not None
    empty = parties.make_org(zone, area_id=street["rh"].pk)
    elsewhere = parties.make_org(zone, area_id=street["bx"].pk)
    staffed = parties.make_org(zone, area_id=street["rh"].pk)
    parties.make_member(staffed, "admin")

    with pytest.raises(Forbidden) as exc:
        invitations.invite(actor, empty.pk, username="boss", role="clerk")
    assert exc.value.errors[0]["field"] == "role"
    issued = invitations.invite(actor, empty.pk, username="boss", role="admin")
    assert [i.pk for i in invitations.list_invitations(actor, empty.pk)] == [issued.invitation.pk]
    with pytest.raises(Forbidden):
        invitations.invite(actor, staffed.pk, username="boss2", role="admin")
    with pytest.raises(NotFound):
        invitations.invite(actor, elsewhere.pk, username="boss3", role="admin")
    boss = User.objects.create_user(username="boss", password=parties.PASSWORD)
    invitations.accept(boss, issued.invitation.pk)
    assert Membership.objects.get(organization=empty, user=boss).role == "admin"
    # Once the organization has its admin, its members are its own business.
    with pytest.raises(Forbidden):
        invitations.invite(actor, empty.pk, username="boss4", role="admin")


def test_a_regulator_invites_the_first_admin_on_the_page(zone: Zone) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    empty = parties.make_org(zone)
    officer = _session(parties.make_member(regulator, "admin").user)
    detail = officer.get(f"/organizations/{empty.pk}/").content.decode()
    assert f"/organizations/{empty.pk}/members/invite/" in detail
    page = officer.post(
        f"/organizations/{empty.pk}/members/invite/", {"email": "boss@example.org", "role": "admin"}
    )
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert re.search(r"/invitations/link/[A-Za-z0-9_-]{40,}/", page.content.decode())
    assert Invitation.objects.filter(organization=empty, role="admin").count() == 1


# --- Pages and CLI --------------------------------------------------------------------------------------


def test_pages_invite_list_and_accept(org: Organization, person: User) -> None:
    admin = _session(parties.make_member(org, "admin").user)
    created = admin.post(
        f"/organizations/{org.pk}/members/invite/", {"username": person.username, "role": "viewer"}
    )
    assert created.status_code == 200 and 'id="invitation-link"' in created.content.decode()
    assert person.username in admin.get(f"/organizations/{org.pk}/").content.decode()
    invitee = _session(person)
    home = invitee.get(
        f"/organizations/{Membership.objects.get(user=person).organization_id}/"
    ).content.decode()
    assert "/invitations/" in home  # reachable from the header
    listing = invitee.get("/invitations/").content.decode()
    assert org.name in listing
    invitation = Invitation.objects.get(organization=org)
    assert invitee.post(f"/invitations/{invitation.pk}/accept/").status_code == 302
    assert Membership.objects.filter(organization=org, user=person, role="viewer").exists()
    assert invitee.post(f"/invitations/{invitation.pk}/nonsense/").status_code == 404


def test_a_person_without_an_organization_lands_on_their_invitations(org: Organization) -> None:
    lonely = User.objects.create_user(username="lonely", password=parties.PASSWORD)
    invitations.invite(
        Actor.system(Zone.objects.get(pk=org.zone_id)), org.pk, username="lonely", role="clerk"
    )
    client = Client()
    client.post("/login/", {"username": "lonely", "password": parties.PASSWORD})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].endswith("/invitations/")
    assert org.name in client.get("/invitations/").content.decode()
    assert lonely.is_authenticated


def test_cli_operator_adds_directly_and_invites_newcomers(
    org: Organization, person: User, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = Zone.objects.get(pk=org.zone_id)
    call_command(
        "org",
        "add-member",
        str(org.pk),
        person.username,
        "--role",
        "clerk",
        "--zone",
        zone.code,
        "--format",
        "json",
    )
    assert json.loads(capsys.readouterr().out)["role"] == "clerk"
    assert Membership.objects.filter(organization=org, user=person, role="clerk").exists()
    call_command(
        "org", "add-member", str(org.pk), "newcomer", "--email", "n@example.org", "--zone", zone.code
    )
    out = capsys.readouterr().out
    assert "/invitations/link/" in out and "no mail" in out
    assert not User.objects.filter(username="newcomer").exists()


def test_cli_person_answers_invitations(
    org: Organization, person: User, capsys: pytest.CaptureFixture[str]
) -> None:
    zone = Zone.objects.get(pk=org.zone_id)
    admin = parties.make_member(org, "admin")
    call_command(
        "org",
        "invite",
        str(org.pk),
        "--username",
        person.username,
        "--role",
        "signer",
        "--as",
        admin.user.username,
        "--zone",
        zone.code,
        "--format",
        "json",
    )
    invited = json.loads(capsys.readouterr().out)
    assert invited["status"] == "pending" and invited["accept_path"].startswith("/invitations/link/")
    call_command("org", "my-invitations", "--user", person.username, "--format", "json")
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [invited["id"]]
    call_command("org", "accept-invitation", str(invited["id"]), "--user", person.username)
    assert Membership.objects.filter(organization=org, user=person, role="signer").exists()
    call_command("org", "invitations", str(org.pk), "--zone", zone.code, "--format", "json")
    assert json.loads(capsys.readouterr().out.splitlines()[-1])[0]["status"] == "accepted"


def test_only_the_operator_adds_members_directly(org: Organization) -> None:
    with pytest.raises(Forbidden):
        services.add_member(parties.actor_of(org), org.pk, username="direct", role="viewer")
