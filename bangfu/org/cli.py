"""What the commands share about the union tree: a union named by ``--unit``, found as everywhere
else (its unit code, or a federation's division code) and, when there is none, one message for
every command."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from .models import OrgUnit
from .services import org_unit_by_code


def unit_by_code(code: str) -> OrgUnit:
    """The union of ``code`` (``services.org_unit_by_code``), or a CommandError saying there is none."""
    try:
        return org_unit_by_code(code)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
