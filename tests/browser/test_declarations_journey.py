"""Browser journey: the producer uploads a template with two faulty rows, sees both faults, fixes the
file, uploads again and submits; the regulator accepts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from zerowaste.core.authz import actor_for_user
from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.core.models import User
from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration
from zerowaste.testing import demo_snapshot
from zerowaste.testing.browser import log_in, screenshot

PERIOD = "2021-01"


def _workbook(tmp_path: Path, name: str, rows: list[tuple[str, float, float, float]]) -> Path:
    """The template of the period (from the service, as the page serves it) with the producer's rows."""
    actor = actor_for_user(User.objects.get(username="producer"))
    assert actor is not None
    book = load_workbook(io.BytesIO(services.template_xlsx(actor, stream="isw", period=PERIOD)))
    sheet = book["申报"]
    for r in range(sheet.max_row, 1, -1):
        sheet.delete_rows(r)
    for code, generated, transferred, closing in rows:
        sheet.append(
            [
                actor.organization.uscc if actor.organization else "",
                PERIOD,
                "isw",
                None,
                code,
                None,
                "t",
                0,
                generated,
                None,
                None,
                transferred,
                None,
                closing,
            ]
        )
    path = tmp_path / name
    book.save(path)
    return path


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_producer_imports_and_regulator_accepts(live_server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    demo_snapshot.demo(scale=1)
    base = live_server.url
    faulty = _workbook(
        tmp_path,
        "faulty.xlsx",
        [
            ("99-01-01", 10.5, 10.5, 0),  # fine
            ("99-12-01", 4, 3, 0),  # balance off by 1 t
            ("99-99-99", 1, 1, 0),  # not in the catalog
        ],
    )
    log_in(page, base, "producer", DEMO_PASSWORD)
    page.goto(f"{base}/declarations/import/")
    page.set_input_files("#import-file", str(faulty))
    page.click("#check-file")
    faults = page.locator("#import-faults tbody tr")
    assert faults.count() == 2
    text = page.inner_text("#import-faults")
    assert "[balance]" not in text and "[catalog-code]" not in text and "申报" in text  # words, no rule keys
    screenshot(page, "declarations-1-faults")
    assert not Declaration.objects.filter(period_start="2021-01-01").exists()

    fixed = _workbook(
        tmp_path, "fixed.xlsx", [("99-01-01", 10.5, 10.5, 0), ("99-12-01", 4, 3, 1), ("99-12-03", 1, 1, 0)]
    )
    page.set_input_files("#import-file", str(fixed))
    page.click("#check-file")
    page.wait_for_selector("#check-ok")
    assert page.locator("#import-summary tbody tr").count() == 1
    page.check("#submit-after")
    page.click("#start-import")
    page.wait_for_selector("#declaration-table")
    decl = Declaration.objects.get(
        period_start="2021-01-01", stream="isw", organization__memberships__user__username="producer"
    )
    assert decl.status == "submitted" and decl.lines.count() == 3
    screenshot(page, "declarations-2-submitted")

    page.click("#logout")
    log_in(page, base, "regulator", DEMO_PASSWORD)
    page.goto(f"{base}/declarations/{decl.pk}/")
    page.click("#accept-declaration")
    page.wait_for_selector("#declaration-status[data-status=accepted]")
    decl.refresh_from_db()
    assert decl.status == "accepted"
    screenshot(page, "declarations-3-accepted")
