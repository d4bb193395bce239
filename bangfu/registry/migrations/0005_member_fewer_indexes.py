"""One index per kind of look-up on members: every index is written on every import and new member.

Dropped, as no query needs them:

* the household foreign key's own index: the unique (household, ID) constraint starts with it;
* the plain and the pattern index Django made for ``name_pinyin`` and for ``name_initials``: a
  prefix search uses the pattern indexes of migration 0002 (PostgreSQL) or the (union, …) ones;
* the pattern index Django made for ``id_hash``: a keyed hash is only ever looked up whole (one
  plain index, now named in ``Meta``);
* on PostgreSQL, the plain ``name`` and (union, name / pinyin / initials) indexes, which a prefix
  search cannot use under the database's collation: the pattern indexes of migrations 0002 and
  0003 take their names, so that ``Meta`` describes them (SQLite ignores the operator classes and
  keeps its plain indexes).
"""

from django.db import migrations, models

# Indexes Django made for the fields' ``db_index`` (the same names on both databases; the ``_like``
# ones on PostgreSQL only). Dropped by name: Django's own AlterField would also drop the unique
# indexes of the constraints on the same columns, and rebuild the foreign key.
DROPPED = [
    "registry_member_household_id_a9201d74",
    "registry_member_id_hash_b4057518_like",
    "registry_member_name_pinyin_38e3b9c7",
    "registry_member_name_pinyin_38e3b9c7_like",
    "registry_member_name_initials_80c24fb5",
    "registry_member_name_initials_80c24fb5_like",
]
ID_HASH_OLD, ID_HASH = "registry_member_id_hash_b4057518", "registry_member_id_hash"
RESTORED = [  # what the reverse makes again
    ("registry_member_household_id_a9201d74", "household_id", False),
    ("registry_member_name_pinyin_38e3b9c7", "name_pinyin", False),
    ("registry_member_name_pinyin_38e3b9c7_like", "name_pinyin", True),
    ("registry_member_name_initials_80c24fb5", "name_initials", False),
    ("registry_member_name_initials_80c24fb5_like", "name_initials", True),
    ("registry_member_id_hash_b4057518_like", "id_hash", True),
]
# PostgreSQL: (index named in Meta, the pattern index of 0002/0003 that takes its name, its columns)
ADOPTED = [
    ("registry_member_name", "registry_member_name_like", "name varchar_pattern_ops"),
    ("registry_member_unit_name", "registry_member_unit_name_like", "unit_id, name varchar_pattern_ops"),
    ("registry_member_unit_pinyin", "registry_member_unit_pinyin_like", "unit_id, name_pinyin varchar_pattern_ops"),
    (
        "registry_member_unit_initials",
        "registry_member_unit_initials_like",
        "unit_id, name_initials varchar_pattern_ops",
    ),
]
PATTERN = ["int8_ops", "varchar_pattern_ops"]


def forward(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    if postgres:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {ID_HASH_OLD} RENAME TO {ID_HASH}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {ID_HASH_OLD}")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {ID_HASH} ON registry_member (id_hash)")
    if not postgres:
        return
    for name, like, columns in ADOPTED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {like} RENAME TO {name}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_member ({columns})")


def backward(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        for name, like, columns in ADOPTED:
            plain = columns.replace(" varchar_pattern_ops", "")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {name} RENAME TO {like}")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_member ({plain})")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {ID_HASH} RENAME TO {ID_HASH_OLD}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {ID_HASH}")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {ID_HASH_OLD} ON registry_member (id_hash)")
    for name, column, pattern in RESTORED:
        if pattern and not postgres:
            continue
        ops = " varchar_pattern_ops" if pattern else ""
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON registry_member ({column}{ops})")


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0001_initial"),
        ("registry", "0004_income_record"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="member", name="registry_member_name"),
                migrations.RemoveIndex(model_name="member", name="registry_member_unit_name"),
                migrations.RemoveIndex(model_name="member", name="registry_member_unit_pinyin"),
                migrations.RemoveIndex(model_name="member", name="registry_member_unit_initials"),
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(fields=["name"], name="registry_member_name", opclasses=PATTERN[1:]),
                ),
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(fields=["unit", "name"], name="registry_member_unit_name", opclasses=PATTERN),
                ),
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(
                        fields=["unit", "name_pinyin"], name="registry_member_unit_pinyin", opclasses=PATTERN
                    ),
                ),
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(
                        fields=["unit", "name_initials"], name="registry_member_unit_initials", opclasses=PATTERN
                    ),
                ),
                migrations.AlterField(
                    model_name="member",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="members",
                        to="registry.household",
                    ),
                ),
                migrations.AlterField(
                    model_name="member",
                    name="id_hash",
                    field=models.CharField(editable=False, max_length=32),
                ),
                migrations.AddIndex(
                    model_name="member",
                    index=models.Index(fields=["id_hash"], name="registry_member_id_hash"),
                ),
                migrations.AlterField(
                    model_name="member",
                    name="name_pinyin",
                    field=models.CharField(editable=False, max_length=240),
                ),
                migrations.AlterField(
                    model_name="member",
                    name="name_initials",
                    field=models.CharField(editable=False, max_length=60),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
