"""Legacy import: an Excel file of existing files, staged, checked row by row, previewed, committed.

* ``import_batch_create`` keeps the file (with its SHA-256) as a batch of a union and checks it
  (in the background for a large file). The same file for the same union again gives the same
  batch back: re-importing changes nothing.
* Checking reads the sheet (``legacy.parse``), runs the registry's own validation
  (``check_household``) and the one-open-file-per-person rule (``open_file_check``, asked only for
  the households whose people the bulk look-up finds on an open file) and stores each problem as
  (row, column, reason). A file number already in the registry is skipped, not an error, so a
  household is imported at most once whatever the file.
* ``import_batch_commit`` checks again (the registry may have changed) and writes every valid
  household in one transaction — all of them or none — in bulk (COPY on PostgreSQL), with one
  timeline event per file and one audit entry for the batch. The check and the write run as a
  pipeline, a part of the sheet at a time (``check_and_write``), so that the database takes the
  first households while the next ones are checked.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import itertools
import json
import logging
import operator
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from bangfu.common import copytext, crypto, sheets
from bangfu.common.audit import audit_record
from bangfu.common.encrypted_files import StoredFileError
from bangfu.common.errors import DomainError, field_errors
from bangfu.common.ids import ResidentId
from bangfu.common.models import AuditAction, AuditEntry
from bangfu.common.phones import plain_phone
from bangfu.common.punctuation import mark
from bangfu.common.retranslate import in_reader_language
from bangfu.common.storage import deleted_on_error
from bangfu.common.text import shortened
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry import codes
from bangfu.registry.economy import ECONOMY_FIELDS, PersonFacts, economy_values
from bangfu.registry.models import BankAccount, Household, Member, TimelineEvent
from bangfu.registry.services import TIER_FOR_LEVEL, TOLD_HERE, Telling, name_pinyin, open_file_check
from bangfu.registry.validation import CheckedMember, check_household

from . import conf, fastcheck, legacy
from .models import Application, ImportBatch, ImportIssue, ImportState
from .on_record import row_differences

logger = logging.getLogger(__name__)

CHUNK = 5000


@dataclass
class Ready:
    parsed: legacy.ParsedHousehold
    unit: OrgUnit
    checked: list[CheckedMember]
    hashes: list[str]


@dataclass
class Outcome:
    rows: int
    households: int
    ready: list[Ready]
    issues: list[legacy.Issue]
    existing: int
    notes: list[str]


# --- create ------------------------------------------------------------------------------------------


def _unit(actor: Any, unit_id: int | None) -> OrgUnit:
    unit = access.units(actor, Perm.HOUSEHOLD_EDIT).filter(pk=unit_id).first() if unit_id else None
    if unit is None:
        raise ValidationError({"unit_id": _("Choose a union in your jurisdiction.")})
    return unit


def _read(content: bytes, name: str) -> list[list[Any]]:
    """The sheet's rows (header first); a ``ValidationError`` naming the problem of an unreadable
    file or wrong headers, so that nothing is kept."""
    try:
        rows = legacy.open_rows(content, name)
        at, _cols = legacy.sheet_header(rows)
    except legacy.SheetProblem as exc:
        raise ValidationError({"file": exc.message}) from exc
    if not any(v not in (None, "") for row in itertools.islice(rows, at + 1, None) for v in row):
        raise ValidationError(
            {
                "file": _(
                    "The first sheet has only the headers: put the households below them (the template's "
                    "sample is on the sheet “%(sheet)s”, which is not imported)."
                )
                % {"sheet": legacy.SAMPLE_SHEET}
            }
        )
    return rows


def _stage(*, actor: Any, unit: OrgUnit, name: str, content: bytes, digest: str, commit: bool) -> ImportBatch:
    batch = ImportBatch(
        unit=unit,
        name=(name or "import.xlsx")[:200],
        sha256=digest,
        size=len(content),
        created_by=actor,
        state=ImportState.COMMITTING if commit else ImportState.VALIDATING,
        committed_by=actor if commit else None,
        progress_at=timezone.now(),
    )
    with deleted_on_error() as stored:  # no stored file without its batch
        batch.file.save(f"{digest[:16]}.xlsx", ContentFile(content), save=False)
        stored(batch.file)
        batch.save()
    return batch


def _checked_upload(actor: Any, unit_id: int | None, content: bytes) -> tuple[OrgUnit, str, ImportBatch | None]:
    unit = _unit(actor, unit_id)
    if len(content) > conf.import_max_bytes():
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": conf.import_max_bytes() // (1024 * 1024)}}
        )
    digest = hashlib.sha256(content).hexdigest()
    # The same file again gives its batch back when that one is committed, checked or still at
    # work; one that failed, was cancelled or whose process has gone (marked failed here first)
    # does not stand in the way of a new upload.
    fail_interrupted(ImportBatch.objects.filter(unit=unit, sha256=digest))
    same = ImportBatch.objects.filter(unit=unit, sha256=digest).exclude(state=ImportState.FAILED).first()
    return unit, digest, same


def import_batch_create(
    *, actor: Any, unit_id: int | None, name: str, content: bytes, run_async: bool | None = None
) -> ImportBatch:
    """Stage a file for import into ``unit``'s subtree and start checking it. A file that cannot be
    read, or whose headers are wrong, is refused with a specific message and nothing is kept."""
    return import_batch_upload(actor=actor, unit_id=unit_id, name=name, content=content, run_async=run_async)[0]


def import_batch_upload(
    *, actor: Any, unit_id: int | None, name: str, content: bytes, run_async: bool | None = None
) -> tuple[ImportBatch, bool]:
    """``import_batch_create``, and whether it made the batch: False when the same file's batch of
    the union was given back (the API answers 200 for it, 201 for a new one)."""
    unit, digest, same = _checked_upload(actor, unit_id, content)
    if same is not None:
        return same, False
    rows = _read(content, name)
    if run_async is None and sheet_cells(rows) > conf.import_background_cells():
        run_async = True  # a small file holding many cells: as long to check as a large one
    with deleted_on_error() as stored, transaction.atomic():
        batch = _stage(actor=actor, unit=unit, name=name, content=content, digest=digest, commit=False)
        stored(batch.file)
        background = _background(batch, run_async, commit=False)
    if not background:
        batch = import_batch_execute(batch_id=batch.pk, commit=False, rows=rows)
    return batch, True


def sheet_cells(rows: list[list[Any]]) -> int:
    """The cells of the sheet read (its rows × its widest row), which the check's time follows
    more closely than the file's size: a 1 KB .ods or a 7 KB .xlsx can hold millions. Counted on
    the rows read, one pass over the row lists, not over the cells."""
    return len(rows) * max(map(len, rows), default=0)


def _background(batch: ImportBatch, run_async: bool | None, *, commit: bool) -> bool:
    """Large files go to the background task (queued when the caller's transaction commits); the
    task's id is kept on the batch, so that a batch whose task has ended without it is found."""
    background = batch.size > conf.import_background_bytes() if run_async is None else run_async
    if background:
        from .tasks import import_batch_task

        def enqueue() -> None:
            result = import_batch_task.enqueue(batch.pk, commit)
            ImportBatch.objects.filter(pk=batch.pk).update(task_id=str(result.id)[:64])

        transaction.on_commit(enqueue)
    return background


def import_batch_get(*, actor: Any, batch_id: int) -> ImportBatch:
    """The batch; one at work whose process has gone is marked failed first (``interrupted``), so
    that its page and the API stop showing it at work."""
    batch = access.get_for(
        actor, ImportBatch.objects.select_related("unit", "created_by"), batch_id, Perm.HOUSEHOLD_EDIT
    )
    if batch.state in WORKING and fail_interrupted(ImportBatch.objects.filter(pk=batch.pk)):
        batch.refresh_from_db()
    return batch


def import_batch_commit(*, actor: Any, batch_id: int, run_async: bool | None = None) -> ImportBatch:
    """Write every valid household of a checked batch (in the background for a large file)."""
    with transaction.atomic():
        batch = access.get_for(actor, ImportBatch.objects.select_for_update(), batch_id, Perm.HOUSEHOLD_EDIT)
        if batch.state == ImportState.COMMITTED:
            return batch  # a second click: already done
        if batch.state != ImportState.VALIDATED:
            raise DomainError(
                "import_not_ready",
                _("Only a checked batch can be imported; this one is “%(state)s”.")
                % {"state": ImportState(batch.state).label},
            )
        if batch.households_valid == 0:
            raise DomainError("import_nothing_valid", _("No household of this file can be imported."))
        if run_async is None and batch.task_id:
            run_async = True  # checked in the background (a large file, or one of many cells): imported there too
        batch.state = ImportState.COMMITTING
        batch.committed_by = actor
        batch.rows_done = 0
        batch.message = ""
        batch.task_id = ""
        batch.progress_at = timezone.now()
        batch.save(update_fields=["state", "committed_by", "rows_done", "message", "task_id", "progress_at"])
        background = _background(batch, run_async, commit=True)
    if not background:
        batch = import_batch_execute(batch_id=batch.pk, commit=True)
    return batch


# --- interrupted and cancelled batches ----------------------------------------------------------------

WORKING = (ImportState.VALIDATING, ImportState.COMMITTING)


def _interrupted_message(committing: bool) -> str:
    if committing:
        return _("The import was interrupted and wrote nothing; upload the file again.")
    return _("The check was interrupted; upload the file again.")


def _task(task_id: str) -> tuple[str | None, dt.datetime | None]:
    """The status of a batch's background task (``READY``, ``RUNNING``, ``SUCCESSFUL``, ``FAILED``)
    and when it was queued; ``"GONE"`` when the queue has no such task, None when the queue cannot
    tell (one that runs each task as it is enqueued keeps no results)."""
    from django.tasks.exceptions import TaskResultDoesNotExist

    from .tasks import import_batch_task

    backend = import_batch_task.get_backend()
    if not backend.supports_get_result:
        return None, None
    try:
        result = backend.get_result(task_id)
    except TaskResultDoesNotExist:
        return "GONE", None
    return str(result.status), result.enqueued_at


def _task_status(task_id: str) -> str | None:
    return _task(task_id)[0]


# How long a batch waits in the queue before its page says that no worker has taken it.
WORKER_WAIT_SAID = dt.timedelta(minutes=1)


def waiting_for_worker(batch: ImportBatch, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the batch's background task was queued, if no worker has taken it for
    ``WORKER_WAIT_SAID``: its page says so, as the worker (``bangfu db_worker``) may not be running
    (a queued task is never marked interrupted: it waits for a worker however long)."""
    if not batch.running or not batch.task_id:
        return None
    status, queued = _task(batch.task_id)
    if status != "READY" or queued is None:
        return None
    return queued if queued < (now or timezone.now()) - WORKER_WAIT_SAID else None


def interrupted(batch: ImportBatch, *, now: dt.datetime | None = None) -> bool:
    """Whether a batch at work (checking or importing) has lost the process doing it.

    * Its background task has ended (succeeded or failed) or is gone, and the batch still says it
      is at work: the task died without a word (a MemoryError, a bug).
    * Its task is still queued: not interrupted, it waits for a worker (staff may cancel it).
    * Otherwise (running in a worker, in a request or in the command): its progress has not moved
      for ``conf.import_stale_minutes()`` — a killed worker, request or command stops moving it.
      Each step of a check sets ``progress_at``; a file of a million rows takes minutes."""
    if batch.state not in WORKING:
        return False
    status = _task_status(batch.task_id) if batch.task_id else None
    if status in {"SUCCESSFUL", "FAILED", "GONE"}:
        return True
    if status == "READY":
        return False
    since = batch.progress_at or batch.created_at
    return since < (now or timezone.now()) - dt.timedelta(minutes=conf.import_stale_minutes())


def fail_interrupted(batches: models.QuerySet[ImportBatch] | None = None, *, now: dt.datetime | None = None) -> int:
    """Mark failed each batch of ``batches`` (default: all) at work whose process has gone
    (``interrupted``), saying so; returns how many. Safe to run again."""
    found = 0
    for batch in (batches if batches is not None else ImportBatch.objects.all()).filter(state__in=WORKING):
        if interrupted(batch, now=now):
            found += ImportBatch.objects.filter(pk=batch.pk, state=batch.state).update(
                state=ImportState.FAILED, message=_interrupted_message(batch.state == ImportState.COMMITTING)
            )
            logger.warning("import batch %s: interrupted while %s, marked failed", batch.pk, batch.state)
    return found


def import_batch_cancel(*, actor: Any, batch_id: int) -> ImportBatch:
    """Stop a batch waiting for a worker or being checked (or waiting to be imported): it is marked
    failed, saying who cancelled it, and the same file may be uploaded again. A batch being written
    holds its row until the write ends, so a cancel then waits and finds it imported: refused, as
    for any batch no longer at work. Audit-logged."""
    with transaction.atomic():
        batch = access.get_for(
            actor, ImportBatch.objects.select_for_update().select_related("unit"), batch_id, Perm.HOUSEHOLD_EDIT
        )
        if batch.state not in WORKING:
            raise DomainError(
                "import_not_running",
                _("Only a batch being checked or waiting can be cancelled; this one is “%(state)s”.")
                % {"state": ImportState(batch.state).label},
            )
        who = actor.get_full_name() or actor.username
        before = batch.state
        batch.state = ImportState.FAILED
        batch.message = _("Cancelled by %(who)s.") % {"who": who}
        batch.save(update_fields=["state", "message"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="intake.import_batch",
            target_id=batch.pk,
            unit_path=batch.unit.path,
            before={"state": before},
            after={"state": batch.state, "cancelled": True, "file": batch.name, "sha256": batch.sha256},
        )
    return batch


# --- check and write ---------------------------------------------------------------------------------


def import_batch_execute(*, batch_id: int, commit: bool, rows: list[list[Any]] | None = None) -> ImportBatch:
    """Check the batch's file (and, with ``commit``, write it). Safe to run again: a committed
    batch is left alone, and file numbers already in the registry are skipped. ``rows``: the
    sheet, when the caller has just read it from the same file.

    With ``commit``, a file checked here for the first time (the one pass of ``import_file``)
    without a valid household is left checked: there is nothing to write."""
    batch = ImportBatch.objects.select_related("unit", "created_by", "committed_by").get(pk=batch_id)
    if batch.state != (ImportState.COMMITTING if commit else ImportState.VALIDATING):
        return batch  # committed already, cancelled, or given up as interrupted: nothing to do
    ImportBatch.objects.filter(pk=batch.pk).update(progress_at=timezone.now())
    actor = batch.committed_by if commit and batch.committed_by else batch.created_by
    with _bulk():
        try:
            if rows is None:
                with batch.file.open("rb") as fh:
                    content = fh.read()
                rows = legacy.open_rows(content, batch.name)
            if not commit:
                _store(batch, check(actor=actor, unit=batch.unit, rows=rows, batch_id=batch.pk), ImportState.VALIDATED)
            else:
                sheet = legacy.read_sheet(rows)
                ImportBatch.objects.filter(pk=batch.pk).update(
                    rows_total=sheet.rows_read, rows_done=sheet.rows_read, progress_at=timezone.now()
                )
                with transaction.atomic():
                    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                    if locked.state != ImportState.COMMITTING:  # committed, cancelled or given up meanwhile
                        return locked
                    ready, issues, households, existing, notes = check_and_write(actor=actor, batch=batch, sheet=sheet)
                    issues.sort(key=lambda i: i.row)
                    outcome = Outcome(sheet.rows_read, households, ready, issues, existing, sheet.notes + notes)
                    if ready or batch.validated_at is not None:
                        _store(batch, outcome, ImportState.COMMITTED, created=len(ready))
                    else:  # checked here for the first time, and nothing to write: left checked
                        _store(batch, outcome, ImportState.VALIDATED)
        except legacy.SheetProblem as exc:
            _fail(batch, exc.message, back_to=None)
        except (StoredFileError, FileNotFoundError) as exc:  # the kept workbook: damaged, changed or gone
            logger.error("import batch %s: %s", batch.pk, exc)
            _fail(
                batch,
                _("The kept copy of the file cannot be read back (it is damaged or missing): upload it again."),
                None,
            )
        except (ValidationError, DomainError, IntegrityError) as exc:
            msg = exc.message if isinstance(exc, DomainError) else str(exc)
            if isinstance(exc, ValidationError):
                msg = mark("semicolon").join(m for ms in field_errors(exc).values() for m in ms)
            if isinstance(exc, IntegrityError):
                msg = _(
                    "The files changed while importing (someone opened a file for one of these people); check again."
                )
            _fail(batch, msg, back_to=ImportState.VALIDATED if commit else None)
        except BaseException:
            # Anything else (a MemoryError, the command's Ctrl-C, a bug) ends the work here: the
            # batch says so instead of showing it at work forever; the error goes on up.
            _fail(batch, _interrupted_message(commit), back_to=None)
            raise
    batch.refresh_from_db()
    return batch


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while a file is checked and written: it makes a few million
    small objects without cycles, and the collector would walk them over and over.

    At the end they are still alive (the caller holds the sheet and the outcome) and all in the
    youngest generation, which the first collection after ``gc.enable`` would walk whole (0.3 s
    for a file of 100,000 rows): ``gc.freeze`` and ``gc.unfreeze`` move every tracked object to
    the oldest generation at once instead, as if they had lived through the collections."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _fail(batch: ImportBatch, message: str, back_to: str | None) -> None:
    ImportBatch.objects.filter(pk=batch.pk, state__in=WORKING).update(
        state=back_to or ImportState.FAILED, message=message[:1000]
    )


def _store(batch: ImportBatch, out: Outcome, state: str, created: int = 0) -> None:
    with transaction.atomic():
        # A batch cancelled or given up as interrupted while it was checked keeps that state.
        if not ImportBatch.objects.select_for_update().filter(pk=batch.pk, state__in=WORKING).exists():
            return
        _stored(batch, out, state, created)


def _stored(batch: ImportBatch, out: Outcome, state: str, created: int) -> None:
    now = timezone.now()
    ImportIssue.objects.filter(batch=batch).delete()
    ImportIssue.objects.bulk_create(
        (
            ImportIssue(
                batch=batch,
                row=i.row,
                column=i.column[:40],
                file_number=shortened(i.file_number, 60),
                reason=shortened(i.reason, 500),
            )
            for i in out.issues
        ),
        batch_size=2000,
    )
    # A household with a problem and not written; one written without a row hidden in the file
    # (a problem of that row), or one skipped as on record whose rows differ from its file, is not among them.
    invalid = {i.file_number for i in out.issues if i.file_number and not i.on_record} - {
        r.parsed.file_number for r in out.ready
    }
    fields: dict[str, Any] = {
        "state": state,
        "rows_total": out.rows,
        "rows_done": out.rows,
        "households_total": out.households,
        "households_valid": len(out.ready),
        "households_invalid": len(invalid),
        "households_existing": out.existing,
        "persons_valid": sum(len(r.checked) for r in out.ready),
        "issues_count": len(out.issues),
        "message": "",
        "notes": out.notes,
    }
    if state == ImportState.COMMITTED:
        fields.update(committed_at=now, households_created=created)
        if batch.validated_at is None:
            fields["validated_at"] = now  # checked and written in one pass
    else:
        fields["validated_at"] = now
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


def _parse(
    rows: list[list[Any]], batch_id: int | None
) -> tuple[legacy.Sheet, list[legacy.ParsedHousehold], list[legacy.Issue]]:
    """``legacy.read_sheet`` and its parse, with the batch's progress: the sheet, its households
    and the problems of the rows outside them (without a file number, or hidden in the file)."""
    sheet = legacy.read_sheet(rows)
    count = sheet.rows_read
    if batch_id is not None and count:
        ImportBatch.objects.filter(pk=batch_id).update(
            rows_total=count, rows_done=count // 2, progress_at=timezone.now()
        )
    households, loose = sheet.parse()
    if batch_id is not None:
        ImportBatch.objects.filter(pk=batch_id).update(rows_total=count, rows_done=count, progress_at=timezone.now())
    return sheet, households, loose + sheet.hidden


def check(
    *,
    actor: Any,
    unit: OrgUnit,
    content: bytes = b"",
    name: str = "",
    batch_id: int | None = None,
    rows: list[list[Any]] | None = None,
) -> Outcome:
    """Read and check a file (or its ``rows``, header first); nothing is written (but the batch's
    progress)."""
    with _bulk():
        if rows is None:
            rows = legacy.open_rows(content, name)
        sheet, households, issues = _parse(rows, batch_id)
        ready, more, existing, notes = resolve(actor, unit, households, batch_id=batch_id, columns=sheet.keys)
    issues.extend(more)
    issues.sort(key=lambda i: i.row)
    return Outcome(
        rows=sheet.rows_read,
        households=len(households) + sheet.hidden_households,
        ready=ready,
        issues=issues,
        existing=existing,
        notes=sheet.notes + notes,
    )


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _present(
    model: type[models.Model], column: str, values: list[str], open_files: bool = False, cursor: Any = None
) -> set[str]:
    """Which of ``values`` the registry has in ``column`` (of a member on an open file, with
    ``open_files``): one query with an array on PostgreSQL (``cursor``: a psycopg cursor of the
    connection, as ``_Writer.call`` gives), chunks elsewhere."""
    if not values:
        return set()
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        # The values go as one JSON text (an array parameter is dumped value by value in Python).
        where = f"{qn(column)} = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))" + (
            " AND on_open_file" if open_files else ""
        )
        sql = f"SELECT {qn(column)} FROM {qn(model._meta.db_table)} WHERE {where}"  # noqa: S608 - identifiers
        with contextlib.nullcontext(cursor) if cursor is not None else connection.cursor() as cur:
            cur.execute(sql, [json.dumps(values)])
            return {r[0] for r in cur.fetchall()}
    found: set[str] = set()
    extra = {"on_open_file": True} if open_files else {}
    for part in _chunks(values):
        found.update(model._default_manager.filter(**{f"{column}__in": part}, **extra).values_list(column, flat=True))
    return found


def _numbers_on_record(numbers: list[str], unit: OrgUnit) -> tuple[set[str], set[str]]:
    """Which of the file ``numbers`` the registry has, and which of those are of a household
    outside ``unit``'s subtree (one query with an array on PostgreSQL, chunks elsewhere)."""
    if not numbers:
        return set(), set()
    found: list[tuple[str, bool]] = []
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        households, units = qn(Household._meta.db_table), qn(OrgUnit._meta.db_table)
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT h.file_number, left(u.path, length(%s)) = %s FROM {households} h "  # noqa: S608 - identifiers
                f"JOIN {units} u ON u.id = h.unit_id "
                "WHERE h.file_number = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
                [unit.path, unit.path, json.dumps(numbers)],
            )
            found = cur.fetchall()
    else:
        for part in _chunks(numbers):
            found += [
                (number, path.startswith(unit.path))
                for number, path in Household.objects.filter(file_number__in=part).values_list(
                    "file_number", "unit__path"
                )
            ]
    return {n for n, _own in found}, {n for n, own in found if not own}


_HOLDER = "bank_account.holder_name"


class _Disagreed(Exception):  # noqa: N818 - a signal, not an error
    """The fast household check vouched for a household the registry's check did not."""


class _ImportTelling(Telling):
    """The import's ``Telling``: one answer per person asked about for the batch — the person of a
    row of the file — whether the file is checked, committed after its check, or checked again
    without the fast path (``_Disagreed``). Its entries name the batch and the row; a row told of
    before (with the union named, or not named now either) is neither logged nor counted again.
    ``current``: the household being checked, whose rows the persons are looked up in."""

    def __init__(self, actor: Any, unit: OrgUnit, batch_id: int | None, told: dict[int, bool]) -> None:
        super().__init__(actor, unit)
        self.batch_id = batch_id
        self.rows_told = told  # row → whether the union was named; shared by the batch's passes
        self.current: Ready | None = None

    def about(self, person: CheckedMember | None, named: bool) -> dict[str, Any] | None:
        extra: dict[str, Any] = {"import_batch": self.batch_id} if self.batch_id is not None else {}
        row = self._row(person)
        if row is None:
            return extra
        before = self.rows_told.get(row)
        if before is not None and (before or not named):
            return None
        self.rows_told[row] = named
        return {**extra, "row": row}

    def _row(self, person: CheckedMember | None) -> int | None:
        r = self.current
        if r is None or person is None:
            return None
        for i, c in enumerate(r.checked):
            if c is person:
                return r.parsed.locate(f"members.{c.place(i)}.id_number")[0]
        return None


def _told_before(unit: OrgUnit, batch_id: int | None) -> dict[int, bool]:
    """The rows of the batch whose person was told of already (a check before its commit), and
    whether the union was named, from the entries in the importing union's log."""
    told: dict[int, bool] = {}
    if batch_id is None:
        return told
    entries = AuditEntry.objects.filter(
        unit_path=unit.path, target_type=TOLD_HERE, action=AuditAction.REVEAL, after__import_batch=batch_id
    ).values_list("after", flat=True)
    for after in entries:
        if isinstance(after, dict) and isinstance(row := after.get("row"), int):
            told[row] = told.get(row, False) or bool(after.get("union_named"))
    return told


class _Vetting:
    """The registry's validation of a file's households, a part at a time (``vet``), with what it
    carries from one household to the next: the unions, the file numbers already in the registry,
    and each person's household in this file (each person once in the file).

    ``fast``: a household that ``fastcheck.accept`` can vouch for skips the registry's
    ``check_household`` (same outcome, a fraction of the time); any other goes through it. A
    sample of the vouched ones goes through it too; a difference raises ``_Disagreed``, and the
    caller starts again without the fast path."""

    def __init__(
        self,
        actor: Any,
        unit: OrgUnit,
        file_numbers: list[str],
        *,
        fast: bool,
        batch_id: int | None = None,
        told: dict[int, bool] | None = None,
        columns: frozenset[str] | None = None,
    ) -> None:
        access.require(actor, Perm.HOUSEHOLD_EDIT, unit)
        self.actor = actor
        self.unit = unit
        self.columns = columns  # the template's columns the sheet has (all when None)
        below = list(OrgUnit.objects.filter(path__startswith=unit.path))
        self.units = {u.code: u for u in below}
        # The template's 工会 takes the union's name as well as its code (the column guide says so).
        self.by_name: dict[str, list[OrgUnit]] = {}
        for u in below:
            self.by_name.setdefault(u.name.strip(), []).append(u)
        # File numbers on record: in the union's subtree (the same household, imported before, or
        # another of its files), or elsewhere — of which the importer learns no more than that.
        self.existing, self.elsewhere = _numbers_on_record(list(dict.fromkeys(n for n in file_numbers if n)), unit)
        self.fast = fast
        self.today = fastcheck.Today.now()
        self.seen: dict[str, str] = {}  # person's ID number → file number
        self.vouched = 0
        self.skipped = 0
        self.skipped_rows: list[int] = []  # the rows of the households skipped as on record
        # The persons of the applications under way (a few thousand at most), looked up once: a
        # file opened here for one of them would leave that case unable to be approved.
        self.in_cases = _persons_under_way()
        # What the file's problems tell of persons other unions keep (their cases here, their open
        # files in ``_open_files``): logged and counted as the registry's checks do. The day's
        # count is read now, before the pipeline's writer holds the connection. ``told``: the rows
        # told of already (``_ImportTelling``), kept across the passes of one batch.
        self.telling = _ImportTelling(actor, unit, batch_id, _told_before(unit, batch_id) if told is None else told)
        self.telling.may_name()

    def vet(self, households: list[legacy.ParsedHousehold]) -> tuple[list[Ready], list[legacy.Issue]]:
        """The households that pass, with their people's keyed hashes (the one-open-file rule is
        the caller's), and the problems of the others."""
        unit, seen = self.unit, self.seen
        issues: list[legacy.Issue] = []
        candidates: list[tuple[legacy.ParsedHousehold, OrgUnit, list[CheckedMember]]] = []
        already: list[legacy.ParsedHousehold] = []
        for h in households:
            if h.file_number in self.existing:
                if h.file_number in self.elsewhere:
                    issues.append(self._elsewhere(h))
                else:
                    already.append(h)
                continue
            own = list(h.issues)
            target = self.units.get(h.unit_code) if h.unit_code else unit
            named = self.by_name.get(h.unit_code.strip(), []) if h.unit_code and target is None else []
            if len(named) == 1:
                target = named[0]
            elif len(named) > 1:
                own.append(
                    legacy.Issue(
                        h.head_row,
                        legacy.BY_KEY["unit"].header,
                        _("%(n)s unions in %(unit)s are named “%(value)s”: write the union's code instead.")
                        % {"n": len(named), "value": shortened(h.unit_code), "unit": unit.name},
                    )
                )
            if target is None and len(named) <= 1:
                own.append(
                    legacy.Issue(
                        h.head_row,
                        legacy.BY_KEY["unit"].header,
                        _("“%(value)s” is not a union in %(unit)s.")
                        % {"value": shortened(h.unit_code), "unit": unit.name},
                    )
                )
            h.data.unit_id = target.pk if target else unit.pk
            h.data.tier = TIER_FOR_LEVEL[OrgLevel((target or unit).level)]
            checked = fastcheck.accept(h.data, self.today) if self.fast and not own else None
            if checked is not None:
                self.vouched += 1
                if self.vouched <= fastcheck.SAMPLE_FIRST or self.vouched % fastcheck.SAMPLE_EVERY == 0:
                    errors, slow = check_household(h.data)
                    if errors.errors or not fastcheck.same(checked, slow):
                        fastcheck.disagreed(h.file_number, errors.errors)
                        raise _Disagreed
            else:
                errors, checked = check_household(h.data)
                # A cell whose value could not be read has its problem already; the registry
                # would add "required" or the like for the value left out.
                flagged = {(i.row, i.column) for i in h.issues}
                # The card's holder is the head's name (``legacy.locate``): what is wrong with it is
                # said once, by the name's own problem, not again as the holder's.
                placed: set[tuple[int, str]] = set()
                for path, messages in sorted(errors.errors.items(), key=lambda e: e[0] == _HOLDER):
                    row, column = h.locate(path)
                    if (row, column) in flagged or (path == _HOLDER and (row, column) in placed):
                        continue
                    placed.add((row, column))
                    own.extend(legacy.Issue(row, column, m) for m in messages)
            for c in checked:
                other = seen.get(c.rid.value)
                if other is not None and other != h.file_number:
                    row = h.rows[next(i for i, m in enumerate(h.data.members) if m is c.data)]
                    own.append(
                        legacy.Issue(
                            row,
                            legacy.BY_KEY["id_number"].header,
                            _("This person is also in household %(file)s of this file.") % {"file": shortened(other)},
                        )
                    )
                else:
                    seen[c.rid.value] = h.file_number
            if own:
                for i in own:
                    i.file_number = h.file_number
                issues.extend(own)
                continue
            candidates.append((h, target or unit, checked))
        issues.extend(self._already_filed(already))
        # Keyed hashes of the candidates' people, all at once.
        digests = iter(crypto.keyed_hash_many([c.rid.value for _h, _u, checked in candidates for c in checked]))
        ready = [Ready(h, u, checked, [next(digests) for _c in checked]) for h, u, checked in candidates]
        if self.in_cases:
            ready = [r for r in ready if not self._in_a_case(r, issues)]
        return ready, issues

    def _in_a_case(self, r: Ready, issues: list[legacy.Issue]) -> bool:
        """Whether a person of ``r`` is in an application under way (each such one a problem)."""
        from . import services

        found = False
        for i, digest in enumerate(r.hashes):
            case = self.in_cases.get(digest)
            if case is not None:
                row, column = r.parsed.locate(f"members.{i}.id_number")
                inside = _(
                    "An application for this person is under way (%(ref)s): finish or close it first; "
                    "this household was not imported."
                ) % {"ref": case.reference}
                # Another union's case is not named (``case_told``): the importer learns no more
                # than the counter or the registry would tell them.
                self.telling.current = r
                message, _told = services.case_told(
                    self.actor, self.telling, case, r.checked[i].rid.masked, inside, r.checked[i]
                )
                issues.append(legacy.Issue(row, column, message, r.parsed.file_number))
                found = True
        return found

    def _elsewhere(self, h: legacy.ParsedHousehold) -> legacy.Issue:
        """A file number used outside the union's subtree: a problem of the household, naming
        neither the household on record nor its union nor its people, nor repeating the number
        (the importer may not see that file; the open-file check masks its number), and never
        "already on file"."""
        message = _(
            "This file number is already used by another union: check the number; this household was not imported."
        )
        return legacy.Issue(h.head_row, legacy.BY_KEY["file_number"].header, message, h.file_number)

    def _already_filed(self, households: list[legacy.ParsedHousehold]) -> list[legacy.Issue]:
        """Households whose file number is on record in the union's subtree. Skipped when the file
        on record holds every one of their people (the same household, imported before: its rows
        are named in a note, ``notes``); a problem of each row whose person is not on it (the
        import adds no one to a file: that is done on the file's page), or whose ID number cannot
        be read; a problem of its own when the file holds none of them (the number is another
        household's: a typing slip, or two files given one number). Nothing is dropped without a
        word: a skipped household's cells that say otherwise than its file are problems too
        (``on_record.row_differences``)."""
        if not households:
            return []
        on_record: dict[str, set[str]] = {}
        for number, digest in Member.objects.filter(
            household__file_number__in=[h.file_number for h in households]
        ).values_list("household__file_number", "id_hash"):
            on_record.setdefault(number, set()).add(digest)
        issues: list[legacy.Issue] = []
        same: list[tuple[legacy.ParsedHousehold, list[str]]] = []  # skipped, with their people's hashes
        id_column = legacy.BY_KEY["id_number"].header
        for h in households:
            rids = [ResidentId.try_parse(m.id_number) for m in h.data.members]
            hashes = crypto.keyed_hash_many([rid.value for rid in rids if rid is not None])
            digests = iter(hashes)
            known = on_record.get(h.file_number, set())
            on_it = [rid is not None and next(digests) in known for rid in rids]
            if not any(on_it):
                message = _(
                    "File number %(file)s is another household's in the registry: none of these people is on it. "
                    "Check the number; this household was not imported."
                ) % {"file": h.file_number}
                issues.append(legacy.Issue(h.head_row, legacy.BY_KEY["file_number"].header, message, h.file_number))
                continue
            if all(on_it):
                self.skipped += 1
                self.skipped_rows.extend(h.rows)
                same.append((h, hashes))
                continue
            for row, m, rid, found in zip(h.rows, h.data.members, rids, on_it, strict=True):
                if found:
                    continue
                if rid is None:
                    message = _(
                        "File %(file)s is already on record, and this row's ID number cannot be read: it was not "
                        "compared with the file, and nothing of it was added."
                    ) % {"file": h.file_number}
                else:
                    message = _(
                        "File %(file)s is already on record; %(name)s is not on it and was not added: add them on "
                        "the file's page."
                    ) % {"file": h.file_number, "name": shortened(m.name.strip())}
                issues.append(legacy.Issue(row, id_column, message, h.file_number))
        return issues + row_differences(self.unit, same, self.columns)

    def notes(self) -> list[str]:
        """What the batch is told of the households skipped as on record."""
        if not self.skipped_rows:
            return []
        return [
            ngettext(
                "Row %(rows)s is of a file already on record and was skipped: nothing on the file was changed. "
                "Where it says otherwise than the file, the problems say so (change a file on its page).",
                "Rows %(rows)s are of files already on record and were skipped: nothing on the files was changed. "
                "Where they say otherwise than the files, the problems say so (change a file on its page).",
                len(self.skipped_rows),
            )
            % {"rows": legacy.row_runs(self.skipped_rows)}
        ]


def _persons_under_way() -> dict[str, Application]:
    """The keyed hash of each person in an application under way, and that application (its
    union and its worker only, ``services.holding_cases``)."""
    from .services import holding_cases

    found: dict[str, Application] = {}
    for digest, case in holding_cases(None):
        found.setdefault(digest, case)
    return found


def _open_files(actor: Any, found: list[Ready], telling: _ImportTelling) -> tuple[list[Ready], list[legacy.Issue]]:
    """The registry's own one-open-file check of households the bulk look-up found someone of (so
    that the message is the registry's): those that pass, and the problems of the others.
    ``telling``: the file's (``_Vetting.telling``), one day's number for all its problems."""
    ready: list[Ready] = []
    issues: list[legacy.Issue] = []
    for r in found:
        telling.current = r
        try:
            open_file_check(actor, r.checked, None, opening=True, telling=telling)
        except ValidationError as exc:
            for path, messages in field_errors(exc).items():
                row, column = r.parsed.locate(path)
                issues.extend(legacy.Issue(row, column, m, r.parsed.file_number) for m in messages)
            continue
        ready.append(r)
    return ready, issues


def resolve(
    actor: Any,
    unit: OrgUnit,
    households: list[legacy.ParsedHousehold],
    *,
    fast: bool = True,
    batch_id: int | None = None,
    told: dict[int, bool] | None = None,
    columns: frozenset[str] | None = None,
) -> tuple[list[Ready], list[legacy.Issue], int, list[str]]:
    """Validate each household as the registry would; the valid ones come back ready to write
    (with the problems of the others, how many were already in the registry and the notes on
    them). See ``_Vetting`` for ``fast`` and ``columns``, ``_ImportTelling`` for ``batch_id``
    and ``told``."""
    told = _told_before(unit, batch_id) if told is None else told
    vetting = _Vetting(
        actor, unit, [h.file_number for h in households], fast=fast, batch_id=batch_id, told=told, columns=columns
    )
    try:
        ready_all, issues = vetting.vet(households)
    except _Disagreed:
        return resolve(actor, unit, households, fast=False, batch_id=batch_id, told=told, columns=columns)
    # One open file per person: look the whole file up at once, ask the registry's own check only
    # for the households it finds someone of.
    on_file = _present(Member, "id_hash", [d for r in ready_all for d in r.hashes], open_files=True)
    found = {id(r) for r in ready_all if not on_file.isdisjoint(r.hashes)}
    passed, more = _open_files(actor, [r for r in ready_all if id(r) in found], vetting.telling)
    kept = {id(r) for r in passed}
    issues.extend(more)
    return [r for r in ready_all if id(r) not in found or id(r) in kept], issues, vetting.skipped, vetting.notes()


def _ids(model: type[models.Model], n: int, cursor: Any = None) -> list[int]:
    """``n`` fresh primary keys of ``model`` (inside the caller's transaction; ``cursor``: a psycopg
    cursor of the connection, as ``_Writer.call`` gives)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with contextlib.nullcontext(cursor) if cursor is not None else connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Taken one by one from the sequence (others may take some meanwhile); sent back as a
            # range when they are one (n values between first and last: the usual case), else all.
            cur.execute(
                # The sequence's name is looked up once (as an argument of nextval it was looked
                # up for every value: most of the time of this query).
                "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS s), "
                "taken AS (SELECT nextval(seq.s) AS v FROM seq, generate_series(1, %s)) "
                "SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
                "ELSE array_agg(v ORDER BY v) END FROM taken",
                [table, n],
            )
            first, last, scattered = cur.fetchone()
            return list(range(first, last + 1)) if scattered is None else list(scattered)
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        return list(range(top + 1, top + 1 + n))


def _columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _sqlite_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


# Types whose equal values have one text (of which a column may hold only one of bool and int):
# such a column's distinct values are made once each. Subclasses too (the models' text choices).
_COPY_DISTINCT = (type(None), bool, int, str, dt.datetime, dt.date)


def _copy_column(values: Sequence[Any]) -> Any:
    """``copytext.field`` of each value of a column (a sequence of texts): text without a character to
    escape as it is, numbers and dates by their own method, a column of a few distinct values
    (codes, flags, times) made once per value, JSON once per distinct value."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if kind is str:
            every = "".join(values)
            return list(map(copytext.escape, values)) if any(ch in every for ch in copytext.SPECIAL) else values
        if kind is int or kind is Decimal:
            return list(map(str, values))
        if kind is dt.date:
            return list(map(dt.date.isoformat, values))
        if kind is list:  # JSON lists of plain values: their repr tells their JSON apart
            keys = list(map(repr, values))
            made = {k: copytext.field(v) for k, v in dict(zip(keys, values, strict=True)).items()}
            return list(map(made.__getitem__, keys))
    if all(issubclass(k, _COPY_DISTINCT) for k in kinds) and not {bool, int} <= kinds:
        made = {v: copytext.field(v) for v in dict.fromkeys(values)}
        return list(map(made.__getitem__, values))
    return list(map(copytext.field, values))


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """``rows`` as COPY text (made a column at a time: most columns hold a few distinct values)."""
    if not rows:
        return ""
    columns = [_copy_column(c) for c in zip(*rows, strict=True)]
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class _Same:
    """A column's one value for every row."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# A table's rows given column by column: attname → the values, or one value for all rows.
Columns = dict[str, "list[Any] | _Same"]


def _ordered(model: type[models.Model], columns: Columns) -> list[list[Any] | _Same]:
    cols = _columns(model)
    if sorted(cols) != sorted(columns):
        raise RuntimeError(f"the import does not fill these columns: {sorted(set(cols) ^ set(columns))}")
    return [columns[c] for c in cols]


def _rows_of(model: type[models.Model], columns: Columns, n: int) -> list[tuple[Any, ...]]:
    """The rows (values in ``_columns`` order) of ``n`` rows given column by column."""
    return list(
        zip(*(repeat(c.value, n) if isinstance(c, _Same) else c for c in _ordered(model, columns)), strict=False)
    )


def _copy_text_of(model: type[models.Model], columns: Columns, n: int) -> str:
    """``_copy_text`` of ``n`` rows given column by column (a column of one value made once)."""
    texts = [
        repeat(copytext.field(c.value), n) if isinstance(c, _Same) else _copy_column(c)
        for c in _ordered(model, columns)
    ]
    return "\n".join(map("\t".join, zip(*texts, strict=False))) + "\n"


def _insert(model: type[models.Model], rows: list[tuple[Any, ...]] | str, cursor: Any = None) -> None:
    """Append ``rows`` (values in ``_columns`` order; on PostgreSQL also their ``_copy_text``) to
    ``model``'s table: COPY on PostgreSQL (``cursor``: a psycopg cursor of the connection in the
    transaction), executemany elsewhere."""
    if not rows:
        return
    qn = connection.ops.quote_name
    cols = _columns(model)
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    name, names = qn(model._meta.db_table), ", ".join(qn(str(by_attname[c])) for c in cols)
    if connection.vendor == "postgresql":
        text = rows if isinstance(rows, str) else _copy_text(rows)
        with (cursor or connection.cursor().cursor).copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            copy.write(text)
        return
    if isinstance(rows, str):
        raise TypeError("COPY text is for PostgreSQL")
    marks = ", ".join(["%s"] * len(cols))
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {name} ({names}) VALUES ({marks})",  # noqa: S608 - identifiers from the models
            [tuple(_sqlite_value(v) for v in row) for row in rows],
        )


class _SwitchInterval:
    """The interpreter's thread switch interval, made short while a writer runs (and put back when
    the last one ends).

    ``_Writer``'s thread needs the interpreter lock again after each wait on the socket (for a
    COPY to start, for room to send, for the server's answer at its end); while the caller's
    thread makes the next rows it gets the lock only when the switch interval has passed (5 ms
    by default), and meanwhile the server waits. An import sends some 80 statements and waits
    on the socket many times in each (docs/benchmarks.md §5)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.users = 0
        self.saved = 0.0

    @contextlib.contextmanager
    def short(self) -> Iterator[None]:
        with self.lock:
            if self.users == 0:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, self.seconds))
            self.users += 1
        try:
            yield
        finally:
            with self.lock:
                self.users -= 1
                if self.users == 0:
                    sys.setswitchinterval(self.saved)


_SWITCH = _SwitchInterval(0.001)


class _Writer:
    """``_insert`` in a background thread on PostgreSQL, as the seeder loads: the server builds
    rows into the tables and their indexes while Python makes the next chunk (the thread waits on
    the socket without holding the GIL; the COPY text is made by the caller; a short thread
    switch interval, ``_SwitchInterval``, lets it take the GIL back soon). In the foreground
    elsewhere.

    Used inside the caller's transaction: the thread uses the same connection, and the caller
    touches the database between ``__enter__`` and ``__exit__`` only through ``call`` (a query run
    by the thread in its turn) or after ``sync``.

    On PostgreSQL the foreign keys of the ``checked`` models' tables (deferred to the commit, as
    Django makes them) are checked at the end of each COPY while the writer runs, so that the
    server checks them beside the Python work instead of alone at the commit; rows must then come
    after the rows they point to."""

    def __init__(self, checked: tuple[type[models.Model], ...] = ()) -> None:
        self.background = connection.vendor == "postgresql"
        self.queue: queue.Queue[tuple[type[models.Model], str] | _Call | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.checked = checked
        self.foreign_keys = ""
        self.switch = contextlib.ExitStack()

    def _foreign_keys(self) -> str:
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            names = [
                name
                for model in self.checked
                for name, c in connection.introspection.get_constraints(cur, model._meta.db_table).items()
                if c["foreign_key"]
            ]
        return ", ".join(qn(n) for n in sorted(names))

    def __enter__(self) -> _Writer:
        if self.background:
            if self.checked:
                self.foreign_keys = self._foreign_keys()
                if self.foreign_keys:
                    with connection.cursor() as cur:
                        cur.execute(f"SET CONSTRAINTS {self.foreign_keys} IMMEDIATE")
            connection.ensure_connection()
            raw = connection.connection  # the psycopg connection, already inside the transaction
            # Errors of the database come out as Django's (an IntegrityError, as a failed commit's).
            errors = connection.wrap_database_errors
            self.switch.enter_context(_SWITCH.short())
            self.thread = threading.Thread(target=self._run, args=(raw, errors), name="import-copy", daemon=True)
            self.thread.start()
        return self

    def _run(self, raw: Any, errors: Any) -> None:
        try:
            with errors, raw.cursor() as cursor:
                while (item := self.queue.get()) is not None:
                    if isinstance(item, _Call):
                        item.run(cursor)
                    else:
                        _insert(item[0], item[1], cursor)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            while (item := self.queue.get()) is not None:  # drain so the caller never blocks
                if isinstance(item, _Call):
                    item.future.set_exception(exc)

    def put(self, model: type[models.Model], columns: Columns, n: int) -> None:
        """Write ``n`` rows given column by column."""
        if not n:
            return
        if not self.background:
            _insert(model, _rows_of(model, columns, n))
            return
        if self.error is not None:
            raise self.error
        # The text is made here: the thread holds the GIL only to send it.
        self.queue.put((model, _copy_text_of(model, columns, n)))

    def call(self, fn: Any) -> Future[Any]:
        """``fn(cursor)`` run after what was put before (``cursor``: a psycopg cursor of the
        connection; None in the foreground), its result to come."""
        item = _Call(fn)
        if not self.background:
            item.run(None)
        elif self.error is not None:
            item.future.set_exception(self.error)
        else:
            self.queue.put(item)
        return item.future

    def sync(self) -> None:
        """Wait until the rows put so far are written: the connection is the caller's until the next put."""
        self.call(lambda _cursor: None).result()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.switch.close()
        if self.error is not None and exc is None:
            raise self.error
        if self.foreign_keys and exc is None:
            with connection.cursor() as cur:
                cur.execute(f"SET CONSTRAINTS {self.foreign_keys} DEFERRED")


class _Call:
    """A function for ``_Writer``'s thread to run in its turn, and its result."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()

    def run(self, cursor: Any) -> None:
        try:
            self.future.set_result(self.fn(cursor))
        except BaseException as exc:
            self.future.set_exception(exc)
            raise


_MEMBER_PLAIN = [
    "relationship",
    "ethnicity",
    "living_together",
    "deceased",
    "health",
    "disease_note",
    "disability_type",
    "disability_grade",
    "medical_insurance",
    "marital",
    "hukou",
    "phone",
    "identity",
    "work_status",
    "monthly_income",
    "school_level",
    "enrolment_year",
    "programme_years",
    "school_or_employer",
    "political_status",
    "model_worker_level",
    "work_start_date",
    "industry",
    "employer",
    "employer_type",
    "enterprise_state",
    "single_parent",
]
FIRST_ROWS, PART_ROWS = 2500, 12500  # rows parsed, checked, looked up and written a round
WRITE_CHUNK = 2500  # households a COPY round
MEMBER_CHUNK = 10000  # members a COPY round


def _facts(checked: list[CheckedMember]) -> list[PersonFacts]:
    """``person_facts`` of each checked member."""
    return [
        PersonFacts(m.relationship, c.birth_date, m.living_together, m.deceased, m.monthly_income, m.identity,
                    m.work_status, m.disability_grade)
        for c in checked
        for m in (c.data,)
    ]  # fmt: skip


def _arriving(values: Future[list[int]]) -> Iterator[int]:
    """The values a future brings, one at a time (waiting for them at the first)."""
    yield from values.result()


class _Rows:
    """The rows of the households to write, made a part at a time and handed to a ``_Writer``
    (inside the caller's transaction); then one audit entry for the batch.

    Each part's households, their bank accounts and timeline events first, then its members in
    the order of their union and name: in this order a member's name indexes take their new
    entries page after page instead of all over the tree. Fresh ids for at most ``households``
    households (in file order) and ``members`` members are taken at the start, by the writer's
    thread while the first part is parsed and checked (those left unused are a gap in the
    sequences)."""

    def __init__(self, actor: Any, batch: ImportBatch, households: int, members: int, writer: _Writer) -> None:
        self.batch = batch
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.summary = _("Imported from %(name)s") % {"name": batch.name}

        def fresh(model: type[models.Model], n: int) -> Iterator[int]:
            return _arriving(writer.call(lambda cursor: _ids(model, n, cursor)))

        self.h_ids = fresh(Household, households)
        self.t_ids = fresh(TimelineEvent, households)
        self.b_ids = fresh(BankAccount, households)
        self.m_ids = fresh(Member, members)
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.written: list[int] = []  # household ids
        self.persons = 0

    def put(self, ready: list[Ready], writer: _Writer) -> None:
        # (union, name, household id, member id, position, checked member, keyed hash), in file order;
        # ids are given in file order, so that a household's members keep their order.
        people: list[tuple[int, str, int, int, int, CheckedMember, str]] = []
        for start in range(0, len(ready), WRITE_CHUNK):
            part = ready[start : start + WRITE_CHUNK]
            ids = [next(self.h_ids) for _r in part]
            self._households(part, ids, writer)
            for hid, r in zip(ids, part, strict=True):
                unit_id = r.unit.pk
                for pos, (c, digest) in enumerate(zip(r.checked, r.hashes, strict=True)):
                    people.append((unit_id, c.data.name.strip(), hid, next(self.m_ids), pos, c, digest))
            self.written.extend(ids)
        # By union and name, file order among equal names: two stable sorts on plain keys (faster
        # than one on (union, name) pairs).
        people.sort(key=operator.itemgetter(1))
        people.sort(key=operator.itemgetter(0))
        for start in range(0, len(people), MEMBER_CHUNK):
            self._members(people[start : start + MEMBER_CHUNK], writer)
        self.persons += len(people)

    def _households(self, part: list[Ready], ids: list[int], writer: _Writer) -> None:
        today, n = self.today, len(part)
        data = [r.parsed.data for r in part]
        numbers = [r.parsed.file_number for r in part]
        economies = [economy_values(_facts(r.checked), [], [], today) for r in part]
        columns: Columns = {
            "id": ids,
            "file_number": numbers,
            "unit_id": [r.unit.pk for r in part],
            "state": _Same(codes.FileState.ACTIVE),
            "category": [d.category for d in data],
            "is_migrant_worker": [d.is_migrant_worker for d in data],
            "tier": [d.tier for d in data],
            "main_cause": [d.main_cause for d in data],
            "secondary_causes": [list(d.secondary_causes) for d in data],
            "cause_note": [d.cause_note.strip() for d in data],
            "address": [d.address.strip()[:200] for d in data],
            "housing_type": [d.housing_type for d in data],
            "housing_area": [d.housing_area for d in data],
            "medical_insurance": [d.medical_insurance for d in data],
            "self_reliant": [d.self_reliant for d in data],
            "filed_on": [d.filed_on for d in data],
            "filed_by_name": _Same(""),
            "reviewed_by_name": _Same(""),
            "entered_by_id": _Same(self.user_id),
            "created_at": _Same(self.now),
            "updated_at": _Same(self.now),
            "version": _Same(1),
            "accident_costs_yearly": _Same(Decimal(0)),
            "private_school_fees_yearly": _Same(Decimal(0)),
            "public_school_fees_yearly": _Same(Decimal(0)),
            "studying_abroad_self_funded": _Same(False),
            **dict(zip(ECONOMY_FIELDS, map(list, zip(*economies, strict=True)), strict=True)),
        }
        writer.put(Household, columns, n)

        banked = [(hid, d.bank_account) for hid, d in zip(ids, data, strict=True) if d.bank_account is not None]
        cards = [fastcheck.card(acc.card_number) for _hid, acc in banked]
        writer.put(
            BankAccount,
            {
                "id": [next(self.b_ids) for _b in banked],
                "household_id": [hid for hid, _acc in banked],
                "bank": [acc.bank.strip() for _hid, acc in banked],
                "branch": [acc.branch.strip() for _hid, acc in banked],
                "holder_name": [acc.holder_name.strip() for _hid, acc in banked],
                "card_cipher": crypto.encrypt_many(cards),
                "card_hash": crypto.keyed_hash_many(cards),
                "card_masked": [crypto.mask_middle(card) for card in cards],
            },
            len(banked),
        )

        batch_id = self.batch.pk
        writer.put(
            TimelineEvent,
            {
                "id": [next(self.t_ids) for _r in part],
                "household_id": ids,
                "at": _Same(self.now),
                "actor_id": _Same(self.user_id),
                "kind": _Same(codes.TimelineKind.FILE_CREATED),
                "summary": _Same(self.summary),
                "data": [{"file_number": number, "import_batch": batch_id} for number in numbers],
            },
            n,
        )

    def _members(self, chunk: list[tuple[int, str, int, int, int, CheckedMember, str]], writer: _Writer) -> None:
        pinyin = self.pinyin
        checked = [p[5] for p in chunk]
        inputs = [c.data for c in checked]
        names = [p[1] for p in chunk]
        readings = []
        for name in names:
            reading = pinyin.get(name)
            if reading is None:
                reading = pinyin[name] = name_pinyin(name)
            readings.append(reading)
        # One pass over the members (a pass per field over members scattered in memory by the
        # sort costs many times more).
        plain: dict[str, list[Any]] = dict(
            zip(
                _MEMBER_PLAIN,
                map(list, zip(*map(operator.attrgetter(*_MEMBER_PLAIN), inputs), strict=True)),
                strict=True,
            )
        )
        # As a sign-in has it: the yearly review finds the head by it.
        plain["phone"] = list(map(plain_phone, plain["phone"]))
        columns: Columns = {**plain}
        columns.update(
            {
                "id": [p[3] for p in chunk],
                "household_id": [p[2] for p in chunk],
                "unit_id": [p[0] for p in chunk],
                "position": [p[4] for p in chunk],
                "name": names,
                "name_pinyin": [r[0] for r in readings],
                "name_initials": [r[1] for r in readings],
                "sex": [c.sex for c in checked],
                "birth_date": [c.birth_date for c in checked],
                "id_cipher": crypto.encrypt_many([c.rid.value for c in checked]),
                "id_hash": [p[6] for p in chunk],
                "id_masked": [c.rid.masked for c in checked],
                "on_open_file": [not deceased for deceased in plain["deceased"]],
            }
        )
        writer.put(Member, columns, len(chunk))

    def audit(self, actor: Any) -> None:
        batch = self.batch
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="intake.import_batch",
            target_id=batch.pk,
            unit_path=batch.unit.path,
            after={
                "file": batch.name,
                "sha256": batch.sha256,
                "households": len(self.written),
                "persons": self.persons,
                "first_household_id": self.written[0],
                "last_household_id": self.written[-1],
            },
        )


def check_and_write(
    *, actor: Any, batch: ImportBatch, sheet: legacy.Sheet, fast: bool = True
) -> tuple[list[Ready], list[legacy.Issue], int, int, list[str]]:
    """Parse, ``resolve`` and write the valid households of a sheet (inside the caller's
    transaction) as one pipeline, a part of the rows at a time (``legacy.Sheet.cuts``): each part
    is parsed, checked and looked up, then written while the next one is parsed and checked, so
    that the server takes rows from the first part on instead of waiting for the whole file. The
    same outcome as ``legacy.parse`` and ``resolve``, then writing what they found valid: no
    household has rows in two parts, the look-up of a part's people runs (in the writer's turn)
    before its rows go, and a person in two of the file's households is a problem of the second.
    Returns the valid households, the problems, how many households the file has and how many
    were already in the registry, and the notes on those.

    A difference between the fast and the registry's check (see ``_Vetting``) undoes what was
    written and starts again without the fast path. Each person asked about is told of once for
    the batch, over its check and both passes (``_ImportTelling``)."""
    told = _told_before(batch.unit, batch.pk)
    if fast:
        try:
            with transaction.atomic():  # a savepoint, to undo the parts written
                return _pipeline(actor, batch, sheet, fast=True, told=told)
        except _Disagreed:
            pass
    return _pipeline(actor, batch, sheet, fast=False, told=told)


def _pipeline(
    actor: Any, batch: ImportBatch, sheet: legacy.Sheet, *, fast: bool, told: dict[int, bool]
) -> tuple[list[Ready], list[legacy.Issue], int, int, list[str]]:
    vetting = _Vetting(
        actor, batch.unit, sheet.file_numbers, fast=fast, batch_id=batch.pk, told=told, columns=sheet.keys
    )
    new = [n for n in sheet.file_numbers if n and n not in vetting.existing]
    ready: list[Ready] = []
    issues: list[legacy.Issue] = list(sheet.hidden)  # the rows hidden in the file, not read
    households = 0

    def write(part: list[Ready], on_file: Future[set[str]]) -> None:
        found = on_file.result()
        hits = [r for r in part if not found.isdisjoint(r.hashes)] if found else []
        if hits:
            writer.sync()  # the connection is free for the registry's own check
            passed, problems = _open_files(actor, hits, vetting.telling)
            issues.extend(problems)
            dropped = {id(r) for r in hits} - {id(r) for r in passed}
            part = [r for r in part if id(r) not in dropped]
        rows.put(part, writer)
        ready.extend(part)

    pending: tuple[list[Ready], Future[set[str]]] | None = None
    with _Writer(checked=(Household, BankAccount, TimelineEvent, Member)) as writer:
        rows = _Rows(actor, batch, len(set(new)), len(new), writer)
        # A small first part, so that the server starts soon.
        for start, end in itertools.pairwise(sheet.cuts(FIRST_ROWS, PART_ROWS)):
            parsed, loose = sheet.parse(start, end)
            households += len(parsed)
            part, problems = vetting.vet(parsed)
            issues += loose + problems
            hashes = [d for r in part for d in r.hashes]
            on_file = writer.call(lambda cursor, hashes=hashes: _present(Member, "id_hash", hashes, True, cursor))
            if pending is not None:
                write(*pending)  # the previous part, while the server looks this one up
            pending = (part, on_file)
            if start == 0:  # the server is idle: the first part goes at once
                write(*pending)
                pending = None
        if pending is not None:
            write(*pending)
    if ready:
        rows.audit(actor)
    return ready, issues, households + sheet.hidden_households, vetting.skipped, vetting.notes()


# --- the CLI's one pass, and the error report ----------------------------------------------------------


def import_file(*, actor: Any, unit_id: int | None, name: str, content: bytes, commit: bool) -> ImportBatch:
    """Stage, check and (with ``commit``) write a file in one pass, in the foreground: the file is
    read and checked once, and with ``commit`` the valid households are written right after the
    check, in one transaction. A file already staged for the union is not staged again: a checked
    one is committed (checked again first), a committed one is left as it is."""
    if not commit:
        return import_batch_create(actor=actor, unit_id=unit_id, name=name, content=content, run_async=False)
    unit, digest, same = _checked_upload(actor, unit_id, content)
    if same is not None:
        if same.state == ImportState.VALIDATED and same.households_valid:
            ImportBatch.objects.filter(pk=same.pk).update(
                state=ImportState.COMMITTING, committed_by=actor, task_id="", progress_at=timezone.now()
            )
            return import_batch_execute(batch_id=same.pk, commit=True)
        return same
    rows = _read(content, name)
    batch = _stage(actor=actor, unit=unit, name=name, content=content, digest=digest, commit=True)
    return import_batch_execute(batch_id=batch.pk, commit=True, rows=rows)


REPORT_HEADERS = ("row", "column", "file_number", "reason")


def _report_headers() -> list[str]:
    return [_("Row"), _("Column"), _("File number"), _("Reason")]


def error_report(*, actor: Any, batch_id: int, fmt: str) -> tuple[bytes, str]:
    """The batch's problems as ``csv`` (UTF-8 with BOM, for Excel) or ``xlsx``; and the content type."""
    batch = import_batch_get(actor=actor, batch_id=batch_id)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        target_type="intake.import_report",
        target_id=batch.pk,
        unit_path=batch.unit.path,
        note=_("Problems exported: %(n)s (%(format)s)") % {"n": batch.issues_count, "format": fmt},
    )
    # The reasons in the reader's language (they are kept in the language of the one who uploaded).
    rows = (
        (row, column, number, in_reader_language(reason))
        for row, column, number, reason in batch.issues.values_list(*REPORT_HEADERS).iterator(chunk_size=5000)
    )
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(_report_headers())
        w.writerows(sheets.csv_row(r) for r in rows)  # a file number may begin like a formula
        return ("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    if fmt != "xlsx":
        raise Http404
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(pgettext("the sheet of an import's error report", "Problems")))  # not "Sheet"
    for letter, width in zip("ABCD", (8, 16, 22, 80), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append(_report_headers())
    for r in rows:
        ws.append(sheets.xlsx_row(ws, r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
