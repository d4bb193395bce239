"""The foreign keys' own indexes where a composite index starts with the same column: every index
is written on every new file and timeline line (an import writes tens of thousands at once).

Dropped, as the composite index answers every look-up they did:

* the household's union: (union, state, category);
* the timeline's household: (household, -at).

Dropped by name: Django's own AlterField would also drop the foreign key and add it again, which
checks every row of the table under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

DROPPED = [
    ("registry_household_unit_id_8afeea5a", "registry_household", "unit_id"),
    ("registry_timelineevent_household_id_9f48b52e", "registry_timelineevent", "household_id"),
]


def forward(apps, schema_editor):
    for name, _table, _column in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def backward(apps, schema_editor):
    for name, table, column in DROPPED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_signin_failure"),
        ("registry", "0009_household_identification_facts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="household",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="households",
                        to="org.orgunit",
                        verbose_name="union",
                    ),
                ),
                migrations.AlterField(
                    model_name="timelineevent",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="timeline",
                        to="registry.household",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
