"""One error model for services, the API and the UI.

Services raise Django's ``ValidationError`` (field errors, keyed by a dotted path such as
``members.1.id_number``), ``PermissionDenied``, ``Http404`` (out of jurisdiction looks exactly
like "does not exist"), or ``DomainError`` for a broken business rule with a stable code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError


class ErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    DUPLICATE_ACTIVE_FILE = "duplicate_active_file"
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"
    # A recheck or a recompute of a union while another of the same union is queued or running.
    RUN_UNDER_WAY = "run_under_way"


class Refused(PermissionDenied):
    """A refusal that says its own reason (not a permission of the access gate): the API's 403
    and the 403 page show ``said``."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


class DomainError(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Flatten a ValidationError to ``{field_path: [messages]}``; non-field errors under ``__all__``."""
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


class ErrorCollector:
    """Collects field errors while validating a whole input, then raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(dict(self.errors))
