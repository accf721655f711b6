"""The declarations' to-dos on the home pages (ADR 0052): a producer's periods ended and not declared
since its latest declaration, and its returned declarations; a regulator's declarations to review."""

from __future__ import annotations

from datetime import date

from zerowaste.core.home import Todo
from zerowaste.declarations import services, todos

from .conftest import World, line


def _todos(actor, today: date) -> dict[str, Todo]:  # type: ignore[no-untyped-def]
    return {t.key: t for t in todos.todos(actor, today) if t.count}


def test_submitted_returned_and_due(world: World) -> None:
    today = date(2020, 7, 15)
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-03", lines=[line()])
    due = _todos(world.clerk, today)["declarations.due"]
    assert due.count == 3  # April, May and June have ended undeclared; July has not ended
    assert due.items[0].url == "/declarations/new/?stream=isw&period=2020-04"
    assert "declarations.drafts" in _todos(world.clerk, today)

    services.submit(world.clerk, decl.pk)
    review = _todos(world.regulator, today)["declarations.review"]
    assert review.count == 1 and review.items[0].url == f"/declarations/{decl.pk}/"
    assert review.url == "/declarations/?status=submitted"

    services.return_declaration(world.regulator, decl.pk, reason="利用量与台账不符")
    returned = _todos(world.clerk, today)["declarations.returned"]
    assert returned.urgent and returned.items[0].url == f"/declarations/{decl.pk}/edit/"
    assert returned.items[0].note == "利用量与台账不符"
    assert "declarations.review" not in _todos(world.regulator, today)
    assert _todos(world.regulator, today)["declarations.returned"].count == 1
