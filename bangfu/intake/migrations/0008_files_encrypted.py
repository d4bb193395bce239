"""Attachments and legacy import workbooks are stored encrypted (``bangfu.common.storage``): no
change to the tables. Files stored before are still read as they are; ``bangfu files encrypt``
encrypts them where they are (docs/deployment.md)."""

from django.db import migrations, models

import bangfu.common.storage


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0007_applicant_login_household_proof"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attachment",
            name="file",
            field=models.FileField(storage=bangfu.common.storage.private_storage, upload_to="intake/%Y/%m/"),
        ),
        migrations.AlterField(
            model_name="importbatch",
            name="file",
            field=models.FileField(storage=bangfu.common.storage.private_storage, upload_to="intake/imports/%Y/%m/"),
        ),
    ]
