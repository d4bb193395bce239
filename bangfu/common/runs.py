"""One background run of a union at a time: what the recheck (``matching``) and the recompute
(``eligibility``) share. Each keeps its own table and its own sentence; the refusal, the limit
after which a run that stopped with its process is given up, and the marking of such runs are
one piece of code here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import DomainError, ErrorCode

# A run still running (or, never taken by a worker, still queued) this long after it started has
# lost the process that ran it: a province's recheck or recompute takes seconds to minutes.
RUN_STALE_AFTER = dt.timedelta(hours=12)


def stale_hours() -> int:
    return int(RUN_STALE_AFTER.total_seconds() // 3600)


def fail_stale(runs: QuerySet[Any], *, running: str, queued: str, failed: str, error: str) -> int:
    """Mark failed the runs of ``runs`` that a stopped process left running or queued for longer
    than ``RUN_STALE_AFTER``, with ``error``; returns how many."""
    now = timezone.now()
    before = now - RUN_STALE_AFTER
    return runs.filter(Q(status=running, started_at__lt=before) | Q(status=queued, created_at__lt=before)).update(
        status=failed, finished_at=now, error=error
    )


def refused_under_way(run: Any, sentence: str) -> DomainError:
    """409 naming the run of the same union already queued or running: which, who, since when.
    ``sentence`` is the caller's words, with ``%(unit)s``, ``%(run)s``, ``%(who)s``, ``%(when)s``
    and ``%(hours)s``."""
    by = run.started_by
    who = (by.get_full_name() or by.username) if by is not None else _("the system")
    when = timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M")
    return DomainError(
        ErrorCode.RUN_UNDER_WAY,
        sentence % {"unit": run.unit.name, "run": run.pk, "who": who, "when": when, "hours": stale_hours()},
        {
            "run_id": run.pk,
            "status": run.status,
            "started_by": by.username if by is not None else None,
            "created_at": run.created_at.isoformat(),
        },
    )
