"""One recompute of a union at a time: at most one run of a union queued or running. Runs already
queued twice for a union keep the first; the later ones are marked failed, saying why."""

from typing import Any

from django.db import migrations, models
from django.utils import timezone
from django.utils.translation import gettext as _


def settle_duplicates(apps: Any, schema_editor: Any) -> None:
    RecomputeRun = apps.get_model("eligibility", "RecomputeRun")
    first: dict[int, int] = {}
    later: list[int] = []
    for pk, unit_id in (
        RecomputeRun.objects.filter(status__in=["queued", "running"]).order_by("pk").values_list("pk", "unit_id")
    ):
        if unit_id in first:
            later.append(pk)
        else:
            first[unit_id] = pk
    RecomputeRun.objects.filter(pk__in=later).update(
        status="failed",
        finished_at=timezone.now(),
        error=_("Not run: another run of the same union was already queued or running."),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0005_extra_facts_on_the_file"),
    ]

    operations = [
        migrations.RunPython(settle_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="recomputerun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("unit",),
                name="eligibility_one_active_recompute_per_unit",
            ),
        ),
    ]
