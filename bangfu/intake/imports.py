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

import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import json
import operator
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
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
from bangfu.registry.validation import CheckedMember, check_household

from . import conf, fastcheck, legacy
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


def _read(content: bytes, name: str) -> list[list[Any]]:
    """The sheet's rows (header first); a ``ValidationError`` naming the problem of an unreadable
    file or wrong headers, so that nothing is kept."""
    try:
        rows = list(legacy.open_rows(content, name))
        legacy.check_headers(rows[0] if rows else [])
    except legacy.SheetProblem as exc:
        raise ValidationError({"file": exc.message}) from exc
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
    )
    batch.file.save(f"{digest[:16]}.xlsx", ContentFile(content), save=False)
    batch.save()
    return batch


def _checked_upload(actor: Any, unit_id: int | None, content: bytes) -> tuple[OrgUnit, str, ImportBatch | None]:
    unit = _unit(actor, unit_id)
    if len(content) > conf.import_max_bytes():
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": conf.import_max_bytes() // (1024 * 1024)}}
        )
    digest = hashlib.sha256(content).hexdigest()
    same = ImportBatch.objects.filter(unit=unit, sha256=digest).exclude(state=ImportState.FAILED).first()
    return unit, digest, same


def import_batch_create(
    *, actor: Any, unit_id: int | None, name: str, content: bytes, run_async: bool | None = None
) -> ImportBatch:
    """Stage a file for import into ``unit``'s subtree and start checking it. A file that cannot be
    read, or whose headers are wrong, is refused with a specific message and nothing is kept."""
    unit, digest, same = _checked_upload(actor, unit_id, content)
    if same is not None:
        return same
    rows = _read(content, name)
    with transaction.atomic():
        batch = _stage(actor=actor, unit=unit, name=name, content=content, digest=digest, commit=False)
        background = _background(batch, run_async, commit=False)
    if not background:
        batch = import_batch_execute(batch_id=batch.pk, commit=False, rows=rows)
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


def import_batch_execute(*, batch_id: int, commit: bool, rows: list[list[Any]] | None = None) -> ImportBatch:
    """Check the batch's file (and, with ``commit``, write it). Safe to run again: a committed
    batch is left alone, and file numbers already in the registry are skipped. ``rows``: the
    sheet, when the caller has just read it from the same file.

    With ``commit``, a file checked here for the first time (the one pass of ``import_file``)
    without a valid household is left checked: there is nothing to write."""
    batch = ImportBatch.objects.select_related("unit", "created_by", "committed_by").get(pk=batch_id)
    if batch.state == ImportState.COMMITTED:
        return batch
    actor = batch.committed_by if commit and batch.committed_by else batch.created_by
    with _bulk():
        try:
            if rows is None:
                with batch.file.open("rb") as fh:
                    content = fh.read()
                rows = list(legacy.open_rows(content, batch.name))
            outcome = check(actor=actor, unit=batch.unit, rows=rows, batch_id=batch.pk)
            if commit and (outcome.ready or batch.validated_at is not None):
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
                msg = _(
                    "The files changed while importing (someone opened a file for one of these people); check again."
                )
            _fail(batch, msg, back_to=ImportState.VALIDATED if commit else None)
    batch.refresh_from_db()
    return batch


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while a file is checked and written: it makes a few hundred
    thousand small objects without cycles, and the collector would walk them over and over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        if batch.validated_at is None:
            fields["validated_at"] = now  # checked and written in one pass
    else:
        fields["validated_at"] = now
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


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

    def progress(done: int) -> None:
        if batch_id is not None:
            ImportBatch.objects.filter(pk=batch_id).update(rows_done=done)

    with _bulk():
        if rows is None:
            rows = list(legacy.open_rows(content, name))
        households, issues, count = legacy.parse(rows, progress)
        if batch_id is not None:
            ImportBatch.objects.filter(pk=batch_id).update(rows_total=count, rows_done=count)
        ready, more, existing = resolve(actor, unit, households)
    issues.extend(more)
    issues.sort(key=lambda i: i.row)
    return Outcome(rows=count, households=len(households), ready=ready, issues=issues, existing=existing)


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _present(model: type[models.Model], column: str, values: list[str], open_files: bool = False) -> set[str]:
    """Which of ``values`` the registry has in ``column`` (of a member on an open file, with
    ``open_files``): one query with an array on PostgreSQL, chunks elsewhere."""
    if not values:
        return set()
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        # The values go as one JSON text (an array parameter is dumped value by value in Python).
        where = f"{qn(column)} = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))" + (
            " AND on_open_file" if open_files else ""
        )
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT {qn(column)} FROM {qn(model._meta.db_table)} WHERE {where}",  # noqa: S608 - identifiers
                [json.dumps(values)],
            )
            return {r[0] for r in cur.fetchall()}
    found: set[str] = set()
    extra = {"on_open_file": True} if open_files else {}
    for part in _chunks(values):
        found.update(model._default_manager.filter(**{f"{column}__in": part}, **extra).values_list(column, flat=True))
    return found


def resolve(
    actor: Any, unit: OrgUnit, households: list[legacy.ParsedHousehold], *, fast: bool = True
) -> tuple[list[Ready], list[legacy.Issue], int]:
    """Validate each household as the registry would; the valid ones come back ready to write.

    ``fast``: a household that ``fastcheck.accept`` can vouch for skips the registry's
    ``check_household`` (same outcome, a fraction of the time); any other goes through it. A
    sample of the vouched ones goes through it too, and a difference turns the fast path off."""
    access.require(actor, Perm.HOUSEHOLD_EDIT, unit)
    units = {u.code: u for u in OrgUnit.objects.filter(path__startswith=unit.path)}
    existing = _present(Household, "file_number", [h.file_number for h in households])
    issues: list[legacy.Issue] = []
    candidates: list[tuple[legacy.ParsedHousehold, OrgUnit, list[CheckedMember]]] = []
    seen: dict[str, str] = {}  # person's ID number → file number (each person once in the file)
    skipped = 0
    today = fastcheck.Today.now()
    vouched = 0
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
        checked = fastcheck.accept(h.data, today) if fast and not own else None
        if checked is not None:
            vouched += 1
            if vouched <= fastcheck.SAMPLE_FIRST or vouched % fastcheck.SAMPLE_EVERY == 0:
                errors, slow = check_household(h.data)
                if errors.errors or not fastcheck.same(checked, slow):
                    fastcheck.disagreed(h.file_number, errors.errors)
                    return resolve(actor, unit, households, fast=False)
        else:
            errors, checked = check_household(h.data)
            for path, messages in errors.errors.items():
                row, column = h.locate(path)
                own.extend(legacy.Issue(row, column, m) for m in messages)
        for c in checked:
            other = seen.get(c.rid.value)
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
                seen[c.rid.value] = h.file_number
        if own:
            for i in own:
                i.file_number = h.file_number
            issues.extend(own)
            continue
        candidates.append((h, target or unit, checked))

    # Keyed hashes of the candidates' people, all at once.
    digests = iter(crypto.keyed_hash_many([c.rid.value for _h, _u, checked in candidates for c in checked]))
    ready_all = [Ready(h, u, checked, [next(digests) for _c in checked]) for h, u, checked in candidates]

    # One open file per person: look the whole file up at once, ask the registry's own check only
    # for the households it finds someone of, so that the message is the registry's.
    on_file = _present(Member, "id_hash", [d for r in ready_all for d in r.hashes], open_files=True)
    ready = []
    for r in ready_all:
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


def _ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys of ``model`` (inside the caller's transaction)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Taken one by one from the sequence (others may take some meanwhile); sent back as a
            # range when they are one (n values between first and last: the usual case), else all.
            cur.execute(
                "WITH taken AS (SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS v FROM generate_series(1, %s)) "
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


def _insert(model: type[models.Model], rows: list[tuple[Any, ...]], cursor: Any = None) -> None:
    """Append ``rows`` (values in ``_columns`` order) to ``model``'s table: COPY on PostgreSQL
    (``cursor``: a psycopg cursor of the connection in the transaction), executemany elsewhere."""
    if not rows:
        return
    qn = connection.ops.quote_name
    cols = _columns(model)
    by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
    name, names = qn(model._meta.db_table), ", ".join(qn(str(by_attname[c])) for c in cols)
    if connection.vendor == "postgresql":
        json_at = [i for i, c in enumerate(cols) if isinstance(model._meta.get_field(c), models.JSONField)]
        with (cursor or connection.cursor().cursor).copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            write_row = copy.write_row
            if not json_at:
                for row in rows:
                    write_row(row)
            else:
                dumps = json.dumps
                for row in rows:
                    values = list(row)
                    for i in json_at:
                        values[i] = dumps(values[i])
                    write_row(values)
        return
    marks = ", ".join(["%s"] * len(cols))
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {name} ({names}) VALUES ({marks})",  # noqa: S608 - identifiers from the models
            [tuple(_sqlite_value(v) for v in row) for row in rows],
        )


class _Writer:
    """``_insert`` in a background thread on PostgreSQL, as the seeder loads: the server builds
    rows into the tables and their indexes while Python makes the next chunk (the thread waits on
    the socket without holding the GIL). In the foreground elsewhere.

    Used inside the caller's transaction: the thread uses the same connection, and the caller
    does not touch the database between ``__enter__`` and ``__exit__``.

    On PostgreSQL the foreign keys of the ``checked`` models' tables (deferred to the commit, as
    Django makes them) are checked at the end of each COPY while the writer runs, so that the
    server checks them beside the Python work instead of alone at the commit; rows must then come
    after the rows they point to."""

    def __init__(self, checked: tuple[type[models.Model], ...] = ()) -> None:
        self.background = connection.vendor == "postgresql"
        self.queue: queue.Queue[tuple[type[models.Model], list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.checked = checked
        self.foreign_keys = ""

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
            self.thread = threading.Thread(target=self._run, args=(raw, errors), name="import-copy", daemon=True)
            self.thread.start()
        return self

    def _run(self, raw: Any, errors: Any) -> None:
        try:
            with errors, raw.cursor() as cursor:
                while (item := self.queue.get()) is not None:
                    _insert(item[0], item[1], cursor)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            while self.queue.get() is not None:  # drain so the caller never blocks
                pass

    def put(self, model: type[models.Model], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.background:
            _insert(model, rows)
            return
        if self.error is not None:
            raise self.error
        self.queue.put((model, rows))

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None and exc is None:
            raise self.error
        if self.foreign_keys and exc is None:
            with connection.cursor() as cur:
                cur.execute(f"SET CONSTRAINTS {self.foreign_keys} DEFERRED")


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
# The rest of a member's columns, in the order ``write`` puts them after the plain ones.
_MEMBER_MADE = [
    "id",
    "household_id",
    "unit_id",
    "position",
    "name",
    "name_pinyin",
    "name_initials",
    "sex",
    "birth_date",
    "id_cipher",
    "id_hash",
    "id_masked",
    "on_open_file",
]
WRITE_CHUNK = 2000  # households a COPY round
MEMBER_CHUNK = 10000  # members a COPY round


def _member_row() -> Any:
    """A function from (the plain values of a member's input) + (the ``_MEMBER_MADE`` values) to
    the member's row in ``_columns(Member)`` order."""
    given = [*_MEMBER_PLAIN, *_MEMBER_MADE]
    cols = _columns(Member)
    if sorted(given) != sorted(cols):
        raise RuntimeError(f"the import does not fill these member columns: {sorted(set(cols) ^ set(given))}")
    return operator.itemgetter(*(given.index(c) for c in cols))


def write(*, actor: Any, batch: ImportBatch, ready: list[Ready]) -> int:
    """Write the households in bulk (inside the caller's transaction); returns how many.

    The households, their bank accounts and timeline events first, then the members in the order
    of their union and name, a chunk at a time: the server takes a chunk into the table, its
    indexes and foreign-key checks while the next one is made (that upkeep is most of an import's
    time; in this order a member's name indexes take their new entries page after page instead of
    all over the tree)."""
    if not ready:
        return 0
    now = timezone.now()
    today = timezone.localdate()
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    summary = _("Imported from %(name)s") % {"name": batch.name}
    h_ids = _ids(Household, len(ready))
    n_members = sum(len(r.checked) for r in ready)
    m_ids = _ids(Member, n_members)
    b_ids = iter(_ids(BankAccount, sum(1 for r in ready if r.parsed.data.bank_account is not None)))
    t_ids = _ids(TimelineEvent, len(ready))
    h_row = operator.itemgetter(*_columns(Household))
    b_row, t_row = operator.itemgetter(*_columns(BankAccount)), operator.itemgetter(*_columns(TimelineEvent))
    m_row = _member_row()
    plain = operator.attrgetter(*_MEMBER_PLAIN)

    # (union, name, household id, member id, position, checked member, keyed hash), in file order;
    # ids are given in file order, so that a household's members keep their order.
    people: list[tuple[int, str, int, int, int, CheckedMember, str]] = []
    next_id = 0
    for hid, r in zip(h_ids, ready, strict=True):
        unit_id = r.unit.pk
        for pos, (c, digest) in enumerate(zip(r.checked, r.hashes, strict=True)):
            people.append((unit_id, c.data.name.strip(), hid, m_ids[next_id], pos, c, digest))
            next_id += 1
    people.sort(key=operator.itemgetter(0, 1))  # stable: file order among equal names
    pinyin: dict[str, tuple[str, str]] = {}
    with _Writer(checked=(Household, BankAccount, TimelineEvent, Member)) as writer:
        for start in range(0, len(ready), WRITE_CHUNK):
            part = ready[start : start + WRITE_CHUNK]
            cards = [fastcheck.card(r.parsed.data.bank_account.card_number) for r in part if r.parsed.data.bank_account]
            card_ciphers = iter(crypto.encrypt_many(cards))
            card_hashes = iter(crypto.keyed_hash_many(cards))
            cards_it = iter(cards)
            h_rows, b_rows, t_rows = [], [], []
            for hid, tid, r in zip(h_ids[start:], t_ids[start:], part, strict=False):
                d = r.parsed.data
                economy = compute_economy([person_facts(c.data, c.birth_date) for c in r.checked], [], [], today)
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
                h_rows.append(h_row(hv))
                if d.bank_account is not None:
                    card = next(cards_it)
                    bv = {
                        "id": next(b_ids),
                        "household_id": hid,
                        "bank": d.bank_account.bank.strip(),
                        "branch": d.bank_account.branch.strip(),
                        "holder_name": d.bank_account.holder_name.strip(),
                        "card_cipher": next(card_ciphers),
                        "card_hash": next(card_hashes),
                        "card_masked": crypto.mask_middle(card),
                    }
                    b_rows.append(b_row(bv))
                tv = {
                    "id": tid,
                    "household_id": hid,
                    "at": now,
                    "actor_id": user_id,
                    "kind": codes.TimelineKind.FILE_CREATED,
                    "summary": summary,
                    "data": {"file_number": r.parsed.file_number, "import_batch": batch.pk},
                }
                t_rows.append(t_row(tv))
            writer.put(Household, h_rows)
            writer.put(BankAccount, b_rows)
            writer.put(TimelineEvent, t_rows)
        for start in range(0, len(people), MEMBER_CHUNK):
            chunk = people[start : start + MEMBER_CHUNK]
            ciphers = crypto.encrypt_many([p[5].rid.value for p in chunk])
            m_rows = []
            for (unit_id, name, hid, mid, pos, c, digest), cipher in zip(chunk, ciphers, strict=True):
                readings = pinyin.get(name)
                if readings is None:
                    readings = pinyin[name] = name_pinyin(name)
                md = c.data
                m_rows.append(
                    m_row(
                        (
                            *plain(md),
                            mid,
                            hid,
                            unit_id,
                            pos,
                            name,
                            readings[0],
                            readings[1],
                            c.sex,
                            c.birth_date,
                            cipher,
                            digest,
                            c.rid.masked,
                            not md.deceased,
                        )
                    )
                )
            writer.put(Member, m_rows)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="intake.import_batch",
        target_id=batch.pk,
        unit_path=batch.unit.path,
        after={
            "file": batch.name,
            "sha256": batch.sha256,
            "households": len(ready),
            "persons": n_members,
            "first_household_id": h_ids[0],
            "last_household_id": h_ids[-1],
        },
    )
    return len(ready)


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
            ImportBatch.objects.filter(pk=same.pk).update(state=ImportState.COMMITTING, committed_by=actor)
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
