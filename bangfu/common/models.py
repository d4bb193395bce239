from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    REVEAL = "reveal", _("Revealed personal data")
    EXPORT = "export", _("Exported")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Sign-in refused")
    TOKEN = "token", _("Issued an API token")


class AuditEntry(models.Model):
    """Append-only, hash-chained record of every change, reveal and export.

    ``seq`` is the primary key and is assigned contiguously (1, 2, 3, …) under a lock, so a deleted
    row shows as a gap; ``hash`` covers the row and the previous row's hash, so an edited or
    inserted row breaks the chain. The table also refuses UPDATE and DELETE by trigger.
    Personal numbers never enter it in plaintext: before/after hold masked values.
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    target_type = models.CharField(_("object type"), max_length=64)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    unit_path = models.CharField(max_length=255, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"


class ScheduledRun(models.Model):
    """A daily job enqueued by the scheduler (``common.schedule``): one per job and day, so that
    two schedulers never enqueue a job twice on one day."""

    job = models.CharField(_("job"), max_length=64)
    day = models.DateField(_("day"))
    enqueued_at = models.DateTimeField(_("enqueued at"))
    task_id = models.CharField(_("task"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="common_scheduledrun_once_a_day")]

    def __str__(self) -> str:
        return f"{self.job} {self.day}"


class KeyCheck(models.Model):
    """What the personal-data keys make of a fixed text, stored the first time the database is
    migrated (``common.keys``): a keyed hash made with ``BANGFU_HASH_KEY`` and the text encrypted
    with ``BANGFU_FIELD_KEY``. A start with other keys (a restore with new ones) is then refused by
    the system check instead of finding nothing or failing on the first ID number it reads."""

    name = models.CharField(max_length=16, unique=True)  # "hash" or "field"
    value = models.TextField()
    made_at = models.DateTimeField()

    class Meta:
        verbose_name = _("key check")
        verbose_name_plural = _("key checks")

    def __str__(self) -> str:
        return self.name
