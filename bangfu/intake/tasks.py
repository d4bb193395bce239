"""Background jobs: thin wrappers over the services, safe to run again."""

from __future__ import annotations

from django.tasks import task

from . import imports, reviews


@task()
def import_batch_task(batch_id: int, commit: bool) -> str:
    return str(imports.import_batch_execute(batch_id=batch_id, commit=commit).state)


@task()
def yearly_review_task() -> int:
    """Daily: files due for their yearly review get a review task (once a year each)."""
    return reviews.yearly_review_create()
