"""The facts identification read from ``ExtraFacts`` (hardship costs after compensation, private and
public school fees, studying abroad) are the file's own now (registry 0009), where staff record
them: copied onto each household, then the table is dropped."""

from typing import Any

from django.db import migrations


def copy_to_household(apps: Any, schema_editor: Any) -> None:
    ExtraFacts = apps.get_model("eligibility", "ExtraFacts")
    Household = apps.get_model("registry", "Household")
    for e in ExtraFacts.objects.iterator(chunk_size=2000):
        Household.objects.filter(pk=e.household_id).update(
            accident_costs_yearly=e.accident_costs_yearly,
            private_school_fees_yearly=e.private_school_fees_yearly,
            public_school_fees_yearly=e.public_school_fees_yearly,
            studying_abroad_self_funded=e.studying_abroad_self_funded,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0004_override_replaces"),
        ("registry", "0009_household_identification_facts"),
    ]

    operations = [
        migrations.RunPython(copy_to_household, migrations.RunPython.noop),
        migrations.DeleteModel(name="ExtraFacts"),
    ]
