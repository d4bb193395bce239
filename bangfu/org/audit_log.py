"""Reading the audit log (``common.audit`` writes it): the entries of a jurisdiction, filtered, newest
first, for the staff page, the API and ``bangfu audit list``.

Who reads what: a holder of ``Perm.AUDIT_VIEW`` at a union reads the entries whose ``unit_path``
lies inside that union's subtree. Entries without a union (sign-ins, API tokens, users, exports of
the whole registry by the system) belong to no jurisdiction: they are read only by holders of
``AUDIT_VIEW`` at the top of the tree (a union without a parent, the province), as is the whole log.

Entries an app keeps from the readers for now (``NOT_YET_SHOWN``) are left out of every reading:
those about a worker's own draft from the phone, until the worker submits it (intake registers
it). They stay in the chain, and are read like any other once the app lets them be.

Reading is not logged; an export (CSV) is, as an ``export`` entry of ``common.audit_log``.
Entries keep personal numbers masked; as a second guard, a valid 18-digit ID number found in a
shown value is masked here too (``masked_text``), so an entry written by mistake with one in its
note does not show it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from bangfu.common.audit import audit_record
from bangfu.common.ids import mask_ids_in
from bangfu.common.models import AuditAction, AuditEntry
from bangfu.common.phones import mask_phone
from bangfu.common.retranslate import in_reader_language

from . import access
from .access import Perm
from .models import OrgUnit

PERM = Perm.AUDIT_VIEW
EXPORT_TARGET = "common.audit_log"
CSV_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_label",  # the object type in words (the reader's or the command's language)
    "target_id",
    "unit",
    "unit_name",
    "note",
    "before",
    "after",
]

# What each kind of object an entry names is, to a reader (``target_type`` stays the stored code).
OBJECT_TYPES: dict[str, Any] = {
    "household": gettext_lazy("Household file"),
    "member": gettext_lazy("Household member"),
    "member.id_number": gettext_lazy("Member's ID number"),
    "bank_account.card_number": gettext_lazy("Bank card number"),
    "income_record": gettext_lazy("Monthly income record"),
    "registry.members": gettext_lazy("Registry export"),
    "seed": gettext_lazy("Synthetic data"),
    "eligibility_decision": gettext_lazy("Identification decision"),
    "eligibility_recompute": gettext_lazy("Identification recompute"),
    "eligibility_recompute_report": gettext_lazy("Recompute report"),
    "eligibility_ruleset": gettext_lazy("Rule set"),
    "eligibility_standard": gettext_lazy("Standard"),
    "eligibility_whatif": gettext_lazy("What-if"),
    "matching.dataset": gettext_lazy("Department dataset"),
    "matching.dataset_rejected": gettext_lazy("Rejected rows of a dataset"),
    "matching.exchange_request": gettext_lazy("Request file for a checking centre"),
    "matching.finding": gettext_lazy("Cross-check finding"),
    "matching.findings_export": gettext_lazy("Findings export"),
    "matching.removal_proposal": gettext_lazy("Removal proposal"),
    "matching.run": gettext_lazy("Recheck"),
    "intake.application": gettext_lazy("Application"),
    "intake.attachment": gettext_lazy("Application attachment"),
    "intake.import_batch": gettext_lazy("Legacy import"),
    "intake.import_report": gettext_lazy("Legacy import report"),
    "intake.public_notice": gettext_lazy("Public notice list"),
    "intake.review_task": gettext_lazy("Yearly review"),
    "registry.telling": gettext_lazy("Told outside the jurisdiction"),
    "common.audit_log": gettext_lazy("Audit log"),
    "common.stored_files": gettext_lazy("Stored files"),
    "auth.user": gettext_lazy("Sign-in"),
    "user": gettext_lazy("User account"),
    "user.role": gettext_lazy("Role"),
    "api_token": gettext_lazy("API token"),
}
# Entries about a household's parts that name the household in ``after``: a filter on the
# household finds them too.
_HOUSEHOLD_PARTS = ("member.id_number", "bank_account.card_number")


# The actors that are no user, as the log writes them, in the reader's words.
_ACTORS = {
    "system": gettext_lazy("system"),
    "command line": gettext_lazy("command line"),
    "demo": gettext_lazy("demo set-up"),
}


def actor_label(label: str) -> str:
    """An entry's actor as a reader sees it: a user's name as it is; the system, the command line
    or the demo in the reader's language; a worker as "worker" with the masked phone."""
    if label in _ACTORS:
        return str(_ACTORS[label])
    if label.startswith("applicant:"):
        return _("worker %(phone)s") % {"phone": label.split(":", 1)[1]}
    return label


def object_label(code: str) -> str:
    """The reader's name of an object type; an unknown one (written by a later version) as stored."""
    label = OBJECT_TYPES.get(code)
    return str(label) if label is not None else code


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""  # the actor's user name (as written on the entry), any case
    action: str = ""  # an ``AuditAction`` value
    target_type: str = ""
    target_id: str = ""
    since: dt.date | None = None  # from this day (local time), inclusive
    until: dt.date | None = None  # to this day, inclusive
    unit_id: int | None = None  # this union's subtree; one outside the jurisdiction finds nothing


# The entries an app keeps from every reader for now, each a function giving a condition on them (a
# ``Q``, or an ``Exists`` of rows of the app's that name the entry, which the database reads as an
# anti-join), read at each reading (intake: those about a worker's draft not yet submitted).
# Registered in the app's ``AppConfig.ready``; the entries themselves are never changed or deleted
# (the table refuses it). Keep each cheap: it runs in every reading, a page of the log included.
NOT_YET_SHOWN: list[Callable[[], models.Q | models.Exists]] = []


def _paths(actor: Any) -> list[str]:
    paths = sorted({g.unit_path for g in access.grants(actor) if PERM in g.perms})
    return [p for i, p in enumerate(paths) if not any(p.startswith(q) for q in paths[:i])]


def _is_top(path: str) -> bool:
    return len([p for p in path.split("/") if p]) == 1


def may_read(actor: Any) -> bool:
    return access.has_perm(actor, PERM)


def reads_unplaced(actor: Any) -> bool:
    """Whether the actor reads the entries of no union: holders at the top of the tree only."""
    return any(_is_top(p) for p in _paths(actor))


def audit_scope(actor: Any, qs: models.QuerySet[AuditEntry] | None = None) -> models.QuerySet[AuditEntry]:
    """The entries of ``qs`` inside the actor's jurisdiction for reading the audit log; those of no
    union only for a holder at the top of the tree."""
    qs = AuditEntry.objects.all() if qs is None else qs
    paths = _paths(actor)
    if not paths:
        return qs.none()
    q = models.Q()
    for p in paths:
        q |= models.Q(unit_path__startswith=p)
    if any(_is_top(p) for p in paths):
        q |= models.Q(unit_path="")
    qs = qs.filter(q)
    for hidden in NOT_YET_SHOWN:
        qs = qs.exclude(hidden())
    return qs


def unit_choices(actor: Any) -> models.QuerySet[OrgUnit]:
    return access.units(actor, PERM).order_by("path")


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_list(*, actor: Any, filters: AuditFilters | None = None) -> models.QuerySet[AuditEntry]:
    """The entries the actor may read, filtered, newest first."""
    f = filters or AuditFilters()
    qs = audit_scope(actor)
    if f.unit_id is not None:
        unit = unit_choices(actor).filter(pk=f.unit_id).first()
        qs = qs.filter(unit_path__startswith=unit.path) if unit else qs.none()
    if f.actor.strip():
        qs = qs.filter(actor_label__iexact=f.actor.strip())
    if f.action:
        qs = qs.filter(action=f.action)
    kind, target = f.target_type.strip(), f.target_id.strip()
    if kind == "household" and target.isdigit():
        # The household's own entries and the reveals of its members' and its card's numbers.
        qs = qs.filter(
            models.Q(target_type=kind, target_id=target)
            | models.Q(target_type__in=_HOUSEHOLD_PARTS, after__household=int(target))
        )
    else:
        if kind:
            qs = qs.filter(target_type=kind)
        if target:
            qs = qs.filter(target_id=target)
    if f.since is not None:
        qs = qs.filter(at__gte=_day_start(f.since))
    if f.until is not None:
        qs = qs.filter(at__lt=_day_start(f.until + dt.timedelta(days=1)))
    return qs.order_by("-seq")


def units_of(entries: list[AuditEntry]) -> dict[str, OrgUnit]:
    """The unions the entries name, by path (one query for a page)."""
    paths = {e.unit_path for e in entries if e.unit_path}
    return {u.path: u for u in OrgUnit.objects.filter(path__in=paths)} if paths else {}


_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def masked_text(text: str) -> str:
    """``text`` with every valid 18-digit ID number in it masked (``5329**********1234``), and
    every mobile number (``139****5678``): a file's snapshot holds its members' phones, which a
    manager reading the log reads masked, as on the file."""
    if not text:
        return text
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), mask_ids_in(text))


def shown_note(text: str) -> str:
    """An entry's note as a reader sees it: a note the system wrote from a message of the catalog
    in its writer's language, in the reader's (``common.retranslate``), ID numbers masked."""
    return masked_text(in_reader_language(text)) if text else text


def masked_data(data: Any) -> Any:
    """A before/after value with ``masked_text`` applied to every string in it."""
    if isinstance(data, str):
        return masked_text(data)
    if isinstance(data, dict):
        return {k: masked_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [masked_data(v) for v in data]
    return data


def data_text(data: Any) -> str:
    """A before/after value as one line of JSON, masked."""
    return "" if data is None else json.dumps(masked_data(data), ensure_ascii=False, sort_keys=True)


def audit_export_rows(*, actor: Any, filters: AuditFilters | None = None) -> Iterator[dict[str, str]]:
    """The entries as rows of ``CSV_COLUMNS``, newest first. The export is written to the audit log
    (``export`` of ``common.audit_log``, with the filters and the row count) when this is called,
    before any row is read."""
    f = filters or AuditFilters()
    access.require(actor, PERM)
    qs = audit_list(actor=actor, filters=f)
    # The rows as they stand before the export's own entry (which would otherwise head its list).
    head = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    qs = qs.filter(seq__lte=head)
    unit = unit_choices(actor).filter(pk=f.unit_id).first() if f.unit_id is not None else None
    paths = _paths(actor)
    where = unit.path if unit else (paths[0] if len(paths) == 1 else "")
    wanted = {k: (str(v) if v is not None else "") for k, v in asdict(f).items() if v not in (None, "")}
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        target_type=EXPORT_TARGET,
        unit_path=where,
        after={"rows": qs.count(), "format": "csv", "filters": wanted},
    )
    return _rows(qs)


# The time zones of ``TIME_ZONE`` as a reader names them in a CSV's header and the command's help:
# a Chinese reader says 东八区, not "Asia/Shanghai". A zone not here is named by its tz name.
_ZONES: dict[str, Any] = {
    "Asia/Shanghai": pgettext_lazy("time zone", "Asia/Shanghai"),
}


def zone_label() -> str:
    """The zone of the CSV's local times (``TIME_ZONE``) in the reader's words."""
    zone = str(settings.TIME_ZONE)
    label = _ZONES.get(zone)
    return str(label) if label is not None else zone


def csv_time(at: dt.datetime) -> str:
    """A time as the CSV has it: local time (``TIME_ZONE``, named in the page's header and the
    command's help) as ``2026-11-30 23:35:47``, which a spreadsheet reads as a date and time; the
    ISO form with its offset (``…T23:35:47+08:00``) it keeps as text. The API keeps ISO."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def _rows(qs: models.QuerySet[AuditEntry]) -> Iterator[dict[str, str]]:
    last: int | None = None
    while True:
        chunk = list((qs.filter(seq__lt=last) if last is not None else qs)[:2000])
        if not chunk:
            return
        units = units_of(chunk)
        for entry in chunk:
            u = units.get(entry.unit_path)
            yield {
                "seq": str(entry.seq),
                "at": csv_time(entry.at),
                "actor": entry.actor_label,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_label": object_label(entry.target_type),
                "target_id": masked_text(entry.target_id),
                "unit": u.code if u else "",
                "unit_name": u.name if u else "",
                "note": shown_note(entry.note),
                "before": data_text(entry.before),
                "after": data_text(entry.after),
            }
        last = chunk[-1].seq
