"""Staff remove a file the union uploaded by mistake: the file is kept, hidden from the case, with
who removed it, when and why. Who uploaded each staff file decides who may remove it (the uploader
or a colleague of their union); the files already there take their uploader from the audit log,
whose entry of each upload names the staff user who sent it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def name_the_uploaders(apps, schema_editor):
    AuditEntry = apps.get_model("common", "AuditEntry")
    Attachment = apps.get_model("intake", "Attachment")
    entries = AuditEntry.objects.filter(target_type="intake.application", actor__isnull=False).values_list(
        "actor_id", "after"
    )
    by: dict[int, list[int]] = {}
    for actor_id, after in entries.iterator(chunk_size=2000):
        if isinstance(after, dict) and after.get("action") == "attachment" and isinstance(after.get("attachment"), int):
            by.setdefault(actor_id, []).append(after["attachment"])
    for actor_id, ids in by.items():
        ids.sort()
        for start in range(0, len(ids), 500):
            Attachment.objects.filter(pk__in=ids[start : start + 500], by_worker=False).update(uploaded_by_id=actor_id)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0001_initial"),
        ("intake", "0015_attachment_by_worker"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="removed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="removed at"),
        ),
        migrations.AddField(
            model_name="attachment",
            name="removed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="attachment",
            name="removed_reason",
            field=models.CharField(blank=True, max_length=500, verbose_name="reason for the removal"),
        ),
        migrations.AddField(
            model_name="attachment",
            name="uploaded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(name_the_uploaders, migrations.RunPython.noop),
    ]
