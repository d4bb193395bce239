"""The shared cache's table (``settings.CACHES``: ``common.cache.DatabaseCache``), created here so
that ``migrate`` is all a new database needs. Django's ``createcachetable`` does the work: it
creates the table of each database cache configured, and skips one that exists."""

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0003_scheduled_run"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop, elidable=False),
    ]
