"""PostgreSQL: prefix search (LIKE 'x%') uses a btree only with pattern ops under a non-C collation.
SQLite (the embedded, province-sized setup) scans for prefix searches; exact ID search uses the
keyed-hash index on both."""

from django.db import migrations

INDEXES = [
    ("registry_member_name_like", "registry_member", "name"),
    ("registry_member_pinyin_like", "registry_member", "name_pinyin"),
    ("registry_member_initials_like", "registry_member", "name_initials"),
    ("registry_household_fileno_like", "registry_household", "file_number"),
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)")


def down(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
