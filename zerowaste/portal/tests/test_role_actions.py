"""A page shows a role only what it may do (issue 16, item 8): crawled as every demo account, every
link a page shows opens (no 403), and every form a page shows is one the role may submit: sent with
the values the page filled in, it is never refused for who the role is — neither answered 403 nor
refused by a `Forbidden` the view turned into a form error. A button the role cannot use is a defect
of the page that shows it; a form may still refuse its values (400, 422, a form error naming the
field) — that is the form working.

The pages, links and forms come from the crawl (`zerowaste.testing.spider`), so a new page or button
is walked without editing this file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.core.errors import DomainError, Forbidden
from zerowaste.testing.spider import demo_account_visits, demo_usernames, logged_in

# With the other walks over the demo's pages on one test process: they share its crawls (spider).
pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.xdist_group("demo-walks")]

# Forms of the page frame every logged-in page carries: they change the session or the language.
FRAME_ACTIONS = {"/logout/", "/i18n/setlang/", "/switch-organization/"}


class _Forms(HTMLParser):
    """The forms of a page and what a browser would send for each as the page filled it in: an
    input's value, a checked box, a select's selected (else first) option, a textarea's text."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        name = values.get("name")
        if tag == "form":
            method = (values.get("method") or "get").lower()
            self.forms.append({"method": method, "action": values.get("action"), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and name:
            kind = values.get("type") or "text"
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            fields[name] = values.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None:
            if self._select not in fields or "selected" in values:
                fields[self._select] = values.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def forms_of(body: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(body)
    return parser.forms


@contextmanager
def _refusals_raised() -> Iterator[list[str]]:
    """The messages of every `Forbidden` raised meanwhile, however the view then answered."""
    raised: list[str] = []
    original = DomainError.__init__

    def recording(self: DomainError, message: str = "", **kwargs: Any) -> None:
        if isinstance(self, Forbidden):
            raised.append(message)
        original(self, message, **kwargs)

    with mock.patch.object(Forbidden, "__init__", recording):
        yield raised


# What each demo account finds waiting on its home page in the demo zone (issue 16 item 8).
LANDS_ON = {
    "regulator": "transfers.review",
    "producer": "declarations.due",
    "carrier": "transfers.pick_up",
    "hw-receiver": "transfers.receive",
    "park": "hazardous.overdue",
}


def _submissions(path: str, body: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for form in forms_of(body):
        target = form["action"] or path.split("?")[0]
        if not target.startswith("/") or target in FRAME_ACTIONS:
            continue
        yield form["method"], target, form["fields"]


def _refusals(client: Client, username: str) -> tuple[list[str], int, int]:
    """What the account was refused: links that answered 403 and forms whose submission did."""
    refused: list[str] = []
    visits = demo_account_visits(username)
    tried: set[tuple[str, str]] = set()
    forms = 0
    for visit in visits:
        if visit.status == 403:
            refused.append(f"link {visit.path} (route {visit.route}): 403")
        if not visit.is_html:
            continue
        for method, target, data in _submissions(visit.path, visit.body):
            key = (method, re.sub(r"/\d+/", "/N/", target))
            if key in tried:  # one submission a form kind: the same button on 50 rows is one button
                continue
            tried.add(key)
            forms += 1
            with transaction.atomic(), _refusals_raised() as raised:  # each starts from the same zone
                answer = client.post(target, data) if method == "post" else client.get(target, data)
                transaction.set_rollback(True)
            if answer.status_code == 403 or raised:
                why = raised[0] if raised else ""
                refused.append(f"form on {visit.path}: {method.upper()} {target}: {answer.status_code} {why}")
    return refused, len(visits), forms


def test_every_link_and_form_a_role_sees_is_one_it_may_use(module_demo: Any) -> None:
    problems: list[str] = []
    for username in demo_usernames():
        client = logged_in(username, DEMO_PASSWORD)
        client.raise_request_exception = False
        home = client.get("/", follow=True).content.decode()
        assert 'id="todos"' in home, f"{username} does not land on its to-dos"
        found = re.findall(r'data-todo="([^"]+)"', home)
        print(username, "to-dos:", found)
        assert LANDS_ON.get(username, "") in [*found, ""], f"{username}'s home lacks {LANDS_ON[username]}"
        refused, pages, forms = _refusals(client, username)
        print(f"{username}: {pages} pages, {forms} forms")
        assert pages > 5, f"{username} reached too few pages: {pages}"
        problems += [f"{username}: {line}" for line in refused]
    assert not problems, "\n".join(problems)


def test_a_viewer_is_offered_no_work_it_cannot_do(module_demo: Any) -> None:
    """A viewer of the park (containers past their limit) and of a producer with exchange proposals
    awaiting an answer reads; it is not handed the clerk's to-dos."""
    from zerowaste.core import home
    from zerowaste.core.authz import actor_for_membership
    from zerowaste.core.models import Membership
    from zerowaste.testing import parties

    for username, key in (("park", "hazardous.overdue"), ("producer", "exchange.proposals")):
        member = Membership.objects.get(user__username=username)
        admin_keys = {t.key for t in home.todos_for(actor_for_membership(member))}
        assert key in admin_keys, f"the demo's {username} has no {key} to test a viewer against"
        viewer = actor_for_membership(parties.make_member(member.organization, "viewer"))
        viewer_keys = {t.key for t in home.todos_for(viewer)}
        assert not {k for k in viewer_keys if k.startswith(("hazardous.", "exchange."))}, viewer_keys
