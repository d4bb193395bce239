"""Start-up of the processes of a parallel recompute. Imports nothing of the project's models: a
spawned process runs this before it unpickles its task, which imports them."""

from __future__ import annotations


def init(database: str) -> None:
    """Set Django up and point it at the parent's database (e.g. a test database)."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.db import connections

    connections["default"].settings_dict["NAME"] = database
