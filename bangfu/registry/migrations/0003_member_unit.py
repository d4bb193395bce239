"""Members carry their household's union, so a name search is one index range per unit."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = (
    "UPDATE registry_member SET unit_id = "
    "(SELECT h.unit_id FROM registry_household h WHERE h.id = registry_member.household_id)"
)
PG_INDEXES = [
    ("registry_member_unit_name_like", "name"),
    ("registry_member_unit_pinyin_like", "name_pinyin"),
    ("registry_member_unit_initials_like", "name_initials"),
]


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL)


def pattern_indexes(apps, schema_editor):
    """PostgreSQL: prefix search inside a unit needs pattern ops on the name column."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in PG_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON registry_member (unit_id, {column} varchar_pattern_ops)"
        )


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in PG_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0001_initial"),
        ("registry", "0002_prefix_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.orgunit",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="member",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.orgunit",
            ),
        ),
        migrations.AddIndex(
            model_name="member", index=models.Index(fields=["unit", "name"], name="registry_member_unit_name")
        ),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(fields=["unit", "name_pinyin"], name="registry_member_unit_pinyin"),
        ),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(fields=["unit", "name_initials"], name="registry_member_unit_initials"),
        ),
        migrations.RunPython(pattern_indexes, drop_pattern_indexes),
    ]
