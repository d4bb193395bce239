"""Writes of the matching capability: import and purge datasets, run rechecks, review findings."""

from __future__ import annotations

import datetime as dt
import logging
import math
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bangfu.common import runs, sheets
from bangfu.common.audit import audit_deferred, audit_record
from bangfu.common.errors import DomainError
from bangfu.common.ids import SHANGHAI, ResidentId, mask_ids_in
from bangfu.common.punctuation import join_list
from bangfu.common.text import clean_reason
from bangfu.eligibility import services as eligibility_services
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgUnit
from bangfu.registry import services as registry_services
from bangfu.registry.codes import OPEN_STATES, BusinessRoleKind, FileState, TimelineKind, VehicleKind
from bangfu.registry.models import Household, Member, TimelineEvent
from bangfu.registry.timeline import timeline_add

from . import bulk, snapshots
from .engine import backends
from .engine.rules import RuleParams, Severity
from .engine.schemas import DatasetKind
from .ingest import ImportLimits, IngestProblem, ingest
from .models import (
    ColumnMapping,
    Dataset,
    Finding,
    FindingStatus,
    MatchRun,
    ProposalStatus,
    RemovalProposal,
    RunStatus,
    source_of,
)
from .record_words import ROW_KEY as _ROW_KEY
from .record_words import own_key, record_in_words

logger = logging.getLogger(__name__)

# Permissions, by what they allow (the gate's constants).
IMPORT_PERM = Perm.REGISTRY_EXPORT  # bring department data in / send a request file out
EXPORT_PERM = Perm.REGISTRY_EXPORT  # download personal data: the findings, a dataset's rejected rows
REVIEW_PERM = Perm.HOUSEHOLD_EDIT  # confirm or dismiss a finding, record the notice
RUN_PERM = Perm.RECHECK_RUN  # start a recheck (the manager too, who does not change the files)
VIEW_PERM = Perm.HOUSEHOLD_VIEW
REVEAL_PERM = Perm.PERSONAL_REVEAL

DEFAULT_RETENTION_DAYS = int(getattr(settings, "BANGFU_DATASET_RETENTION_DAYS", 180))
MAX_RETENTION_DAYS = 3650  # ten years; department data is personal data kept for a purpose
ENGINES = ("duckdb", "spark")


class MatchError:
    """Error codes of this app (DomainError.code)."""

    IMPORT_FAILED = "dataset_import_failed"
    NOT_OPEN = "finding_not_open"
    FILE_CLOSED = "file_not_open"
    NOT_NOTIFIED = "worker_not_notified"
    PROPOSAL_LAPSED = "removal_proposal_lapsed"
    BAD_ENGINE = "bad_engine"


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def top_unit(actor: Any, perm: Perm = REVIEW_PERM) -> OrgUnit:
    units = access.units(actor, perm).order_by("path")
    unit = units.first()
    if unit is None:
        raise access.PermissionDenied(perm.value)
    return unit


def _unit_for(actor: Any, perm: Perm, unit: OrgUnit | None) -> OrgUnit:
    if unit is None:
        return top_unit(actor, perm)
    access.require_in_jurisdiction(actor, perm, unit)
    return unit


# -- column mappings and datasets -------------------------------------------------------------


def mapping_parse(text: str) -> dict[str, str]:
    """A column mapping as people write it: ``field=column`` pairs, one a line or separated by
    ``;`` (``id_number=车主身份证;record_key=车牌``), or a JSON object of the same. Which fields and
    columns exist is checked by the import, against the file."""
    import json

    text = text.strip()
    if not text:
        return {}
    if len(text) > 2000:
        raise ValidationError({"mapping": _("Write the columns in at most 2,000 characters.")})
    if text.startswith("{"):
        try:
            given = json.loads(text)
        except ValueError:
            given = None
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise ValidationError({"mapping": _("Write the columns as a JSON object of field: column.")})
        return {str(k).strip(): v.strip() for k, v in given.items()}
    mapping: dict[str, str] = {}
    for part in text.replace("；", ";").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        field, sep, column = part.replace("＝", "=").partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ValidationError(
                {"mapping": _("“%(part)s” is not field=column, e.g. id_number=车主身份证.") % {"part": part.strip()}}
            )
        mapping[field.strip()] = column.strip()
    return mapping


def column_mapping_save(*, actor: Any, source: str, kind: str, mapping: dict[str, str]) -> ColumnMapping:
    access.require(actor, IMPORT_PERM)
    if not source:
        raise ValidationError({"source": _("Name the source of the file.")})
    obj, _created = ColumnMapping.objects.update_or_create(
        source=source, kind=DatasetKind(kind).value, defaults={"mapping": dict(mapping)}
    )
    return obj


def import_limits(*, web: bool = False) -> ImportLimits:
    """What one import may take (settings ``BANGFU_DATASET_[WEB_]MAX_ROWS`` and ``…_MAX_MB``):
    ``web`` for the page and the API, which import inside the request; else one process's (the
    command line, the demo)."""
    prefix = "BANGFU_DATASET_WEB_" if web else "BANGFU_DATASET_"
    rows, mb = (int(getattr(settings, prefix + name)) for name in ("MAX_ROWS", "MAX_MB"))
    return ImportLimits(rows=rows, unpacked_bytes=mb << 20, web=web)


def dataset_import(
    *,
    actor: Any,
    kind: str,
    path: Path,
    file_name: str = "",
    source: str = "",
    mapping: dict[str, str] | None = None,
    as_of: dt.date | None = None,
    retention_days: int | None = None,
    unit: OrgUnit | None = None,
    limits: ImportLimits | None = None,
) -> Dataset:
    """Import one department file, all or nothing, within ``limits`` (default: one process's,
    ``import_limits``; the page and the API give the web's).

    The column mapping is ``mapping`` if given, else the one saved for ``source``, else the
    recognised headers; the mapping used is saved for ``source``. Raises ``DomainError`` with
    code ``dataset_import_failed`` (details: the problem code and counts) and leaves nothing.
    """
    try:
        dataset_kind = DatasetKind(kind)
    except ValueError:
        raise ValidationError({"kind": _("Unknown dataset kind: %(kind)s") % {"kind": kind}}) from None
    owner = _unit_for(actor, IMPORT_PERM, unit)
    retention = DEFAULT_RETENTION_DAYS if retention_days is None else int(retention_days)
    if retention < 1:
        raise ValidationError({"retention_days": _("Keep a dataset for at least one day.")})
    if retention > MAX_RETENTION_DAYS:
        raise ValidationError(
            {"retention_days": _("Keep a dataset for at most %(days)s days.") % {"days": MAX_RETENTION_DAYS}}
        )
    as_of = as_of or today()
    if as_of > today():
        raise ValidationError({"as_of": _("The data cannot be as of a day after today.")})
    purged_on = retention_end(as_of, retention)
    if purged_on <= today():
        # The retention counts from the data's date: such a dataset would be purged the same night.
        raise ValidationError(
            {
                "retention_days": _(
                    "Data of %(as_of)s kept %(days)s days is already past its retention: give a longer retention."
                )
                % {"as_of": as_of.isoformat(), "days": retention}
            }
        )
    if mapping is None and source:
        saved = ColumnMapping.objects.filter(source=source, kind=dataset_kind.value).first()
        mapping = saved.mapping if saved else None

    with tempfile.TemporaryDirectory(prefix="bangfu-import-") as tmp:
        try:
            result = ingest(
                Path(path), dataset_kind, Path(tmp), mapping=mapping, as_of=as_of, limits=limits or import_limits()
            )
        except IngestProblem as problem:
            raise DomainError(
                MatchError.IMPORT_FAILED, problem.message, {"problem": problem.code, **problem.details}
            ) from problem
        if result.prehashed:
            _check_answer(result.snapshot, result.rows_taken, owner)
        stored: list[str] = []
        try:
            with transaction.atomic():
                ds = Dataset.objects.create(
                    kind=dataset_kind.value,
                    source=source,
                    file_name=(file_name or Path(path).name)[:200],
                    unit=owner,
                    as_of=as_of,
                    retention_days=retention,
                    expires_on=purged_on,
                    mapping=result.mapping,
                    rows_total=result.rows_total,
                    rows_taken=result.rows_taken,
                    rows_rejected=result.rows_rejected,
                    rows_duplicate=result.rows_duplicate,
                    rows_skipped=result.rows_skipped,
                    prehashed=result.prehashed,
                    imported_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
                ds.snapshot = snapshots.store(result.snapshot, f"{snapshots.DATASET_DIR}/{ds.pk}.parquet")
                stored.append(ds.snapshot)
                ds.rejected_file = snapshots.store(result.rejected, f"{snapshots.DATASET_DIR}/{ds.pk}-rejected.csv")
                stored.append(ds.rejected_file)
                ds.save(update_fields=["snapshot", "rejected_file"])
                if source:
                    ColumnMapping.objects.update_or_create(
                        source=source, kind=dataset_kind.value, defaults={"mapping": result.mapping}
                    )
                audit_record(
                    actor=actor,
                    action="create",
                    target_type="matching.dataset",
                    target_id=ds.pk,
                    unit_path=owner.path,
                    after={
                        "kind": ds.kind,
                        "file": ds.file_name,
                        "rows_taken": ds.rows_taken,
                        "rows_rejected": ds.rows_rejected,
                        "rows_duplicate": ds.rows_duplicate,
                        "rows_skipped": ds.rows_skipped,
                        "as_of": ds.as_of,
                        "expires_on": ds.expires_on,
                    },
                )
        except BaseException:
            for name in stored:
                snapshots.remove(name)
            raise
    return ds


def rows_skipped_in_words(dataset: Dataset) -> str:
    """What the page and the command add to an import's result when rows of totals or notes at the
    end of the file were skipped (neither taken nor rejected); '' when none was."""
    n = dataset.rows_skipped
    if not n:
        return ""
    return ngettext("Skipped %(n)s row of totals or notes.", "Skipped %(n)s rows of totals or notes.", n) % {"n": n}


def retention_end(as_of: dt.date, retention_days: int) -> dt.date:
    """The day a dataset is purged (``Dataset.expires_on``): data of ``as_of`` kept N days is kept
    to the end of day ``as_of`` + N and purged the day after; the import, the recheck and the
    night's purge all read this one date (a dataset is used while today is before it)."""
    return as_of + dt.timedelta(days=retention_days + 1)


def _check_answer(snapshot: Path, rows: int, unit: OrgUnit) -> None:
    """A file of keyed hashes without ID numbers is a checking centre's answer to a request file
    (``exchange_request_export``): each of its rows is a person on a file of the union that asked
    (of any state: a file may have closed since). Refused, naming the rows, when some are not
    (the answers to two requests mixed, or someone else's rows), and when none is (the answer to
    another union's request, or hashes made with another key: nothing would match)."""
    import duckdb

    from bangfu.common import crypto

    numbers = []
    for cipher in Member.objects.filter(household__unit__path__startswith=unit.path).values_list(
        "id_cipher", flat=True
    ):
        try:
            numbers.append(crypto.resident_id_int(crypto.decrypt(cipher)))
        except ValueError:
            continue
    keys = pa.table({"id_key": crypto.keyed_hash64_arrow(pa.array(numbers, pa.int64()))})
    with duckdb.connect() as con:
        con.register("keys", keys)
        found = con.execute(
            "SELECT count(*), list(row_no ORDER BY row_no)[1:5] FROM read_parquet(?) d "
            "WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.id_key = d.id_key)",
            [str(snapshot)],
        ).fetchone()
    strangers, first = found if found else (0, [])
    if not strangers:
        return
    if strangers >= rows:
        message = _(
            "No row of this file of keyed hashes (%(rows)s rows) is a person on a file of %(unit)s: it answers "
            "another union's request, or its hashes were made with another key. Nothing was imported."
        ) % {"rows": rows, "unit": unit.name}
    else:
        message = _(
            "Not persons on a file of %(unit)s: %(count)s of the %(rows)s rows of this file of keyed hashes "
            "(rows %(first)s). The file holds rows of another request; nothing was imported."
        ) % {
            "count": strangers,
            "rows": rows,
            "unit": unit.name,
            "first": join_list(first) + (" …" if strangers > len(first) else ""),
        }
    raise DomainError(
        MatchError.IMPORT_FAILED, message, {"problem": "not_requested", "rows": rows, "not_on_file": strangers}
    )


def dataset_delete(*, actor: Any, dataset: Dataset, note: str = "") -> None:
    """Delete a dataset and its files (findings stay, without the link to the dataset). A person
    needs the import permission at the dataset's union; the retention purge (no actor) needs none."""
    if actor is not None:
        access.require(actor, IMPORT_PERM, dataset.unit)
    names = [dataset.snapshot, dataset.rejected_file]
    # The audit entry is appended last (``audit_deferred``): clearing the findings' link may wait
    # for a finding a reviewer has locked, and the reviewer for the audit log's lock.
    with audit_deferred():
        audit_record(
            actor=actor,
            action="delete",
            target_type="matching.dataset",
            target_id=dataset.pk,
            unit_path=dataset.unit.path,
            before={"kind": dataset.kind, "file": dataset.file_name, "expires_on": dataset.expires_on},
            note=note,
        )
        dataset.delete()
        transaction.on_commit(lambda: _remove_all(names))


def _remove_all(names: list[str]) -> None:
    for name in names:
        snapshots.remove(name)


def purge_expired_datasets(*, on: dt.date | None = None) -> int:
    """Delete every dataset past its retention period; returns how many. Safe to run again."""
    day = on or today()
    count = 0
    for ds in Dataset.objects.filter(expires_on__lte=day).select_related("unit"):
        dataset_delete(actor=None, dataset=ds, note=_("retention period ended"))
        count += 1
    return count


# -- recheck runs -------------------------------------------------------------------------------


def match_run(
    *,
    actor: Any,
    unit: OrgUnit | None = None,
    dataset_ids: Iterable[int],
    engine: str = "duckdb",
    params: dict[str, Any] | None = None,
) -> MatchRun:
    """Start a recheck of ``unit``'s subtree (default: the actor's whole jurisdiction)."""
    if engine not in ENGINES:
        raise DomainError(MatchError.BAD_ENGINE, _("Unknown engine %(engine)s") % {"engine": engine})
    target = _unit_for(actor, RUN_PERM, unit)
    ids = list(dict.fromkeys(int(i) for i in dataset_ids))
    datasets = list(access.scope(actor, Dataset.objects.filter(pk__in=ids).select_related("unit"), VIEW_PERM))
    datasets += [
        d
        for d in Dataset.objects.filter(pk__in=ids, unit__path__in=_ancestor_paths(target)).select_related("unit")
        if d not in datasets
    ]
    if not ids or len(datasets) != len(ids):
        raise ValidationError({"dataset_ids": _("Choose datasets you may use.")})
    if expired := [d for d in datasets if d.expires_on <= today()]:
        # Past its retention, waiting for the night's purge: the data may no longer be used.
        raise ValidationError(
            {
                "dataset_ids": _("%(file)s is past its retention period and is no longer used.")
                % {"file": expired[0].file_name or f"#{expired[0].pk}"}
            }
        )
    _check_rule_params(params or {})
    with transaction.atomic():
        runs.hold_tree(target)  # a run over an overlapping subtree started meanwhile waits, then is refused
        _stale_runs_failed(target)
        if under_way := _run_under_way(target):
            raise _refused_under_way(under_way)
        try:
            with transaction.atomic():  # a run of the union inserted meanwhile: refused the same way
                run = MatchRun.objects.create(
                    unit=target,
                    engine=engine,
                    params=params or {},
                    started_by=actor if getattr(actor, "is_authenticated", False) else None,
                    sources=[source_of(d) for d in sorted(datasets, key=lambda d: (d.kind, d.pk))],
                )
        except IntegrityError:
            if under_way := _run_under_way(target):
                raise _refused_under_way(under_way) from None
            raise
        run.datasets.set(datasets)
        audit_record(
            actor=actor,
            action="create",
            target_type="matching.run",
            target_id=run.pk,
            unit_path=target.path,
            after={"datasets": ids, "engine": engine},
        )
        from .tasks import match_run_task

        transaction.on_commit(lambda: match_run_task.enqueue(run.pk))
    return run


# The bounds of a rule parameter given with a recheck: whole numbers (homes, days) and numbers
# (ratios, yuan, m²); a number of days beyond this is not a date.
_MAX_WHOLE = 100_000
_MAX_NUMBER = 1_000_000_000


def _check_rule_params(params: dict[str, Any]) -> None:
    """Each parameter the rules know (``RuleParams``; other keys are ignored) has the kind of its
    default: a list of words, a whole number or a number, within bounds. The rules would otherwise
    read a word list given as one string letter by letter, or fail later, in the background."""
    defaults = RuleParams()
    for name, value in params.items():
        if name not in RuleParams.__dataclass_fields__:
            continue
        default = getattr(defaults, name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
                problem = _("%(name)s must be a list of words, none of them empty") % {"name": name}
                raise ValidationError({"params": problem})
        elif isinstance(default, int):
            if not (isinstance(value, int) and number and 0 <= value <= _MAX_WHOLE):
                problem = _("%(name)s must be a whole number from 0 to %(max)s") % {"name": name, "max": _MAX_WHOLE}
                raise ValidationError({"params": problem})
        elif not (number and math.isfinite(value) and 0 <= value <= _MAX_NUMBER):
            problem = _("%(name)s must be a number from 0 to %(max)s") % {"name": name, "max": _MAX_NUMBER}
            raise ValidationError({"params": problem})


def _ancestor_paths(unit: OrgUnit) -> list[str]:
    """Paths of the unit and the units above it: a province's dataset serves its counties."""
    parts = [p for p in unit.path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _progress(run: MatchRun, percent: int) -> None:
    run.progress = percent
    MatchRun.objects.filter(pk=run.pk).update(progress=percent)


RUN_WAIT_SECONDS = 1.0
# A run still running this long after it started has lost the process that ran it (a province's
# recheck takes seconds, a nation's minutes): the daily sweep marks it failed, so that its page
# stops showing progress and it can be taken again.
RUN_STALE_AFTER = runs.RUN_STALE_AFTER


def fail_interrupted_runs(*, now: dt.datetime | None = None) -> int:
    """Mark failed the runs left running by a process that stopped (``RUN_STALE_AFTER``); returns
    how many. Safe to run again."""
    now = now or timezone.now()
    return MatchRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=now - RUN_STALE_AFTER).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error=_("Stopped without finishing: the process running it ended. Start the recheck again."),
    )


# One recheck of a union at a time (the constraint ``matching_one_active_run_per_unit``): the
# same union's work queued twice (two people, or one clicking three times) ran twice. A union above
# or inside one under way is refused too (``runs.overlapping``, under ``runs.hold_tree``'s locks), as
# the recompute is: the two would check the same files. A run that stopped with its process
# holds the union no longer than ``RUN_STALE_AFTER`` after it started (or, never taken by a
# worker, after it was queued): asked for again after that, it is marked failed first.


def _stale_runs_failed(unit: OrgUnit) -> None:
    runs.fail_stale(
        MatchRun.objects.filter(Q(unit__path__in=runs.tree_paths(unit)) | Q(unit__path__startswith=unit.path)),
        running=RunStatus.RUNNING,
        queued=RunStatus.QUEUED,
        failed=RunStatus.FAILED,
        error=_("Stopped without finishing: the process running it ended. Start the recheck again."),
    )


def _run_under_way(unit: OrgUnit) -> MatchRun | None:
    """A recheck queued or running over the union, one above it or one inside it."""
    return runs.overlapping(MatchRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]), unit)


def _refused_under_way(run: MatchRun) -> DomainError:
    """409 naming the run of the same union already queued or running: which, who, since when."""
    return runs.refused_under_way(
        run,
        _(
            "A recheck of %(unit)s is already under way: run %(run)s, started by %(who)s at %(when)s. "
            "Wait for it to finish (its page shows how far it is); a run that stopped is given up "
            "%(hours)s hours after it started."
        ),
    )


def match_run_execute(*, run_id: int, wait: bool = True) -> MatchRun:
    """The body of a run: its background task, or ``bangfu match run``, which runs the run it
    started itself while the worker may pick up the same task. The first to take the run (queued,
    or failed before) runs it; the other leaves it to them, and with ``wait`` returns it once they
    are done. Re-running records no finding twice."""
    run = MatchRun.objects.select_related("unit").get(pk=run_id)
    try:
        with transaction.atomic():
            taken = MatchRun.objects.filter(pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.FAILED]).update(
                status=RunStatus.RUNNING, started_at=timezone.now(), error=""
            )
    except IntegrityError:
        # A failed run taken again while another run of its union is under way: left failed.
        taken = 0
    if not taken:
        run.refresh_from_db()
        while wait and run.status == RunStatus.RUNNING:
            if run.started_at and run.started_at < timezone.now() - RUN_STALE_AFTER:
                fail_interrupted_runs()  # its process has stopped: not waited for forever
            else:
                time.sleep(RUN_WAIT_SECONDS)
            run.refresh_from_db()
        return run
    try:
        _execute(run)
    except Exception as exc:
        logger.exception("match run %s failed", run.pk)
        MatchRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def _engine(name: str) -> backends.Backend:
    if name == "spark":
        master = getattr(settings, "BANGFU_SPARK_MASTER", "") or "local[2]"
        return backends.SparkBackend(master=master)
    return backends.DuckDBBackend()


def _execute(run: MatchRun) -> None:
    datasets = list(run.datasets.all())
    with tempfile.TemporaryDirectory(prefix="bangfu-run-") as tmp:
        persons = Path(tmp) / "persons.parquet"
        household_unit, persons_count = snapshots.write_persons(run.unit, persons)
        _progress(run, 20)
        with _local_snapshots(datasets) as sources:
            found = backends.match_table(
                _engine(run.engine), str(persons), sources, RuleParams.from_dict(run.params), today()
            )
    _progress(run, 70)
    now = timezone.now()
    with transaction.atomic():
        bulk.findings_insert(found, run_id=run.pk, now=now)
        bulk.household_checks_upsert(list(household_unit), run_id=run.pk, now=now)
        summary = _summary(run, household_unit)
        new = sum(summary["by_severity"].values())
        MatchRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE,
            progress=100,
            persons=persons_count,
            households=len(household_unit),
            findings_new=new,
            summary=summary,
            finished_at=timezone.now(),
        )


class _local_snapshots:  # noqa: N801 - used as a context manager
    """Local paths for the datasets' snapshots for the duration of the run."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self.datasets = datasets
        self._stack: list[Any] = []

    def __enter__(self) -> list[backends.DatasetSource]:
        out = []
        for ds in self.datasets:
            cm = snapshots.local_path(ds.snapshot)
            self._stack.append(cm)
            out.append(backends.DatasetSource(ds.pk, DatasetKind(ds.kind), cm.__enter__()))
        return out

    def __exit__(self, *exc: object) -> None:
        while self._stack:
            self._stack.pop().__exit__(None, None, None)


def _summary(run: MatchRun, household_unit: dict[int, int]) -> dict[str, Any]:
    """The run's counts by unit and severity, by kind and severity, and by severity: of the
    findings this run recorded (one grouped query), not of everything it found. A record found
    again that an earlier recheck recorded is that recheck's finding, counted in its summary; counted
    here too, a union's second recheck repeated the first one's counts as if found anew, and its
    links opened findings it did not record. Each union of the run's files is listed, with the
    files it checked there."""
    households_per_unit = Counter(household_unit.values())
    by_unit: dict[int, dict[str, int]] = defaultdict(dict)
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    by_severity: dict[str, int] = {}
    rows = (
        Finding.objects.filter(run=run)
        .values_list("household__unit_id", "kind", "severity")
        .annotate(n=Count("id"))
        .order_by("household__unit_id", "kind", "severity")
    )
    for unit_id, kind, severity, n in rows:
        by_unit[unit_id][severity] = by_unit[unit_id].get(severity, 0) + n
        by_kind[kind][severity] = by_kind[kind].get(severity, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
    units = sorted(set(households_per_unit) | set(by_unit))
    names = dict(OrgUnit.objects.filter(pk__in=units).values_list("pk", "name"))
    return {
        "by_unit": [
            {
                "unit_id": uid,
                "unit": names.get(uid, ""),
                "households": households_per_unit.get(uid, 0),
                "findings": by_unit.get(uid, {}),
            }
            for uid in units
        ],
        "by_kind": dict(sorted(by_kind.items())),
        "by_severity": by_severity,
    }


# -- review -------------------------------------------------------------------------------------
#
# A review locks its finding, proposal and file first and appends to the audit log last
# (``audit_deferred``), as the dataset purge does: a write holding the audit log's lock while it
# waits for a row another one has locked, which then waits for that lock, was a deadlock.


def _open_finding(actor: Any, finding_id: int) -> Finding:
    qs = Finding.objects.select_for_update().select_related("household__unit", "member")
    finding = access.get_for(actor, qs, finding_id, REVIEW_PERM)
    if finding.status != FindingStatus.OPEN:
        raise DomainError(MatchError.NOT_OPEN, _("This finding has already been reviewed."), {"status": finding.status})
    return finding


# The rules whose confirmed findings change the file: what the record shows is written into it (a
# vehicle, a company role, a home) or the member is marked deceased. An income discrepancy or a
# dibao roll is only recorded as confirmed: a person corrects the file by hand.
WRITES_FILE = frozenset(
    {"vehicle_owned", "active_company_role", "recent_home_purchase", "homes_over_limit", "death_record"}
)


def finding_confirm(*, actor: Any, finding_id: int, reason: str = "") -> Finding:
    """Confirm a finding of an open file (a closed file's is refused: it may be dismissed).
    Disqualifying: a removal proposal waiting for the worker to be told. A death record: the
    member is marked deceased and no longer counted in the household."""
    reason = _reason(reason, "reason", _("Say why the finding is confirmed."), required=False)
    with audit_deferred():
        finding = _open_finding(actor, finding_id)
        if finding.household.state not in OPEN_STATES:
            raise DomainError(
                MatchError.FILE_CLOSED,
                _(
                    "File %(number)s is no longer open (%(state)s): nothing can be written into it, so its "
                    "finding cannot be confirmed. Dismiss the finding, saying why."
                )
                % {"number": finding.household.file_number, "state": finding.household.get_state_display()},
                {"state": finding.household.state},
            )
        finding.status = FindingStatus.CONFIRMED
        finding.reviewer = actor
        finding.reviewed_at = timezone.now()
        finding.reason = reason
        finding.save(update_fields=["status", "reviewer", "reviewed_at", "reason"])
        _audit_review(actor, finding, "confirmed")
        household = finding.household
        timeline_add(
            household=household,
            actor=actor,
            kind="finding_confirmed",
            summary=_("Cross-check finding confirmed: %(rule)s") % {"rule": finding.get_rule_display()},
            data={"finding": finding.pk, "rule": finding.rule, "kind": finding.kind, "record": finding.record_key},
        )
        # The same record (by its own key: a row number names no record in another file) found
        # again in a newer dataset of the department, and confirmed before: the file has it
        # already, and a removal it proposed that still applies is not proposed twice.
        same = {"member_id": finding.member_id, "kind": finding.kind, "rule": finding.rule}
        earlier = Finding.objects.filter(**same, record_key=finding.record_key, status=FindingStatus.CONFIRMED)
        earlier = earlier.exclude(pk=finding.pk) if not _ROW_KEY.fullmatch(finding.record_key) else earlier.none()
        if finding.severity == Severity.DISQUALIFYING and not proposals_applying().filter(finding__in=earlier).exists():
            proposal = RemovalProposal.objects.create(household=household, finding=finding, created_by=actor)
            timeline_add(
                household=household,
                actor=actor,
                kind="removal_proposed",
                summary=_("Removal proposed; the worker must be told before the file is removed"),
                data={"proposal": proposal.pk, "finding": finding.pk},
            )
        if finding.rule == "death_record":
            _mark_deceased(actor, finding.member)
        facts = [] if earlier.exists() else confirmed_facts(finding)
        if facts:
            registry_services.household_facts_confirm(
                actor=actor,
                household_id=household.pk,
                facts=facts,
                source=_("Confirmed from a cross-department check: %(rule)s, record %(record)s")
                % {"rule": finding.get_rule_display(), "record": record_in_words(finding.record_key)},
            )
        # Identification follows the file: decide again with what the reviewer has confirmed.
        eligibility_services.decision_compute(actor=actor, household_id=household.pk)
    return finding


_VEHICLE_WORDS = (
    (("农机", "拖拉机", "收割", "挖掘"), VehicleKind.FARM_MACHINERY),
    (("船",), VehicleKind.VESSEL),
)
_ROLE_WORDS = (
    (("法定代表人", "法人", "负责人", "legal"), BusinessRoleKind.LEGAL_REPRESENTATIVE),
    (("股东", "shareholder"), BusinessRoleKind.CONTROLLING_SHAREHOLDER),
)


def _kind_by_words(text: str, table: Any, default: str) -> str:
    low = text.lower()
    for words, kind in table:
        if any(w in low for w in words):
            return str(kind)
    return default


def confirmed_facts(finding: Finding) -> list[registry_services.DepartmentFact]:
    """What a confirmed disqualifying finding adds to the file, in the file's terms, with the
    department record's own values in the note (a plate and its vehicle type, a certificate
    number): no word of the reviewer's language, as the file is read in any language (a reviewer
    reading English wrote "Vehicles 云L22222 小型普通客车" into a Chinese file). A record named by
    its row is named in the timeline line and the audit entry, which are read in the reader's
    language. Other findings add nothing: a death goes through the registry's own service, an
    income discrepancy or a dibao roll needs a person to correct the file."""
    d = finding.details or {}
    text = str(d.get("text") or "")
    key = own_key(finding.record_key)
    note = " ".join(v for v in (key, text) if v)
    Fact = registry_services.DepartmentFact  # noqa: N806 - a class alias
    if finding.rule == "vehicle_owned":
        return [Fact(note=note, vehicle_kind=_kind_by_words(text, _VEHICLE_WORDS, VehicleKind.CAR))]
    if finding.rule == "active_company_role":
        company, _sep, role = text.partition(" / ")
        kind = _kind_by_words(role, _ROLE_WORDS, BusinessRoleKind.SENIOR_MANAGER)
        return [Fact(note=note, company=company or key, role=kind)]
    if finding.rule in ("recent_home_purchase", "homes_over_limit"):
        return _homes_facts(finding)
    return []


@dataclass(frozen=True)
class HomeRecord:
    """One home of a department's real-estate record: its key (certificate number, or ``row N``),
    floor area and registration date."""

    record: str
    area: Decimal
    bought: dt.date | None


def home_records(finding: Finding) -> list[HomeRecord]:
    """The homes a real-estate finding names, each with its own area and date: the one record of a
    recent purchase, every record of homes over the limit (``home_records`` in its details; a
    finding made before they were kept there names its records without their areas)."""
    d = finding.details or {}
    if finding.rule == "recent_home_purchase":
        return [HomeRecord(finding.record_key, _decimal_or_zero(d.get("value")), _date_or_none(d.get("date")))]
    if finding.rule != "homes_over_limit":
        return []
    return [
        HomeRecord(str(h.get("record") or ""), _decimal_or_zero(h.get("area")), _date_or_none(h.get("date")))
        for h in d.get("home_records") or []
        if isinstance(h, dict)
    ]


def _homes_facts(finding: Finding) -> list[registry_services.DepartmentFact]:
    """One home per department record not yet on the file, with its own area and date. A record is
    on the file when a home's note names its certificate number (as the homes written from a
    confirmed finding do), when a confirmed finding of the same dataset wrote it (a record named by
    its row), or when a home the file declares without a certificate has its area (and date, when
    both are known): the file's homes are not counted twice."""
    household = finding.household if finding.household_id else None
    homes = list(household.homes.all()) if household is not None else []
    earlier = _confirmed_home_records(finding)
    written = {r for r in earlier if _ROW_KEY.fullmatch(r)}
    keys = {r.record for r in home_records(finding)} | earlier
    keys = {k for k in keys if k and not _ROW_KEY.fullmatch(k)}
    unclaimed = [h for h in homes if not any(k in h.note for k in keys)]
    facts = []
    for record in home_records(finding):
        if _ROW_KEY.fullmatch(record.record):
            if record.record in written:
                continue
        elif record.record and any(record.record in h.note for h in homes):
            continue
        same = next(
            (
                h
                for h in unclaimed
                if h.floor_area == record.area and (h.acquired_on is None or record.bought in (None, h.acquired_on))
            ),
            None,
        )
        if same is not None:
            unclaimed.remove(same)
            continue
        # The certificate number (how the next confirmation knows the home); nothing for a row.
        note = own_key(record.record)
        facts.append(registry_services.DepartmentFact(note=note, floor_area=record.area, acquired_on=record.bought))
    return facts


def _confirmed_home_records(finding: Finding) -> set[str]:
    """The records the household's confirmed real-estate findings have written into the file: by
    certificate number, and by row (``row N``) for those of the same dataset only (a row names no
    record in another file)."""
    if not finding.household_id:
        return set()
    earlier = Finding.objects.filter(
        household_id=finding.household_id,
        kind=finding.kind,
        status=FindingStatus.CONFIRMED,
        rule__in=["recent_home_purchase", "homes_over_limit"],
    ).exclude(pk=finding.pk)
    return {
        r.record
        for f in earlier
        for r in home_records(f)
        if not _ROW_KEY.fullmatch(r.record) or (f.dataset_id and f.dataset_id == finding.dataset_id)
    }


def _decimal_or_zero(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


def _date_or_none(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _mark_deceased(actor: Any, member: Member) -> None:
    """Through the registry's own service: the per-head economy is recomputed, the member leaves the
    open file, and the head's death is refused there (choose a new head or cancel the file)."""
    registry_services.member_mark_deceased(
        actor=actor, member_id=member.pk, source=_("death record confirmed (cross-department check)")
    )


def _reason(text: str, field: str, missing: str, *, required: bool = True) -> str:
    """A reviewer's reason or note, kept without zero-width characters: at least two characters
    (one is no reason: "x", "无") when required or given, at most the 500 the record keeps."""
    # A full ID number quoted in it is kept masked: the note is shown to every reader of the case.
    kept = mask_ids_in(clean_reason(text or ""))
    if (required or kept) and len(kept) < 2:
        raise ValidationError({field: missing})
    if len(kept) > REASON_MAX:
        raise ValidationError(
            {field: _("At most %(max)s characters (this has %(count)s).") % {"max": REASON_MAX, "count": len(kept)}}
        )
    return kept


REASON_MAX = 500


def finding_dismiss(*, actor: Any, finding_id: int, reason: str) -> Finding:
    reason = _reason(reason, "reason", _("Say why the finding is dismissed."))
    with audit_deferred():
        finding = _open_finding(actor, finding_id)
        finding.status = FindingStatus.DISMISSED
        finding.reviewer = actor
        finding.reviewed_at = timezone.now()
        finding.reason = reason
        finding.save(update_fields=["status", "reviewer", "reviewed_at", "reason"])
        _audit_review(actor, finding, "dismissed")
        timeline_add(
            household=finding.household,
            actor=actor,
            kind="finding_dismissed",
            summary=_("Cross-check finding dismissed: %(reason)s") % {"reason": finding.reason},
            data={"finding": finding.pk, "rule": finding.rule},
        )
    return finding


def _audit_review(actor: Any, finding: Finding, outcome: str) -> None:
    audit_record(
        actor=actor,
        action="update",
        target_type="matching.finding",
        target_id=finding.pk,
        unit_path=finding.household.unit.path,
        before={"status": FindingStatus.OPEN.value},
        after={"status": outcome, "rule": finding.rule, "severity": finding.severity},
        note=finding.reason,
    )


def proposal_lapsed() -> Exists:
    """Whether a proposal's file has left the open states since the proposal was made (exited,
    cancelled or removed — by this proposal, another one or another path — and perhaps reopened
    since): the worker's notice and the removal it proposed no longer apply to the file as it is."""
    return Exists(
        TimelineEvent.objects.filter(
            household_id=OuterRef("household_id"), kind=TimelineKind.STATE_CHANGED, at__gte=OuterRef("created_at")
        ).filter(~Q(data__to__in=[str(s) for s in OPEN_STATES]))
    )


def proposals_applying(qs: QuerySet[RemovalProposal] | None = None) -> QuerySet[RemovalProposal]:
    """The removal proposals (of ``qs``) still to act on: the file open, and not closed since."""
    qs = RemovalProposal.objects.all() if qs is None else qs
    return (
        qs.filter(household__state__in=OPEN_STATES).exclude(status=ProposalStatus.WITHDRAWN).filter(~proposal_lapsed())
    )


def _still_applies(proposal: RemovalProposal) -> None:
    """Refuse to act on a proposal whose file is closed, or was closed after it was made (a second
    removal, an exit or a reopening by another path, perhaps at the same moment)."""
    household = proposal.household
    if household.state not in OPEN_STATES:
        raise DomainError(
            MatchError.PROPOSAL_LAPSED,
            _("File %(number)s is no longer open (%(state)s): there is no removal to act on.")
            % {"number": household.file_number, "state": household.get_state_display()},
            {"state": household.state},
        )
    if not proposals_applying().filter(pk=proposal.pk).exists():
        raise DomainError(
            MatchError.PROPOSAL_LAPSED,
            _(
                "File %(number)s was closed after this removal was proposed and is open again: the proposal "
                "no longer applies. Confirm a new finding if the record still holds."
            )
            % {"number": household.file_number},
            {"state": household.state},
        )


def removal_proposal_notify(*, actor: Any, proposal_id: int, note: str) -> RemovalProposal:
    """Record that the worker was told of the check result (how, in ``note``)."""
    note = _reason(note, "note", _("Say how and when the worker was told."))
    with audit_deferred():
        qs = RemovalProposal.objects.select_for_update().select_related("household__unit")
        proposal = access.get_for(actor, qs, proposal_id, REVIEW_PERM)
        _still_applies(proposal)
        if proposal.status != ProposalStatus.AWAITING_NOTICE:
            raise DomainError(MatchError.NOT_OPEN, _("The worker has already been told."))
        proposal.status = ProposalStatus.WORKER_NOTIFIED
        proposal.notified_by = actor
        proposal.notified_at = timezone.now()
        proposal.notice_note = note
        proposal.save(update_fields=["status", "notified_by", "notified_at", "notice_note"])
        audit_record(
            actor=actor,
            action="update",
            target_type="matching.removal_proposal",
            target_id=proposal.pk,
            unit_path=proposal.household.unit.path,
            after={"status": proposal.status},
            note=proposal.notice_note,
        )
        timeline_add(
            household=proposal.household,
            actor=actor,
            kind="worker_notified",
            summary=_("Worker told of the check result: %(note)s") % {"note": proposal.notice_note},
            data={"proposal": proposal.pk},
        )
    return proposal


def removal_proposal_execute(*, actor: Any, proposal_id: int) -> Household:
    """Remove the file (退档) — only once the worker has been told."""
    with audit_deferred():
        qs = RemovalProposal.objects.select_for_update().select_related("household__unit")
        proposal = access.get_for(actor, qs, proposal_id, REVIEW_PERM)
        _still_applies(proposal)
        if proposal.status != ProposalStatus.WORKER_NOTIFIED:
            raise DomainError(
                MatchError.NOT_NOTIFIED, _("The worker must be told of the check result before the file is removed.")
            )
        # The file's other proposals still to act on (another disqualifying finding of the file).
        others = list(
            proposals_applying(RemovalProposal.objects.select_for_update().filter(household_id=proposal.household_id))
            .exclude(pk=proposal.pk)
            .values_list("pk", flat=True)
        )
        household = registry_services.household_state_change(
            actor=actor,
            household_id=proposal.household_id,
            to_state=FileState.REMOVED,
            reason=_("removed after a confirmed cross-check finding (proposal %(id)s)") % {"id": proposal.pk},
        )
        _withdraw(actor, proposal, others)
    household.refresh_from_db()
    return household


def _withdraw(actor: Any, proposal: RemovalProposal, others: list[int]) -> None:
    """The file's other proposals still to act on are withdrawn when ``proposal`` removes it: they
    do not wait for a notice forever."""
    for other in RemovalProposal.objects.filter(pk__in=others):
        other.status = ProposalStatus.WITHDRAWN
        other.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="update",
            target_type="matching.removal_proposal",
            target_id=other.pk,
            unit_path=proposal.household.unit.path,
            after={"status": other.status},
            note=_("the file was removed by proposal %(id)s") % {"id": proposal.pk},
        )


# -- exchange with an outside checking centre --------------------------------------------------

EXCHANGE_COLUMNS_HASHED = ["request_id", "id_key"]
EXCHANGE_COLUMNS_PLAIN = ["request_id", "id_key", "id_number", "name"]


def exchange_request_export(
    *, actor: Any, target: Path, unit: OrgUnit | None = None, fmt: str = "csv", hashed_only: bool = True
) -> int:
    """Write the request file of the persons to check; returns the number of persons.

    Format (CSV in UTF-8 with a header, or Parquet): ``request_id`` (our reference),
    ``id_key`` (the 64-bit keyed hash of the normalised ID number), and — unless
    ``hashed_only`` — ``id_number`` and ``name``. The checking centre answers with a file of
    one dataset kind whose rows carry ``id_key`` (or ``id_number``); it is imported with
    ``dataset_import`` like any department file.
    """
    import csv

    import pyarrow.parquet as pq

    from bangfu.common import crypto

    source = _unit_for(actor, IMPORT_PERM, unit)
    if not hashed_only:
        access.require(actor, REVEAL_PERM, source)
    columns = EXCHANGE_COLUMNS_HASHED if hashed_only else EXCHANGE_COLUMNS_PLAIN
    data: dict[str, list[Any]] = {c: [] for c in columns}
    members = (
        Member.objects.filter(household__unit__path__startswith=source.path, household__state__in=_open_states())
        .filter(deceased=False)
        .order_by("id")
        .values_list("id", "id_cipher", "name")
    )
    numbers: list[int] = []
    for member_id, cipher, name in members.iterator(chunk_size=5000):
        number = crypto.decrypt(cipher)
        data["request_id"].append(member_id)
        numbers.append(crypto.resident_id_int(number))
        if not hashed_only:
            data["id_number"].append(number)
            data["name"].append(name)
    data["id_key"] = crypto.keyed_hash64_arrow(pa.array(numbers, pa.int64())).to_pylist()
    count = len(data["request_id"])
    if fmt == "parquet":
        pq.write_table(pa.table(data), target)
    elif fmt == "csv":
        with Path(target).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            # A name a spreadsheet would take for a formula (-王, =…) is written as text.
            writer.writerows(sheets.csv_row(row) for row in zip(*(data[c] for c in columns), strict=True))
    else:
        raise ValidationError({"format": _("csv or parquet")})
    audit_record(
        actor=actor,
        action="export" if hashed_only else "reveal",
        target_type="matching.exchange_request",
        unit_path=source.path,
        after={"persons": count, "format": fmt, "hashed_only": hashed_only},
    )
    return count


def _open_states() -> list[str]:
    from bangfu.registry.codes import OPEN_STATES

    return [str(s) for s in OPEN_STATES]


# -- checking the members of an application -------------------------------------------------------


@dataclass(frozen=True)
class CheckPerson:
    """A person to check who is not (yet) on a file: an application's member, by position."""

    position: int
    id_number: str
    name: str
    monthly_income: float = 0.0


def usable_datasets(unit: OrgUnit, *, on: dt.date | None = None) -> list[Dataset]:
    """The newest dataset of each kind imported at ``unit`` or a union above it, not yet purged."""
    day = on or today()
    newest: dict[str, Dataset] = {}
    qs = Dataset.objects.filter(unit__path__in=_ancestor_paths(unit), expires_on__gt=day).select_related("unit")
    for ds in qs.order_by("kind", "-as_of", "-id"):
        newest.setdefault(ds.kind, ds)
    return list(newest.values())


def persons_check(*, unit: OrgUnit, persons: list[CheckPerson]) -> dict[str, Any]:
    """Check ``persons`` against ``unit``'s usable datasets with the recheck's own rules and engine;
    nothing is written. Findings name the person by position and masked name (``household_id`` in
    the engine is 0 for all: they are one household)."""
    datasets = usable_datasets(unit)
    rows = []
    for p in persons:
        try:
            number = ResidentId.parse(p.id_number).value
        except ValueError:
            number = ""  # matches nothing; the form's own check reports it
        rows.append((p.position, 0, number, p.name, p.monthly_income, len(persons)))
    found: list[dict[str, Any]] = []
    if datasets and rows:
        with tempfile.TemporaryDirectory(prefix="bangfu-check-") as tmp:
            path = Path(tmp) / "persons.parquet"
            snapshots.write_person_rows(rows, path)
            with _local_snapshots(datasets) as sources:
                table = backends.match_table(_engine("duckdb"), str(path), sources, RuleParams(), today())
        names = {p.position: p.name for p in persons}
        found.extend(
            {
                "position": f.member_id,
                "name_masked": registry_services.mask_name(names.get(f.member_id, "")),
                "dataset_id": f.dataset_id,
                "kind": f.kind,
                "rule": f.rule,
                "severity": f.severity,
                "confidence": f.confidence,
                "record_key": f.record_key,
                "details": f.details,
            }
            for f in backends.findings_from_table(table)
        )
    return {
        "checked_at": timezone.now().isoformat(),
        "datasets": [{"id": d.pk, "kind": d.kind, "as_of": d.as_of.isoformat(), "unit": d.unit.name} for d in datasets],
        "findings": found,
    }
