"""One background run of a union at a time: what the recheck (``matching``) and the recompute
(``eligibility``) share. Each keeps its own table and its own sentence; the refusal, the limit
after which a run that stopped with its process is given up, the marking of such runs, and what
"a union at a time" covers — the union, the unions above it and those inside it, whose files a
run over it would work on too — are one piece of code here."""

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


def tree_paths(unit: Any) -> list[str]:
    """The materialised paths of ``unit`` and of every union above it (``/1/7/42/`` → ``/1/``,
    ``/1/7/``, ``/1/7/42/``)."""
    parts = [p for p in unit.path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def hold_tree(unit: Any) -> None:
    """Lock the rows of ``unit`` and the unions above it, top first, until the transaction ends:
    two runs whose subtrees overlap share the upper one's row, so the second to start waits for
    the first to be written and then sees it (PostgreSQL; SQLite's writers take turns already)."""
    model = type(unit)
    list(model.objects.select_for_update().filter(path__in=tree_paths(unit)).order_by("path").values_list("pk"))


def overlapping(runs: QuerySet[Any], unit: Any) -> Any:
    """Of ``runs`` (those queued or running), the first over ``unit``, a union above it or one
    inside it: its files and theirs overlap, and two runs over one household decide it twice."""
    return (
        runs.filter(Q(unit__path__in=tree_paths(unit)) | Q(unit__path__startswith=unit.path))
        .select_related("started_by", "unit")
        .order_by("created_at", "pk")
        .first()
    )


def refused_under_way(run: Any, sentence: str) -> DomainError:
    """409 naming the run already queued or running over the union, one above it or one inside
    it: which (and its union), who, since when.
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
