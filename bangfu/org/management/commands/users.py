"""``bangfu users add --username U --unit CODE --role ROLE [--password P]`` and ``bangfu users list``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand
from bangfu.common.errors import field_errors
from bangfu.org.models import Role, RoleAssignment
from bangfu.org.services import org_unit_by_code, user_add


class Command(TranslatedCommand):
    help = gettext_noop("Provision staff accounts: give a user a role at a union unit.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help=_("create the user if needed and grant a role at a unit"))
        add.add_argument("--username", required=True)
        add.add_argument("--unit", required=True, help=_("unit code, or a division code for a county or higher union"))
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--password", help=_("set this password (default: a random one for a new user)"))
        sub.add_parser("list", help=_("list users with their roles and units"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            rows = RoleAssignment.objects.select_related("user", "unit").order_by("user__username", "unit__path")
            for ra in rows:
                self.stdout.write(f"{ra.user.username}\t{ra.role}\t{ra.unit.code}\t{ra.unit.name}")
            return
        try:
            unit = org_unit_by_code(options["unit"])
            user, password = user_add(
                actor="cli", username=options["username"], unit=unit, role=options["role"], password=options["password"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(m for msgs in field_errors(exc).values() for m in msgs)) from exc
        self.stdout.write(f"{user.username}: {options['role']} @ {unit.name} ({unit.code})")
        if password and not options["password"]:
            self.stdout.write(f"password: {password}")
