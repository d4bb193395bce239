"""Three indexes that only cost writes (every import and new file writes them):

* ``registry_household_fileno_like`` (migration 0002, PostgreSQL): the same index as the one Django
  makes for the unique ``file_number`` (``…_file_number_…_like``, ``varchar_pattern_ops``);
* the pattern index Django made for ``BankAccount.card_hash`` (PostgreSQL): a keyed hash is only
  looked up whole, as migration 0005 found for the member's ``id_hash``;
* ``registry_household_id_desc``: the primary key's index, read backwards, gives ``ORDER BY id
  DESC`` the same (on both databases).
"""

from django.db import migrations


def _card_like(apps, schema_editor) -> str:
    model = apps.get_model("registry", "BankAccount")
    return schema_editor._create_index_name(model._meta.db_table, ["card_hash"], suffix="_like")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS registry_household_fileno_like")
    schema_editor.execute(f"DROP INDEX IF EXISTS {_card_like(apps, schema_editor)}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS registry_household_fileno_like ON registry_household (file_number varchar_pattern_ops)"
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {_card_like(apps, schema_editor)} ON registry_bankaccount (card_hash varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_member_unit_no_db_constraint")]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RemoveIndex(model_name="household", name="registry_household_id_desc"),
    ]
