# A household's current decision is its newest one (the highest id): history is append-only, and a
# recompute no longer rewrites the decisions it replaces. On PostgreSQL the partial unique index of
# the old flag may already be gone (0002 dropped it with the household column's index): removing it
# is "DROP INDEX IF EXISTS" there.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0002_decision_ladder_inputs_fewer_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="eligibilitydecision",
            name="elig_one_current_decision",
        ),
        migrations.RemoveIndex(
            model_name="eligibilitydecision",
            name="eligibility_househo_55d991_idx",
        ),
        migrations.AddIndex(
            model_name="eligibilitydecision",
            index=models.Index(fields=["household", "-id"], name="elig_decision_household"),
        ),
        migrations.RemoveField(
            model_name="eligibilitydecision",
            name="is_current",
        ),
    ]
