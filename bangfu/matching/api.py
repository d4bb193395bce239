"""The matching API (mount with ``api.add_router("", router)``): datasets, runs, the findings
queue and its review. Thin endpoints: parse, call one service or selector, render."""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from bangfu.api.errors import ERRORS, error_body, unit_filter_checked
from bangfu.api.permissions import actor, requires
from bangfu.api.schemas import InSchema, choices_field, one_of
from bangfu.common.errors import DomainError
from bangfu.common.paging import MAX_PAGE, CappedPaginator
from bangfu.org import access
from bangfu.registry.codes import OPEN_STATES

from . import selectors, services
from .models import (
    Dataset,
    Finding,
    FindingStatus,
    Kind,
    ProposalStatus,
    RemovalProposal,
    RuleChoice,
    SeverityChoice,
)

router = Router(tags=["matching"])
MAX_PAGE_SIZE = 200
# A finding someone else has reviewed meanwhile, or a proposal whose file has moved on: the caller
# acted on what is no longer the case, and is told so with 409 like the other conflicts.
CONFLICTS = frozenset(
    {services.MatchError.NOT_OPEN, services.MatchError.PROPOSAL_LAPSED, services.MatchError.FILE_CLOSED}
)


def _conflict(exc: DomainError) -> Any:
    if exc.code not in CONFLICTS:
        raise exc
    return Status(409, error_body(exc.code, exc.message, details=exc.details))


class DatasetOut(Schema):
    id: int
    kind: str
    source: str
    file_name: str
    as_of: dt.date
    expires_on: dt.date
    rows_total: int
    rows_taken: int
    rows_rejected: int
    rows_duplicate: int
    rows_skipped: int = Field(description="rows of totals or notes at the end of the file, neither taken nor rejected")
    prehashed: bool
    mapping: dict[str, str]


class RunIn(InSchema):
    dataset_ids: list[int]
    unit_id: int | None = None
    engine: str = "duckdb"
    params: dict[str, Any] = Field(default_factory=dict, description="rule parameters (RuleParams)")


class RunSourceOut(Schema):
    """A dataset a run used, as it was when the run started (kept after the dataset is purged)."""

    id: int
    kind: str
    file_name: str
    as_of: dt.date
    unit: str


class MatchRunOut(Schema):
    id: int
    unit_id: int
    sources: list[RunSourceOut]
    engine: str
    status: str
    progress: int
    persons: int
    households: int
    findings_new: int = Field(description="the findings this run recorded (not those an earlier run recorded)")
    summary: dict[str, Any] = Field(
        description="counts of the findings this run recorded: by_unit (with the files checked there), by_kind and "
        "by_severity; the findings of earlier runs found again are not counted"
    )
    error: str


class ProposalOut(Schema):
    id: int
    household_id: int
    file_number: str
    household_state: str
    finding_id: int
    status: str
    applies: bool = Field(
        description="whether the proposal is still to act on: false once its file is closed (removed by it or "
        "another path, exited, cancelled), or closed since and open again, or the proposal withdrawn"
    )
    notified_at: dt.datetime | None
    notice_note: str


def _proposal(p: RemovalProposal) -> dict[str, Any]:
    lapsed = getattr(p, "lapsed", None)
    if lapsed is None:
        lapsed = not services.proposals_applying().filter(pk=p.pk).exists()
    return {
        "applies": not lapsed and p.household.state in OPEN_STATES and p.status != ProposalStatus.WITHDRAWN,
        "id": p.pk,
        "household_id": p.household_id,
        "file_number": p.household.file_number,
        "household_state": p.household.state,
        "finding_id": p.finding_id,
        "status": p.status,
        "notified_at": p.notified_at,
        "notice_note": p.notice_note,
    }


class FindingOut(Schema):
    id: int
    household_id: int
    file_number: str
    member_id: int
    member_name: str
    id_masked: str
    dataset_id: int | None
    kind: str
    record_key: str
    rule: str
    severity: str
    confidence: str
    status: str
    details: dict[str, Any]
    reason: str
    removal_proposal_id: int | None


class FindingPageOut(Schema):
    count: int = Field(description="Findings matching, counted up to 10,001")
    count_capped: bool = Field(description="True when more findings match than are counted: narrow the filters")
    page: int
    page_size: int
    results: list[FindingOut]


class FindingQuery(Schema):
    unit_id: int | None = None
    status: Annotated[str, one_of(FindingStatus.values)] = choices_field(
        FindingStatus.values,
        description="Only findings of this status; left out, every status (the staff page opens on the open ones)",
    )
    severity: Annotated[str, one_of(SeverityChoice.values)] = choices_field(SeverityChoice.values)
    kind: Annotated[str, one_of(Kind.values)] = choices_field(Kind.values)
    rule: Annotated[str, one_of(RuleChoice.values)] = choices_field(RuleChoice.values)
    run_id: int | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ReasonIn(InSchema):
    reason: str = ""


class NoticeIn(InSchema):
    note: str


class CoverageOut(Schema):
    unit_id: int
    unit: str
    households: int
    checked: int
    rate: float | None = Field(description="checked / households; null for a union with no open files")
    oldest_check: dt.datetime | None = Field(None, description="The oldest of the checked files' last cross-checks")
    newest_check: dt.datetime | None = Field(None, description="The newest of the checked files' last cross-checks")


def _finding(f: Finding) -> dict[str, Any]:
    try:
        proposal = f.removal_proposal
    except Finding.removal_proposal.RelatedObjectDoesNotExist:
        proposal = None
    return {
        "id": f.pk,
        "household_id": f.household_id,
        "file_number": f.household.file_number,
        "member_id": f.member_id,
        "member_name": f.member.name,
        "id_masked": f.member.id_masked,
        "dataset_id": f.dataset_id,
        "kind": f.kind,
        "record_key": f.record_key,
        "rule": f.rule,
        "severity": f.severity,
        "confidence": f.confidence,
        "status": f.status,
        "details": f.details,
        "reason": f.reason,
        "removal_proposal_id": proposal.pk if proposal else None,
    }


@router.get("/matching/datasets", response={200: list[DatasetOut], **ERRORS})
@requires(services.VIEW_PERM)
def dataset_list(request: HttpRequest) -> Any:
    return list(selectors.dataset_list(actor=actor(request)))


@router.post("/matching/datasets", response={201: DatasetOut, **ERRORS})
@requires(services.IMPORT_PERM)
def dataset_import(
    request: HttpRequest,
    file: File[UploadedFile],
    kind: Form[str],
    source: Form[str] = "",
    as_of: Form[dt.date | None] = None,
    retention_days: Form[int | None] = None,
    mapping: Form[str] = "",
) -> Any:
    """Import a department file (CSV, Excel or Parquet). ``mapping``: the columns whose headers are
    not recognised, as field=column pairs separated by ';' (``id_number=车主身份证;record_key=车牌``)
    or a JSON object; the columns used are saved for ``source``."""
    columns = services.mapping_parse(mapping) or None
    name = Path(file.name or "upload.csv").name
    with tempfile.TemporaryDirectory(prefix="bangfu-upload-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower())
        with path.open("wb") as fh:
            for chunk in file.chunks():
                fh.write(chunk)
        ds: Dataset = services.dataset_import(
            actor=actor(request),
            kind=kind,
            path=path,
            file_name=name,
            source=source,
            mapping=columns,
            as_of=as_of,
            retention_days=retention_days,
            limits=services.import_limits(web=True),
        )
    return Status(201, ds)


@router.get("/matching/datasets/{dataset_id}/rejected.csv", response={200: None, **ERRORS})
@requires(services.EXPORT_PERM)
def dataset_rejected(request: HttpRequest, dataset_id: int) -> StreamingHttpResponse:
    """The rejected rows (row, masked ID number, reason) as CSV: an export, which needs the export
    permission at the dataset's union."""
    rows = selectors.dataset_rejected_rows(actor=actor(request), dataset_id=dataset_id)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dataset-{dataset_id}-rejected.csv"'
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response


@router.get("/matching/exchange/request", response={200: None, **ERRORS})
@requires(services.IMPORT_PERM)
def exchange_request(
    request: HttpRequest,
    unit_id: int | None = None,
    format: Literal["csv", "parquet"] = "csv",
    plain: bool = False,
) -> FileResponse:
    """The request file for an outside checking centre: ``request_id`` and ``id_key`` (the keyed
    hash of each person's ID number) of the persons on open files of ``unit_id``'s subtree (the
    caller's own unions by default); with ``plain``, also ``id_number`` and ``name`` (needs the
    permission to reveal personal numbers; logged as a reveal). The answer is imported with
    ``POST /matching/datasets``. Logged as an export."""
    unit = None
    if unit_id is not None:
        unit = access.units(actor(request), services.IMPORT_PERM).filter(pk=unit_id).first()
        if unit is None:
            raise Http404
    suffix = ".parquet" if format == "parquet" else ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
        path = Path(tmp.name)
    try:
        services.exchange_request_export(
            actor=actor(request), target=path, unit=unit, fmt=format, hashed_only=not plain
        )
        handle = path.open("rb")
    finally:
        path.unlink(missing_ok=True)  # the open handle keeps the data until the response is sent
    name = f"request-{unit.code if unit else 'all'}-{services.today():%Y%m%d}{suffix}"
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["Cache-Control"] = "no-store"
    return response


@router.post("/matching/runs", response={202: MatchRunOut, **ERRORS})
@requires(services.RUN_PERM)
def match_run(request: HttpRequest, payload: RunIn) -> Any:
    unit = None
    if payload.unit_id is not None:
        unit = access.units(actor(request), services.RUN_PERM).filter(pk=payload.unit_id).first()
        if unit is None:
            raise Http404
    run = services.match_run(
        actor=actor(request), unit=unit, dataset_ids=payload.dataset_ids, engine=payload.engine, params=payload.params
    )
    run.refresh_from_db()
    return Status(202, run)


@router.get("/matching/runs", response={200: list[MatchRunOut], **ERRORS})
@requires(services.VIEW_PERM)
def match_run_list(request: HttpRequest) -> Any:
    """The latest 100 recheck runs of the actor's jurisdiction."""
    return list(selectors.run_list(actor=actor(request))[:100])


@router.get("/matching/runs/{run_id}", response={200: MatchRunOut, **ERRORS})
@requires(services.VIEW_PERM)
def match_run_get(request: HttpRequest, run_id: int) -> Any:
    return selectors.run_get(actor=actor(request), run_id=run_id)


@router.get("/matching/findings", response={200: FindingPageOut, **ERRORS})
@requires(services.VIEW_PERM)
def finding_list(request: HttpRequest, query: Query[FindingQuery]) -> Any:
    """The findings of the caller's jurisdiction, a page at a time, filtered; every status unless
    ``status`` is given (the staff page, made for working through the queue, opens on the open
    ones)."""
    unit_filter_checked(access.units(actor(request), services.VIEW_PERM), query.unit_id)
    filters = selectors.FindingFilters(
        unit_id=query.unit_id,
        status=query.status,
        severity=query.severity,
        kind=query.kind,
        rule=query.rule,
        run_id=query.run_id,
    )
    qs = selectors.finding_list(actor=actor(request), filters=filters).select_related("removal_proposal")
    # The shape of the other lists (households, reviews, the audit log): a page past the end is
    # an empty page, counted as they count.
    paginator = CappedPaginator(qs, query.page_size)
    start = (query.page - 1) * query.page_size
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "results": [_finding(f) for f in qs[start : start + query.page_size]],
    }


@router.post("/matching/findings/{finding_id}/confirm", response={200: FindingOut, **ERRORS})
@requires(services.REVIEW_PERM)
def finding_confirm(request: HttpRequest, finding_id: int, payload: ReasonIn) -> Any:
    try:
        services.finding_confirm(actor=actor(request), finding_id=finding_id, reason=payload.reason)
    except DomainError as exc:
        return _conflict(exc)
    return _finding(selectors.finding_get(actor=actor(request), finding_id=finding_id))


@router.post("/matching/findings/{finding_id}/dismiss", response={200: FindingOut, **ERRORS})
@requires(services.REVIEW_PERM)
def finding_dismiss(request: HttpRequest, finding_id: int, payload: ReasonIn) -> Any:
    try:
        services.finding_dismiss(actor=actor(request), finding_id=finding_id, reason=payload.reason)
    except DomainError as exc:
        return _conflict(exc)
    return _finding(selectors.finding_get(actor=actor(request), finding_id=finding_id))


@router.post("/matching/removal-proposals/{proposal_id}/notify", response={200: dict[str, Any], **ERRORS})
@requires(services.REVIEW_PERM)
def removal_proposal_notify(request: HttpRequest, proposal_id: int, payload: NoticeIn) -> Any:
    try:
        proposal = services.removal_proposal_notify(actor=actor(request), proposal_id=proposal_id, note=payload.note)
    except DomainError as exc:
        return _conflict(exc)
    return {"id": proposal.pk, "status": proposal.status, "notified_at": proposal.notified_at}


@router.get("/matching/removal-proposals", response={200: list[ProposalOut], **ERRORS})
@requires(services.VIEW_PERM)
def removal_proposal_list(request: HttpRequest, pending: bool = True) -> Any:
    """Removal proposals of the actor's jurisdiction (by default those still to act on)."""
    if pending:
        qs = selectors.removal_proposals_to_do(actor=actor(request))
    else:
        qs = selectors.removal_proposal_list(actor=actor(request))
    return [_proposal(p) for p in qs[:200]]


@router.post("/matching/removal-proposals/{proposal_id}/execute", response={200: ProposalOut, **ERRORS})
@requires(services.REVIEW_PERM)
def removal_proposal_execute(request: HttpRequest, proposal_id: int) -> Any:
    """Remove the file (退档): refused until the worker has been told."""
    try:
        services.removal_proposal_execute(actor=actor(request), proposal_id=proposal_id)
    except DomainError as exc:
        return _conflict(exc)
    return _proposal(selectors.removal_proposal_get(actor=actor(request), proposal_id=proposal_id))


@router.delete("/matching/datasets/{dataset_id}", response={204: None, **ERRORS})
@requires(services.IMPORT_PERM)
def dataset_delete(request: HttpRequest, dataset_id: int) -> Any:
    """Delete a dataset of the actor's jurisdiction and its files (findings stay)."""
    ds = selectors.dataset_get(actor=actor(request), dataset_id=dataset_id)
    services.dataset_delete(actor=actor(request), dataset=ds)
    return Status(204, None)


@router.get("/matching/coverage", response={200: list[CoverageOut], **ERRORS})
@requires(services.VIEW_PERM)
def match_coverage(request: HttpRequest, unit_id: int | None = None) -> Any:
    unit_filter_checked(access.units(actor(request), services.VIEW_PERM), unit_id)
    rows = selectors.match_coverage_rate(actor=actor(request), unit_id=unit_id)
    return [{**r.__dict__, "rate": r.rate} for r in rows]
