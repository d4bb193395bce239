"""Monthly income follow-up records (收入跟踪), read by the exit test."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_member_unit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IncomeRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the month.", verbose_name="month")),
                (
                    "net_income",
                    models.DecimalField(
                        decimal_places=2,
                        help_text="All counted income less rigid expenses, in yuan.",
                        max_digits=12,
                        verbose_name="household net income that month",
                    ),
                ),
                ("members", models.PositiveSmallIntegerField(verbose_name="members sharing it")),
                (
                    "per_head",
                    models.DecimalField(
                        decimal_places=2, editable=False, max_digits=12, verbose_name="net income per head"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("home_visit", "Home visit"),
                            ("phone_call", "Phone call"),
                            ("self_report", "The worker's own report"),
                            ("department_data", "Department data"),
                        ],
                        max_length=16,
                        verbose_name="source",
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="note")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
                (
                    "household",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="income_records",
                        to="registry.household",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "monthly income record",
                "verbose_name_plural": "monthly income records",
                "ordering": ["household_id", "-month"],
                "constraints": [
                    models.UniqueConstraint(fields=("household", "month"), name="registry_income_record_one_a_month"),
                    models.CheckConstraint(
                        condition=models.Q(("net_income__gte", 0)), name="registry_income_record_not_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("members__gte", 1), ("members__lte", 20)),
                        name="registry_income_record_members_1_20",
                    ),
                ],
            },
        ),
    ]
