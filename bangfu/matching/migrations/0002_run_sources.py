"""A recheck run keeps what it was checked against (``MatchRun.sources``), so that a run still
says which department data it used after a dataset is purged or deleted. Runs made before this
get it from the datasets they still link to (a dataset deleted before this is gone for them)."""

from typing import Any

from django.db import migrations, models


def fill_sources(apps: Any, schema_editor: Any) -> None:
    MatchRun = apps.get_model("matching", "MatchRun")
    for run in MatchRun.objects.prefetch_related("datasets__unit").iterator(chunk_size=500):
        run.sources = [
            {"id": d.pk, "kind": d.kind, "file_name": d.file_name, "as_of": d.as_of.isoformat(), "unit": d.unit.name}
            for d in sorted(run.datasets.all(), key=lambda d: (d.kind, d.pk))
        ]
        run.save(update_fields=["sources"])


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="matchrun",
            name="sources",
            field=models.JSONField(blank=True, default=list, verbose_name="department data used"),
        ),
        migrations.RunPython(fill_sources, migrations.RunPython.noop),
    ]
