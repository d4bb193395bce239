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
  timeline event per file and one audit entry for the batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common import crypto
from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, field_errors
from bangfu.common.models import AuditAction
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry import codes
from bangfu.registry.economy import compute_economy, person_facts
from bangfu.registry.models import BankAccount, Household, Member, TimelineEvent
from bangfu.registry.services import TIER_FOR_LEVEL, name_pinyin, open_file_check
from bangfu.registry.validation import CheckedMember, check_household, normalise_card

from . import conf, legacy
from .models import ImportBatch, ImportIssue, ImportState

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


# --- create ------------------------------------------------------------------------------------------


def _unit(actor: Any, unit_id: int | None) -> OrgUnit:
    unit = access.units(actor, Perm.HOUSEHOLD_EDIT).filter(pk=unit_id).first() if unit_id else None
    if unit is None:
        raise ValidationError({"unit_id": _("Choose a union in your jurisdiction.")})
    return unit


def import_batch_create(
    *, actor: Any, unit_id: int | None, name: str, content: bytes, run_async: bool | None = None
) -> ImportBatch:
    """Stage a file for import into ``unit``'s subtree and start checking it. A file that cannot be
    read, or whose headers are wrong, is refused with a specific message and nothing is kept."""
    unit = _unit(actor, unit_id)
    if len(content) > conf.import_max_bytes():
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": conf.import_max_bytes() // (1024 * 1024)}}
        )
    digest = hashlib.sha256(content).hexdigest()
    same = ImportBatch.objects.filter(unit=unit, sha256=digest).exclude(state=ImportState.FAILED).first()
    if same is not None:
        return same
    try:
        legacy.check_headers(next(legacy.open_rows(content, name), []))
    except legacy.SheetProblem as exc:
        raise ValidationError({"file": exc.message}) from exc
    with transaction.atomic():
        batch = ImportBatch(
            unit=unit,
            name=(name or "import.xlsx")[:200],
            sha256=digest,
            size=len(content),
            created_by=actor,
            state=ImportState.VALIDATING,
        )
        batch.file.save(f"{digest[:16]}.xlsx", ContentFile(content), save=False)
        batch.save()
        background = _background(batch, run_async, commit=False)
    if not background:
        batch = import_batch_execute(batch_id=batch.pk, commit=False)
    return batch


def _background(batch: ImportBatch, run_async: bool | None, *, commit: bool) -> bool:
    """Large files go to the background task (queued when the caller's transaction commits)."""
    background = batch.size > conf.import_background_bytes() if run_async is None else run_async
    if background:
        from .tasks import import_batch_task

        transaction.on_commit(lambda: import_batch_task.enqueue(batch.pk, commit))
    return background


def import_batch_get(*, actor: Any, batch_id: int) -> ImportBatch:
    return access.get_for(
        actor, ImportBatch.objects.select_related("unit", "created_by"), batch_id, Perm.HOUSEHOLD_EDIT
    )


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
        batch.state = ImportState.COMMITTING
        batch.committed_by = actor
        batch.rows_done = 0
        batch.message = ""
        batch.save(update_fields=["state", "committed_by", "rows_done", "message"])
        background = _background(batch, run_async, commit=True)
    if not background:
        batch = import_batch_execute(batch_id=batch.pk, commit=True)
    return batch


# --- check and write ---------------------------------------------------------------------------------


def import_batch_execute(*, batch_id: int, commit: bool) -> ImportBatch:
    """Check the batch's file (and, with ``commit``, write it). Safe to run again: a committed
    batch is left alone, and file numbers already in the registry are skipped."""
    batch = ImportBatch.objects.select_related("unit", "created_by", "committed_by").get(pk=batch_id)
    if batch.state == ImportState.COMMITTED:
        return batch
    actor = batch.committed_by if commit and batch.committed_by else batch.created_by
    try:
        with batch.file.open("rb") as fh:
            content = fh.read()
        outcome = check(actor=actor, unit=batch.unit, content=content, name=batch.name, batch_id=batch.pk)
        if commit:
            with transaction.atomic():
                locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                if locked.state == ImportState.COMMITTED:
                    return locked
                created = write(actor=actor, batch=batch, ready=outcome.ready)
                _store(batch, outcome, ImportState.COMMITTED, created=created)
        else:
            _store(batch, outcome, ImportState.VALIDATED)
    except legacy.SheetProblem as exc:
        _fail(batch, exc.message, back_to=None)
    except (ValidationError, DomainError, IntegrityError) as exc:
        msg = exc.message if isinstance(exc, DomainError) else str(exc)
        if isinstance(exc, ValidationError):
            msg = "; ".join(m for ms in field_errors(exc).values() for m in ms)
        if isinstance(exc, IntegrityError):
            msg = _("The files changed while importing (someone opened a file for one of these people); check again.")
        _fail(batch, msg, back_to=ImportState.VALIDATED if commit else None)
    batch.refresh_from_db()
    return batch


def _fail(batch: ImportBatch, message: str, back_to: str | None) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(state=back_to or ImportState.FAILED, message=message[:1000])


def _store(batch: ImportBatch, out: Outcome, state: str, created: int = 0) -> None:
    now = timezone.now()
    ImportIssue.objects.filter(batch=batch).delete()
    ImportIssue.objects.bulk_create(
        (
            ImportIssue(
                batch=batch, row=i.row, column=i.column[:40], file_number=i.file_number[:60], reason=i.reason[:500]
            )
            for i in out.issues
        ),
        batch_size=2000,
    )
    invalid = {i.file_number for i in out.issues if i.file_number}
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
    }
    if state == ImportState.COMMITTED:
        fields.update(committed_at=now, households_created=created)
    else:
        fields["validated_at"] = now
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


def check(*, actor: Any, unit: OrgUnit, content: bytes, name: str = "", batch_id: int | None = None) -> Outcome:
    """Read and check a file; nothing is written (but the batch's progress)."""

    def progress(done: int) -> None:
        if batch_id is not None:
            ImportBatch.objects.filter(pk=batch_id).update(rows_done=done)

    households, issues, rows = legacy.parse(legacy.open_rows(content, name), progress)
    if batch_id is not None:
        ImportBatch.objects.filter(pk=batch_id).update(rows_total=rows, rows_done=rows)
    ready, more, existing = resolve(actor, unit, households)
    issues.extend(more)
    issues.sort(key=lambda i: i.row)
    return Outcome(rows=rows, households=len(households), ready=ready, issues=issues, existing=existing)


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def resolve(
    actor: Any, unit: OrgUnit, households: list[legacy.ParsedHousehold]
) -> tuple[list[Ready], list[legacy.Issue], int]:
    """Validate each household as the registry would; the valid ones come back ready to write."""
    access.require(actor, Perm.HOUSEHOLD_EDIT, unit)
    units = {u.code: u for u in OrgUnit.objects.filter(path__startswith=unit.path)}
    existing: set[str] = set()
    for part in _chunks([h.file_number for h in households]):
        existing.update(Household.objects.filter(file_number__in=part).values_list("file_number", flat=True))
    issues: list[legacy.Issue] = []
    candidates: list[Ready] = []
    seen: dict[str, str] = {}  # person hash → file number (each person once in the file)
    skipped = 0
    for h in households:
        if h.file_number in existing:
            skipped += 1
            continue
        own = list(h.issues)
        target = units.get(h.unit_code) if h.unit_code else unit
        if target is None:
            own.append(
                legacy.Issue(
                    h.head_row,
                    legacy.BY_KEY["unit"].header,
                    _("“%(value)s” is not a union in %(unit)s.") % {"value": h.unit_code, "unit": unit.name},
                )
            )
        h.data.unit_id = target.pk if target else unit.pk
        h.data.tier = TIER_FOR_LEVEL[OrgLevel((target or unit).level)]
        errors, checked = check_household(h.data)
        for path, messages in errors.errors.items():
            row, column = h.locate(path)
            own.extend(legacy.Issue(row, column, m) for m in messages)
        hashes = [crypto.keyed_hash(c.rid.value) for c in checked]
        for c, digest in zip(checked, hashes, strict=True):
            other = seen.get(digest)
            if other is not None and other != h.file_number:
                row = h.rows[next(i for i, m in enumerate(h.data.members) if m is c.data)]
                own.append(
                    legacy.Issue(
                        row,
                        legacy.BY_KEY["id_number"].header,
                        _("This person is also in household %(file)s of this file.") % {"file": other},
                    )
                )
            else:
                seen[digest] = h.file_number
        if own:
            for i in own:
                i.file_number = h.file_number
            issues.extend(own)
            continue
        candidates.append(Ready(h, target or unit, checked, hashes))

    # One open file per person: look the whole file up at once, ask the registry's own check only
    # for the households it finds someone of, so that the message is the registry's.
    on_file: set[str] = set()
    for part in _chunks([d for r in candidates for d in r.hashes]):
        on_file.update(Member.objects.filter(id_hash__in=part, on_open_file=True).values_list("id_hash", flat=True))
    ready = []
    for r in candidates:
        if on_file.isdisjoint(r.hashes):
            ready.append(r)
            continue
        try:
            open_file_check(actor, r.checked, None, opening=True)
        except ValidationError as exc:
            for path, messages in field_errors(exc).items():
                row, column = r.parsed.locate(path)
                issues.extend(legacy.Issue(row, column, m, r.parsed.file_number) for m in messages)
            continue
        ready.append(r)
    return ready, issues, skipped


@functools.lru_cache(maxsize=200_000)
def _pinyin(name: str) -> tuple[str, str]:
    return name_pinyin(name)


def _ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys of ``model`` (inside the caller's transaction)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
            return [r[0] for r in cur.fetchall()]
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
        return list(range(top + 1, top + 1 + n))


def _columns(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _sqlite_value(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        import json

        return json.dumps(value)
    return value


def _insert(model: type[models.Model], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    qn = connection.ops.quote_name
    cols = _columns(model)
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    name, names = qn(model._meta.db_table), ", ".join(qn(str(by_attname[c])) for c in cols)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            import json

            json_at = [i for i, c in enumerate(cols) if isinstance(model._meta.get_field(c), models.JSONField)]
            with cur.cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json_at:
                        row = tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(row))
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(cols))
            cur.executemany(
                f"INSERT INTO {name} ({names}) VALUES ({marks})",  # noqa: S608 - identifiers from the models
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )


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


def write(*, actor: Any, batch: ImportBatch, ready: list[Ready]) -> int:
    """Write the households in bulk (inside the caller's transaction); returns how many."""
    if not ready:
        return 0
    now = timezone.now()
    today = timezone.localdate()
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    h_ids = _ids(Household, len(ready))
    m_ids = iter(_ids(Member, sum(len(r.checked) for r in ready)))
    b_ids = iter(_ids(BankAccount, sum(1 for r in ready if r.parsed.data.bank_account is not None)))
    t_ids = _ids(TimelineEvent, len(ready))
    h_cols, m_cols = _columns(Household), _columns(Member)
    b_cols, t_cols = _columns(BankAccount), _columns(TimelineEvent)
    h_rows, m_rows, b_rows, t_rows = [], [], [], []
    for hid, tid, r in zip(h_ids, t_ids, ready, strict=True):
        d = r.parsed.data
        economy = compute_economy(
            [person_facts(c.data, c.birth_date) for c in r.checked],
            [],
            [],
            today,
        )
        hv: dict[str, Any] = {
            "id": hid,
            "file_number": r.parsed.file_number,
            "unit_id": r.unit.pk,
            "state": codes.FileState.ACTIVE,
            "category": d.category,
            "is_migrant_worker": d.is_migrant_worker,
            "tier": d.tier,
            "main_cause": d.main_cause,
            "secondary_causes": list(d.secondary_causes),
            "cause_note": d.cause_note.strip(),
            "address": d.address.strip()[:200],
            "housing_type": d.housing_type,
            "housing_area": d.housing_area,
            "medical_insurance": d.medical_insurance,
            "self_reliant": d.self_reliant,
            "filed_on": d.filed_on,
            "filed_by_name": "",
            "reviewed_by_name": "",
            "entered_by_id": user_id,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            **economy.__dict__,
        }
        h_rows.append(tuple(hv[c] for c in h_cols))
        for pos, (c, digest) in enumerate(zip(r.checked, r.hashes, strict=True)):
            name = c.data.name.strip()
            full, initials = _pinyin(name)
            mv: dict[str, Any] = {k: getattr(c.data, k) for k in _MEMBER_PLAIN}
            mv.update(
                id=next(m_ids),
                household_id=hid,
                unit_id=hv["unit_id"],
                position=pos,
                name=name,
                name_pinyin=full,
                name_initials=initials,
                sex=c.sex,
                birth_date=c.birth_date,
                id_cipher=crypto.encrypt(c.rid.value),
                id_hash=digest,
                id_masked=c.rid.masked,
                on_open_file=not c.data.deceased,
            )
            m_rows.append(tuple(mv[k] for k in m_cols))
        if d.bank_account is not None:
            card = normalise_card(d.bank_account.card_number)
            bv = {
                "id": next(b_ids),
                "household_id": hid,
                "bank": d.bank_account.bank.strip(),
                "branch": d.bank_account.branch.strip(),
                "holder_name": d.bank_account.holder_name.strip(),
                "card_cipher": crypto.encrypt(card),
                "card_hash": crypto.keyed_hash(card),
                "card_masked": crypto.mask_middle(card),
            }
            b_rows.append(tuple(bv[k] for k in b_cols))
        tv = {
            "id": tid,
            "household_id": hid,
            "at": now,
            "actor_id": user_id,
            "kind": codes.TimelineKind.FILE_CREATED,
            "summary": _("Imported from %(name)s") % {"name": batch.name},
            "data": {"file_number": r.parsed.file_number, "import_batch": batch.pk},
        }
        t_rows.append(tuple(tv[k] for k in t_cols))
    _insert(Household, h_rows)
    _insert(Member, m_rows)
    _insert(BankAccount, b_rows)
    _insert(TimelineEvent, t_rows)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="intake.import_batch",
        target_id=batch.pk,
        unit_path=batch.unit.path,
        after={
            "file": batch.name,
            "sha256": batch.sha256,
            "households": len(h_rows),
            "persons": len(m_rows),
            "first_household_id": h_ids[0],
            "last_household_id": h_ids[-1],
        },
    )
    return len(h_rows)


# --- the CLI's one pass, and the error report ----------------------------------------------------------


def import_file(*, actor: Any, unit_id: int | None, name: str, content: bytes, commit: bool) -> ImportBatch:
    """Stage, check and (with ``commit``) write a file in one pass, in the foreground."""
    batch = import_batch_create(actor=actor, unit_id=unit_id, name=name, content=content, run_async=False)
    if commit and batch.state == ImportState.VALIDATED and batch.households_valid:
        ImportBatch.objects.filter(pk=batch.pk).update(state=ImportState.COMMITTING, committed_by=actor)
        batch = import_batch_execute(batch_id=batch.pk, commit=True)
    return batch


REPORT_HEADERS = ("row", "column", "file_number", "reason")


def _report_headers() -> list[str]:
    return [_("Row"), _("Column"), _("File number"), _("Reason")]


def error_report(*, actor: Any, batch_id: int, fmt: str) -> tuple[bytes, str]:
    """The batch's problems as ``csv`` (UTF-8 with BOM, for Excel) or ``xlsx``; and the content type."""
    batch = import_batch_get(actor=actor, batch_id=batch_id)
    rows = batch.issues.values_list(*REPORT_HEADERS).iterator(chunk_size=5000)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(_report_headers())
        w.writerows(rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    if fmt != "xlsx":
        raise Http404
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(_report_headers())
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
