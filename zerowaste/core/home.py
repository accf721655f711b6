"""The to-dos of a home page (issue 16 item 8, ADR 0052): what the acting organization has to do now,
each a link to the page where it is done.

Every app that gives an organization work contributes a module `zerowaste.<app>.todos` with one
function `todos(actor, today) -> list[Todo]`, counted by its own services; `todos_for` collects them
in app order (`core.appmodules`). No app reads another app's models for this, and the home page knows
no app: a new app with work to do adds its module and its to-dos appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from zerowaste.core.appmodules import app_modules
from zerowaste.core.authz import Actor

# How many of a to-do's rows the home page names one by one; the rest are behind the list's link.
ITEMS_SHOWN = 5


@dataclass(frozen=True)
class TodoItem:
    """One row of a to-do: a manifest, a declaration, a container — and the page where it is done."""

    label: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Todo:
    key: str  # stable, for tests and page ids: "<app>.<what>"
    title: str  # what to do, in the page's language
    count: int
    url: str  # the list of them, filtered, where they are done
    items: tuple[TodoItem, ...] = ()
    urgent: bool = False  # overdue, expired or refused: shown first, in the warning colour


def todos_for(actor: Actor, today: date | None = None) -> list[Todo]:
    """The actor's to-dos with something to do (count > 0), urgent ones first, then in app order."""
    today = today or timezone.localdate()
    found: list[Todo] = []
    for module in app_modules("todos"):
        found += [todo for todo in module.todos(actor, today) if todo.count > 0]
    return sorted(found, key=lambda todo: not todo.urgent)
