"""A dataset counts the rows of totals and notes at the end of its file (合计, 注：…) that the import
skipped, neither taken nor rejected. Datasets imported before this counted them as rejected: 0."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0002_run_sources"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="rows_skipped",
            field=models.PositiveIntegerField(default=0, verbose_name="rows of totals or notes skipped"),
        ),
    ]
