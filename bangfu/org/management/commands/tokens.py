"""``bangfu tokens``: API bearer tokens.

    bangfu tokens create --username U [--name N]     the token is printed last, once
    bangfu tokens list [--username U]                 never a token itself: its id, user, name, first characters
    bangfu tokens revoke (--id N | --username U --all)

Issuing and revoking are audit-logged (as done by ``cli``); a revoked token answers 401 from the
next request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand, whole_number
from bangfu.common.errors import field_errors
from bangfu.common.punctuation import mark
from bangfu.org.services import token_create, token_list, token_revoke, user_by_username


def when(at: dt.datetime) -> str:
    """A time as every page shows it: ISO date and 24-hour time, local."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


class Command(TranslatedCommand):
    help = gettext_noop("Issue API tokens (Authorization: Bearer <token>).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help=_("issue a token for a user; the token is printed once, last"))
        create.add_argument("--username", required=True)
        create.add_argument("--name", default="", help=_("what the token is for"))
        listing = sub.add_parser("list", help=_("list tokens (never the token itself)"))
        listing.add_argument("--username", help=_("only this user's tokens"))
        revoke = sub.add_parser("revoke", help=_("revoke a token, or every token of a user"))
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", type=whole_number, help=_("the token's id (see `bangfu tokens list`)"))
        which.add_argument("--username", help=_("the user whose tokens to revoke (with --all)"))
        revoke.add_argument("--all", action="store_true", help=_("every token of --username"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"])(options)
        except ValidationError as exc:
            raise CommandError(mark("semicolon").join(m for msgs in field_errors(exc).values() for m in msgs)) from exc

    def _create(self, options: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                _("No active user named %(username)s; create one with `bangfu users add`.")
                % {"username": options["username"]}
            )
        if not user.is_active:
            raise CommandError(
                _("%(username)s is deactivated: activate the account first (`bangfu users activate`).")
                % {"username": options["username"]}
            )
        token = token_create(actor="command line", user=user, name=options["name"])
        self.stderr.write(
            _("Token for %(username)s (store it now; it cannot be shown again):") % {"username": user.get_username()}
        )
        self.stdout.write(token)

    def _list(self, options: dict[str, Any]) -> None:
        rows = list(token_list(username=options["username"]))
        if not rows:
            self.stderr.write(_("No API tokens."))
            return
        self.stdout.write(
            "\t".join([_("id"), _("user"), _("name"), _("begins with"), _("issued"), _("last used"), _("state")])
        )
        for t in rows:
            if t.revoked_at is not None:
                state = _("revoked %(when)s") % {"when": when(t.revoked_at)}
            elif not t.user.is_active:
                state = _("user deactivated")
            else:
                state = _("in force")
            used = when(t.last_used_at) if t.last_used_at else "—"
            cells = [str(t.pk), t.user.get_username(), t.name or "—", f"{t.prefix}…", when(t.created_at), used, state]
            self.stdout.write("\t".join(cells))

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["id"] is not None:
            if options["all"]:
                raise CommandError(_("--all goes with --username, not with --id."))
            rows = token_revoke(actor="command line", token_id=options["id"])
            if not rows:
                self.stdout.write(_("Token %(id)s was already revoked.") % {"id": options["id"]})
                return
        else:
            if not options["all"]:
                raise CommandError(
                    _("To revoke every token of %(username)s add --all; to revoke one, give --id N.")
                    % {"username": options["username"]}
                )
            rows = token_revoke(actor="command line", user=user_by_username(options["username"]))
        for t in rows:
            self.stdout.write(
                _("Revoked token %(id)s of %(username)s (%(name)s).")
                % {"id": t.pk, "username": t.user.get_username(), "name": t.name or "—"}
            )
        if not rows:
            self.stdout.write(_("%(username)s has no token in force.") % {"username": options["username"]})
