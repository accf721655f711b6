"""Uploaded files are not kept forever: a dry run's file is dropped after IMPORT_UPLOAD_RETENTION_HOURS
(the job keeps its summary and says it expired), a finished or rejected job's file at once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from zerowaste.core.errors import Conflict, Invalid
from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration, ImportJob

from .conftest import World
from .test_import import GOOD_ROWS, _csv


def _dry_run(world: World) -> ImportJob:
    outcome = services.import_file(
        world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="d.csv", dry_run=True
    )
    return outcome.job


def test_a_dry_run_file_expires_after_the_retention_time(world: World, settings: object) -> None:
    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24  # type: ignore[attr-defined]
    job = _dry_run(world)
    assert ImportJob.objects.get(pk=job.pk).content is not None
    assert services.purge_uploads(now=timezone.now() + timedelta(hours=23)) == 0
    assert services.purge_uploads(now=timezone.now() + timedelta(hours=25)) == 1
    kept = ImportJob.objects.get(pk=job.pk)
    assert kept.content is None and kept.phase == services.EXPIRED
    assert kept.summary["rows"] == len(GOOD_ROWS)  # what was checked stays visible
    with pytest.raises(Conflict):
        services.start_job(world.clerk, job.pk)
    assert not Declaration.objects.exists()


def test_each_upload_purges_the_expired_ones(world: World) -> None:
    old = _dry_run(world)
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    _dry_run(world)
    assert ImportJob.objects.get(pk=old.pk).content is None
    assert ImportJob.objects.filter(content__isnull=False).count() == 1


def test_a_finished_job_keeps_no_file(world: World) -> None:
    job = _dry_run(world)
    services.start_job(world.clerk, job.pk)
    assert ImportJob.objects.get(pk=job.pk).content is None


def test_a_rejected_job_keeps_no_file(world: World) -> None:
    job = _dry_run(world)
    Declaration.objects.all().delete()
    # Someone declared the same period meanwhile and submitted it: the run fails on its re-check.
    services.import_file(world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="x.csv", submit=True)
    with pytest.raises(Invalid):
        services.run_job(job.pk, actor=world.clerk)
    failed = ImportJob.objects.get(pk=job.pk)
    assert failed.status == ImportJob.Status.FAILED and failed.content is None and failed.faults


def test_the_command_purges(world: World) -> None:
    job = _dry_run(world)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=3))
    out = StringIO()
    call_command("declarations", "purge-uploads", "--format", "json", stdout=out)
    assert '"dropped": 1' in out.getvalue()
    assert ImportJob.objects.get(pk=job.pk).content is None


def test_the_task_purges(world: World) -> None:
    from zerowaste.declarations.tasks import purge_uploads_task

    job = _dry_run(world)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=3))
    result = purge_uploads_task.enqueue()
    assert result.return_value == 1
