"""Department datasets, match runs, findings and the removal proposals they lead to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from bangfu.org.models import OrgUnit
from bangfu.registry.models import Household, Member

from .engine.rules import Confidence, Rule, Severity
from .engine.schemas import DatasetKind

# The household timeline's events that the cross-department checks write, with their labels.
TIMELINE_KINDS = {
    "finding_confirmed": _("Cross-check finding confirmed"),
    "finding_dismissed": _("Cross-check finding dismissed"),
    "removal_proposed": _("Removal proposed"),
    "worker_notified": _("Worker told"),
}


class Kind(models.TextChoices):
    VEHICLES = DatasetKind.VEHICLES.value, _("Vehicles")
    REAL_ESTATE = DatasetKind.REAL_ESTATE.value, _("Real estate")
    BUSINESS_ROLES = DatasetKind.BUSINESS_ROLES.value, _("Business roles")
    SOCIAL_INSURANCE = DatasetKind.SOCIAL_INSURANCE.value, _("Social insurance")
    HOUSING_FUND = DatasetKind.HOUSING_FUND.value, _("Housing fund")
    HUKOU_DEATH = DatasetKind.HUKOU_DEATH.value, _("Hukou and death records")
    DIBAO_ROLL = DatasetKind.DIBAO_ROLL.value, _("Dibao and extreme-poverty rolls")
    TAX = DatasetKind.TAX.value, _("Tax")


def file_of_kind(kind: str) -> str:
    """A file of a dataset kind, in words that fit a sentence ("a tax file")."""
    words = {
        DatasetKind.VEHICLES.value: _("a vehicle registration file"),
        DatasetKind.REAL_ESTATE.value: _("a real-estate file"),
        DatasetKind.BUSINESS_ROLES.value: _("a business roles file"),
        DatasetKind.SOCIAL_INSURANCE.value: _("a social insurance file"),
        DatasetKind.HOUSING_FUND.value: _("a housing fund file"),
        DatasetKind.HUKOU_DEATH.value: _("a hukou and death records file"),
        DatasetKind.DIBAO_ROLL.value: _("a dibao or extreme-poverty roll"),
        DatasetKind.TAX.value: _("a tax file"),
    }
    return str(words.get(kind, kind))


# The columns of a dataset in words (the import's field names are for the code and the API).
FIELD_LABELS: dict[str, Any] = {
    "id_number": _("ID number"),
    "id_key": _("Keyed hash of the ID number"),
    "name": _("Name"),
    "record_key": pgettext_lazy("a department's record", "Record"),
    "vehicle_type": _("Vehicle type"),
    "area": _("Floor area"),
    "purchase_date": _("Date of purchase"),
    "company": _("Company"),
    "role": _("Role"),
    "company_status": _("Company status"),
    "contribution_base": _("Contribution base"),
    "deposit_base": _("Deposit base"),
    "death_date": _("Date of death"),
    "status": _("Status"),
    "programme": _("Programme"),
    "taxable_income": _("Taxable income"),
}


class RuleChoice(models.TextChoices):
    VEHICLE_OWNED = Rule.VEHICLE_OWNED.value, _("Owns a car (not a livelihood or disability vehicle)")
    ACTIVE_COMPANY_ROLE = Rule.ACTIVE_COMPANY_ROLE.value, _("Holds a role in an active company")
    HOMES_OVER_LIMIT = Rule.HOMES_OVER_LIMIT.value, _("Two or more homes above the floor-area limit")
    RECENT_HOME_PURCHASE = Rule.RECENT_HOME_PURCHASE.value, _("Bought a home within the last year")
    DEATH_RECORD = Rule.DEATH_RECORD.value, _("Death record")
    INCOME_DISCREPANCY = Rule.INCOME_DISCREPANCY.value, _("Income far above the declared income")
    ON_DIBAO = Rule.ON_DIBAO.value, _("Already on dibao (refer)")


# Former labels of the rules, kept in the catalog: the timeline and the audit log keep the words
# a reviewer read when confirming ("Cross-check finding confirmed: <the rule>"), which are read
# again in the reader's language only while the catalog knows them (``common.retranslate``).
FORMER_RULE_LABELS = (gettext_noop("Owns a vehicle that is not a livelihood or disability vehicle"),)


class SeverityChoice(models.TextChoices):
    DISQUALIFYING = Severity.DISQUALIFYING.value, _("Disqualifying")
    REVIEW = Severity.REVIEW.value, _("To review")
    DISCREPANCY = Severity.DISCREPANCY.value, _("Income discrepancy")
    INFO = Severity.INFO.value, _("Information")


class ConfidenceChoice(models.TextChoices):
    HIGH = Confidence.HIGH.value, _("High (ID number and name)")
    LOW = Confidence.LOW.value, _("Lower (ID number only, the name differs)")


class ColumnMapping(models.Model):
    """How one department source names its columns: ``{field: header}``, reused on every import."""

    source = models.CharField(_("source"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    mapping = models.JSONField(_("columns"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")
        constraints = [models.UniqueConstraint(fields=["source", "kind"], name="matching_mapping_once")]

    def __str__(self) -> str:
        return f"{self.source} ({self.kind})"


class Dataset(models.Model):
    """One imported department file; its rows live in a Parquet snapshot (``snapshot``)."""

    scope_path = "unit__path"

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    file_name = models.CharField(_("file"), max_length=200)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("union"))
    as_of = models.DateField(_("as of"))
    retention_days = models.PositiveIntegerField(_("retention (days)"))
    expires_on = models.DateField(_("purged on"), db_index=True)
    snapshot = models.CharField(max_length=200, editable=False)
    rejected_file = models.CharField(max_length=200, blank=True, editable=False)
    mapping = models.JSONField(_("columns"), default=dict)
    rows_total = models.PositiveIntegerField(_("rows read"), default=0)
    rows_taken = models.PositiveIntegerField(_("rows taken"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    rows_duplicate = models.PositiveIntegerField(_("duplicate rows"), default=0)
    # Rows of totals and notes at the end of the file (合计, 注：…): neither taken nor rejected.
    rows_skipped = models.PositiveIntegerField(_("rows of totals or notes skipped"), default=0)
    prehashed = models.BooleanField(_("keyed hashes only"), default=False)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("department dataset")
        verbose_name_plural = _("department datasets")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MatchRun(models.Model):
    """One recheck (回头看) of a subtree against chosen datasets, with progress and a summary."""

    scope_path = "unit__path"

    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("union"))
    datasets = models.ManyToManyField(Dataset, related_name="runs", verbose_name=_("datasets"))
    # What the run was checked against, as it was when it started (``source_of``): kept when a
    # dataset is purged or deleted later, so the run still says what it used.
    sources = models.JSONField(_("department data used"), default=list, blank=True)
    engine = models.CharField(_("engine"), max_length=16, default="duckdb")
    params = models.JSONField(_("rule parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    persons = models.PositiveIntegerField(_("persons checked"), default=0)
    households = models.PositiveIntegerField(_("households checked"), default=0)
    findings_new = models.PositiveIntegerField(_("new findings"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recheck run")
        verbose_name_plural = _("recheck runs")
        ordering = ["-id"]
        constraints = [
            # One recheck of a union at a time (``services.match_run``): three clicks or two
            # people at once queued the same union's work three times. Held by the database, so
            # requests truly at once cannot both pass a check made before the insert.
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(status__in=["queued", "running"]),
                name="matching_one_active_run_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status} {self.progress}%"

    def sources_shown(self) -> list[dict[str, object]]:
        """``sources`` with each kind's label in the reader's language."""
        labels = dict(Kind.choices)
        return [{**s, "kind_label": labels.get(s.get("kind", ""), s.get("kind", ""))} for s in self.sources]


def source_of(dataset: Dataset) -> dict[str, object]:
    """What a run records of a dataset it uses (``MatchRun.sources``)."""
    return {
        "id": dataset.pk,
        "kind": dataset.kind,
        "file_name": dataset.file_name,
        "as_of": dataset.as_of.isoformat(),
        "unit": dataset.unit.name,
    }


class HouseholdCheck(models.Model):
    """When a household file was last cross-checked (for the share of files cross-checked)."""

    scope_path = "household__unit__path"

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="match_check")
    run = models.ForeignKey(MatchRun, on_delete=models.SET_NULL, null=True, related_name="+")
    checked_at = models.DateTimeField(_("cross-checked at"))

    class Meta:
        verbose_name = _("cross-check")
        verbose_name_plural = _("cross-checks")

    def __str__(self) -> str:
        return f"{self.household_id}@{self.checked_at:%Y-%m-%d}"


class FindingStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Finding(models.Model):
    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="findings")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="findings")
    dataset = models.ForeignKey(Dataset, on_delete=models.SET_NULL, null=True, related_name="findings")
    kind = models.CharField(_("department data"), max_length=24, choices=Kind.choices)
    record_key = models.CharField(_("record"), max_length=200)
    rule = models.CharField(_("rule"), max_length=32, choices=RuleChoice.choices)
    severity = models.CharField(_("severity"), max_length=16, choices=SeverityChoice.choices)
    confidence = models.CharField(_("confidence"), max_length=8, choices=ConfidenceChoice.choices)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    run = models.ForeignKey(MatchRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="findings")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-id"]
        constraints = [
            # A rerun never records the same finding twice.
            models.UniqueConstraint(fields=["member", "dataset", "rule", "record_key"], name="matching_finding_once")
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.household_id}/{self.member_id}"


class ProposalStatus(models.TextChoices):
    AWAITING_NOTICE = "awaiting_notice", _("Worker to be told")
    WORKER_NOTIFIED = "worker_notified", _("Worker told")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RemovalProposal(models.Model):
    """A confirmed disqualifying finding proposes removal (退档); the worker is told first."""

    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="removal_proposals")
    finding = models.OneToOneField(Finding, on_delete=models.CASCADE, related_name="removal_proposal")
    status = models.CharField(
        _("status"), max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.AWAITING_NOTICE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    notice_note = models.CharField(_("how the worker was told"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("removal proposal")
        verbose_name_plural = _("removal proposals")

    def __str__(self) -> str:
        return f"{self.household_id} {self.status}"
