"""The audit log's page for its readers (``Perm.AUDIT_VIEW``): the entries of their jurisdiction
(``org.audit_log``), newest first, filtered, a page at a time, and their CSV download (logged)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from bangfu.common import ids, sheets
from bangfu.common.models import AuditAction
from bangfu.common.paging import CappedPaginator
from bangfu.org import audit_log

from .forms import AuditFilterForm
from .views import _htmx_partial


def _form(request: HttpRequest) -> AuditFilterForm:
    if not audit_log.may_read(request.user):
        raise PermissionDenied(audit_log.PERM.value)
    return AuditFilterForm(request.GET or None, units=audit_log.unit_choices(request.user))


def _without_id_number(request: HttpRequest, path: str = "") -> HttpResponse | None:
    """An ID number typed as the object id (the log's objects are records, never a person's
    number) is not looked up: the page goes to its address without it, where it would be logged
    (the server's and the proxy's logs, the history, the Referer), and says so. A download goes
    back to the list (``path``): not to all of the log without the filter."""
    if not ids.holds_id_number(request.GET.get("target_id", "")):
        return None
    messages.warning(
        request,
        _(
            "The audit log is not searched by ID number, and in the page's address one would be "
            "logged: filter by the object id the list shows."
        ),
    )
    query = request.GET.copy()
    del query["target_id"]
    query.pop("page", None)
    to = (path or request.path) + (f"?{query.urlencode()}" if query else "")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = to
        return response
    return redirect(to)


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if (elsewhere := _without_id_number(request)) is not None:
        return elsewhere
    filters = form.filters() if form.is_bound else audit_log.AuditFilters()
    entries = audit_log.audit_list(actor=request.user, filters=filters)
    page = CappedPaginator(entries, settings.BANGFU_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    units = audit_log.units_of(rows)
    labels = dict(AuditAction.choices)
    for e in rows:
        e.unit = units.get(e.unit_path)
        e.action_label = labels.get(e.action, e.action)
        e.shown_target_id = audit_log.masked_text(e.target_id)
        e.target_label = audit_log.object_label(e.target_type)
        e.actor_shown = audit_log.actor_label(e.actor_label)
        e.shown_note = audit_log.shown_note(e.note)
        e.shown_before = audit_log.data_text(e.before)
        e.shown_after = audit_log.data_text(e.after)
    page.object_list = rows
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "unplaced": audit_log.reads_unplaced(request.user),
    }
    template = "web/_audit_results.html" if _htmx_partial(request) else "web/audit_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# The download's columns: the page's words, as the page shows them (the action, the object type and
# an actor that is no user in the reader's language); the codes are in ``bangfu audit list`` and the API.
PAGE_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "target_label",
    "target_id",
    "unit",
    "unit_name",
    "note",
    "before",
    "after",
]


def _csv_lines(header: list[str], rows: Iterator[dict[str, str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    labels = {value: str(label) for value, label in AuditAction.choices}
    for n, row in enumerate(rows, 1):
        row["action"] = labels.get(row["action"], row["action"])  # the page's downloads speak its language
        row["actor"] = audit_log.actor_label(row["actor"])
        writer.writerow(sheets.csv_row([row[c] for c in PAGE_COLUMNS]))
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The entries the page lists (its filters), all of them, as CSV; the download is logged."""
    form = _form(request)
    if (elsewhere := _without_id_number(request, reverse("web:audit_list"))) is not None:
        return elsewhere
    filters = form.filters() if form.is_bound else audit_log.AuditFilters()
    rows = audit_log.audit_export_rows(actor=request.user, filters=filters)
    header = [
        _("No."),
        # Local time, written so that a spreadsheet reads it as one (``audit_log.csv_time``).
        _("Time (%(zone)s)") % {"zone": audit_log.zone_label()},
        _("Actor"),
        _("Action"),
        _("Object type"),
        _("Object id"),
        _("Union code"),
        _("Union"),
        _("Note"),
        _("Before"),
        _("After"),
    ]
    # A byte-order mark, without which Excel reads the Chinese as GBK.
    lines = (line for part in (["\ufeff"], _csv_lines(header, rows)) for line in part)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
