"""A large upload is only opened in the request (bombs and files over the limits are refused at once)
and checked in the background with progress, then imported when asked (or at once without dry run)."""

from __future__ import annotations

import pytest

from zerowaste.core.errors import Invalid
from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration, ImportJob
from zerowaste.testing import hostile

from .conftest import World
from .test_import import GOOD_ROWS, _csv


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CHECK_BACKGROUND_ROWS", 2)


def test_a_large_dry_run_is_checked_in_the_background(world: World) -> None:
    outcome = services.import_file(
        world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="big.csv", dry_run=True
    )
    assert outcome.background and outcome.result is None
    job = ImportJob.objects.get(pk=outcome.job.pk)  # the tests' immediate backend ran the check
    assert job.status == ImportJob.Status.CHECKED and job.summary["rows"] == 3 and job.percent == 100
    assert not Declaration.objects.exists()
    started = services.start_job(world.clerk, job.pk)
    assert started.job.status == ImportJob.Status.DONE and Declaration.objects.count() == 2


def test_a_large_import_is_checked_and_written_in_the_background(world: World) -> None:
    outcome = services.import_file(
        world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="big.csv", submit=True
    )
    assert outcome.background
    job = ImportJob.objects.get(pk=outcome.job.pk)
    assert job.status == ImportJob.Status.DONE and job.content is None
    assert set(Declaration.objects.values_list("status", flat=True)) == {"submitted"}


def test_a_large_faulty_upload_fails_on_its_job(world: World) -> None:
    rows = [*GOOD_ROWS, "2020-13,,99-01-01,,t,1,0,1,0,0"]
    outcome = services.import_file(
        world.clerk, content=_csv(world, rows).encode(), filename="bad.csv", dry_run=True
    )
    job = ImportJob.objects.get(pk=outcome.job.pk)
    assert job.status == ImportJob.Status.FAILED and job.faults and job.content is None
    assert not Declaration.objects.exists()


def test_a_bomb_is_refused_in_the_request_even_above_the_threshold(world: World) -> None:
    name, content = hostile.zip_bomb(["申报期", "废物代码", "产生量", "期末贮存量"])
    with pytest.raises(Invalid) as refused:
        services.import_file(world.clerk, content=content, filename=name, dry_run=True)
    assert "IMPORT_MAX_COMPRESSION_RATIO" in str(refused.value.errors)
    assert not ImportJob.objects.exists()
