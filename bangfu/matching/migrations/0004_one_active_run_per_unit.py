"""One recheck of a union at a time: at most one run of a union queued or running. Runs already
queued twice for a union keep the first; the later ones are marked failed, saying why."""

from typing import Any

from django.db import migrations, models
from django.utils import timezone
from django.utils.translation import gettext as _


def settle_duplicates(apps: Any, schema_editor: Any) -> None:
    MatchRun = apps.get_model("matching", "MatchRun")
    first: dict[int, int] = {}
    later: list[int] = []
    for pk, unit_id in (
        MatchRun.objects.filter(status__in=["queued", "running"]).order_by("pk").values_list("pk", "unit_id")
    ):
        if unit_id in first:
            later.append(pk)
        else:
            first[unit_id] = pk
    MatchRun.objects.filter(pk__in=later).update(
        status="failed",
        finished_at=timezone.now(),
        error=_("Not run: another run of the same union was already queued or running."),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0003_dataset_rows_skipped"),
    ]

    operations = [
        migrations.RunPython(settle_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="matchrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("unit",),
                name="matching_one_active_run_per_unit",
            ),
        ),
    ]
