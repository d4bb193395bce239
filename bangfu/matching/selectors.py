"""Reads of the matching capability; every one takes the actor and goes through the access gate."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import shutil
import tempfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count, Max, Min, QuerySet
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from bangfu.common import crypto
from bangfu.common.audit import audit_record
from bangfu.common.retranslate import in_reader_language
from bangfu.org import access
from bangfu.org.models import OrgUnit
from bangfu.registry.codes import OPEN_STATES
from bangfu.registry.models import Household

from .models import Dataset, Finding, MatchRun, RemovalProposal
from .services import EXPORT_PERM, REVEAL_PERM, VIEW_PERM, proposal_lapsed, proposals_applying, top_unit

FINDING_CSV_COLUMNS = [
    "file_number",
    "id_number",
    "name",
    "kind",
    "record_key",
    "rule",
    "severity",
    "confidence",
    "status",
    "unit",
]


@dataclass(frozen=True)
class FindingFilters:
    unit_id: int | None = None
    status: str = ""
    severity: str = ""
    kind: str = ""
    rule: str = ""
    run_id: int | None = None


def finding_list(*, actor: Any, filters: FindingFilters | None = None) -> QuerySet[Finding]:
    """The findings queue of the actor's jurisdiction (optionally one unit's subtree)."""
    f = filters or FindingFilters()
    qs = access.scope(actor, Finding.objects.all(), VIEW_PERM).select_related("household__unit", "member", "dataset")
    if f.unit_id is not None:
        unit = access.units(actor, VIEW_PERM).filter(pk=f.unit_id).first()
        qs = qs.filter(household__unit__path__startswith=unit.path) if unit else qs.none()
    for field, value in (("status", f.status), ("severity", f.severity), ("kind", f.kind), ("rule", f.rule)):
        if value:
            qs = qs.filter(**{field: value})
    if f.run_id is not None:
        qs = qs.filter(run_id=f.run_id)
    return qs.order_by("household__file_number", "member_id", "rule", "id")


def finding_get(*, actor: Any, finding_id: int) -> Finding:
    qs = Finding.objects.select_related("household__unit", "member", "dataset", "removal_proposal")
    return access.get_for(actor, qs, finding_id, VIEW_PERM)


def findings_export_unit(*, actor: Any, filters: FindingFilters | None = None) -> OrgUnit:
    """The union an export of the findings covers: the union filtered on, else the actor's top
    union for exports. The findings hold names, masked ID numbers and department records, so an
    export needs the export permission there (``PermissionDenied`` naming it otherwise); a union
    filtered on outside the jurisdiction answers ``Http404`` like one that does not exist."""
    f = filters or FindingFilters()
    if f.unit_id is None:
        return top_unit(actor, EXPORT_PERM)
    unit = access.units(actor, VIEW_PERM).filter(pk=f.unit_id).first()
    if unit is None:
        raise Http404
    access.require(actor, EXPORT_PERM, unit)
    return unit


def findings_rows(
    *, actor: Any, filters: FindingFilters | None = None, reveal: bool = False
) -> Iterator[dict[str, str]]:
    """Rows for the CSV export: the findings of the filters inside the actor's jurisdiction for
    exports (``findings_export_unit`` says where that is and refuses a role without it).
    ``reveal`` shows full ID numbers: needs the reveal permission and is audit-logged once for the
    export. The reveal goes as far as that permission does: a finding the actor may export (a
    manager above) but not reveal keeps its masked number. The audit entries name the union the
    export covers and the filters used."""
    chosen = filters or FindingFilters()
    unit = findings_export_unit(actor=actor, filters=chosen)
    qs = access.scope(actor, finding_list(actor=actor, filters=chosen), EXPORT_PERM)
    used = {
        "unit": unit.code if chosen.unit_id is not None else "",
        "status": chosen.status,
        "severity": chosen.severity,
        "kind": chosen.kind,
        "rule": chosen.rule,
        "run": chosen.run_id,
    }
    used = {k: v for k, v in used.items() if v not in (None, "")}
    if reveal:
        access.require(actor, REVEAL_PERM)
        revealed = access.scope(actor, qs, REVEAL_PERM).count()
        audit_record(
            actor=actor,
            action="reveal",
            target_type="matching.findings_export",
            target_id=unit.code,
            unit_path=unit.path,
            after={"unit": unit.code, "filters": used, "rows": revealed},
            note=_("Findings exported with full ID numbers: %(n)s") % {"n": revealed},
        )
    count = qs.count()
    audit_record(
        actor=actor,
        action="export",
        target_type="matching.findings_export",
        target_id=unit.code,
        unit_path=unit.path,
        after={"unit": unit.code, "filters": used, "rows": count, "reveal": reveal},
        note=_("Findings exported: %(n)s") % {"n": count},
    )
    for f in qs.iterator(chunk_size=2000):
        full = reveal and access.has_perm(actor, REVEAL_PERM, f.household.unit)
        yield {
            "file_number": f.household.file_number,
            "id_number": crypto.decrypt(f.member.id_cipher) if full else f.member.id_masked,
            "name": f.member.name,
            "kind": f.kind,
            "record_key": f.record_key,
            "rule": f.rule,
            "severity": f.severity,
            "confidence": f.confidence,
            "status": f.status,
            "unit": f.household.unit.code,
        }


def dataset_list(*, actor: Any) -> QuerySet[Dataset]:
    """The datasets the actor may run a recheck against: those of its jurisdiction, and those
    imported at a union above it (a province's vehicle records serve its counties). Only the
    first kind can be opened, deleted or have its rejected rows downloaded (``dataset_get``)."""
    above: set[str] = set()
    for grant in access.grants(actor):
        if VIEW_PERM in grant.perms:
            parts = [p for p in grant.unit_path.split("/") if p]
            above.update("/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    own = access.scope(actor, Dataset.objects.all(), VIEW_PERM)
    if above:
        own = own | Dataset.objects.filter(unit__path__in=above)
    return own.select_related("unit", "imported_by").order_by("-id")


def removal_proposal_list(*, actor: Any) -> QuerySet[RemovalProposal]:
    """The removal proposals of the actor's jurisdiction, newest first; ``lapsed`` on each says
    that its file was closed after it was made (``services.proposal_lapsed``)."""
    qs = RemovalProposal.objects.select_related("household__unit", "finding__member", "notified_by")
    return access.scope(actor, qs, VIEW_PERM).annotate(lapsed=proposal_lapsed()).order_by("-id")


def removal_proposals_to_do(*, actor: Any) -> QuerySet[RemovalProposal]:
    """The proposals of the actor's jurisdiction still to act on (``services.proposals_applying``)."""
    return proposals_applying(removal_proposal_list(actor=actor))


def removal_proposal_get(*, actor: Any, proposal_id: int) -> RemovalProposal:
    return access.get_for(actor, removal_proposal_list(actor=actor), proposal_id, VIEW_PERM)


def dataset_get(*, actor: Any, dataset_id: int) -> Dataset:
    return access.get_for(actor, Dataset.objects.select_related("unit", "imported_by"), dataset_id, VIEW_PERM)


REJECTED_CSV_HEADER = b"row,id_number,reason\n"


def dataset_rejected_rows(*, actor: Any, dataset_id: int, header: Sequence[str] | None = None) -> Generator[bytes]:
    """The rejected rows of an import (row, masked ID number, reason) as CSV in UTF-8 with a
    byte-order mark, without which Excel reads the reasons as GBK; ``header``: the column names
    (the stored English ones by default). It needs the export permission at the dataset's union
    (``PermissionDenied`` otherwise). The export is audit-logged here; the rows come a part
    at a time, never held whole: a national file's rejected rows run to millions."""
    ds = dataset_get(actor=actor, dataset_id=dataset_id)
    access.require(actor, EXPORT_PERM, ds.unit)  # names and masked ID numbers: an export
    audit_record(
        actor=actor,
        action="export",
        target_type="matching.dataset_rejected",
        target_id=ds.pk,
        unit_path=ds.unit.path,
        note=_("Rejected rows exported: %(n)s") % {"n": ds.rows_rejected},
    )
    if header is None:
        head = REJECTED_CSV_HEADER
    else:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(header)
        head = line.getvalue().encode()
    return _rejected_parts(ds.rejected_file or "", codecs.BOM_UTF8 + head)


def dataset_rejected_csv(*, actor: Any, dataset_id: int) -> bytes:
    """``dataset_rejected_rows`` whole (small files, tests)."""
    return b"".join(dataset_rejected_rows(actor=actor, dataset_id=dataset_id))


_PART = 1 << 20


def _rejected_parts(name: str, head: bytes) -> Generator[bytes]:
    """``head``, then the stored rows (their own header left out) with each reason in the reader's
    language, read from a copy in a temporary folder that goes when the last part has gone (or
    the download was stopped)."""
    if not name:
        yield head
        return
    folder = Path(tempfile.mkdtemp(prefix="bangfu-rejected-"))
    try:
        source = folder / "rejected.csv"
        with default_storage.open(name, "rb") as fh, source.open("wb") as out:
            out.write(fh.read(_PART).removeprefix(codecs.BOM_UTF8))
            shutil.copyfileobj(fh, out, _PART)
        with _reasons_in_reader_language(source, folder / "shown.csv").open("rb") as fh:
            fh.readline()  # the stored header
            yield head
            while part := fh.read(_PART):
                yield part
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _reasons_in_reader_language(source: Path, target: Path) -> Path:
    """The rejected rows of ``source`` with each reason in the reader's language (``target``, or
    ``source`` itself when none changes): the file keeps them in the language of the person who
    imported it. The other columns are left as they are. DuckDB reads and writes the rows; each
    distinct reason is shown again once."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW stored AS SELECT * FROM read_csv('{source}', header = true, all_varchar = true, "  # noqa: S608
        "columns = {'row': 'VARCHAR', 'id_number': 'VARCHAR', 'reason': 'VARCHAR'}, quote = '\"', escape = '\"')"
    )
    reasons = [r for (r,) in con.execute("SELECT DISTINCT reason FROM stored WHERE reason IS NOT NULL").fetchall()]
    shown = {r: _reason_in_reader_language(r) for r in reasons}
    changed = {r: t for r, t in shown.items() if t != r}
    if not changed:
        return source
    con.execute("CREATE TABLE shown (reason VARCHAR, shown VARCHAR)")
    con.executemany("INSERT INTO shown VALUES (?, ?)", list(changed.items()))
    rows = (
        "SELECT s.row, s.id_number, COALESCE(t.shown, s.reason) AS reason FROM stored s "
        "LEFT JOIN shown t USING (reason) ORDER BY CAST(s.row AS BIGINT)"
    )
    con.execute(f"COPY ({rows}) TO '{target}' (HEADER, DELIMITER ',')")
    return target


@functools.lru_cache(maxsize=4096)
def _reason_in_reader_language_cached(language: str, reason: str) -> str:
    shown = in_reader_language(reason)
    if shown == reason and ": " in reason:
        # "Unreadable line: <why>": the label and the message were translated apart.
        label, why = reason.split(": ", 1)
        shown = f"{in_reader_language(label)}: {in_reader_language(why)}"
    return shown


def _reason_in_reader_language(reason: str) -> str:
    return _reason_in_reader_language_cached(translation.get_language() or "", reason) if reason else reason


def run_get(*, actor: Any, run_id: int) -> MatchRun:
    return access.get_for(actor, MatchRun.objects.select_related("unit"), run_id, VIEW_PERM)


def run_list(*, actor: Any) -> QuerySet[MatchRun]:
    return access.scope(actor, MatchRun.objects.all(), VIEW_PERM).select_related("unit")


@dataclass(frozen=True)
class CoverageRow:
    unit_id: int
    unit: str
    households: int
    checked: int
    # The oldest and the newest of the open files' last cross-checks: how fresh the rate is.
    oldest_check: dt.datetime | None = None
    newest_check: dt.datetime | None = None

    @property
    def rate(self) -> float | None:
        """The share checked; None for a union with no open files (the page shows "—"): no share
        at all, not 0 %, which would pull an average of the unions down."""
        return round(self.checked / self.households, 4) if self.households else None


def match_coverage_rate(*, actor: Any, unit_id: int | None = None) -> list[CoverageRow]:
    """建档信息比对率: per unit (the unit and each unit directly below it, each with its subtree),
    the share of open household files that have been cross-checked. One grouped query over the
    unit's subtree (files and checks per union), added up per unit below it here: counting each
    subtree on its own read a province's files once per city, 7 s for a million files."""
    units = access.units(actor, VIEW_PERM)
    top = units.filter(pk=unit_id).first() if unit_id is not None else units.order_by("path").first()
    if top is None:
        return []
    children = list(OrgUnit.objects.filter(parent=top).order_by("path"))
    # Each union of the subtree under the child it lies in (None: the top unit itself).
    below = {c.path: c.pk for c in children}
    child_of: dict[int, int | None] = {}
    for pk, path in OrgUnit.objects.filter(path__startswith=top.path).values_list("pk", "path"):
        rest = path[len(top.path) :]
        child_of[pk] = below.get(top.path + rest.split("/", 1)[0] + "/") if rest else None
    totals: dict[int, list[int]] = {u.pk: [0, 0] for u in [top, *children]}
    spans: dict[int, list[Any]] = {u.pk: [None, None] for u in [top, *children]}
    per_union = (
        Household.objects.filter(unit__path__startswith=top.path, state__in=OPEN_STATES)
        .values("unit_id")
        .annotate(
            files=Count("id"),
            checked=Count("match_check"),
            oldest=Min("match_check__checked_at"),
            newest=Max("match_check__checked_at"),
        )
        .order_by()
    )
    for row in per_union:
        for key in (top.pk, child_of.get(row["unit_id"])):
            if key is not None:
                totals[key][0] += row["files"]
                totals[key][1] += row["checked"]
                span = spans[key]
                if row["oldest"] is not None:
                    span[0] = row["oldest"] if span[0] is None else min(span[0], row["oldest"])
                    span[1] = row["newest"] if span[1] is None else max(span[1], row["newest"])
    return [
        CoverageRow(u.pk, u.name, totals[u.pk][0], totals[u.pk][1], spans[u.pk][0], spans[u.pk][1])
        for u in [top, *children]
    ]
