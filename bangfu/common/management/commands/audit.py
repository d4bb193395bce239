"""``bangfu audit verify``: walk the hash chain; exit 1 naming the first row out of chain."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.audit import audit_verify
from bangfu.common.commands import TranslatedCommand
from bangfu.common.models import AuditEntry


class Command(TranslatedCommand):
    help = gettext_noop("Check the audit log.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help=_("check that no audit row was edited, inserted or deleted"))

    def handle(self, *args: Any, **options: Any) -> None:
        problem = audit_verify()
        if problem is not None:
            self.stderr.write(f"audit log broken at row {problem.seq}: {problem.kind} — {problem.detail}")
            sys.exit(1)
        self.stdout.write(f"audit log intact: {AuditEntry.objects.count()} rows")
