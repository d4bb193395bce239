"""The vehicle rule's label says what it raises: a car, not any vehicle (motorcycles, tricycles,
farm vehicles and light trucks are livelihood vehicles). The label only: no row changes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0005_run_summaries_count_own_findings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="finding",
            name="rule",
            field=models.CharField(
                choices=[
                    ("vehicle_owned", "Owns a car (not a livelihood or disability vehicle)"),
                    ("active_company_role", "Holds a role in an active company"),
                    ("homes_over_limit", "Two or more homes above the floor-area limit"),
                    ("recent_home_purchase", "Bought a home within the last year"),
                    ("death_record", "Death record"),
                    ("income_discrepancy", "Income far above the declared income"),
                    ("on_dibao", "Already on dibao (refer)"),
                ],
                max_length=32,
                verbose_name="rule",
            ),
        ),
    ]
