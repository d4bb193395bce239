"""What the steps record: the home visit, the unit review and its public notice with objections,
the economic check, the worker's authorisation, and attachments."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import struct
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common.audit import audit_deferred, audit_record
from bangfu.common.encrypted_files import StoredFileError
from bangfu.common.errors import DomainError, Refused
from bangfu.common.models import AuditAction
from bangfu.common.storage import deleted_on_error
from bangfu.common.text import clean_reason
from bangfu.org import access
from bangfu.org.access import Perm

from . import conf, workflow
from .models import Application, ApplicationState, Attachment, AttachmentKind, CheckResult, HomeVisit, Objection
from .pdfcheck import PdfRefusedError, check_pdf
from .services import (
    IntakeError,
    _audit,
    _event,
    _not_the_workers_draft,
    _require_step,
    _user,
    acting_grants,
    is_applicant,
    load,
    records_to_make_again,
    workers_draft,
)

logger = logging.getLogger(__name__)

S = ApplicationState


@dataclass
class VisitInput:
    visited_on: dt.date | None
    visitors: str
    seen: str
    asked: str
    explained: str
    findings: str


def home_visit_record(*, actor: Any, application_id: int, visit: VisitInput) -> HomeVisit:
    """The 一看二问三讲 record: what was seen, asked and explained, and the findings."""
    texts = ("visitors", "seen", "asked", "explained", "findings")
    visit = replace(
        visit,
        visitors=clean_reason(visit.visitors),
        seen=clean_reason(visit.seen),
        asked=clean_reason(visit.asked),
        explained=clean_reason(visit.explained),
        findings=clean_reason(visit.findings),
    )
    errors: dict[str, str] = {}
    for name in texts:
        if not getattr(visit, name):
            errors[name] = _("This field is required.")
    if visit.visited_on is None:
        errors["visited_on"] = _("This field is required.")
    elif visit.visited_on > timezone.localdate():
        errors["visited_on"] = _("The date is in the future.")
    if errors or visit.visited_on is None:
        raise ValidationError(errors)
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        _require_step(actor, app, S.HOME_VISIT)
        submitted = _submitted_on(app)
        if submitted is not None and visit.visited_on < submitted:
            raise ValidationError(
                {
                    "visited_on": _("The visit cannot come before the application was submitted (%(date)s).")
                    % {"date": submitted}
                }
            )
        fields = {
            "visited_on": visit.visited_on,
            "visitors": visit.visitors,
            "seen": visit.seen,
            "asked": visit.asked,
            "explained": visit.explained,
            "findings": visit.findings,
        }
        last = app.visits.order_by("-pk").first()
        if last is not None and all(getattr(last, k) == v for k, v in fields.items()):
            # The same visit sent again (a double tap, a resend, three at once: the row lock
            # serialises them): the record already made is the answer, nothing is written twice.
            return last
        row = HomeVisit.objects.create(application=app, recorded_by=actor, **fields)
        _event(app, actor, "visit_recorded", app.state)
        _audit(actor, app, "visit_recorded", {}, {"visit": row.pk, "visited_on": visit.visited_on})
    return row


def _when(at: dt.datetime) -> str:
    """A time in a message, as the pages show it (``2026-03-05 09:07``)."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _submitted_on(app: Application) -> dt.date | None:
    return timezone.localdate(app.submitted_at) if app.submitted_at else None


def unit_review_record(*, actor: Any, application_id: int, held_on: dt.date | None, minutes: str) -> Application:
    """The unit's review meeting. The public notice is posted once the review is recorded: it runs
    from the next day for the configured days, whatever day the meeting was held (a meeting dated
    back does not shorten the notice, nor end it before anyone could see it)."""
    minutes = clean_reason(minutes)
    errors: dict[str, str] = {}
    if held_on is None:
        errors["held_on"] = _("This field is required.")
    elif held_on > timezone.localdate():
        errors["held_on"] = _("The date is in the future.")
    if not minutes:
        errors["minutes"] = _("This field is required.")
    if errors or held_on is None:
        raise ValidationError(errors)
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        _require_step(actor, app, S.UNIT_REVIEW)
        if app.unit_review_minutes.strip() and S.UNIT_REVIEW not in records_to_make_again(app):
            # Recorded once for the case as it stands; again only when the case came back to it.
            raise DomainError(
                IntakeError.CONFLICT,
                _("The unit review was already recorded (held on %(date)s); it is not recorded again.")
                % {"date": app.unit_review_on},
                {"held_on": str(app.unit_review_on)},
            )
        before = {
            "held_on": app.unit_review_on,
            "minutes": app.unit_review_minutes,
            "notice_to": app.notice_to,
        }
        visited = app.visits.order_by("-visited_on").values_list("visited_on", flat=True).first()
        if visited is not None and held_on < visited:
            raise ValidationError(
                {"held_on": _("The review cannot come before the home visit (%(date)s).") % {"date": visited}}
            )
        app.unit_review_on = held_on
        app.unit_review_minutes = minutes
        app.notice_from = max(held_on, timezone.localdate()) + dt.timedelta(days=1)
        app.notice_to = app.notice_from + dt.timedelta(days=conf.notice_days() - 1)
        app.version += 1
        app.save()
        _event(app, actor, "unit_reviewed", app.state)
        _audit(
            actor,
            app,
            "unit_reviewed",
            before if before["minutes"] else {},
            {"held_on": held_on, "minutes": app.unit_review_minutes, "notice_to": app.notice_to},
        )
    return app


def objection_record(*, actor: Any, application_id: int, received_on: dt.date | None, text: str) -> Objection:
    text = clean_reason(text)
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = _("This field is required.")
    if received_on is None:
        errors["received_on"] = _("This field is required.")
    elif received_on > timezone.localdate():
        errors["received_on"] = _("The date is in the future.")
    if errors or received_on is None:
        raise ValidationError(errors)
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        _require_step(actor, app, S.UNIT_REVIEW)
        submitted = _submitted_on(app)
        if submitted is not None and received_on < submitted:
            raise ValidationError(
                {
                    "received_on": _("The objection cannot come before the application was submitted (%(date)s).")
                    % {"date": submitted}
                }
            )
        row = Objection.objects.create(application=app, received_on=received_on, text=text, recorded_by=actor)
        _event(app, actor, "objection", app.state)
        _audit(actor, app, "objection", {}, {"objection": row.pk})
    return row


def objection_answer(*, actor: Any, application_id: int, objection_id: int, answer: str) -> Objection:
    """The union's answer to an objection of the application ``application_id`` (``Http404`` for an
    objection of another case: a page of one case never answers another's)."""
    answer = clean_reason(answer)
    if not answer:
        raise ValidationError({"answer": _("Write the answer to the objection.")})
    with audit_deferred():
        objections = Objection.objects.select_related("application__unit").filter(application_id=application_id)
        row = access.get_for(actor, objections, objection_id)
        app = load(actor, row.application_id, lock=True)
        _require_step(actor, app, S.UNIT_REVIEW)
        row.refresh_from_db(fields=["answer", "answered_at"])  # as it is once the case is locked
        if row.answered_at is not None:
            raise DomainError(
                IntakeError.CONFLICT,
                _("This objection was already answered (%(at)s); it is not answered again.")
                % {"at": _when(row.answered_at)},
                {"objection": row.pk},
            )
        row.answer, row.answered_at = answer, timezone.now()
        row.save(update_fields=["answer", "answered_at"])
        _event(app, actor, "objection_answered", app.state, row.answer)
        _audit(actor, app, "objection_answered", {}, {"objection": row.pk, "answer": row.answer})
    return row


def check_request(*, actor: Any, application_id: int) -> Application:
    """Ask the checking centre for the household's economic check (needs the signed authorisation)."""
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        _require_step(actor, app, S.ECONOMIC_CHECK)
        if app.authorised_at is None:
            raise DomainError(
                IntakeError.PRECONDITION, _("The worker has not signed the authorisation for the economic check.")
            )
        if app.check_result == CheckResult.PENDING:
            # One request at a time: another would cross-check the members again in the background.
            raise DomainError(
                IntakeError.CONFLICT,
                _("The economic check was already requested (%(at)s) and awaits the checking centre's answer.")
                % {"at": _when(app.check_requested_at) if app.check_requested_at else ""},
                {"check_result": app.check_result},
            )
        if app.check_result in {
            CheckResult.PASSED,
            CheckResult.FAILED,
        } and S.ECONOMIC_CHECK not in records_to_make_again(app):
            # Answered: a new request would put the answer aside (back to pending) and a later
            # answer would replace it. Again only when the case came back to the check.
            raise _already_answered(app)
        # A request made again (the case came back to the check) puts the earlier answer aside: kept here.
        before = (
            {"result": app.check_result, "note": app.check_note, "answered_at": app.check_answered_at}
            if app.check_result in {CheckResult.PASSED, CheckResult.FAILED}
            else {}
        )
        app.check_result, app.check_requested_at = CheckResult.PENDING, timezone.now()
        app.check_matches = None
        app.version += 1
        app.save()
        _event(app, actor, "check_requested", app.state)
        _audit(actor, app, "check_requested", before, {})
        # Our own cross-check of the members against the department data we hold, in the
        # background, beside the request to the checking centre.
        from .tasks import check_match_task

        transaction.on_commit(lambda: check_match_task.enqueue(app.pk))
    return app


def check_match(*, application_id: int) -> Application:
    """Cross-check the application's members against the department datasets its union may use
    (a background job, run again safely). The result is kept on the application for the staff who
    record the checking centre's answer; an application no longer at the check is left alone."""
    from bangfu.matching import services as matching

    app = Application.objects.select_related("unit").get(pk=application_id)
    if app.state != S.ECONOMIC_CHECK or app.check_result != CheckResult.PENDING:
        return app
    persons = [
        matching.CheckPerson(
            position=i,
            id_number=str(m.get("id_number") or ""),
            name=str(m.get("name") or ""),
            monthly_income=_money(m.get("monthly_income")),
        )
        for i, m in enumerate(app.data.get("members") or [])
        if not m.get("deceased")
    ]
    result = matching.persons_check(unit=app.unit, persons=persons)
    with transaction.atomic():
        app = Application.objects.select_for_update().get(pk=application_id)
        if app.state != S.ECONOMIC_CHECK or app.check_result != CheckResult.PENDING:
            return app
        app.check_matches = result
        app.save(update_fields=["check_matches", "updated_at"])
        summary = _("%(datasets)s datasets, %(findings)s findings (%(disqualifying)s disqualifying)") % {
            "datasets": len(result["datasets"]),
            "findings": len(result["findings"]),
            "disqualifying": sum(1 for f in result["findings"] if f["severity"] == "disqualifying"),
        }
        _event(app, None, "check_matched", app.state, summary)
    return app


def _money(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _already_answered(app: Application) -> DomainError:
    """The checking centre's answer is recorded: not again, unless the case came back to the check."""
    return DomainError(
        IntakeError.CONFLICT,
        _("The checking centre's answer is already recorded (%(result)s, %(at)s); it is not recorded again.")
        % {
            "result": CheckResult(app.check_result).label,
            "at": _when(app.check_answered_at) if app.check_answered_at else "",
        },
        {"check_result": app.check_result},
    )


def check_answer(*, actor: Any, application_id: int, passed: bool, note: str = "") -> Application:
    """The checking centre's answer, as received."""
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        _require_step(actor, app, S.ECONOMIC_CHECK)
        if app.check_result == CheckResult.NONE:
            raise DomainError(IntakeError.PRECONDITION, _("Request the economic check first."))
        if app.check_result != CheckResult.PENDING and S.ECONOMIC_CHECK not in records_to_make_again(app):
            # Recorded once per request; again only when the case came back to the check.
            raise _already_answered(app)
        if not passed and not note.strip():
            raise ValidationError({"note": _("Say what the check found.")})
        before = {"result": app.check_result, "note": app.check_note, "answered_at": app.check_answered_at}
        app.check_result = CheckResult.PASSED if passed else CheckResult.FAILED
        app.check_note, app.check_answered_at = note.strip()[:500], timezone.now()
        app.version += 1
        app.save()
        _event(app, actor, "check_answered", app.state, app.check_note)
        _audit(
            actor,
            app,
            "check_answered",
            before if before["result"] != CheckResult.PENDING else {},
            {"result": app.check_result, "note": app.check_note},
        )
    return app


def authorisation_sign(*, actor: Any, application_id: int, agreed: bool, ip: str | None) -> Application:
    """The worker authorises the economic check (a tick, the time and the address it came from);
    a cadre may record a signature given on paper at the counter."""
    if not agreed:
        raise ValidationError({"agreed": _("Tick the box to authorise the check.")})
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        if not is_applicant(actor):
            access.require(actor, Perm.HOUSEHOLD_EDIT, app.unit)
        if app.state in {S.REFUSED, S.WITHDRAWN, S.FILE_OPENED, S.REPORTED_UP}:
            raise DomainError(IntakeError.INVALID_TRANSITION, _("This application is closed."))
        if app.authorised_at is None:
            app.authorised_at, app.authorised_ip = timezone.now(), ip
            app.save(update_fields=["authorised_at", "authorised_ip", "updated_at"])
            _event(app, actor, "authorised", app.state, "" if is_applicant(actor) else _("signed on paper"))
            _audit(actor, app, "authorised", {}, {"ip": ip})
    return app


# --- attachments ----------------------------------------------------------------------------------

SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]
GPS_IFD = 0x8825
# The ISO base media box of a HEIC/HEIF photo: its size, then "ftyp" and the brand.
HEIF_BRANDS = frozenset(b"ftyp" + brand for brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"))


# The extensions a file of each stored type may keep; another gets the type's own added.
EXTENSIONS = {".jpg": (".jpg", ".jpeg", ".jpe", ".jfif"), ".png": (".png",), ".pdf": (".pdf",)}
TYPE_EXTENSIONS = {ctype: ext for _magic, ctype, ext in SIGNATURES}
NAME_MAX = 150
# The most files one application holds (proofs, photos, answers, minutes together).
MAX_ATTACHMENTS = 30


def attachment_name(name: str, ext: str) -> str:
    """The name an attachment is kept and downloaded under: the sender's, without folders or
    leading dots (a hidden file once saved), at most ``NAME_MAX`` characters with its extension
    kept, and ending in the extension of what the file is: a photo sent as ``scan.pdf`` becomes
    ``scan.pdf.jpg``, a PDF named ``proof`` or ``proof.pdf.exe`` gets ``.pdf``, so that a download
    opens in the right program (``ext`` is the type's own, ``.pdf``; none: the name as it is)."""
    name = (name or "").replace("/", "_").replace("\\", "_").strip()
    stem, dot, suffix = name.rpartition(".")
    if ext and not (dot and "." + suffix.lower() in EXTENSIONS.get(ext, (ext,))):
        stem, suffix = name, ext[1:]  # no extension, or not this type's: the type's is added
    elif not dot:
        stem, suffix = name, ""
    end = f".{suffix}" if suffix else ""
    stem = stem.lstrip(". ") or "file"
    return stem[: NAME_MAX - len(end)] + end


def download_name(row: Attachment) -> str:
    """The name an attachment downloads under (``attachment_name``; files kept before it too)."""
    return attachment_name(row.name, TYPE_EXTENSIONS.get(row.content_type, ""))


def sniff(content: bytes) -> tuple[str, str] | None:
    for magic, ctype, ext in SIGNATURES:
        if content.startswith(magic):
            return ctype, ext
    return None


# What Pillow raises for a file it cannot read: besides OSError and SyntaxError, a ValueError (a
# compressed text or colour-profile chunk that inflates beyond Pillow's limit), struct.error (a
# chunk or EXIF block cut short), and the errors of a header or table read without checking it.
_IMAGE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)


def _clean_image(content: bytes, ctype: str) -> bytes:
    """Decode the picture fully (a broken one is refused) and drop its location data: the EXIF
    GPS block, and the XMP packet (where photo editors and some phones write the location too).
    Everything Pillow does with the sender's bytes (open, decode, read the EXIF, write the copy) is
    in one ``try``: whatever it raises for a bad file refuses the picture, before anything is stored."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            # A header claiming a huge picture (a decompression bomb) is refused, not decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                probe.verify()
            img = Image.open(io.BytesIO(content))
            img.load()
            exif = img.getexif()
            if ctype == "image/png":
                out = io.BytesIO()
                img.save(out, "PNG")  # PNG keeps no metadata unless asked to
                return out.getvalue()
            if GPS_IFD not in exif and "xmp" not in img.info:
                return content
            exif.pop(GPS_IFD, None)
            out = io.BytesIO()
            img.save(out, "JPEG", quality=92, exif=exif.tobytes())  # no XMP unless asked for
            return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError({"file": _("The picture has too many pixels; send a smaller photo.")}) from exc
    except _IMAGE_ERRORS as exc:  # UnidentifiedImageError is an OSError
        logger.info("picture refused: %s: %s", type(exc).__name__, exc)
        raise ValidationError({"file": _("The picture is damaged or incomplete.")}) from exc


def _check_pdf(content: bytes) -> None:
    """A PDF is refused when it is not structurally one, or holds scripts or embedded content
    (``pdfcheck``): staff open the proofs on their computers."""
    try:
        check_pdf(content)
    except PdfRefusedError as problem:
        logger.info("attachment refused: %s", problem)
        if problem.kind == "active":
            message = _(
                "This PDF contains scripts or embedded content and cannot be attached: "
                "send a scanned or photographed PDF."
            )
        elif problem.kind == "unchecked":
            message = _(
                "This PDF cannot be checked for scripts (it is encrypted or compressed in a way not read here): "
                "send a scanned or photographed PDF."
            )
        else:
            message = _(
                "This file is not a readable PDF (its structure is missing or damaged): "
                "send a scanned or photographed PDF."
            )
        raise ValidationError({"file": message}) from problem


def attachment_add(
    *, actor: Any, application_id: int, name: str, content: bytes, kind: str = AttachmentKind.PROOF
) -> Attachment:
    """A photo (JPEG, PNG) or PDF, checked by its content, not its name; photos lose their location."""
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": _("Choose the kind of attachment.")})
    if is_applicant(actor) and kind != AttachmentKind.PROOF:
        # A checking centre's answer or a meeting's minutes come from staff: staff trust them.
        raise ValidationError({"kind": _("Only proofs can be attached here.")})
    limit = conf.max_upload_bytes()
    if len(content) > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}})
    if not content:
        raise ValidationError({"file": _("The file is empty.")})
    found = sniff(content)
    if found is None:
        if content[4:12] in HEIF_BRANDS:
            raise ValidationError(
                {
                    "file": _(
                        "HEIC photos (the iPhone's own format) cannot be attached: set the camera to "
                        "“Most Compatible”, or send a screenshot of the photo."
                    )
                }
            )
        raise ValidationError({"file": _("Only photos (JPEG, PNG) and PDF files can be attached.")})
    ctype, ext = found
    if ctype.startswith("image/"):
        content = _clean_image(content, ctype)
    elif b"%%EOF" not in content[-2048:]:
        raise ValidationError({"file": _("The PDF file is incomplete.")})
    else:
        _check_pdf(content)
    with deleted_on_error() as stored, transaction.atomic():
        app = load(actor, application_id, lock=True)
        if is_applicant(actor):
            if app.state in {S.REFUSED, S.WITHDRAWN, S.FILE_OPENED, S.REPORTED_UP}:
                raise DomainError(IntakeError.INVALID_TRANSITION, _("This application is closed."))
        elif not access.has_perm(actor, Perm.HOUSEHOLD_EDIT, app.unit):
            raise PermissionDenied(Perm.HOUSEHOLD_EDIT.value)
        else:
            _not_the_workers_draft(actor, app)
        digest = hashlib.sha256(content).hexdigest()
        attached = app.attachments.filter(removed_at__isnull=True)  # not those staff removed
        same = attached.filter(sha256=digest).order_by("pk").first()
        if same is not None:
            # The same file sent again (a resend, a second tap): the one already attached answers.
            return same
        if attached.count() >= MAX_ATTACHMENTS:
            raise ValidationError(
                {
                    "file": _(
                        "An application holds at most %(max)s files, and this one has %(max)s already: "
                        "bring any more to the union on paper."
                    )
                    % {"max": MAX_ATTACHMENTS}
                }
            )
        clean_name = attachment_name(name, ext)
        row = Attachment(
            application=app,
            kind=kind,
            name=clean_name,
            content_type=ctype,
            size=len(content),
            sha256=digest,
            by_worker=is_applicant(actor),
            uploaded_by=_user(actor),
        )
        row.file.save(f"{digest[:16]}{ext}", ContentFile(content), save=False)
        stored(row.file)
        row.save()
        _event(app, actor, "attachment", app.state, clean_name)
        _audit(
            actor, app, "attachment", {}, {"attachment": row.pk, "kind": kind, "size": len(content), "sha256": digest}
        )
    return row


def attachment_remove(*, actor: Any, application_id: int, attachment_id: int) -> None:
    """The worker takes a file they sent (a wrong photo) off their draft, or off the application
    returned to them to put right: the row and its stored file go, an event and an audit entry say
    so. Once the application is with the union its files stay (they are what it was decided on),
    as does a file the union added. ``Http404`` for another's application or attachment."""
    if not is_applicant(actor):
        raise PermissionDenied("intake.attachment_remove")  # staff files stay with the case
    with transaction.atomic():
        app = load(actor, application_id, lock=True)
        row = app.attachments.filter(pk=attachment_id, removed_at__isnull=True).first()
        if row is None:
            raise Http404
        if app.state != S.DRAFT:
            raise DomainError(
                IntakeError.NOT_DRAFT,
                _(
                    "This application is with the union now, so its files can no longer be removed; "
                    "if one is wrong, tell your union."
                ),
                {"state": app.state},
            )
        if not row.by_worker:
            raise Refused(_("This file was added by the union, not by you: it stays with the application."))
        stored, storage = row.file.name or "", row.file.storage
        _removal_recorded(app, actor, row)
        row.delete()
        # The stored file goes once the removal is committed, unless another case still refers to
        # it (a formal case converted from a temporary one shares its files).
        transaction.on_commit(lambda: _remove_stored(storage, stored))


def _removal_recorded(app: Application, actor: Any, row: Attachment, reason: str = "") -> None:
    """A file's removal on the case's history (the file's name, and the reason staff gave) and in
    the audit log (its kind, size and hash; not its name, which may name a person), whoever
    removed it."""
    said = _("“%(name)s”: %(reason)s") % {"name": row.name, "reason": reason} if reason else row.name
    _event(app, actor, "attachment_removed", app.state, said)
    before = {"attachment": row.pk, "kind": row.kind, "size": row.size, "sha256": row.sha256}
    _audit(actor, app, "attachment_removed", before, {"kept": True} if reason else {}, reason)


REMOVAL_REASON_MAX = 500


def staff_removal_refused(actor: Any, app: Application, row: Attachment) -> Exception | None:
    """Why the staff ``actor`` may not remove ``row`` from ``app`` (``attachment_remove_by_staff``),
    or None when they may: a file the union uploaded, while the case is at a step the actor takes
    (the step's roles at its union levels, as for its records), by the one who uploaded it or a
    colleague of their union (one with a role at a union where the uploader has one; anyone who
    takes the step when the uploader is not known)."""
    if row.by_worker:
        return Refused(
            _(
                "This file was sent by the worker: staff do not remove it. If it is wrong, return the case to "
                "the worker for correction, and the worker replaces it."
            )
        )
    if app.state in workflow.CLOSED:
        return DomainError(
            IntakeError.INVALID_TRANSITION,
            _("This application is closed (“%(state)s”): its files stay as it was decided on.")
            % {"state": S(app.state).label},
            {"state": app.state},
        )
    if workers_draft(app):
        return DomainError(
            IntakeError.INVALID_TRANSITION,
            _("This application is with the worker for correction: its files stay until the worker sends it again."),
            {"state": app.state},
        )
    step = workflow.step_at(app.kind, app.state)
    acting = acting_grants(actor, app, step.roles - {workflow.APPLICANT}, step.levels) if step else []
    if not acting or not access.has_perm(actor, Perm.HOUSEHOLD_EDIT, app.unit):
        return Refused(
            _(
                "The application is at the step “%(step)s”, which your role does not take: a file is removed by "
                "who takes the step the case is at."
            )
            % {"step": S(app.state).label}
        )
    uploader = row.uploaded_by
    if uploader is None or uploader.pk == actor.pk:
        return None
    theirs = {g.unit_id for g in access.grants(uploader)}
    if theirs & {unit_id for _level, unit_id in acting}:
        return None
    return Refused(
        _(
            "This file was uploaded by %(user)s, of another union: only they or a colleague of their union may "
            "remove it. If it is wrong, return the case to their step."
        )
        % {"user": uploader.get_username()}
    )


def attachment_remove_by_staff(*, actor: Any, application_id: int, attachment_id: int, reason: str) -> Attachment:
    """Staff take a file the union uploaded by mistake (the wrong person's ID card, a photo of the
    wrong house) off the case, saying why (``staff_removal_refused`` says who may, and when). The
    file is not destroyed: it is no longer part of the case (not listed, not downloaded from it),
    and is kept with its stored file, who removed it, when and why; the case's history and the
    audit log say so. ``Http404`` for a case outside the jurisdiction, or a file not of this case."""
    reason = " ".join(clean_reason(reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the file is removed.")})
    if len(reason) > REMOVAL_REASON_MAX:
        raise ValidationError({"reason": _("Say it in at most %(n)s characters.") % {"n": REMOVAL_REASON_MAX}})
    if is_applicant(actor):
        raise PermissionDenied("intake.attachment_remove_by_staff")  # the worker's removal is ``attachment_remove``
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        row = app.attachments.select_related("uploaded_by").filter(pk=attachment_id, removed_at__isnull=True).first()
        if row is None:
            raise Http404
        refused = staff_removal_refused(actor, app, row)
        if refused is not None:
            raise refused
        row.removed_at, row.removed_by, row.removed_reason = timezone.now(), actor, reason
        row.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        _removal_recorded(app, actor, row, reason)
    return row


def _remove_stored(storage: Any, name: str) -> None:
    if name and not Attachment.objects.filter(file=name).exists():
        storage.delete(name)


def attachment_file(row: Attachment) -> Any:
    """The attachment's stored file, open for reading; a ``DomainError`` when it is missing, or
    cannot be read back as it was saved (damaged, or changed on the disk: never other content)."""
    try:
        return row.file.open("rb")
    except StoredFileError as exc:
        logger.error("attachment %s: %s", row.pk, exc)
        raise DomainError(
            "stored_file_damaged",
            _("This file cannot be read back as it was saved (it is damaged or was changed); ask for it again."),
        ) from exc
    except FileNotFoundError as exc:
        logger.error("attachment %s: the stored file %s is missing", row.pk, row.file.name)
        raise DomainError("stored_file_missing", _("This file is missing from the storage; ask for it again.")) from exc


def attachment_open(*, actor: Any, attachment_id: int, application_id: int | None = None) -> Attachment:
    """An attachment the actor may read — staff in the application's jurisdiction, or the worker who
    applied — (``Http404`` like a missing one otherwise, or when it is not ``application_id``'s),
    with its file open for reading (``row.file``; a ``DomainError`` when it is missing or damaged,
    see ``attachment_file``). A staff download is an audit entry, written once the file opened: a
    proof may show an ID card, a payslip or a diagnosis; a file that cannot be given is no export."""
    row = Attachment.objects.filter(pk=attachment_id).first()
    if row is None or (application_id is not None and row.application_id != application_id):
        raise Http404
    app = load(actor, row.application_id, queryset=Application.objects.select_related("unit"))
    if row.removed_at is not None and not removed_readable(actor, app):
        raise Http404  # no longer part of the case: kept for who reads the audit log
    opened = attachment_file(row)
    if not is_applicant(actor):
        try:
            audit_record(
                actor=actor,
                action=AuditAction.EXPORT,
                target_type="intake.attachment",
                target_id=row.pk,
                unit_path=app.unit.path,
                after={
                    "application": app.reference,
                    "name": row.name,
                    **({"removed": True} if row.removed_at else {}),
                },
            )
        except BaseException:
            opened.close()
            raise
    return row


def removed_readable(actor: Any, app: Application) -> bool:
    """Whether ``actor`` may download the files staff removed from ``app``: who reads the audit log
    of its union (a manager, an administrator), to see what was removed; nobody else."""
    return not is_applicant(actor) and access.has_perm(actor, Perm.AUDIT_VIEW, app.unit)
