"""Background jobs: thin wrappers over the services, safe to run again."""

from __future__ import annotations

from django.tasks import task

from . import services


@task()
def match_run_task(run_id: int) -> int:
    run = services.match_run_execute(run_id=run_id)
    return run.findings_new


@task()
def purge_expired_datasets_task() -> int:
    return services.purge_expired_datasets()
