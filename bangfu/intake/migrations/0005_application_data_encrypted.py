"""Application form data (ID numbers, the bank card) encrypted at rest: the column becomes text
holding AES-GCM ciphertext, and the rows already there are encrypted (the field still reads the
JSON text of a row not yet encrypted, so the steps may run in any order)."""

from django.db import migrations

import bangfu.common.fields


def encrypt_rows(apps, schema_editor):
    Application = apps.get_model("intake", "Application")
    for app in Application.objects.only("id", "data").iterator(chunk_size=500):
        Application.objects.filter(pk=app.pk).update(data=app.data)  # read as JSON, written encrypted


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_notice_source"),
    ]

    operations = [
        migrations.AlterField(
            model_name="application",
            name="data",
            field=bangfu.common.fields.EncryptedJSONField(blank=True, default=dict, verbose_name="form data"),
        ),
        migrations.RunPython(encrypt_rows, migrations.RunPython.noop),
    ]
