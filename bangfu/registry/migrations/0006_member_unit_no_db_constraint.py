"""A member's union is a copy of its household's: no foreign key in the database for it.

The household's own foreign key already holds the union (and keeps it from being deleted while a
household is in it); the copy's key was checked again for every member written, about a tenth of
a bulk import's database time. Django keeps the relation (and its PROTECT).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0001_initial"),
        ("registry", "0005_member_fewer_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="member",
            name="unit",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.orgunit",
            ),
        ),
    ]
