"""Background jobs: thin wrappers over the services, safe to run again."""

from __future__ import annotations

from django.tasks import task

from . import imports, reviews, steps


@task()
def import_batch_task(batch_id: int, commit: bool) -> str:
    return str(imports.import_batch_execute(batch_id=batch_id, commit=commit).state)


@task()
def yearly_review_task() -> int:
    """Daily: files due for their yearly review get a review task (once a year each)."""
    return reviews.yearly_review_create()


@task()
def check_match_task(application_id: int) -> int:
    """The members of an application at the economic check against the department data."""
    app = steps.check_match(application_id=application_id)
    return len((app.check_matches or {}).get("findings", []))
