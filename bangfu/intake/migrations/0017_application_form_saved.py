"""When an application's form was last saved, and by which staff member (none: by the worker): a
stale draft save's 409 says so beside the draft as saved. A draft never saved since it was made
(version 1) takes its making; the others' last save was not recorded, and stays unknown."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def drafts_as_made(apps, schema_editor):
    Application = apps.get_model("intake", "Application")
    Application.objects.filter(state="draft", version=1).update(
        form_saved_at=models.F("created_at"), form_saved_by=models.F("created_by")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0016_attachment_uploaded_by_removed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="form_saved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="application",
            name="form_saved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(drafts_as_made, migrations.RunPython.noop),
    ]
