"""Background work of declarations: large imports run as a django-tasks task with saved progress."""

from __future__ import annotations

from django_tasks import task

from zerowaste.core.context import origin
from zerowaste.core.errors import Invalid


@task()
def run_import(job_id: int) -> int:
    """Import a checked file in the background; the job row carries progress, faults and the result."""
    from . import services

    with origin("system"):
        try:
            return len(services.run_job(job_id))
        except Invalid:
            return 0  # the faults are saved on the job


@task()
def check_upload(job_id: int) -> int:
    """Check a large upload in the background; the job row carries progress, then its summary or faults."""
    from . import services

    with origin("system"):
        try:
            services.check_job(job_id)
        except Invalid:
            return 0  # the faults are saved on the job
    return 1


@task()
def purge_uploads_task() -> int:
    """Drop the files of expired dry runs and finished imports (see `services.purge_uploads`)."""
    from . import services

    return services.purge_uploads()
