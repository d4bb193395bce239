"""This app's configuration, read from Django settings with defaults (settings read the environment).

* ``BANGFU_INTAKE_NOTICE_DAYS`` — days a public notice stays up (default 7).
* ``BANGFU_INTAKE_LIMIT_DAYS`` — days allowed per step before it shows as overdue, merged over
  ``DEFAULT_LIMIT_DAYS`` (e.g. ``{"home_visit": 5}``). The unit review's days leave out its public
  notice (``selectors._clock``).
* ``BANGFU_INTAKE_CHECK_REQUIRED`` — division codes (or ``"*"``) where a passed economic check is a
  precondition of approval; a county code also covers by its prefecture and province codes.
* ``BANGFU_INTAKE_MESSAGE_BACKENDS`` / ``BANGFU_INTAKE_CODE_SENDER`` — dotted paths of the backends.
* ``BANGFU_INTAKE_MAX_UPLOAD_MB`` — largest attachment (default 10).
* ``BANGFU_INTAKE_IMPORT_MAX_MB``, ``BANGFU_INTAKE_IMPORT_BACKGROUND_KB``, ``BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS``,
  ``BANGFU_INTAKE_IMPORT_STALE_MINUTES``, ``BANGFU_INTAKE_REVIEW_AFTER_DAYS``,
  ``BANGFU_INTAKE_REVIEW_DUE_DAYS``, ``BANGFU_INTAKE_REVIEW_SHOWN_DAYS`` — see the functions below.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULT_LIMIT_DAYS: dict[str, int] = {
    "submitted": 2,
    "first_review": 3,
    "home_visit": 5,
    # From the day the case comes to the step to its review, then from the day after its public
    # notice ends to the report to the higher union: the notice's own days are not counted
    # (``selectors._clock``). It was 12, counting the 7 days of the notice.
    "unit_review": 5,
    "higher_review": 5,
    "economic_check": 20,
    "approval": 5,
    # No limit for an approved case (已建档): it is closed, never overdue (``selectors._limits``).
}


def _get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def notice_days() -> int:
    return int(_get("BANGFU_INTAKE_NOTICE_DAYS", 7))


def limit_days() -> dict[str, int]:
    return {**DEFAULT_LIMIT_DAYS, **dict(_get("BANGFU_INTAKE_LIMIT_DAYS", {}))}


def check_required(division_code: str) -> bool:
    codes = set(_get("BANGFU_INTAKE_CHECK_REQUIRED", ()))
    if "*" in codes:
        return True
    return any(c in codes for c in (division_code, division_code[:4] + "00", division_code[:2] + "0000"))


def message_backends() -> list[str]:
    return list(
        _get(
            "BANGFU_INTAKE_MESSAGE_BACKENDS",
            ["bangfu.intake.messaging.InAppBackend", "bangfu.intake.messaging.LoggingBackend"],
        )
    )


LOG_CODE_SENDER = "bangfu.intake.messaging.LogCodeSender"


def code_sender() -> str | None:
    """The configured sender of login codes; without one, the log's only when ``DEBUG`` is on (a
    code in a production log would let whoever reads the log sign in as the worker): else None,
    and workers are told to apply at the counter."""
    configured = _get("BANGFU_INTAKE_CODE_SENDER", "")
    if configured:
        return str(configured)
    return LOG_CODE_SENDER if settings.DEBUG else None


def max_upload_bytes() -> int:
    return int(_get("BANGFU_INTAKE_MAX_UPLOAD_MB", 10)) * 1024 * 1024


def import_max_bytes() -> int:
    """``BANGFU_INTAKE_IMPORT_MAX_MB`` — largest legacy-import file (default 100)."""
    return int(_get("BANGFU_INTAKE_IMPORT_MAX_MB", 100)) * 1024 * 1024


def import_background_bytes() -> int:
    """``BANGFU_INTAKE_IMPORT_BACKGROUND_KB`` — files larger than this are checked and imported in
    the background (default 256)."""
    return int(_get("BANGFU_INTAKE_IMPORT_BACKGROUND_KB", 256)) * 1024


def import_background_cells() -> int:
    """``BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS`` — a sheet of more cells than this (its rows × its
    widest row) is checked in the background whatever the file's size (default 200,000: about
    7,000 rows of the template's 29 columns)."""
    return int(_get("BANGFU_INTAKE_IMPORT_BACKGROUND_CELLS", 200_000))


def import_stale_minutes() -> int:
    """``BANGFU_INTAKE_IMPORT_STALE_MINUTES`` — a batch checking or importing whose progress has not
    moved for this long, and whose task is not waiting in the queue, has lost its process: it is
    marked failed (default 30; the largest file takes a few minutes)."""
    return int(_get("BANGFU_INTAKE_IMPORT_STALE_MINUTES", 30))


def review_after_days() -> int:
    """``BANGFU_INTAKE_REVIEW_AFTER_DAYS`` — a file comes back for its yearly review this many days
    after it was filed or last reviewed (default 365)."""
    return int(_get("BANGFU_INTAKE_REVIEW_AFTER_DAYS", 365))


def review_due_days() -> int:
    """``BANGFU_INTAKE_REVIEW_DUE_DAYS`` — days the worker and staff have to answer a yearly review:
    it is due this many days after it was made, and counts as overdue only after that (default 30)."""
    return int(_get("BANGFU_INTAKE_REVIEW_DUE_DAYS", 30))


def review_shown_days() -> int:
    """``BANGFU_INTAKE_REVIEW_SHOWN_DAYS`` — days a yearly review the worker answered stays on their
    phone's home page with its outcome (confirmed, applied) after it was closed (default 30)."""
    return int(_get("BANGFU_INTAKE_REVIEW_SHOWN_DAYS", 30))
