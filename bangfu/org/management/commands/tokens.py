"""``bangfu tokens create --username U [--name N]``: issue an API bearer token (printed last)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand
from bangfu.org.services import token_create


class Command(TranslatedCommand):
    help = gettext_noop("Issue API tokens (Authorization: Bearer <token>).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help=_("issue a token for a user; the token is printed once, last"))
        create.add_argument("--username", required=True)
        create.add_argument("--name", default="", help=_("what the token is for"))

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['username']!r}; create one with `bangfu users add`.")
        token = token_create(actor="cli", user=user, name=options["name"])
        self.stderr.write(f"Token for {user.get_username()} (store it now; it cannot be shown again):")
        self.stdout.write(token)
