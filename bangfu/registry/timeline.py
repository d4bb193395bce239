"""The household timeline: the one place every capability writes what happened to a file."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import Household, TimelineEvent


def timeline_add(
    *, household: Household, actor: Any, kind: str, summary: str = "", data: dict[str, Any] | None = None
) -> TimelineEvent:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return TimelineEvent.objects.create(
        household=household, at=timezone.now(), actor=user, kind=kind, summary=summary[:300], data=data or {}
    )
