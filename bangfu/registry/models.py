"""The household file (困难职工档案). See docs/domain-model.md for the field map to the national form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bangfu.org.models import OrgUnit

from . import codes


def money_field(verbose_name: Any, **kwargs: Any) -> models.DecimalField:
    """Money in yuan, fen-exact (Decimal with two places)."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class Household(models.Model):
    scope_path = "unit__path"

    file_number = models.CharField(_("file number"), max_length=24, unique=True)
    # Indexed as the first column of (unit, state, category) (Meta.indexes): no index of its own.
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="households", verbose_name=_("union"), db_index=False
    )
    state = models.CharField(_("state"), max_length=16, choices=codes.FileState.choices, default=codes.FileState.ACTIVE)
    category = models.CharField(_("hardship category"), max_length=24, choices=codes.HardshipCategory.choices)
    is_migrant_worker = models.BooleanField(_("migrant worker household"), default=False)
    tier = models.CharField(_("file tier"), max_length=16, choices=codes.FileTier.choices)
    main_cause = models.PositiveSmallIntegerField(_("main cause"), choices=codes.Cause.choices)
    secondary_causes = models.JSONField(_("secondary causes"), default=list, blank=True)
    cause_note = models.CharField(_("cause details"), max_length=200, blank=True)

    address = models.CharField(_("address"), max_length=200)
    housing_type = models.CharField(_("housing"), max_length=24, choices=codes.HousingType.choices)
    housing_area = models.DecimalField(_("floor area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    medical_insurance = models.CharField(
        _("household medical insurance"), max_length=16, choices=codes.MedicalInsurance.choices, blank=True
    )
    self_reliant = models.BooleanField(_("able to help itself"), default=False)

    # Economy, computed by registry.economy from members, incomes and expenses on every save.
    members_living_together = models.PositiveSmallIntegerField(_("members living together"), default=1)
    head_monthly_income = money_field(_("head's average monthly income"), default=Decimal(0))
    other_income_yearly = money_field(_("other non-wage yearly income"), default=Decimal(0))
    income_yearly = money_field(_("total yearly income"), default=Decimal(0))
    rigid_expense_yearly = money_field(_("yearly rigid expenses"), default=Decimal(0))
    income_per_head_monthly = money_field(_("monthly income per head"), default=Decimal(0))
    net_income_per_head_monthly = money_field(_("monthly net income per head"), default=Decimal(0), db_index=True)
    zero_employment = models.BooleanField(_("zero-employment household"), default=False)
    # Facts identification reads beyond incomes and rigid expenses (staff record them on the file):
    # the accident test, and the private-school and studying-abroad disqualifiers.
    accident_costs_yearly = money_field(
        _("hardship costs this year after compensation and insurance"), default=Decimal(0)
    )
    private_school_fees_yearly = money_field(_("private school fees per year"), default=Decimal(0))
    public_school_fees_yearly = money_field(_("public school fees per year"), default=Decimal(0))
    studying_abroad_self_funded = models.BooleanField(_("a child studies abroad at own expense"), default=False)

    # Sign-off (who filed, reviewed and entered the file).
    filed_on = models.DateField(_("date filed"), null=True, blank=True)
    filed_by_name = models.CharField(_("filed by"), max_length=50, blank=True)
    reviewed_by_name = models.CharField(_("reviewed by"), max_length=50, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("household file")
        verbose_name_plural = _("household files")
        indexes = [
            models.Index(fields=["unit", "state", "category"]),
            models.Index(fields=["state", "category"]),
            models.Index(fields=["main_cause"]),
        ]

    def __str__(self) -> str:
        return self.file_number


class Member(models.Model):
    """A person of the household; the head is a member with relationship ``head``."""

    scope_path = "household__unit__path"

    # Indexed by the (household, ID) unique constraint.
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members", db_index=False)
    # The household's union, copied here (kept in step by the registry services and bulk loaders) so
    # that a name search runs on one index scoped to the jurisdiction: (unit, name prefix).
    # No foreign key in the database (migration 0006): the household's own key already holds its
    # union (and keeps it from being deleted), and checking the copy again for every member written
    # cost about a tenth of a bulk import's database time. Django's PROTECT still applies.
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False, editable=False, db_constraint=False
    )
    position = models.PositiveSmallIntegerField(default=0)
    relationship = models.CharField(_("relationship to head"), max_length=16, choices=codes.Relationship.choices)
    name = models.CharField(_("name"), max_length=60)
    # Searched by prefix: indexed with the union (Meta.indexes) and, on PostgreSQL, alone
    # (migration 0002); not with plain indexes, which a prefix search cannot use there.
    name_pinyin = models.CharField(max_length=240, editable=False)
    name_initials = models.CharField(max_length=60, editable=False)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, choices=codes.Ethnicity.choices)
    sex = models.CharField(_("sex"), max_length=1, choices=codes.Sex.choices)
    birth_date = models.DateField(_("birth date"))
    # The ID number: AES-GCM ciphertext, a keyed hash for lookup and uniqueness, and the masked form.
    id_cipher = models.TextField(editable=False)
    id_hash = models.CharField(max_length=32, editable=False)  # indexed in Meta (equality only)
    id_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    on_open_file = models.BooleanField(default=True, editable=False)
    living_together = models.BooleanField(_("lives in the household"), default=True)
    deceased = models.BooleanField(_("deceased"), default=False)

    health = models.CharField(_("health"), max_length=24, choices=codes.Health.choices, default=codes.Health.GOOD)
    disease_note = models.CharField(_("disease or disability details"), max_length=200, blank=True)
    disability_type = models.CharField(
        _("disability type"), max_length=16, choices=codes.DisabilityType.choices, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(
        _("disability grade"), choices=codes.DisabilityGrade.choices, null=True, blank=True
    )
    medical_insurance = models.CharField(
        _("medical insurance"), max_length=16, choices=codes.MedicalInsurance.choices, blank=True
    )
    marital = models.CharField(_("marital status"), max_length=16, choices=codes.Marital.choices, blank=True)
    hukou = models.CharField(_("hukou type"), max_length=20, choices=codes.Hukou.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    identity = models.CharField(_("identity"), max_length=16, choices=codes.Identity.choices, blank=True)
    work_status = models.CharField(_("work status"), max_length=16, choices=codes.WorkStatus.choices, blank=True)
    monthly_income = money_field(_("monthly income"), default=Decimal(0))
    school_level = models.CharField(_("school level"), max_length=16, choices=codes.SchoolLevel.choices, blank=True)
    enrolment_year = models.PositiveSmallIntegerField(_("enrolment year"), null=True, blank=True)
    programme_years = models.PositiveSmallIntegerField(_("programme length (years)"), null=True, blank=True)
    school_or_employer = models.CharField(_("school or employer"), max_length=100, blank=True)

    # Fields of the national form that apply to the head.
    political_status = models.CharField(
        _("political status"), max_length=20, choices=codes.Political.choices, blank=True
    )
    model_worker_level = models.CharField(
        _("model-worker level"), max_length=12, choices=codes.ModelWorkerLevel.choices, blank=True
    )
    work_start_date = models.DateField(_("date started work"), null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    employer = models.CharField(_("employer"), max_length=100, blank=True)
    employer_type = models.CharField(_("employer type"), max_length=20, choices=codes.EmployerType.choices, blank=True)
    enterprise_state = models.CharField(
        _("enterprise state"), max_length=16, choices=codes.EnterpriseState.choices, blank=True
    )
    single_parent = models.BooleanField(_("single parent"), default=False)

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")
        ordering = ["household_id", "position", "id"]
        constraints = [
            # One open file per person, enforced by the database (domain.md §2).
            models.UniqueConstraint(
                fields=["id_hash"], condition=models.Q(on_open_file=True), name="registry_one_open_file_per_person"
            ),
            # One person appears once in a household, and there is one head.
            models.UniqueConstraint(fields=["household", "id_hash"], name="registry_member_once"),
            models.UniqueConstraint(
                fields=["household"], condition=models.Q(relationship="head"), name="registry_one_head"
            ),
        ]
        # Every index here is written on every import and new member (an import's database time is
        # mostly index upkeep), so there is one per kind of look-up. Names are searched by prefix
        # (LIKE 'x%'), which PostgreSQL answers from a btree only with pattern operators under the
        # database's collation; equality uses the same indexes. SQLite ignores the operator classes.
        indexes = [
            models.Index(fields=["id_hash"], name="registry_member_id_hash"),
            # The yearly review finds a worker's file by the head's phone (a sign-in's number):
            # heads only, a third of the members.
            models.Index(fields=["phone"], condition=models.Q(relationship="head"), name="registry_member_head_phone"),
            models.Index(fields=["name"], name="registry_member_name", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["unit", "name"], name="registry_member_unit_name", opclasses=["int8_ops", "varchar_pattern_ops"]
            ),
            models.Index(
                fields=["unit", "name_pinyin"],
                name="registry_member_unit_pinyin",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["unit", "name_initials"],
                name="registry_member_unit_initials",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Income(models.Model):
    """Non-wage income of the household by kind, per year (wages are members' monthly incomes)."""

    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="incomes")
    kind = models.CharField(_("kind"), max_length=24, choices=codes.IncomeKind.choices)
    amount_yearly = money_field(_("amount per year"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("income")
        verbose_name_plural = _("incomes")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_yearly}"


class RigidExpense(models.Model):
    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="rigid_expenses")
    kind = models.CharField(_("kind"), max_length=16, choices=codes.RigidExpenseKind.choices)
    amount_yearly = money_field(_("amount per year"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("rigid expense")
        verbose_name_plural = _("rigid expenses")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_yearly}"


class Home(models.Model):
    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="homes")
    floor_area = models.DecimalField(_("floor area (m²)"), max_digits=8, decimal_places=2)
    acquired_on = models.DateField(_("bought or built on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("home")
        verbose_name_plural = _("homes")

    def __str__(self) -> str:
        return f"{self.floor_area} m²"


class Vehicle(models.Model):
    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="vehicles")
    kind = models.CharField(_("kind"), max_length=16, choices=codes.VehicleKind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self) -> str:
        return self.kind


class BusinessRole(models.Model):
    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="business_roles")
    company = models.CharField(_("company"), max_length=100)
    role = models.CharField(_("role"), max_length=24, choices=codes.BusinessRoleKind.choices)
    company_active = models.BooleanField(_("company active"), default=True)

    class Meta:
        verbose_name = _("business role")
        verbose_name_plural = _("business roles")

    def __str__(self) -> str:
        return f"{self.role} {self.company}"


class BankAccount(models.Model):
    """The account for real-name payments; the card number is stored like an ID number."""

    scope_path = "household__unit__path"

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="bank_account")
    bank = models.CharField(_("bank"), max_length=60)
    branch = models.CharField(_("branch"), max_length=100, blank=True)
    holder_name = models.CharField(_("account holder"), max_length=60)
    card_cipher = models.TextField(editable=False)
    card_hash = models.CharField(max_length=32, db_index=True, editable=False)
    card_masked = models.CharField(_("card number"), max_length=32, editable=False)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")

    def __str__(self) -> str:
        return f"{self.bank} {self.card_masked}"


class IncomeRecordSource(models.TextChoices):
    """How a month's income was learnt on follow-up."""

    HOME_VISIT = "home_visit", _("Home visit")  # 入户走访
    PHONE_CALL = "phone_call", _("Phone call")  # 电话回访
    SELF_REPORT = "self_report", _("The worker's own report")  # 职工自报
    DEPARTMENT_DATA = "department_data", _("Department data")  # 部门数据


class IncomeRecord(models.Model):
    """One month of a household's income, followed up after filing (收入跟踪); the exit test
    (脱困: income per head above the dibao line for several consecutive months) reads these.
    One record per household and month: a correction replaces it (``registry.income_records``),
    the earlier figures staying in the audit log and on the timeline."""

    scope_path = "household__unit__path"

    # Indexed by the (household, month) unique constraint.
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="income_records", db_index=False)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    net_income = money_field(
        _("household net income that month"), help_text=_("All counted income less rigid expenses, in yuan.")
    )
    members = models.PositiveSmallIntegerField(_("members sharing it"))
    per_head = money_field(_("net income per head"), editable=False)
    source = models.CharField(_("source"), max_length=16, choices=IncomeRecordSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("monthly income record")
        verbose_name_plural = _("monthly income records")
        ordering = ["household_id", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["household", "month"], name="registry_income_record_one_a_month"),
            models.CheckConstraint(condition=models.Q(net_income__gte=0), name="registry_income_record_not_negative"),
            models.CheckConstraint(
                condition=models.Q(members__gte=1, members__lte=20), name="registry_income_record_members_1_20"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.net_income}/{self.members}"


class TimelineEvent(models.Model):
    """One line of the household's timeline; every capability writes here (registry.timeline)."""

    scope_path = "household__unit__path"

    # Indexed as the first column of (household, -at) (Meta.indexes): no index of its own.
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("event"), max_length=32)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["household", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.kind}"


class FileNumberSequence(models.Model):
    """The last file number used per prefix (division code + year); locked while a number is taken."""

    prefix = models.CharField(max_length=16, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"
