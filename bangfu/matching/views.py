"""Staff pages of the cross-department checks (核查比对): department datasets, recheck runs with a
progress bar, the findings queue and its review, removal proposals and the share of files
cross-checked (建档信息比对率).

Each view parses input, calls one selector or service of this app with the signed-in user as the
actor, and renders. The access gate behind them decides what is seen: an object outside the
user's jurisdiction answers 404 like a missing one; a step the user's role does not allow on an
object it may see answers 403.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from bangfu.common import sheets
from bangfu.common.errors import DomainError, ErrorCode, field_errors
from bangfu.common.paging import CappedPaginator
from bangfu.common.punctuation import join_list, mark
from bangfu.eligibility import selectors as eligibility_selectors
from bangfu.org import access
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry import selectors as registry_selectors
from bangfu.registry.codes import OPEN_STATES
from bangfu.web.forms import unknown_filters

from . import selectors, services
from .engine.schemas import DatasetKind, default_mapping, fields_for
from .forms import (
    ALL_STATUSES,
    ENGINE_CHOICES,
    DatasetImportForm,
    ExchangeRequestForm,
    FindingFilterForm,
    NoticeForm,
    ReasonForm,
    RunStartForm,
)
from .models import (
    FIELD_LABELS,
    Dataset,
    Finding,
    FindingStatus,
    Kind,
    MatchRun,
    ProposalStatus,
    RemovalProposal,
    RunStatus,
    SeverityChoice,
)

SEVERITIES = [s.value for s in SeverityChoice]
UNIT_PICKER_LIMIT = 500


def _labels() -> dict[str, str]:
    """What a finding's details hold, by the engine's key, with a label for people."""
    return {
        "text": _("Description"),
        "record_name": _("Name in the record"),
        "value": _("Value"),
        "date": _("Date"),
        "homes": _("Homes"),
        "area_per_head": _("Floor area per head (m²)"),
        "records": _("Records"),
        "home_records": _("Homes in the record"),
    }


def _yuan_a_month(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return _("%(amount)s yuan a month") % {"amount": f"{amount:,.2f}"}


def _square_metres(value: Any) -> str:
    try:
        area = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return _("%(area)s m²") % {"area": f"{area.normalize():f}"}


def _income_bases() -> dict[str, str]:
    """The department's income figure an income discrepancy compares, by the engine's column."""
    return {
        "contribution_base": _("Social insurance contribution base"),
        "deposit_base": _("Housing fund deposit base"),
        "taxable_income": _("Taxable income (the year's, divided by 12)"),
    }


def finding_details(finding: Finding) -> list[tuple[str, str]]:
    """A finding's details as label and value in the reader's language: the department's figures
    with their units (an income per month beside the monthly income the file declares, homes each
    with its area and date), never the engine's field codes."""
    labels = _labels()
    d = dict(finding.details or {})
    rows: list[tuple[str, str]] = []
    if finding.rule == "income_discrepancy":
        column = str(d.pop("text", "") or "")
        rows.append((_("Department's figure"), _income_bases().get(column, column)))
        if "value" in d:
            rows.append((_("Per month"), _yuan_a_month(d.pop("value"))))
        if finding.member_id is not None:
            rows.append((_("Monthly income on the file"), _yuan_a_month(finding.member.monthly_income)))
    elif finding.rule == "recent_home_purchase" and "value" in d:
        rows.append((_("Floor area"), _square_metres(d.pop("value"))))
        if "date" in d:
            rows.append((_("Registered on"), str(d.pop("date"))))
    for key, value in d.items():
        if key == "home_records" and isinstance(value, list):
            homes = [h for h in value if isinstance(h, dict)]
            text = mark("semicolon").join(
                _("%(record)s: %(area)s, registered %(date)s")
                % {
                    "record": services.record_in_words(str(h.get("record") or "")),
                    "area": _square_metres(h.get("area")),
                    "date": h.get("date") or _("date unknown"),
                }
                for h in homes
            )
            rows.append((labels[key], text))
        elif key == "records" and "home_records" in d:
            continue  # each record is shown with its home
        elif key == "records" and isinstance(value, list):
            rows.append((labels[key], join_list(services.record_in_words(str(r)) for r in value)))
        else:
            shown = join_list(value) if isinstance(value, list) else str(value)
            rows.append((labels.get(key) or key, shown))
    return rows


def staff_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in, with a role that may see household files somewhere (403 otherwise)."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not access.has_perm(request.user, services.VIEW_PERM):
            raise PermissionDenied(services.VIEW_PERM.value)
        return view(request, *args, **kwargs)

    return wrapper


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 and int(raw) > 0 else 1


def _htmx_partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _put_errors(form: Any, exc: ValidationError | DomainError, field: str | None = None) -> None:
    """A service's errors under the form's fields; a rule broken (``DomainError``) under ``field``
    (or the whole form)."""
    if isinstance(exc, DomainError):
        form.add_error(field if field in form.fields else None, exc.message)
        return
    for name, errors in field_errors(exc).items():
        form.add_error(name if name in form.fields else None, errors)


def _picker_units(actor: Any, perm: Any) -> list[OrgUnit]:
    """Units for a picker: those above the grassroots where there are any (a county, a city),
    else the grassroots unions themselves."""
    units = access.units(actor, perm).order_by("path")
    upper = units.exclude(level=OrgLevel.GRASSROOTS)
    return list((upper if upper.exists() else units)[:UNIT_PICKER_LIMIT])


def _unit_in(actor: Any, perm: Any, unit_id: int | None) -> OrgUnit | None:
    """The chosen unit inside the jurisdiction for ``perm``; another's answers 404 like a missing one."""
    if unit_id is None:
        return None
    unit = access.units(actor, perm).filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


# --- department datasets -------------------------------------------------------------------------


@staff_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    page = CappedPaginator(selectors.dataset_list(actor=request.user), settings.BANGFU_PAGE_SIZE).get_page(
        _page_number(request)
    )
    # A dataset of the user's own jurisdiction opens; one imported above it may only be used.
    rows = [(ds, access.has_perm(request.user, services.VIEW_PERM, ds.unit)) for ds in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "can_import": access.has_perm(request.user, services.IMPORT_PERM),
        "can_run": access.has_perm(request.user, services.RUN_PERM),
    }
    return render(request, "matching/dataset_list.html", context)


@staff_required
def exchange_request(request: HttpRequest) -> HttpResponseBase:
    """The request file of the persons on file in a union's subtree, for an outside checking
    centre: keyed hashes of their ID numbers by default; its answer is imported as a dataset."""
    access.require(request.user, services.IMPORT_PERM)
    units = _picker_units(request.user, services.IMPORT_PERM)
    form = ExchangeRequestForm(request.POST or None, units=units, initial={"unit": units[0].pk if units else None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = _unit_in(request.user, services.IMPORT_PERM, data["unit"])
        try:
            return _request_file(request.user, unit, data["format"], hashed_only=not data["plain"])
        except PermissionDenied:
            form.add_error("plain", _("Your role may not reveal personal numbers: send keyed hashes only."))
        except ValidationError as exc:
            for field, errors in field_errors(exc).items():
                form.add_error(field if field in form.fields else None, errors)
        except DomainError as exc:
            form.add_error(None, exc.message)
    context = {"form": form}
    return render(request, "matching/exchange_request.html", context, status=400 if form.errors else 200)


def _request_file(actor: Any, unit: OrgUnit | None, fmt: str, *, hashed_only: bool) -> FileResponse:
    """The request file as a download (written to a temporary file, removed once it is open)."""
    suffix = ".parquet" if fmt == "parquet" else ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
        path = Path(tmp.name)
    try:
        services.exchange_request_export(actor=actor, target=path, unit=unit, fmt=fmt, hashed_only=hashed_only)
        handle = path.open("rb")
    finally:
        path.unlink(missing_ok=True)  # the open handle keeps the data until the response is sent
    name = f"request-{unit.code if unit else 'all'}-{services.today():%Y%m%d}{suffix}"
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response


def _save_upload(upload: Any, tmp: str) -> Path:
    """The upload in a temporary file whose suffix says what it is (CSV, Excel or Parquet)."""
    suffix = Path(upload.name or "upload.csv").suffix.lower()[:10]
    path = Path(tmp) / ("upload" + suffix)
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


@staff_required
def dataset_import(request: HttpRequest) -> HttpResponse:
    access.require(request.user, services.IMPORT_PERM)
    units = _picker_units(request.user, services.IMPORT_PERM)
    initial = {"as_of": services.today(), "retention_days": services.DEFAULT_RETENTION_DAYS}
    form = DatasetImportForm(request.POST or None, request.FILES or None, units=units, initial=initial)
    problem: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = _unit_in(request.user, services.IMPORT_PERM, data["unit"])
        upload = data["file"]
        try:
            with tempfile.TemporaryDirectory(prefix="bangfu-upload-") as tmp:
                ds = services.dataset_import(
                    actor=request.user,
                    kind=data["kind"],
                    path=_save_upload(upload, tmp),
                    file_name=Path(upload.name or "").name,
                    source=data["source"].strip(),
                    mapping=_mapping_chosen(request, data["kind"]) or None,
                    as_of=data["as_of"],
                    retention_days=data["retention_days"],
                    unit=unit,
                    limits=services.import_limits(web=True),
                )
        except (ValidationError, DomainError) as exc:
            _put_errors(form, exc, field="file")
            problem = exc.details if isinstance(exc, DomainError) else {}
        else:
            imported = _("%(file)s was imported: rows taken %(taken)s, rejected %(rejected)s.") % {
                "file": ds.file_name,
                "taken": ds.rows_taken,
                "rejected": ds.rows_rejected,
            }
            messages.success(request, " ".join(filter(None, [imported, services.rows_skipped_in_words(ds)])))
            return redirect("matching:dataset_detail", pk=ds.pk)
    headers = [str(h) for h in problem.get("headers") or []]
    kind = form.cleaned_data.get("kind") if form.is_bound and hasattr(form, "cleaned_data") else None
    # What was chosen, else what the headers were recognised as.
    chosen = {**default_mapping(DatasetKind(kind), headers), **_mapping_chosen(request, kind)} if kind else {}
    context = {
        "form": form,
        "problem_headers": headers,
        "problem_reasons": sorted((problem.get("reasons") or {}).items(), key=lambda kv: -kv[1]),
        # The file's columns were not recognised: each field of the kind with a list of them, to
        # choose from and send the file again with.
        "mapping_fields": [
            # An ID number is needed (a keyed hash instead only in a checking centre's answer).
            (
                spec.name,
                FIELD_LABELS.get(spec.name, spec.name),
                spec.required or spec.name == "id_number",
                chosen.get(spec.name, ""),
            )
            for spec in fields_for(DatasetKind(kind))
            if spec.name != "id_key"
        ]
        if headers and kind
        else [],
    }
    return render(request, "matching/dataset_import.html", context, status=400 if request.method == "POST" else 200)


def _mapping_chosen(request: HttpRequest, kind: str) -> dict[str, str]:
    """The columns chosen on the page for the kind's fields (``map_<field>``), where any were."""
    names = {spec.name for spec in fields_for(DatasetKind(kind))}
    chosen = {key[4:]: str(request.POST.get(key, "")).strip() for key in request.POST if key.startswith("map_")}
    return {name: column for name, column in chosen.items() if name in names and column}


def _columns_used(ds: Dataset) -> list[tuple[str, Any, str]]:
    """(field, its label, the file's column) in the order of the kind's fields."""
    order = {spec.name: i for i, spec in enumerate(fields_for(DatasetKind(ds.kind)))}
    fields = sorted(ds.mapping, key=lambda name: (order.get(name, len(order)), name))
    return [(name, FIELD_LABELS.get(name, name), ds.mapping[name]) for name in fields]


@staff_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ds = selectors.dataset_get(actor=request.user, dataset_id=pk)
    context = {
        "ds": ds,
        "mapping": _columns_used(ds),
        "runs": selectors.run_list(actor=request.user).filter(datasets=ds).order_by("-id")[:20],
        "can_delete": access.has_perm(request.user, services.IMPORT_PERM, ds.unit),
        "can_export": access.has_perm(request.user, services.EXPORT_PERM, ds.unit),
        "can_run": access.has_perm(request.user, services.RUN_PERM),
    }
    return render(request, "matching/dataset_detail.html", context)


@staff_required
def dataset_rejected(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    # The header in the user's language (the API keeps the stored English names).
    header = [_("Row in the file"), _("ID number"), _("Reason")]
    rows = selectors.dataset_rejected_rows(actor=request.user, dataset_id=pk, header=header)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dataset-{pk}-rejected.csv"'
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response


@staff_required
@require_POST
def dataset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    ds = selectors.dataset_get(actor=request.user, dataset_id=pk)
    access.require(request.user, services.IMPORT_PERM, ds.unit)
    name = ds.file_name
    services.dataset_delete(actor=request.user, dataset=ds, note=request.POST.get("note", "").strip()[:500])
    messages.success(request, _("%(file)s and its rows were deleted.") % {"file": name})
    return redirect("matching:dataset_list")


# --- recheck runs ----------------------------------------------------------------------------------


@staff_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.run_list(actor=request.user).order_by("-id")
    page = CappedPaginator(runs, settings.BANGFU_PAGE_SIZE).get_page(_page_number(request))
    context = {"page": page, "can_run": access.has_perm(request.user, services.RUN_PERM)}
    return render(request, "matching/run_list.html", context)


@staff_required
def run_start(request: HttpRequest) -> HttpResponse:
    access.require(request.user, services.RUN_PERM)
    units = _picker_units(request.user, services.RUN_PERM)
    datasets = list(selectors.dataset_list(actor=request.user)[:200])
    chosen = [int(i) for i in request.GET.getlist("dataset") if i.isascii() and i.isdigit() and len(i) <= 18]
    if not chosen and units:  # what a recheck from the command line takes: the newest of each kind
        listed = {d.pk for d in datasets}
        chosen = [d.pk for d in services.usable_datasets(units[0]) if d.pk in listed]
    initial = {"unit": units[0].pk if units else None, "dataset_ids": chosen, "engine": "duckdb"}
    form = RunStartForm(request.POST or None, units=units, datasets=datasets, initial=initial)
    under_way = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = _unit_in(request.user, services.RUN_PERM, data["unit"])
        try:
            run = services.match_run(
                actor=request.user, unit=unit, dataset_ids=data["dataset_ids"], engine=data["engine"]
            )
        except DomainError as exc:
            if exc.code != ErrorCode.RUN_UNDER_WAY:
                _put_errors(form, exc, field="engine")
            else:  # the run of this union already under way, linked
                _put_errors(form, exc)
                under_way = exc.details.get("run_id")
        except ValidationError as exc:
            _put_errors(form, exc, field="engine")
        else:
            return redirect("matching:run_detail", pk=run.pk)
    context = {"form": form, "has_datasets": bool(datasets), "under_way": under_way}
    status = 409 if under_way else 400 if request.method == "POST" else 200
    return render(request, "matching/run_start.html", context, status=status)


def _severity_cells(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(severity, count) in the fixed order: a count links to the findings it counts."""
    return [(s, int(counts.get(s, 0))) for s in SEVERITIES]


def _summary(run: MatchRun) -> dict[str, Any]:
    """``MatchRun.summary`` as table rows, one count per severity in a fixed order."""
    s = run.summary or {}
    kinds = dict(Kind.choices)
    by_unit = _by_child(
        run.unit,
        [
            {
                "unit_id": row.get("unit_id"),
                "unit": row.get("unit") or "—",
                "households": row.get("households", 0),
                "cells": _severity_cells(row.get("findings") or {}),
                "total": sum((row.get("findings") or {}).values()),
            }
            for row in s.get("by_unit") or []
        ],
    )
    by_kind = [
        {"kind": kind, "label": kinds.get(kind, kind), "cells": _severity_cells(counts), "total": sum(counts.values())}
        for kind, counts in (s.get("by_kind") or {}).items()
    ]
    totals = _severity_cells(s.get("by_severity") or {})
    return {"by_unit": by_unit, "by_kind": by_kind, "totals": totals, "total": sum(n for _s, n in totals)}


def _by_child(top: OrgUnit, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's counts per union that keeps files, added up to the unions directly below the
    run's own (a province's run: one row per city, not per grassroots union); a row links to the
    findings of its subtree."""
    paths = dict(OrgUnit.objects.filter(pk__in=[r["unit_id"] for r in rows if r["unit_id"]]).values_list("pk", "path"))
    children = {u.path: u for u in OrgUnit.objects.filter(parent=top)}
    depth = len([p for p in top.path.split("/") if p]) + 1
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        parts = [p for p in paths.get(row["unit_id"], "").split("/") if p]
        child = children.get("/" + "/".join(parts[:depth]) + "/") if len(parts) >= depth else None
        if child is None:  # the run's own union, or one no longer in the tree: as it is
            out[f"own-{row['unit_id']}"] = row
            continue
        into = out.setdefault(
            child.path,
            {"unit_id": child.pk, "unit": child.name, "households": 0, "cells": _severity_cells({}), "total": 0},
        )
        into["households"] += row["households"]
        into["cells"] = [(s, a + b) for (s, a), (_s, b) in zip(into["cells"], row["cells"], strict=True)]
        into["total"] += row["total"]
    return sorted(out.values(), key=lambda r: (-r["total"], r["unit"]))


def _run_sources(run: MatchRun) -> list[dict[str, object]]:
    """The department data a run used, as recorded when it started; those since purged or deleted
    are marked."""
    present = set(Dataset.objects.filter(pk__in=[s.get("id") for s in run.sources]).values_list("pk", flat=True))
    return [{**s, "deleted": s.get("id") not in present} for s in run.sources_shown()]


@staff_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_get(actor=request.user, run_id=pk)
    context = {
        "run": run,
        "finished": run.status in {RunStatus.DONE, RunStatus.FAILED},
        "severities": [SeverityChoice(s).label for s in SEVERITIES],
        "summary": _summary(run),
        "datasets": _run_sources(run),
        "engine_label": dict(ENGINE_CHOICES).get(run.engine, run.engine),
    }
    template = "matching/_run_progress.html" if _htmx_partial(request) else "matching/run_detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- findings ------------------------------------------------------------------------------------


def finding_status(query: Any) -> str:
    """The status the findings page lists: the open findings (the queue is for working through
    them) whenever the query names no status, whatever else it names — ``?severity=disqualifying``
    listed the confirmed ones too; ``all`` for every status. The API and ``bangfu match findings``
    list every status unless asked, as a list of records does. A link of an older page with
    ``status=`` (empty), which meant every status, still does."""
    if "status" not in query:
        return FindingStatus.OPEN.value
    return query.get("status") or ALL_STATUSES


def _finding_filters(request: HttpRequest) -> tuple[FindingFilterForm, selectors.FindingFilters]:
    units = registry_selectors.unit_choices(actor=request.user)
    data = request.GET.copy()
    data["status"] = finding_status(request.GET)
    form = FindingFilterForm(data, units=units)
    v = form.values()
    status = v.get("status") or ""
    filters = selectors.FindingFilters(
        unit_id=v.get("unit"),
        status="" if status == ALL_STATUSES else status,
        severity=v.get("severity") or "",
        kind=v.get("kind") or "",
        rule=v.get("rule") or "",
        run_id=v.get("run"),
    )
    return form, filters


@staff_required
def finding_list(request: HttpRequest) -> HttpResponse:
    form, filters = _finding_filters(request)
    findings = selectors.finding_list(actor=request.user, filters=filters)
    page = CappedPaginator(findings, settings.BANGFU_PAGE_SIZE).get_page(_page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "run_id": filters.run_id,
        "can_reveal": access.has_perm(request.user, services.REVEAL_PERM),
        "can_export": _may_export_findings(request.user, filters),
        "heading": _findings_heading(filters.status),
        "filter_problems": unknown_filters(form),
        "partial": _htmx_partial(request),
    }
    template = "matching/_finding_results.html" if context["partial"] else "matching/finding_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _findings_heading(status: str) -> str:
    """The findings page's heading, after the status filtered on."""
    return {
        "open": _("Findings to review"),
        "confirmed": _("Confirmed findings"),
        "dismissed": _("Dismissed findings"),
    }.get(status, _("All findings"))


def _may_export_findings(actor: Any, filters: selectors.FindingFilters) -> bool:
    """Whether the export of these findings would be allowed (``selectors.findings_export_unit``)."""
    try:
        selectors.findings_export_unit(actor=actor, filters=filters)
    except (PermissionDenied, Http404):
        return False
    return True


@staff_required
def finding_export(request: HttpRequest) -> StreamingHttpResponse:
    """The findings of the filters as CSV (UTF-8 with a byte-order mark, for Excel). Masked ID
    numbers by GET; full ones by POST with ``reveal=1`` (needs the reveal permission). The
    selector audit-logs the export (and the reveal) before the first row is sent."""
    if request.method not in {"GET", "POST"}:
        raise Http404
    reveal = request.method == "POST" and request.POST.get("reveal") == "1"
    _form, filters = _finding_filters(request)
    rows = selectors.findings_rows(actor=request.user, filters=filters, reveal=reveal)
    first = next(rows, None)  # the permission check and the audit entry happen here, not mid-download

    columns = selectors.FINDING_CSV_COLUMNS
    labels = _finding_labels()
    language = translation.get_language()

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        buf.write("\ufeff")
        writer.writerow([str(_FINDING_HEADERS.get(c, c)) for c in columns])
        for row in itertools.chain([first] if first else [], rows):
            # Words, not codes, for the people who open it in Excel (the CLI and the API keep
            # codes): a record without a key of its own by its row, as the pages name it.
            with translation.override(language):
                row["record_key"] = services.record_in_words(row["record_key"])
            writer.writerow(sheets.csv_row(labels.get(c, {}).get(row[c], row[c]) for c in columns))
            if buf.tell() > 1 << 16:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = "findings-full-ids.csv" if reveal else "findings.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


_FINDING_HEADERS: dict[str, Any] = {
    "file_number": gettext_lazy("File number"),
    "id_number": gettext_lazy("ID number"),
    "name": gettext_lazy("Name"),
    "kind": gettext_lazy("Department data"),
    "record_key": pgettext_lazy("a department's record", "Record"),
    "rule": gettext_lazy("Rule"),
    "severity": gettext_lazy("Severity"),
    "confidence": gettext_lazy("Confidence"),
    "status": gettext_lazy("Status"),
    "unit": gettext_lazy("Union code"),
}


def _finding_labels() -> dict[str, dict[str, str]]:
    """The words of each coded column of the export, in the user's language."""
    fields = ("kind", "rule", "severity", "confidence", "status")
    return {f: {str(k): str(v) for k, v in getattr(Finding._meta.get_field(f), "choices", None) or ()} for f in fields}


def _proposal_of(finding: Finding) -> RemovalProposal | None:
    try:
        return finding.removal_proposal
    except Finding.removal_proposal.RelatedObjectDoesNotExist:
        return None


def _finding_page(
    request: HttpRequest,
    finding: Finding,
    confirm_form: ReasonForm | None = None,
    dismiss_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    household = finding.household
    details = finding_details(finding)
    since: list[Any] = []
    if finding.reviewed_at is not None:
        events = registry_selectors.household_timeline(actor=request.user, household=household, limit=20)
        since = [ev for ev in events if ev.at >= finding.reviewed_at][::-1]
    proposal = _proposal_of(finding)
    context = {
        "f": finding,
        "h": household,
        # The recheck that found it opens only for who may see its union's runs (a province's run
        # found a county's finding: the county's staff get no link to a page they cannot open).
        "run_visible": finding.run_id is not None
        and selectors.run_list(actor=request.user).filter(pk=finding.run_id).exists(),
        "details": details,
        "proposal": proposal,
        "proposal_lapsed": proposal is not None and not services.proposals_applying().filter(pk=proposal.pk).exists(),
        "can_review": access.has_perm(request.user, services.REVIEW_PERM, household.unit),
        "confirm_form": confirm_form or ReasonForm(prefix="confirm"),
        "dismiss_form": dismiss_form or ReasonForm(prefix="dismiss"),
        "decision": eligibility_selectors.decision_current(actor=request.user, household_id=household.pk),
        "since": since,
        "file_open": household.state in OPEN_STATES,
        "writes_file": finding.rule in services.WRITES_FILE,
    }
    return render(request, "matching/finding_detail.html", context, status=status)


@staff_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _finding_page(request, selectors.finding_get(actor=request.user, finding_id=pk))


def _reviewable(request: HttpRequest, pk: int) -> Finding:
    finding = selectors.finding_get(actor=request.user, finding_id=pk)
    access.require(request.user, services.REVIEW_PERM, finding.household.unit)
    return finding


@staff_required
@require_POST
def finding_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _reviewable(request, pk)
    if finding.rule in services.WRITES_FILE:
        done = _("The finding was confirmed.")
    elif finding.rule == "income_discrepancy":
        done = _(
            "The finding was confirmed. Nothing was written into the file: correct the member's income on the "
            "file by hand if it is wrong."
        )
    else:
        done = _("The finding was confirmed. Nothing was written into the file.")
    return _review(request, pk, "confirm", services.finding_confirm, done)


@staff_required
@require_POST
def finding_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, "dismiss", services.finding_dismiss, _("The finding was dismissed."))


def _review(request: HttpRequest, pk: int, what: str, call: Callable[..., Any], done: str) -> HttpResponse:
    """Confirm or dismiss (``what``) a finding with the reason from the form of that prefix."""
    finding = _reviewable(request, pk)
    form = ReasonForm(request.POST, prefix=what)
    form.is_valid()
    try:
        call(actor=request.user, finding_id=pk, reason=form.cleaned_data.get("reason") or "")
    except ValidationError as exc:
        _put_errors(form, exc)
        return _finding_page(request, finding, status=400, **{f"{what}_form": form})
    except DomainError as exc:  # reviewed meanwhile by someone else: the page shows the outcome
        messages.error(request, exc.message)
        return redirect("matching:finding_detail", pk=pk)
    messages.success(request, done)
    return redirect("matching:finding_detail", pk=pk)


# --- removal proposals ---------------------------------------------------------------------------


def _proposal_for_review(request: HttpRequest, pk: int) -> RemovalProposal:
    proposal = selectors.removal_proposal_get(actor=request.user, proposal_id=pk)
    access.require(request.user, services.REVIEW_PERM, proposal.household.unit)
    return proposal


def _proposal_page(
    request: HttpRequest, errors: dict[int, NoticeForm] | None = None, status: int = 200
) -> HttpResponse:
    show = request.GET.get("show", "todo")
    proposals = selectors.removal_proposal_list(actor=request.user)
    if show != "all":
        show = "todo"
        proposals = selectors.removal_proposals_to_do(actor=request.user)
    page = CappedPaginator(proposals, settings.BANGFU_PAGE_SIZE).get_page(_page_number(request))
    forms = errors or {}
    rows = [
        {
            "p": p,
            "form": forms.get(p.pk) or NoticeForm(prefix=f"p{p.pk}"),
            "can_review": access.has_perm(request.user, services.REVIEW_PERM, p.household.unit),
            "file_open": p.household.state in OPEN_STATES and not p.lapsed,
            "lapsed": p.lapsed and p.household.state in OPEN_STATES,
            "told": p.status == ProposalStatus.WORKER_NOTIFIED,
        }
        for p in page.object_list
    ]
    context = {"page": page, "rows": rows, "show": show}
    return render(request, "matching/proposal_list.html", context, status=status)


@staff_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    return _proposal_page(request)


def _lapsed(request: HttpRequest, exc: Exception) -> bool:
    """The proposal's file was closed meanwhile (``removal_proposal_lapsed``): the proposal has left
    the list, so the reason is said above it."""
    if isinstance(exc, DomainError) and exc.code == services.MatchError.PROPOSAL_LAPSED:
        messages.error(request, exc.message)
        return True
    return False


@staff_required
@require_POST
def proposal_notify(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal_for_review(request, pk)
    form = NoticeForm(request.POST, prefix=f"p{pk}")
    form.is_valid()
    try:
        services.removal_proposal_notify(actor=request.user, proposal_id=pk, note=form.cleaned_data.get("note") or "")
    except (ValidationError, DomainError) as exc:
        if _lapsed(request, exc):
            return redirect("matching:proposal_list")
        _put_errors(form, exc)
        return _proposal_page(request, errors={pk: form}, status=400)
    messages.success(
        request,
        _("Recorded that the worker of file %(number)s was told.") % {"number": proposal.household.file_number},
    )
    return redirect(f"{reverse('matching:proposal_list')}#proposal-{pk}")


@staff_required
@require_POST
def proposal_execute(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal_for_review(request, pk)
    try:
        household = services.removal_proposal_execute(actor=request.user, proposal_id=pk)
    except (ValidationError, DomainError) as exc:
        if _lapsed(request, exc):
            return redirect("matching:proposal_list")
        form = NoticeForm(data={}, prefix=f"p{pk}")
        form.is_valid()
        _put_errors(form, exc)
        return _proposal_page(request, errors={pk: form}, status=409)
    messages.success(
        request,
        _("File %(number)s was removed (%(state)s).")
        % {"number": proposal.household.file_number, "state": household.get_state_display()},
    )
    return redirect("matching:proposal_list")


# --- coverage ------------------------------------------------------------------------------------


@staff_required
def coverage(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("unit", "")
    unit_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    rows = selectors.match_coverage_rate(actor=request.user, unit_id=unit_id)
    if not rows:
        raise Http404
    top = rows[0]
    parent = (
        access.units(request.user, services.VIEW_PERM)
        .filter(children__pk=top.unit_id)
        .values_list("pk", "name")
        .first()
    )
    shown = [{**r.__dict__, "percent": r.rate * 100 if r.rate is not None else None} for r in rows]
    context = {"top": shown[0], "rows": shown[1:], "parent": parent}
    return render(request, "matching/coverage.html", context)
