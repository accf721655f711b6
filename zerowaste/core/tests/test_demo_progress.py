"""`zerowaste demo` tells what it does (issue 16, item 11): progress on stderr, a built demo reused."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from zerowaste.core import demo
from zerowaste.core.models import Organization, Zone
from zerowaste.core.progress import StepProgress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_one_line_per_step_with_the_seconds_elapsed() -> None:
    out, clock = io.StringIO(), _Clock()
    progress = StepProgress(out, "demo", tty=False, clock=clock)
    progress.step(0, 4, "core.parties")
    clock.now += 12.5
    progress.step(1, 4, "catalog.load")
    progress.finish("demo zone built")
    assert out.getvalue().splitlines() == [
        "demo:   0% step 1/4 core.parties (0.0 s elapsed)",
        "demo:  25% step 2/4 catalog.load (12.5 s elapsed)",
        "demo: demo zone built (12.5 s)",
    ]


def test_a_terminal_gets_a_bar_redrawn_in_place() -> None:
    out = io.StringIO()
    progress = StepProgress(out, "demo", tty=True, clock=_Clock())
    progress.step(2, 4, "declarations.history")
    assert out.getvalue().startswith("\r\x1b[Kdemo [" + "#" * 15 + "-" * 15 + "]  50% declarations.history")
    assert "\n" not in out.getvalue()
    progress.finish("demo zone built")
    assert out.getvalue().endswith("demo: demo zone built (0.0 s)\n")


@pytest.fixture
def small_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo's parties alone: the command's behaviour without minutes of manifests."""
    monkeypatch.setattr(demo, "_STEPS", [(0, "core.parties", demo.build_parties)])
    yield


def _demo(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_demo_prints_progress_and_a_second_run_reuses_the_built_demo(small_demo: None) -> None:
    out, err = _demo()
    assert "built: " in out and "regulator" in out
    lines = err.splitlines()
    assert lines[0] == "migrate: applying the database migrations (0.0 s elapsed)"
    assert lines[1].startswith("migrate: database up to date (")
    assert lines[2] == "demo:   0% step 1/1 core.parties (0.0 s elapsed)"
    assert lines[-1].startswith("demo: demo zone built (")
    zone = Zone.objects.get(code=demo.DEMO_ZONE_CODE)
    organizations = set(Organization.objects.filter(zone=zone).values_list("pk", flat=True))

    out, err = _demo()
    assert "already built" in out
    assert "demo: the demo zone already exists: reused" in err
    assert "step " not in err  # no step ran
    assert Zone.objects.get().pk == zone.pk
    assert set(Organization.objects.filter(zone=zone).values_list("pk", flat=True)) == organizations

    out, err = _demo("--reset")  # --reset still rebuilds from an empty database
    assert "rebuilt" in out and "step 1/1 core.parties" in err


@pytest.mark.django_db(transaction=True)
def test_demo_is_silent_on_stderr_at_verbosity_0(small_demo: None) -> None:
    err = io.StringIO()
    call_command("demo", "--verbosity", "0", stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""
