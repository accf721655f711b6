"""The receiver's page (issue 16, item 9): a headed section and one labelled form per decision, no field
asked twice, a red refusal, and a question before each step that signs (运抵, 接收, 拒收)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from zerowaste.core.authz import Actor
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.testing import World, advance

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[2] / "portal" / "static" / "portal"


@dataclass
class Form:
    attrs: dict[str, str]
    heading: str  # the <h2> of the <section> the form sits in ("" when none)
    inputs: list[dict[str, str]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)


class _Page(HTMLParser):
    """Forms with their fields and buttons, labels with their text, section headings."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}  # for= -> text
        self._form: Form | None = None
        self._section_heading: str | None = None
        self._in_h2 = False
        self._label_for: str | None = None
        self._label_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section_heading = ""
        elif tag == "h2" and self._section_heading == "":
            self._in_h2 = True
        elif tag == "form":
            self._form = Form(a, self._section_heading or "")
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea") and self._form and a.get("type") != "hidden":
            self._form.inputs.append(a)
        elif tag == "button" and self._form:
            self._form.buttons.append(a)
        elif tag == "label":
            self._label_for, self._label_text = a.get("for", ""), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section_heading = None
        elif tag == "h2":
            self._in_h2 = False
        elif tag == "form":
            self._form = None
        elif tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = self._label_text.strip()
            self._label_for = None

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self._section_heading = (self._section_heading or "") + data.strip()
        if self._label_for is not None:
            self._label_text += data


def _parse(body: bytes) -> _Page:
    page = _Page()
    page.feed(body.decode())
    return page


def _decisions(page: _Page) -> dict[str, Form]:
    """The page's forms that act on the manifest, by their action (the last part of their URL)."""
    acting = [f for f in page.forms if "/act/" in f.attrs.get("action", "")]
    return {f.attrs["action"].rstrip("/").rsplit("/", 1)[1]: f for f in acting}


def _advanced_to(w: World, state: str = "delivered"):  # type: ignore[no-untyped-def]
    t = services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk})
    return advance(w, t, state)


def _client_of(org) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(parties.make_member(org, "admin").user)
    return client


def test_each_decision_is_one_headed_form_whose_every_field_has_its_own_label(world: World) -> None:
    t = _advanced_to(world)
    page = _parse(_client_of(world.receiver).get(f"/transfers/{t.pk}/receive/").content)
    by_action = _decisions(page)
    assert list(by_action) == ["accept", "refuse"]
    decisions = list(by_action.values())
    assert all(f.heading for f in decisions), "each decision sits in a section under its own heading"
    fields = [i for f in decisions for i in f.inputs]
    for i in fields:
        assert i.get("id") in page.labels, f"the field {i['name']} has no <label for=…>"
    texts = [page.labels[i["id"]] for i in fields]
    assert len(texts) == len(set(texts)), f"a field is asked twice on the page: {texts}"
    names_per_form = [[i["name"] for i in f.inputs] for f in decisions]
    assert all(len(n) == len(set(n)) for n in names_per_form)


def test_the_refusal_is_red_and_every_decision_asks_before_it_signs(world: World) -> None:
    t = _advanced_to(world)
    page = _parse(_client_of(world.receiver).get(f"/transfers/{t.pk}/receive/").content)
    by_action = _decisions(page)
    refuse = next(b for b in by_action["refuse"].buttons if b.get("id") == "refuse")
    assert "danger" in refuse.get("class", "").split()
    assert by_action["refuse"].attrs.get("data-confirm") and by_action["accept"].attrs.get("data-confirm")
    site_js = (STATIC / "site.js").read_text()
    assert "form[data-confirm]" in site_js and "confirm(" in site_js
    css = (STATIC / "site.css").read_text()
    assert "button.danger:not(.link) { background: var(--danger)" in css


def test_delivery_asks_before_it_signs_on_the_phone_page_and_the_manifest(world: World) -> None:
    t = _advanced_to(world, "in_transit")
    carrier = _client_of(world.carrier)
    for path in (f"/transfers/{t.pk}/sign/", f"/transfers/{t.pk}/"):
        page = _parse(carrier.get(path).content)
        deliver = _decisions(page)["deliver"]
        assert deliver.attrs.get("data-confirm"), path


def test_the_one_acceptance_form_accepts_all_or_part(world: World) -> None:
    receiver = _client_of(world.receiver)
    whole, part = _advanced_to(world), _advanced_to(world)
    form = {"received_t": "10", "refused_t": "", "reason": "", "discrepancy_note": "", "back": "receive"}
    assert receiver.post(f"/transfers/{whole.pk}/act/accept/", form).status_code == 302
    assert (
        receiver.post(
            f"/transfers/{part.pk}/act/accept/", {**form, "refused_t": "1", "reason": "包装破损"}
        ).status_code
        == 302
    )
    whole.refresh_from_db()
    part.refresh_from_db()
    assert (whole.state, whole.refused_t) == ("closed", Decimal(0))
    assert (part.state, part.refused_t, part.refusal_reason) == ("closed", Decimal(1), "包装破损")


def test_a_refused_part_without_a_reason_is_an_error_and_writes_nothing(world: World) -> None:
    receiver = _client_of(world.receiver)
    t = _advanced_to(world)
    form = {"received_t": "10", "refused_t": "1", "back": "receive"}
    r = receiver.post(f"/transfers/{t.pk}/act/accept/", form, follow=True)
    t.refresh_from_db()
    assert t.state == "delivered"
    assert r.redirect_chain[-1][0].endswith(f"/transfers/{t.pk}/receive/")
    assert b'<li class="error">' in r.content  # the message names the missing reason


def test_overdue_tags_are_red_not_green() -> None:
    css = (STATIC / "site.css").read_text()
    rule = next(line for line in css.splitlines() if line.startswith(".tag.warn"))
    assert "var(--danger)" in rule and "#e1f0e7" not in rule
