"""Each role lands on its work (issue 16 item 8, ADR 0052): `/` shows an organization its to-dos, each a
link to the page where it is done, and a regulator's home is the cockpit with its to-dos on top. A
hazardous manifest's life moves the to-do from party to party."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from zerowaste.core import home
from zerowaste.core import services as core_services
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.testing import World, advance, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(zone) -> World:  # type: ignore[no-untyped-def]
    return make_world(zone)


def _client(org: Organization, role: str = "admin") -> Client:
    member = parties.make_member(org, role)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert (
        client.post("/login/", {"username": member.user.username, "password": parties.PASSWORD}).status_code
        == 302
    )
    return client


def _keys(actor: Actor) -> dict[str, home.Todo]:
    return {todo.key: todo for todo in home.todos_for(actor)}


def _todo_links(html: str) -> list[str]:
    section = html.split('id="todos"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'href="([^"]+)"', section)


def test_a_manifest_moves_from_to_do_to_to_do(world: World) -> None:
    w = world
    producer, carrier, receiver, regulator = (
        w.actor(o) for o in (w.producer, w.carrier, w.receiver, w.regulator)
    )
    t = services.create_transfer(producer, data=w.data())
    assert f"/transfers/{t.pk}/" in [i.url for i in _keys(producer)["transfers.drafts"].items]

    t = services.perform(producer, t.pk, "issue")
    assert "transfers.drafts" not in _keys(producer)
    pick_up = _keys(carrier)["transfers.pick_up"]
    assert pick_up.count == 1 and pick_up.items[0].url == f"/transfers/{t.pk}/sign/"
    assert pick_up.items[0].label == t.number

    t = services.perform(
        carrier, t.pk, "pick_up", vehicle_id=w.vehicle.pk, quantity_seen_t="10", driver="张师傅"
    )
    assert "transfers.pick_up" not in _keys(carrier)
    assert _keys(carrier)["transfers.deliver"].items[0].url == f"/transfers/{t.pk}/sign/"

    t = services.perform(carrier, t.pk, "deliver")
    assert "transfers.deliver" not in _keys(carrier)
    assert _keys(receiver)["transfers.receive"].items[0].url == f"/transfers/{t.pk}/receive/"
    assert "transfers.review" not in _keys(regulator)

    services.perform(receiver, t.pk, "accept_part", received_t="10", refused_t="2", reason="包装破损")
    assert "transfers.receive" not in _keys(receiver)
    review = _keys(regulator)["transfers.review"]
    assert review.url == "/transfers/?review=1" and review.items[0].url == f"/transfers/{t.pk}/"

    services.perform(regulator, t.pk, "acknowledge")
    assert "transfers.review" not in _keys(regulator)


def test_home_pages_link_each_to_do_to_where_it_is_done(world: World) -> None:
    w = world
    t = services.create_transfer(w.actor(w.producer), data=w.data(), issue=True)

    page = _client(w.carrier).get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "待提运的联单" in html and str(t.number) in html
    assert f"/transfers/{t.pk}/sign/" in _todo_links(html)
    assert "/transfers/?register=carried&amp;state=issued" in _todo_links(html)

    regulator = _client(w.regulator)
    assert regulator.get("/")["Location"] == "/cockpit/"
    cockpit = regulator.get("/cockpit/").content.decode()
    assert cockpit.index('id="todos"') < cockpit.index('id="kpis"')  # the to-do panel on top

    # every link of the panel opens, for the carrier
    carrier = _client(w.carrier)
    for link in _todo_links(carrier.get("/").content.decode()):
        assert carrier.get(link.replace("&amp;", "&")).status_code == 200, link


def test_an_empty_to_do_list_says_so(zone) -> None:  # type: ignore[no-untyped-def]
    quiet = parties.make_org(zone, roles=("property",))
    html = _client(quiet).get("/").content.decode()
    assert 'id="no-todos"' in html and "暂无待办" in html, html.split("<main>")[1][:1500]


def test_the_review_filter_lists_only_what_awaits_review(world: World) -> None:
    w = world
    reviewed = services.create_transfer(
        Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk}
    )
    reviewed = advance(w, reviewed, "delivered")
    services.perform(
        Actor.system(w.zone), reviewed.pk, "accept_part", received_t="10", refused_t="1", reason="破损"
    )
    quiet = advance(w, services.create_transfer(w.actor(w.producer), data=w.data()), "delivered")
    html = _client(w.regulator).get("/transfers/?review=1").content.decode()
    assert str(reviewed.number) in html and str(quiet.number) not in html


def test_licences_about_to_expire_and_declarations_due(world: World) -> None:
    w = world
    today = timezone.localdate()
    system = Actor.system(w.zone)
    core_services.add_licence(
        system,
        w.carrier.pk,
        kind="discharge",
        number="京排2026-9",
        issuer="北京市生态环境局",
        valid_from=today - timedelta(days=300),
        valid_to=today + timedelta(days=30),
    )
    expiring = _keys_on(w.actor(w.carrier), today)["core.licences_expiring"]
    assert expiring.count == 1 and "京排2026-9" in expiring.items[0].label

    due = _keys_on(w.actor(w.producer), today)["declarations.due"]
    last_month = today.replace(day=1) - timedelta(days=1)
    period = f"{last_month.year}-{last_month.month:02d}"
    assert due.count == 1 and due.items[0].url == f"/declarations/new/?stream=isw&period={period}"


def _keys_on(actor: Actor, today: date) -> dict[str, home.Todo]:
    return {todo.key: todo for todo in home.todos_for(actor, today)}


def test_a_role_is_not_offered_what_it_cannot_do(world: World) -> None:
    w = world
    for org in (w.carrier, w.regulator):  # 新建联单 is for whom sends waste off
        client = _client(org)
        register = client.get("/transfers/").content.decode()
        assert 'id="new-transfer"' not in register and 'id="import-transfers"' not in register
        assert client.get("/transfers/new/").status_code == 403
        assert client.get("/transfers/import/").status_code == 403
    producer = _client(w.producer)
    assert 'id="new-transfer"' in producer.get("/transfers/").content.decode()
    assert producer.get("/transfers/new/").status_code == 200

    # 申报 in the header: for who declares (a producer) or reviews (a regulator), not a recycler
    recycler = _client(parties.make_org(w.zone, roles=("receiver",)))
    assert 'href="/declarations/"' not in recycler.get("/").content.decode()
    assert 'href="/declarations/"' in producer.get("/").content.decode()
    assert 'href="/declarations/"' in _client(w.regulator).get("/organizations/").content.decode()
