"""System checks of the personal-data keys, run by ``bangfu check``, by migrate, by the commands
that start the worker and the scheduler, and when a web process starts (``config/wsgi.py``,
``config/asgi.py``): a key of the wrong form, or not the database's, stops the start with a message
naming its environment variable."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from . import crypto

TAG = "bangfu_keys"


@checks.register(TAG)
def check_key_form(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Each key is 32 bytes in base64 (checked at start, not when a number is first encrypted)."""
    errors: list[checks.CheckMessage] = []
    for number, setting in enumerate(("FIELD_ENCRYPTION_KEY", "FIELD_HASH_KEY"), start=1):
        problem = crypto.key_problem(setting)
        if problem:
            errors.append(checks.Error(problem, id=f"bangfu.E00{number}"))
    return errors


@checks.register(TAG)
def check_keys_match(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The keys in use are the ones the database was made with (``common.keys``). A database that
    cannot be reached is not this check's to report: the command that needs it says so."""
    from .keys import key_mismatches

    try:
        problems = key_mismatches()
    except DatabaseError:
        return []
    ids = {"BANGFU_HASH_KEY": "bangfu.E003", "BANGFU_FIELD_KEY": "bangfu.E004"}
    return [checks.Error(message, id=ids[variable]) for variable, message in problems.items()]


def refuse_to_start() -> None:
    """Raise with every key problem when a web process starts (a WSGI or ASGI server, such as
    granian, runs no system checks of its own)."""
    errors = checks.run_checks(tags=[TAG])
    serious = [e.msg for e in errors if e.is_serious()]
    if serious:
        raise ImproperlyConfigured("\n".join(serious))
