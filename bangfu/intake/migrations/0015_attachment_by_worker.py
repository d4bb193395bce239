"""Who sent an attachment: the worker may take a file they sent off their draft again, never one
the union added. The files already there are marked from the audit log, whose entry of each upload
names the worker (``applicant:…``) or the staff user who sent it."""

from django.db import migrations, models


def mark_the_workers_files(apps, schema_editor):
    AuditEntry = apps.get_model("common", "AuditEntry")
    Attachment = apps.get_model("intake", "Attachment")
    entries = AuditEntry.objects.filter(
        target_type="intake.application", actor__isnull=True, actor_label__startswith="applicant:"
    ).values_list("after", flat=True)
    sent = set()
    for after in entries.iterator(chunk_size=2000):
        if isinstance(after, dict) and after.get("action") == "attachment" and isinstance(after.get("attachment"), int):
            sent.add(after["attachment"])
    ids = sorted(sent)
    for start in range(0, len(ids), 500):
        Attachment.objects.filter(pk__in=ids[start : start + 500]).update(by_worker=True)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0001_initial"),
        ("intake", "0014_import_batch_notes"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="by_worker",
            field=models.BooleanField(default=False, verbose_name="sent by the worker"),
        ),
        migrations.RunPython(mark_the_workers_files, migrations.RunPython.noop),
    ]
