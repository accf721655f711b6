"""Every page, and every form on it, fed junk (issue 16, item 3): a page may refuse a value — a form
error, 400, 403, 404 — but never fail with a 5xx. The pages come from the URL conf and the fields from
the forms each page shows, so a new page or a new field is walked without editing this file."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from zerowaste.core.tests.test_role_walk import walk  # noqa: F401 - the module's zone, as a fixture
from zerowaste.testing import isolation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# What people type into a period, a date, a number or a name (the item's own examples first).
JUNK = ("202101", "2021-13", "21-01", "一月", "", "-1", "99999999999999999999", "9999-12-31", "1e309", "<b>x")
KEEP = {"csrfmiddlewaretoken"}
SKIPPED_ACTIONS = {"/logout/", "/i18n/setlang/"}  # the walk stays logged in, in one language


class Forms(HTMLParser):
    """The forms of a page: method, action and the names of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "method": (values.get("method") or "get").lower(),
                    "action": values.get("action"),
                    "fields": {},
                }
            )
        elif tag in ("input", "select", "textarea") and self.forms and values.get("name"):
            if values.get("type") in ("submit", "button", "file", "image", "reset"):
                return
            self.forms[-1]["fields"][values["name"]] = values.get("value") or ""


def forms_of(body: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(body)
    return parser.forms


def _submissions(path: str, form: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    target = form["action"] or path
    if not target.startswith("/") or target in SKIPPED_ACTIONS:
        return
    for junk in JUNK:
        data = {name: (value if name in KEEP else junk) for name, value in form["fields"].items()}
        yield form["method"], target, data


def data_junk(data: dict[str, str]) -> str:
    return next((v for k, v in data.items() if k not in KEEP), "")


@pytest.mark.parametrize("role", ["zone_regulator", "producer"])
def test_no_page_or_form_fails_on_junk(role: str, walk: isolation.RoleWalk) -> None:  # noqa: F811
    session: Client = walk.credentials(role)[0].client
    session.raise_request_exception = False
    problems: list[str] = []
    sent = 0
    for page in isolation.pages():
        path = isolation.fill_page(page, walk.targets["own"], walk.params)
        if path is None:
            continue
        response = session.get(path)
        if response.status_code >= 500:
            problems.append(f"GET {path}: {response.status_code}")
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        found = forms_of(response.content.decode("utf-8", errors="replace"))
        for form in found:
            for method, target, data in _submissions(path, form):
                with transaction.atomic():  # each submission starts from the same zone
                    answer = session.post(target, data) if method == "post" else session.get(target, data)
                    transaction.set_rollback(True)
                sent += 1
                if answer.status_code >= 500:
                    problems.append(f"{method.upper()} {target} fields {sorted(data)} = {data_junk(data)!r}")
    print(f"junk as {role}: {sent} form submissions")
    assert sent > 100, f"too few forms walked as {role}: {sent}"
    assert not problems, "\n".join(sorted(set(problems)))
