"""Background jobs of identification: thin, they only call the services."""

from __future__ import annotations

from datetime import date

from django.tasks import task


@task
def recompute_task(run_id: int, on: str) -> None:
    from .recompute import recompute_execute

    recompute_execute(run_id=run_id, on=date.fromisoformat(on))
