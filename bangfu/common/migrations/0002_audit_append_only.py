"""The audit table refuses UPDATE and DELETE at the database level (both PostgreSQL and SQLite)."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION common_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER common_auditentry_no_update BEFORE UPDATE OR DELETE ON common_auditentry
    FOR EACH ROW EXECUTE FUNCTION common_auditentry_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS common_auditentry_no_update ON common_auditentry;
DROP FUNCTION IF EXISTS common_auditentry_append_only();
"""
SQLITE_UP = [
    "CREATE TRIGGER common_auditentry_no_update BEFORE UPDATE ON common_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    "CREATE TRIGGER common_auditentry_no_delete BEFORE DELETE ON common_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS common_auditentry_no_update;",
    "DROP TRIGGER IF EXISTS common_auditentry_no_delete;",
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_UP:
            schema_editor.execute(sql)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DOWN:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("common", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
