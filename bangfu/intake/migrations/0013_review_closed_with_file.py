"""A yearly review closes with its file (``ReviewState.CLOSED_WITH_FILE``); the unfinished reviews
of files closed before this are closed now."""

from django.db import migrations, models
from django.utils import timezone

OPEN_FILE_STATES = ("active", "temporary", "relieved")  # registry.codes.OPEN_STATES


def close_reviews_of_closed_files(apps, schema_editor):
    task = apps.get_model("intake", "ReviewTask")
    (
        task.objects.filter(state__in=("open", "reported"))
        .exclude(household__state__in=OPEN_FILE_STATES)
        .update(state="closed_with_file", done_at=timezone.now(), note="The file was closed")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0012_review_reported_from"),
        ("registry", "0009_household_identification_facts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewtask",
            name="state",
            field=models.CharField(
                choices=[
                    ("open", "Waiting for the worker"),
                    ("confirmed", "Confirmed unchanged"),
                    ("reported", "Changes reported by the worker"),
                    ("updated", "Updated"),
                    ("closed_with_file", "Closed with the file"),
                ],
                db_index=True,
                default="open",
                max_length=16,
                verbose_name="state",
            ),
        ),
        migrations.RunPython(close_reviews_of_closed_files, migrations.RunPython.noop),
    ]
