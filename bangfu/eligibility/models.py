"""Standards, rule-set versions, decisions and recompute runs of identification.

Standards and rule sets are never edited in place: a change adds a new version row and marks the
previous one not current, so every stored decision can name exactly what it used.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from bangfu.org.models import OrgUnit
from bangfu.registry.models import Household, money_field

# The household timeline's events that identification writes, with their labels for the household page.
TIMELINE_KINDS = {
    "eligibility_decided": _("Identification"),
    "eligibility_override": _("Identification override"),
}


class DecisionCategory(models.TextChoices):
    DEEP = "deep", _("Deep hardship")
    RELATIVE = "relative", _("Relative hardship")
    ACCIDENT = "accident", _("Hardship by accident")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    CANNOT_DECIDE = "cannot_decide", _("Cannot decide")
    LEGACY_DIBAO = "legacy_dibao", _("Dibao household (pre-2018)")
    LEGACY_DIBAO_EDGE = "legacy_dibao_edge", _("Near-dibao household (pre-2018)")
    LEGACY_ACCIDENT = "legacy_accident", _("Accident household (pre-2018)")


class Standard(models.Model):
    """One version of a division's standard for a year (dibao, minimum wage, housing, income)."""

    division_code = models.CharField(_("division code"), max_length=6)
    year = models.PositiveSmallIntegerField(_("year"))
    version = models.PositiveIntegerField(_("version"), default=1)
    is_current = models.BooleanField(default=True)
    dibao_monthly = money_field(_("urban dibao per month"))
    minimum_wage_monthly = money_field(_("minimum wage per month"))
    housing_area_per_head = models.DecimalField(
        _("housing standard per head (m²)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    disposable_income_per_head_last_year = money_field(
        _("last year's disposable income per head"), null=True, blank=True
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("standard")
        verbose_name_plural = _("standards")
        ordering = ["division_code", "year", "version"]
        constraints = [
            models.UniqueConstraint(fields=["division_code", "year", "version"], name="elig_standard_version"),
            models.UniqueConstraint(
                fields=["division_code", "year"], condition=models.Q(is_current=True), name="elig_standard_current"
            ),
            models.CheckConstraint(condition=models.Q(dibao_monthly__gt=0), name="elig_standard_dibao_positive"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.division_code}/{self.year}/v{self.version}"


class RuleSetVersion(models.Model):
    """A published rule set for a region ("" = the national default), parameters as JSON."""

    region_code = models.CharField(_("division code"), max_length=6, blank=True)
    version = models.PositiveIntegerField(_("version"))
    is_current = models.BooleanField(default=True)
    params = models.JSONField(_("parameters"), default=dict)
    note = models.CharField(_("note"), max_length=200, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ["region_code", "version"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "version"], name="elig_ruleset_version"),
            models.UniqueConstraint(
                fields=["region_code"], condition=models.Q(is_current=True), name="elig_ruleset_current"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.region_code or 'national'}/v{self.version}"


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecomputeRun(models.Model):
    """One bulk recompute of a subtree: progress for the page that started it, and its report."""

    scope_path = "unit__path"

    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("union"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("households"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    changed = models.PositiveIntegerField(_("category changed"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("recompute run")
        verbose_name_plural = _("recompute runs")
        ordering = ["-id"]
        constraints = [
            # One recompute of a union at a time (``recompute.recompute_start``), held by the
            # database against requests truly at once.
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(status__in=["queued", "running"]),
                name="eligibility_one_active_recompute_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status} {self.done}/{self.total}"


class OverrideStatus(models.TextChoices):
    NONE = "", _("None")
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # Closed without a second person's decision: an application's approval settled the category
    # while it waited (``services.decision_override_supersede``).
    SUPERSEDED = "superseded", _("Superseded by an approval")


# The override columns of a decision, in the order both recompute paths read and write them.
OVERRIDE_FIELDS = (
    "override_status",
    "overridden_category",
    "override_reason",
    "override_by_id",
    "override_at",
    "override_approved_by_id",
    "override_approved_at",
    "override_replaces",
)
# The overrides a new decision carries over from the one it replaces (a rejected one is over).
CARRIED_OVERRIDES = frozenset({OverrideStatus.PENDING.value, OverrideStatus.APPROVED.value})


def override_holds(status: str | None, previous_category: str | None, category: str) -> bool:
    """Whether a new decision of computed ``category`` carries over the override of the decision it
    replaces (whose override status and computed category are given).

    An override holds while the computed decision it overrode stays the same: an approved or
    pending override is carried to the new decision, with its maker, reason and approval, as long
    as the new computed category equals the replaced decision's computed category; when the
    computed category changes the override lapses (the facts or rules it answered have changed,
    so a person must look again). A rejected override is never carried."""
    return status in CARRIED_OVERRIDES and previous_category == category


class DecisionManager(models.Manager["EligibilityDecision"]):
    """Every query of decisions says whether each one is its household's current decision (none
    newer), so ``filter(is_current=True)`` and ``d.is_current`` read as if it were a column."""

    def get_queryset(self) -> models.QuerySet[EligibilityDecision]:
        newer = EligibilityDecision._base_manager.filter(household_id=OuterRef("household_id"), pk__gt=OuterRef("pk"))
        # The annotation sets the model's ``is_current`` property (mypy's Django plugin takes it for
        # a second attribute of that name).
        return super().get_queryset().annotate(is_current=~Exists(newer))  # type: ignore[no-redef]

    def current(self) -> models.QuerySet[EligibilityDecision]:
        """The current decisions (mypy's Django plugin cannot see the annotation ``is_current``, so
        code checked by it filters through here)."""
        return self.get_queryset().filter(is_current=True)  # type: ignore[misc]


class EligibilityDecision(models.Model):
    """A decision with its reasons; the household's newest one is current, older ones are history.

    History is append-only: a new decision is never written over an old one, and "current" is not
    stored but read (the household's decision with the highest id, ``is_current``), so a household
    has exactly one current decision by construction and a recompute of a million households
    inserts its decisions without rewriting the million it replaces. Overrides are set on the
    current decision (maker-checker, ``services``), and a new decision carries the override of the
    one it replaces while its computed category is the same (``override_holds``)."""

    scope_path = "household__unit__path"

    # Bulk recomputes write a million rows: no index is kept that another one already covers
    # (household → the (household, decided_at) index; run → (run, category)); the user columns are
    # read only through their decision, and users are deactivated rather than deleted. Decisions
    # are written only by this app for households it has just read, and deleted with them by
    # Django (CASCADE): a database constraint would lock every household row once per decision.
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="decisions", db_index=False, db_constraint=False
    )
    category = models.CharField(_("category"), max_length=24, choices=DecisionCategory.choices)
    income_category = models.CharField(_("category by income alone"), max_length=24, choices=DecisionCategory.choices)
    previous_category = models.CharField(
        _("previous category"), max_length=24, choices=DecisionCategory.choices, blank=True
    )
    is_migrant_worker = models.BooleanField(_("migrant worker household"), default=False)
    net_income_per_head_monthly = money_field(_("monthly net income per head"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list)
    disqualifiers = models.JSONField(_("disqualifiers"), default=list, blank=True)
    exit_months_above = models.PositiveSmallIntegerField(null=True, blank=True)
    exit_test_met = models.BooleanField(null=True, blank=True)
    standard_version = models.CharField(_("standard version"), max_length=32, blank=True)
    ruleset_version = models.CharField(_("rule set version"), max_length=32, blank=True)
    decided_at = models.DateTimeField(_("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # No database constraint: the run is a label of the batch (SET_NULL is done by Django), and a
    # constraint would check the same run row once per decision written.
    run = models.ForeignKey(
        RecomputeRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions",
        db_index=False,
        db_constraint=False,
    )
    # What the category ladder read besides the dibao lines (``rules.engine.ladder``), the household
    # file's version it was read from and a digest of everything else it depended on (date, minimum
    # wage, housing and income standards, other rule parameters): a what-if that only moves the
    # dibao or the multiples decides such households again from these numbers.
    condition = models.CharField(max_length=16, blank=True, editable=False)
    precondition_ok = models.BooleanField(null=True, blank=True, editable=False)
    accident_by_share = models.BooleanField(null=True, blank=True, editable=False)
    net_after_accident = money_field(_("net income per head after hardship costs"), null=True, blank=True)
    basis = models.CharField(max_length=40, blank=True, editable=False)
    facts_version = models.PositiveIntegerField(null=True, blank=True, editable=False)

    override_status = models.CharField(max_length=16, choices=OverrideStatus.choices, default="", blank=True)
    overridden_category = models.CharField(
        _("category set by a person"), max_length=24, choices=DecisionCategory.choices, blank=True
    )
    override_reason = models.TextField(_("reason for the override"), blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    override_at = models.DateTimeField(null=True, blank=True)
    override_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    override_approved_at = models.DateTimeField(null=True, blank=True)
    # A pending override asked while an approved one was in force: the approved one, as JSON text
    # (category, reason, maker, approver and their times), still in force until the new one is
    # approved, and in force again if it is rejected or withdrawn. Empty otherwise.
    override_replaces = models.TextField(blank=True, default="", editable=False)

    objects = DecisionManager()

    class Meta:
        verbose_name = _("eligibility decision")
        verbose_name_plural = _("eligibility decisions")
        ordering = ["-decided_at", "-id"]
        indexes = [
            # A household's history, and its current decision (the highest id) in one index probe.
            models.Index(fields=["household", "-id"], name="elig_decision_household"),
            models.Index(fields=["run", "category"]),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}:{self.category}"

    @property
    def is_current(self) -> bool:
        """Whether no newer decision of the household exists: read by every query of
        ``objects``; asked again of the database for a decision not loaded by one."""
        known = self.__dict__.get("_is_current")
        if known is not None:
            return bool(known)
        if self.pk is None:
            return True
        return not EligibilityDecision._base_manager.filter(household_id=self.household_id, pk__gt=self.pk).exists()

    @is_current.setter
    def is_current(self, value: bool | None) -> None:
        self.__dict__["_is_current"] = value

    @property
    def effective_category(self) -> str:
        if self.override_status == OverrideStatus.APPROVED and self.overridden_category:
            return self.overridden_category
        replaced = self.replaced_override
        if self.override_status == OverrideStatus.PENDING and replaced.get("category"):
            return str(replaced["category"])  # the approved override stays until the new one is approved
        return self.category

    @property
    def replaced_override(self) -> dict[str, Any]:
        """The approved override a pending one would replace (``override_replaces``), or {}."""
        if not self.override_replaces:
            return {}
        try:
            value = json.loads(self.override_replaces)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def replaced_category_label(self) -> str:
        value = self.replaced_override.get("category")
        return str(DecisionCategory(value).label) if value in DecisionCategory.values else ""
