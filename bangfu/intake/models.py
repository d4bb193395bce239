"""Applications (申请): the worker's request to open a file, its steps, visits, notices and files.

An application belongs to the grassroots union it was made to (``scope_path``); its form data is
kept as validated JSON in the shape of ``registry.inputs.HouseholdInput`` until approval opens the
file from it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from bangfu.common.fields import EncryptedJSONField
from bangfu.common.storage import private_storage
from bangfu.org.models import OrgUnit
from bangfu.registry.models import Household

# The household timeline's events that intake writes, with their labels for the household page.
TIMELINE_KINDS = {
    "application_approved": _("Application approved"),
    "application_converted": _("Temporary aid made a formal application"),
    "reported_up": _("File reported up"),
    "yearly_review": _("Yearly review"),
}


class ApplicationKind(models.TextChoices):
    FORMAL = "formal", _("Hardship file")  # 建档申请
    TEMPORARY = "temporary", _("Temporary aid")  # 临时救助


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    FIRST_REVIEW = "first_review", _("First review")
    HOME_VISIT = "home_visit", _("Home visit")
    UNIT_REVIEW = "unit_review", _("Unit review and public notice")
    HIGHER_REVIEW = "higher_review", _("Higher review")
    ECONOMIC_CHECK = "economic_check", _("Economic check")
    APPROVAL = "approval", _("Approval")
    FILE_OPENED = "file_opened", _("File opened")
    REPORTED_UP = "reported_up", _("Reported up")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A draft returned to the one who submitted it: the state is still ``draft`` (the transition
# table is ``workflow.py``'s), named apart for whom it waits for.
RETURNED_LABEL = _("Returned for correction")
# A draft made at the counter (by staff) and not submitted yet: the union's own, named apart from
# a returned one in the work queue of who may submit it.
UNSENT_LABEL = _("Draft (not sent)")


class CheckResult(models.TextChoices):
    NONE = "", _("Not requested")
    PENDING = "pending", _("Requested, awaiting the answer")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Not passed")


class Applicant(models.Model):
    """A worker who signs in on the phone with a one-time code; not a staff user."""

    phone = models.CharField(_("phone"), max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    # The sign-in the worker came with (set by ``otp.applicant_from_token``); not a field.
    current_login: ApplicantLogin | None = None

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")

    def __str__(self) -> str:
        return f"applicant:{self.phone[:3]}****{self.phone[-4:]}"


class LoginChannel:
    PAGE = "page"  # the phone pages' session
    API = "api"  # a bearer token


class ApplicantLogin(models.Model):
    """One sign-in of a worker by a code: the phone pages' session or an API token (a mini-program
    keeps it). Only the token's SHA-256 is kept. A sign-in ends when the worker signs out, when the
    number is signed in again (a number is one person's at a time: a recycled number's new holder
    signs the old one out), or when it expires."""

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="logins")
    channel = models.CharField(max_length=8)  # LoginChannel
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.applicant_id}:{self.channel}@{self.created_at:%Y-%m-%d %H:%M}"


# A case the worker started on the phone and never sent (a draft, or one withdrawn before it was
# submitted): the worker's own workspace, which the union does not see. A counter draft (made by
# staff) and a case returned to the worker for correction (it was submitted) are the union's to see.
NEVER_SENT_BY_THE_WORKER = models.Q(applicant__isnull=False, created_by__isnull=True, submitted_at__isnull=True)

# An application's id as the audit log names it (``AuditEntry.target_id`` is text).
AUDIT_KEY = Cast("id", output_field=models.CharField())


class Application(models.Model):
    scope_path = "unit__path"

    kind = models.CharField(_("kind"), max_length=16, choices=ApplicationKind.choices, default=ApplicationKind.FORMAL)
    state = models.CharField(
        _("state"), max_length=20, choices=ApplicationState.choices, default=ApplicationState.DRAFT, db_index=True
    )
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("union"))
    applicant = models.ForeignKey(
        Applicant, on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    # The form as typed (ID numbers and the bank card among it), encrypted at rest.
    data = EncryptedJSONField(_("form data"), default=dict, blank=True)
    # Typed copies for queues and the open-file check (kept in step with ``data`` by the services).
    head_name = models.CharField(_("applicant's name"), max_length=60, blank=True)
    head_id_masked = models.CharField(_("ID number"), max_length=18, blank=True)
    head_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    version = models.PositiveIntegerField(default=1)
    # When the form (``data``) was last saved, and by which staff member (none: by the worker, on
    # the phone or through the worker's API): a stale save's 409 says so. Both empty for a form
    # saved before they were recorded.
    form_saved_at = models.DateTimeField(null=True, blank=True)
    form_saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_since = models.DateTimeField(_("in this step since"))
    authorised_at = models.DateTimeField(_("check authorisation signed at"), null=True, blank=True)
    authorised_ip = models.GenericIPAddressField(null=True, blank=True)
    notice_from = models.DateField(_("public notice from"), null=True, blank=True)
    notice_to = models.DateField(_("public notice until"), null=True, blank=True)
    unit_review_minutes = models.TextField(_("unit review minutes"), blank=True)
    unit_review_on = models.DateField(_("unit review held on"), null=True, blank=True)
    check_result = models.CharField(
        _("economic check"), max_length=16, choices=CheckResult.choices, default=CheckResult.NONE, blank=True
    )
    check_note = models.CharField(_("economic check note"), max_length=500, blank=True)
    check_requested_at = models.DateTimeField(null=True, blank=True)
    check_answered_at = models.DateTimeField(null=True, blank=True)
    # When the decision that closed the case was taken (approved, its file opened; refused;
    # withdrawn: ``workflow.CLOSING``); reporting an approved case up does not move it.
    closed_at = models.DateTimeField(null=True, blank=True)
    # What the system's own cross-check of the household's members against the department datasets
    # found when the check was requested (``matching.services.persons_check``): shown to the staff
    # who record the checking centre's answer.
    check_matches = models.JSONField(_("cross-check of the members"), null=True, blank=True)
    category = models.CharField(_("category"), max_length=24, blank=True)
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    converted_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="conversions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-id"]
        constraints = [
            # A double tap with the same key never makes two applications.
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="intake_application_idempotent",
            )
        ]
        indexes = [
            models.Index(fields=["state", "state_since"]),
            # The cases never sent, by their id as the audit log names them: every reading of the
            # audit log leaves out their entries (``services.drafts_in_audit_log``) by a look-up
            # here, one per entry of an application it reads, or one pass over these cases alone.
            models.Index(AUDIT_KEY, condition=NEVER_SENT_BY_THE_WORKER, name="intake_app_unsent_audit_key"),
            # The closed cases, most recently closed first (``selectors.closed_cases``).
            models.Index(models.F("closed_at").desc(), models.F("id").desc(), name="intake_app_closed_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.head_name} {self.state}"

    @property
    def reference(self) -> str:
        return f"SQ{self.pk:08d}"

    @property
    def returned(self) -> bool:
        """A draft again because it was returned from its first step to whoever submitted it, to
        put right: it waits for them, unlike a draft never sent."""
        return self.state == ApplicationState.DRAFT and self.submitted_at is not None

    @property
    def state_label(self) -> str:
        """The state as the worker's list and the case's page name it: a returned draft is
        "Returned for correction", not "Draft"."""
        return str(RETURNED_LABEL if self.returned else self.get_state_display())


class ApplicationPerson(models.Model):
    """A person of an application that has left its draft, by the keyed hash of the ID number:
    a person is in one case of each kind under way at a time, head or member
    (``services._one_case_per_person``)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="persons")
    id_hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "id_hash"], name="intake_person_once")]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.id_hash[:8]}"


class ApplicationEvent(models.Model):
    """The application's own timeline: every step, return and refusal with its reason."""

    scope_path = "application__unit__path"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    reason = models.CharField(_("reason"), max_length=1000, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.action}"

    @property
    def label(self) -> str:
        if self.action == "convert":  # a formal case made from temporary aid: not a bare "Submitted"
            source = self.application.converted_from_id
            if source is not None:
                return str(_("Made from the temporary aid %(ref)s") % {"ref": Application(pk=source).reference})
            return str(EVENT_LABELS["convert"])
        if self.action == "return" and self.to_state == ApplicationState.DRAFT:
            return str(RETURNED_LABEL)
        if self.to_state and self.to_state != self.from_state and self.to_state in ApplicationState.values:
            return str(ApplicationState(self.to_state).label)
        return str(EVENT_LABELS.get(self.action, self.action))

    @property
    def who(self) -> str:
        """Who acted, for reading: the staff user, "the worker 139****0001", or "the system"."""
        if self.actor_label.startswith("applicant:"):
            return str(_("the worker %(phone)s") % {"phone": self.actor_label.removeprefix("applicant:")})
        return self.actor_label or str(_("the system"))


# Events of the case's history that only staff read: the system's own cross-check of the members
# against department data (``steps.check_match``) is what staff weigh before they record the
# checking centre's answer, not a result; its findings are unreviewed department records (one whose
# name differs may be another person's). The worker reads the check's result and the answer staff
# record (``check_answered``: the result explained to the worker, domain §4), on the phone and in
# the API alike (``selectors.application_events``, ``api._out``).
STAFF_ONLY_EVENTS = frozenset({"check_matched"})

EVENT_LABELS = {
    "create": _("Application started"),
    "visit_recorded": _("Home visit recorded"),
    "unit_reviewed": _("Unit review held; public notice started"),
    "objection": _("Objection received"),
    "objection_answered": _("Objection answered"),
    "check_requested": _("Economic check requested"),
    "check_answered": _("Economic check answered"),
    "check_matched": _("Members cross-checked against department data"),
    "check_overridden": _("Approved although the economic check was not passed"),
    "authorised": _("Authorisation for the economic check signed"),
    "attachment": _("File attached"),
    "attachment_removed": _("File removed"),
    "convert": _("Converted from temporary aid"),
    "converted": _("Made into a formal application"),
    "conversion_withdrawn": _("The worker withdrew the formal application made from it"),
    "conversion_refused": _("The formal application made from it was refused"),
}


class AttachmentKind(models.TextChoices):
    PROOF = "proof", _("Proof")
    VISIT_PHOTO = "visit_photo", _("Home-visit photo")
    MINUTES = "minutes", _("Unit review minutes")
    CHECK_ANSWER = "check_answer", _("Economic check answer")


class Attachment(models.Model):
    scope_path = "application__unit__path"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=16, choices=AttachmentKind.choices, default=AttachmentKind.PROOF)
    name = models.CharField(_("name"), max_length=200)
    file = models.FileField(upload_to="intake/%Y/%m/", storage=private_storage)  # encrypted at rest
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Sent by the worker (on the phone or through the app), not by the union: the worker may take
    # such a file off their draft again (``steps.attachment_remove``), never one the union added.
    by_worker = models.BooleanField(_("sent by the worker"), default=False)
    # The staff user who uploaded it (none for the worker's files, and for staff files whose upload
    # the audit log did not name when the column came, migration intake 0016).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A file the union uploaded by mistake, removed by staff (``steps.attachment_remove_by_staff``):
    # no longer part of the case (not listed, not downloaded from it), but kept, with its stored
    # file, who removed it, when and why, for audit.
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_reason = models.CharField(_("reason for the removal"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class HomeVisit(models.Model):
    """The 一看二问三讲 record: what was seen, asked and explained, and the findings."""

    scope_path = "application__unit__path"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="visits")
    visited_on = models.DateField(_("visited on"))
    visitors = models.CharField(_("visitors"), max_length=200)
    seen = models.TextField(_("seen (the home)"))
    asked = models.TextField(_("asked (living situation)"))
    explained = models.TextField(_("explained (policies)"))
    findings = models.TextField(pgettext_lazy("home visit", "Findings"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.application_id}@{self.visited_on}"


class Objection(models.Model):
    """An objection raised during the public notice, and the answer given."""

    scope_path = "application__unit__path"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="objections")
    received_on = models.DateField(_("received on"))
    text = models.TextField(_("objection"))
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.received_on}"


class Notice(models.Model):
    """An in-app message to a worker (applicant) or a staff user."""

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, null=True, blank=True, related_name="notices")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    text = models.CharField(max_length=1000)  # as sent, in the site's language then
    # The text's English source and its values: shown in the reader's language (``shown``).
    msgid = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.text[:40]

    @property
    def shown(self) -> str:
        """The notice in the active language; as sent when its source is not known (an older
        notice, or a source no longer in the catalogue)."""
        from django.utils.translation import get_language, gettext

        from .services import notice_text

        if not self.msgid:
            return self.text
        translated = gettext(self.msgid) != self.msgid or (get_language() or "").startswith("en")
        try:
            return notice_text(self.msgid, self.params) if translated else self.text
        except (KeyError, ValueError, TypeError):
            return self.text


class OneTimeCode(models.Model):
    """A login code sent to a phone: only its keyed hash is kept; it expires and is used once."""

    phone = models.CharField(max_length=20, db_index=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)  # who asked (rate limit)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.phone[-4:]}@{self.created_at:%H:%M}"


class ImportState(models.TextChoices):
    VALIDATING = "validating", _("Checking the rows")
    VALIDATED = "validated", _("Checked: ready to import")
    COMMITTING = "committing", _("Importing")
    COMMITTED = "committed", _("Imported")
    FAILED = "failed", _("Failed")


class ImportBatch(models.Model):
    """One legacy file (Excel) staged for import into a union's files: kept with its hash, checked
    row by row (its ``issues``), previewed, then committed in one transaction or not at all."""

    scope_path = "unit__path"

    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("union"))
    name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(upload_to="intake/imports/%Y/%m/", storage=private_storage)  # encrypted at rest
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    state = models.CharField(
        _("state"), max_length=16, choices=ImportState.choices, default=ImportState.VALIDATING, db_index=True
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(default=0)
    households_total = models.PositiveIntegerField(_("households"), default=0)
    households_valid = models.PositiveIntegerField(_("valid households"), default=0)
    households_invalid = models.PositiveIntegerField(_("households with errors"), default=0)
    households_existing = models.PositiveIntegerField(_("already on file"), default=0)
    persons_valid = models.PositiveIntegerField(_("valid persons"), default=0)
    households_created = models.PositiveIntegerField(_("files opened"), default=0)
    issues_count = models.PositiveIntegerField(_("errors"), default=0)
    message = models.CharField(_("message"), max_length=1000, blank=True)
    # What the check says of the file as a whole, not of a row (the sheet read, columns left out,
    # totals passed over, rows on file skipped), in the language of the one who uploaded it.
    notes = models.JSONField(_("notes"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    committed_at = models.DateTimeField(null=True, blank=True)
    # The background task checking or writing it (empty when it runs in the request or the command),
    # and when its work last showed it alive (staged, taken by a worker, a step of its progress):
    # ``imports.fail_interrupted`` reads both to find a batch whose process has gone.
    task_id = models.CharField(max_length=64, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.rows_done / self.rows_total)) if self.rows_total else 0

    @property
    def running(self) -> bool:
        return self.state in {ImportState.VALIDATING, ImportState.COMMITTING}

    @property
    def state_label(self) -> str:
        """The state as the import's pages and the API name it: a checked batch with no valid
        household is not "ready to import", and an import that opened no file says so."""
        if self.state == ImportState.VALIDATED and not self.households_valid:
            return str(_("Checked: nothing to import"))
        if self.state == ImportState.COMMITTED and not self.households_created:
            return str(_("Imported: no file opened"))
        return str(self.get_state_display())


class ImportIssue(models.Model):
    """One problem of a staged file: the sheet row, the column and the reason."""

    scope_path = "batch__unit__path"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=40, blank=True)
    file_number = models.CharField(_("file number"), max_length=60, blank=True)
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["batch", "row"])]

    def __str__(self) -> str:
        return f"{self.row}:{self.column}"


class ReviewState(models.TextChoices):
    OPEN = "open", _("Waiting for the worker")
    CONFIRMED = "confirmed", _("Confirmed unchanged")
    REPORTED = "reported", _("Changes reported by the worker")
    UPDATED = "updated", _("Updated")
    CLOSED_WITH_FILE = "closed_with_file", _("Closed with the file")  # the file left assistance first


# The order staff work through yearly reviews in: the workers' reports waiting for them first, then
# the reviews waiting for the worker, then the closed ones (oldest first within each; the index
# below lets a page of a province's hundreds of thousands be read in that order, not sorted).
REVIEW_FIRST = models.Case(
    models.When(state=ReviewState.REPORTED, then=models.Value(0)),
    models.When(state=ReviewState.OPEN, then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)


class ReviewTask(models.Model):
    """The yearly review (年度复核) of a file: due once a year after it was filed or last reviewed."""

    scope_path = "household__unit__path"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="review_tasks")
    year = models.PositiveSmallIntegerField(_("review year"))
    state = models.CharField(
        _("state"), max_length=16, choices=ReviewState.choices, default=ReviewState.OPEN, db_index=True
    )
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_by_applicant = models.ForeignKey(Applicant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    # What the worker reported as changed, for staff to check and apply (``reviews.CHANGEABLE``).
    changes = models.JSONField(_("reported changes"), default=dict, blank=True)
    # The file's values of the reported fields when the report came (same shape as ``changes``):
    # what staff compare the report with, and read again once the file has taken it.
    reported_from = models.JSONField(default=dict, blank=True)
    # The worker's report came after the review had been confirmed unchanged (by staff, or in the
    # worker's other tab): it was kept and reopened the review for staff (``reviews.review_report``).
    reported_after_confirmation = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("yearly review")
        verbose_name_plural = _("yearly reviews")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["household", "year"], name="intake_review_once_a_year"),
        ]
        indexes = [models.Index(REVIEW_FIRST, "due_on", "id", name="intake_review_work_order")]

    def __str__(self) -> str:
        return f"{self.household_id}:{self.year}"


class ReviewDecline(models.Model):
    """Staff did not take a worker's yearly-review report (不采纳申报): the report as it was sent,
    kept with the decision — the reason (the worker reads it), who and when. The file is left as it
    was and the review waits for the worker again (``reviews.review_decline``)."""

    task = models.ForeignKey(ReviewTask, on_delete=models.CASCADE, related_name="declines")
    # The report as the task held it: its changes, the file's values of those fields when it came,
    # the worker's note, who sent it, and whether it came after the review was confirmed unchanged.
    changes = models.JSONField(default=dict, blank=True)
    reported_from = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=500, blank=True)
    reported_by_applicant = models.ForeignKey(
        Applicant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reported_after_confirmation = models.BooleanField(default=False)
    reason = models.CharField(_("reason"), max_length=1000)
    declined_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declined_at = models.DateTimeField()

    class Meta:
        verbose_name = _("declined yearly-review report")
        verbose_name_plural = _("declined yearly-review reports")
        ordering = ["task", "id"]

    def __str__(self) -> str:
        return f"{self.task_id}@{self.declined_at:%Y-%m-%d}"


class HouseholdProof(models.Model):
    """A worker signed in with the phone number of a file's head typed the ID number of a member of
    that household (``ok``) or a wrong one, before the yearly review shows the file's data: a number
    may have been recycled to someone else. A proof holds for the sign-in it was made in; wrong
    tries are counted per household (``reviews.PROOF_TRIES`` a day)."""

    login = models.ForeignKey(ApplicantLogin, on_delete=models.CASCADE, related_name="proofs")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    ok = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["login", "household"], name="intake_proof_login"),
            models.Index(fields=["household", "at"], name="intake_proof_household_at"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}:{'ok' if self.ok else 'wrong'}@{self.at:%Y-%m-%d %H:%M}"
