"""``bangfu users``: staff accounts and their roles.

    bangfu users add --username U --unit CODE --role ROLE [--password P]
    bangfu users remove-role --username U --unit CODE --role ROLE
    bangfu users deactivate --username U
    bangfu users activate --username U
    bangfu users list

Each change is audit-logged (as done by ``cli``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand, problems_text
from bangfu.org.cli import unit_by_code
from bangfu.org.models import Role, RoleAssignment
from bangfu.org.services import role_remove, user_add, user_by_username, user_set_active

OPTIONS = {"username": "--username", "unit": "--unit", "role": "--role", "password": "--password"}


class Command(TranslatedCommand):
    help = gettext_noop("Provision staff accounts: give a user a role at a union unit.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help=_("create the user if needed and grant a role at a unit"))
        add.add_argument("--username", required=True)
        add.add_argument("--unit", required=True, help=_("unit code, or a division code for a county or higher union"))
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--password", help=_("set this password (default: a random one for a new user)"))
        remove = sub.add_parser("remove-role", help=_("take a role at a unit from a user"))
        remove.add_argument("--username", required=True)
        remove.add_argument(
            "--unit", required=True, help=_("unit code, or a division code for a county or higher union")
        )
        # Checked by the service, which names the roles there are (argparse's "invalid choice" does not).
        remove.add_argument("--role", required=True, help=", ".join(Role.values))
        deactivate = sub.add_parser(
            "deactivate", help=_("stop a user from signing in; ends their sessions and revokes their API tokens")
        )
        deactivate.add_argument("--username", required=True)
        activate = sub.add_parser("activate", help=_("let a deactivated user sign in again"))
        activate.add_argument("--username", required=True)
        sub.add_parser("list", help=_("list users with their roles and units"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            rows = RoleAssignment.objects.select_related("user", "unit").order_by("user__username", "unit__path")
            for ra in rows:
                state = "" if ra.user.is_active else "\t" + _("deactivated")
                self.stdout.write(f"{ra.user.username}\t{ra.role}\t{ra.unit.code}\t{ra.unit.name}{state}")
            # Accounts that hold no role still sign in (and see nothing): listed, so they can be found.
            no_role = _("no role")
            for user in get_user_model().objects.filter(role_assignments__isnull=True).order_by("username"):
                state = "" if user.is_active else "\t" + _("deactivated")
                self.stdout.write(f"{user.username}\t-\t-\t{no_role}{state}")
            return
        try:
            getattr(self, "_" + action.replace("-", "_"))(options)
        except ValidationError as exc:
            # One problem a line, named by its option (a password's rules can give three).
            raise CommandError(problems_text(exc, OPTIONS)) from exc

    def _add(self, options: dict[str, Any]) -> None:
        unit = unit_by_code(options["unit"])
        user, password = user_add(
            actor="command line",
            username=options["username"],
            unit=unit,
            role=options["role"],
            password=options["password"],
        )
        self.stdout.write(
            _("%(username)s holds the role %(role)s at %(unit)s (%(code)s).")
            % {"username": user.username, "role": Role(options["role"]).label, "unit": unit.name, "code": unit.code}
        )
        if password and not options["password"]:
            # Shown once: the new user's random password, to hand over.
            self.stdout.write(_("Password (shown this once): %(password)s") % {"password": password})

    def _remove_role(self, options: dict[str, Any]) -> None:
        user = user_by_username(options["username"])
        unit = unit_by_code(options["unit"])
        role_remove(actor="command line", user=user, unit=unit, role=options["role"])
        left = RoleAssignment.objects.filter(user=user).count()
        self.stdout.write(
            _("%(username)s no longer holds the role %(role)s at %(unit)s (%(code)s); roles left: %(left)d.")
            % {
                "username": user.username,
                "role": Role(options["role"]).label,
                "unit": unit.name,
                "code": unit.code,
                "left": left,
            }
        )

    def _deactivate(self, options: dict[str, Any]) -> None:
        user = user_by_username(options["username"])
        if not user_set_active(actor="command line", user=user, active=False):
            self.stdout.write(_("%(username)s is already deactivated.") % {"username": user.username})
            return
        self.stdout.write(
            _("%(username)s is deactivated: signed out everywhere, API tokens revoked.") % {"username": user.username}
        )

    def _activate(self, options: dict[str, Any]) -> None:
        user = user_by_username(options["username"])
        if not user_set_active(actor="command line", user=user, active=True):
            self.stdout.write(_("%(username)s is already active.") % {"username": user.username})
            return
        self.stdout.write(
            _("%(username)s is active again: they sign in with their password; issue new API tokens if needed.")
            % {"username": user.username}
        )
