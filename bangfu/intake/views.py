"""Pages: the worker's phone pages (sign-in by code, apply, upload, authorise, follow the status)
and the staff's work queue and application page. Views parse, call one service, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from bangfu.common.errors import DomainError, Refused, field_errors
from bangfu.common.paging import CappedPaginator
from bangfu.common.punctuation import join_list
from bangfu.eligibility.models import DecisionCategory
from bangfu.eligibility.presentation import reason_text
from bangfu.org import access, signin
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel
from bangfu.registry.codes import (
    Cause,
    Health,
    Identity,
    IncomeKind,
    Relationship,
    RigidExpenseKind,
    WorkStatus,
)
from bangfu.web import searches
from bangfu.web.forms import unknown_filter_value

from . import conf, imports, legacy, otp, reviews, selectors, services, steps, workflow
from .data import draft_errors, masked, masked_id
from .data import normalise as data_normalise
from .forms import ApplicationForms, NewApplicationForm, ObjectionForm, ReviewForm, VisitForm, differences
from .models import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationState,
    Attachment,
    CheckResult,
    ImportBatch,
    ImportState,
    ReviewState,
    ReviewTask,
)
from .on_record import field_value

S = ApplicationState


def _errors_to_messages(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        for field, msgs in field_errors(exc).items():
            for m in msgs:
                messages.error(request, m if field == "__all__" else f"{m}")
    elif isinstance(exc, DomainError):
        messages.error(request, exc.message)
    elif isinstance(exc, Refused):  # a refusal that says why
        messages.error(request, exc.said)
    else:
        messages.error(request, _("You do not have permission to do this."))


def _ip(request: HttpRequest) -> str | None:
    """The worker's address for the authorisation record: behind the reverse proxy, the one the
    proxy saw, not the proxy's own."""
    return signin.client_address(request)


def _decision(app: Application) -> dict[str, Any] | None:
    d = selectors.application_decision(app)
    if d is None:
        return None
    return {
        "category": _label(DecisionCategory, d.category),
        "net": d.net_income_per_head_monthly,
        "reasons": [reason_text(r.as_dict()) for r in d.reasons],
        "ruleset": d.ruleset_version,
    }


def _label(choices: Any, value: Any) -> str:
    """A code's label; an unknown code is shown as it is."""
    try:
        return str(choices(int(value) if choices is Cause else value).label)
    except (ValueError, TypeError):
        return "" if value in (None, "") else str(value)


# A member's fields shown besides those of the table's columns (name, relationship, ID, identity,
# income), in the form's order, each under the registry's own label.
_MEMBER_DETAILS = (
    "sex", "birth_date", "ethnicity", "phone", "living_together", "deceased", "health", "disease_note",
    "disability_type", "disability_grade", "medical_insurance", "marital", "hukou", "political_status",
    "work_status", "employer", "employer_type", "enterprise_state", "industry", "work_start_date",
    "model_worker_level", "school_level", "school_or_employer", "enrolment_year", "programme_years",
    "single_parent",
)  # fmt: skip
_HOUSEHOLD_DETAILS = ("is_migrant_worker", "housing_type", "housing_area", "medical_insurance", "self_reliant")


def _details(model: Any, source: dict[str, Any], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, value) of each field of ``names`` given in ``source``, for reading."""
    shown = []
    for name in names:
        value = field_value(model, name, source.get(name))
        if value:
            shown.append((str(model._meta.get_field(name).verbose_name).capitalize(), value))
    return shown


def _masked_id(value: Any) -> str:
    return masked_id(value)  # as the API masks them


def _labelled(form: dict[str, Any]) -> dict[str, Any]:
    """The application's data with labels in place of codes, for reading: every field the worker
    gave, ID and card numbers masked."""
    from bangfu.common.crypto import mask_middle
    from bangfu.registry.models import BankAccount, Household, Member

    bank = form.get("bank_account") or {}
    card = "".join(ch for ch in str(bank.get("card_number") or "") if ch.isalnum())
    return {
        "members": [
            {
                **m,
                "relationship": _label(Relationship, m.get("relationship")),
                "identity": _label(Identity, m.get("identity")),
                "id_masked": _masked_id(m.get("id_number")),
                "details": _details(Member, m, _MEMBER_DETAILS),
            }
            for m in form.get("members") or []
        ],
        "household_details": _details(Household, form, _HOUSEHOLD_DETAILS),
        "bank": (
            [
                *_details(BankAccount, bank, ("bank", "branch", "holder_name")),
                (str(BankAccount._meta.get_field("card_masked").verbose_name).capitalize(), mask_middle(card)),
            ]
            if bank
            else []
        ),
        "main_cause": _label(Cause, form.get("main_cause")),
        "secondary_causes": [_label(Cause, c) for c in form.get("secondary_causes") or []],
        "incomes": [{**i, "kind": _label(IncomeKind, i.get("kind"))} for i in form.get("incomes") or []],
        "rigid_expenses": [
            {**e, "kind": _label(RigidExpenseKind, e.get("kind"))} for e in form.get("rigid_expenses") or []
        ],
    }


# --- the worker's phone pages ---------------------------------------------------------------------


def applicant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The worker's pages: signed in, and never kept by the browser (they hold ID numbers, and a
    phone is often shared: after signing out, going back must not show them again). A sign-in
    that ended says why on the sign-in page; a search as the worker types (htmx) takes the whole
    page there rather than putting the sign-in page into the union box."""

    @wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        applicant = otp.applicant_from_session(request.session)
        if applicant is None:
            _say_why_signed_out(request)
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponseClientRedirect(reverse("intake:phone_login"))
            return redirect("intake:phone_login")
        request.applicant = applicant  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _say_why_signed_out(request: HttpRequest) -> None:
    """A session whose sign-in ended (this number signed in elsewhere, or it expired) is told why,
    once, and no longer shows as signed in."""
    why = otp.session_login_ended(request.session)
    if why == otp.LoginEnded.REPLACED:
        messages.info(
            request,
            _(
                "You were signed out here because your number was used to sign in on another phone "
                "or in the app. Sign in again to go on."
            ),
        )
    elif why is not None:
        messages.info(request, _("Your sign-in has ended; sign in again to go on."))


def _digits(raw: str, longest: int = 18) -> int | None:
    """A number as a form sends it (ASCII digits only: ``int`` would also read ``²`` or ``١``, and
    fail on some of them); None otherwise."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= longest else None


def _version(request: HttpRequest) -> int | None:
    """The version a form was opened at (its optimistic lock); none given: no check."""
    raw = request.POST.get("version", "").strip()
    if not raw:
        return None
    version = _digits(raw)
    if version is None:
        raise ValidationError({"version": _("This form is out of date or damaged; reload the page and try again.")})
    return version or None


@never_cache
def phone_login(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and otp.applicant_from_session(request.session) is None:
        _say_why_signed_out(request)
    phone = request.POST.get("phone", "")
    sent = False
    # An error of the number or of the code goes under its box, which is marked and gets the
    # cursor (app.js); the others (no texts here, asked too often) at the top of the page.
    errors: dict[str, str] = {}
    if request.method == "POST":
        verifying = request.POST.get("step") == "verify"
        try:
            if verifying:
                applicant = otp.code_verify(phone=phone, code=request.POST.get("code", ""))
                otp.session_sign_in(request.session, applicant)
                return redirect("intake:phone_home")
            otp.code_request(phone=phone, address=signin.client_address(request))
            messages.success(request, _("A code was sent to your phone; it is valid for 5 minutes."))
            sent = True
        except ValidationError as exc:
            found = field_errors(exc)
            errors = {f: " ".join(found.pop(f)) for f in ("phone", "code") if f in found}
            if found:
                _errors_to_messages(request, ValidationError(found))
            sent = verifying
        except DomainError as exc:
            if verifying and exc.code in {otp.OtpError.INVALID, otp.OtpError.EXPIRED}:
                errors = {"code": exc.message}
            else:
                _errors_to_messages(request, exc)
            # Asked again too soon: the code sent a moment ago is still good, so its box stays.
            just_sent = exc.code == otp.OtpError.THROTTLED and "wait" in exc.details
            sent = verifying or just_sent
    # Without a code sender the page says at once to apply at the counter, rather than offering a
    # form that only says so once a number has been typed and sent.
    return render(
        request,
        "intake/phone/login.html",
        {"phone": phone, "sent": sent, "errors": errors, "can_send": conf.code_sender() is not None},
    )


@require_POST
def phone_logout(request: HttpRequest) -> HttpResponse:
    """Signing out ends the sign-in itself, not only this browser's session."""
    otp.session_sign_out(request.session)
    return redirect("intake:phone_login")


def _union_choice(q: str, chosen: str = "", data: Any = None) -> dict[str, Any]:
    """The union box of the phone's application form: the unions matching ``q`` (all of them
    when there are few), with a line saying what was found. A union chosen in a posted form stays
    in the list, so a form sent back with an error keeps it."""
    keep = _digits(chosen)
    search = selectors.union_search(q=q, keep=keep if data is not None else None)
    units = search.units
    status = ""
    if not search.query:
        if search.more:  # too many to list: the worker searches first
            units = []
            status = _("Type part of the name of your union, or of your county, to find your union.")
    elif not units:
        status = _("No union matches “%(q)s”. Try part of the name, or your county's name.") % {"q": search.query}
    elif search.more:
        status = _("More than %(n)s unions match; type more of the name.") % {"n": len(units)}
    elif len(units) == 1:
        status = _("One union found; it is chosen below.")
    else:
        status = ngettext(
            "%(n)s union found; choose yours below.", "%(n)s unions found; choose yours below.", len(units)
        ) % {"n": len(units)}
    if search.kept is not None and search.kept not in units:
        units = [search.kept, *units]
    # The union chosen before the search stays chosen while it is listed; else one match is taken.
    listed = keep is not None and any(u.pk == keep for u in units)
    form = NewApplicationForm(data, units=units, initial={"unit_id": keep} if listed else {})
    return {"form": form, "union_q": search.query, "union_status": status}


@applicant_required
def phone_home(request: HttpRequest) -> HttpResponse:
    applicant: Applicant = request.applicant  # type: ignore[attr-defined]
    if request.method == "POST":
        choice = _union_choice(request.POST.get("q", ""), request.POST.get("unit_id", ""), request.POST)
    else:
        choice = _union_choice(request.GET.get("q", ""))
    form = choice["form"]
    if request.method == "POST" and form.is_valid():
        try:
            app = services.application_create(
                actor=applicant,
                unit_id=form.cleaned_data["unit_id"],
                kind=form.cleaned_data["kind"],
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
            if note := services.existing_draft_note(app):
                messages.info(request, note)
            return redirect("intake:phone_application", pk=app.pk)
        except (ValidationError, DomainError) as exc:
            _errors_to_messages(request, exc)
    context = {
        "applications": selectors.my_applications(applicant=applicant),
        "notices": selectors.my_notices(applicant=applicant)[:20],
        "reviews": reviews.review_tasks_for(actor=applicant),
        "key": dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f"),
        **choice,
    }
    return render(request, "intake/phone/home.html", context)


@applicant_required
@require_GET
def phone_unions(request: HttpRequest) -> HttpResponse:
    """The union box alone, for the search as the worker types (htmx); without it the search box
    is a plain form that reloads the page with ``?q=``."""
    q = request.GET.get("q", "")
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(f"{reverse('intake:phone_home')}?{urlencode({'q': q})}")
    return render(request, "intake/phone/_union_choice.html", _union_choice(q, request.GET.get("unit_id", "")))


def _save_form(request: HttpRequest, actor: Any, app: Application) -> tuple[ApplicationForms, Application | None]:
    """Save (and submit) the posted form. A form sent back keeps the version it was posted with
    (what its values were based on), unless its values were saved: a form refused because the
    draft was saved meanwhile must be refused again, not overwrite that change when saved twice."""
    forms = ApplicationForms(request.POST, initial=app.data, kind=app.kind)
    forms.version = request.POST.get("version", "")
    if not forms.is_valid():
        return forms, None
    form = forms.form_data()
    try:
        app = services.application_save_draft(
            actor=actor, application_id=app.pk, form=form, expected_version=_version(request)
        )
        forms.version = app.version  # saved: what the form holds is the draft now
        forms.saved = True
        if request.POST.get("submit"):
            app = services.application_submit(actor=actor, application_id=app.pk)
            worker = services.is_applicant(actor)
            if worker:
                messages.success(request, _("Your application %(ref)s was submitted.") % {"ref": app.reference})
            else:
                messages.success(request, _("The application %(ref)s was submitted.") % {"ref": app.reference})
            if app.authorised_at is None and app.kind == ApplicationKind.FORMAL:
                # Not needed to submit, but the economic check waits for it: said now, not weeks later.
                # The temporary-aid path has no economic check (a formal case made from it later
                # asks for the authorisation at its own check).
                messages.warning(
                    request,
                    _(
                        "The authorisation for the economic check is not signed yet: sign it on this page "
                        "(or on paper at the union), or the application will wait at the economic check."
                    )
                    if worker
                    else _(
                        "The worker has not signed the authorisation for the economic check: keep the paper "
                        "signature; it is recorded at the economic check, where the case waits for it."
                    ),
                )
        else:
            messages.success(request, _("Saved."))
        return forms, app
    except ValidationError as exc:
        errors = field_errors(exc)
        if request.POST.get("submit"):
            errors = _with_submit_errors(errors, form, app)
        forms.apply_errors(errors)
    except DomainError as exc:
        if exc.code == services.IntakeError.CONFLICT:
            _conflict(forms, app, form, exc.message if services.is_applicant(actor) else "")
        else:
            forms.page_errors.append(exc.message)
    return forms, None


def _with_submit_errors(errors: dict[str, list[str]], form: dict[str, Any], app: Application) -> dict[str, list[str]]:
    """A submit refused at the draft's save (a value wrong in itself: four secondary causes) with
    what the submit would also have said (a name with digits, an ID's check digit): every problem
    at once, not one round of them a press."""
    from . import data

    try:
        more, _h, _checked = data.submit_errors(data.normalise(form), app.unit_id, app.kind)
    except (ValidationError, ValueError, TypeError, KeyError):
        return errors  # the form cannot be read further: what the save said is all
    merged = {path: list(said) for path, said in errors.items()}
    for path, said in more.items():
        merged.setdefault(path, []).extend(m for m in said if m not in merged[path])
    return merged


def _conflict(forms: ApplicationForms, app: Application, typed: dict[str, Any], said: str) -> None:
    """The draft was saved since the form was opened (in another tab or window, or by someone
    else): nothing is saved, what is saved now is shown beside what was typed, and the form keeps
    its old version, so that only a form opened on the draft as it now is can be saved. ``said``:
    the service's words for the worker (whose draft only they change), else the staff's."""
    app.refresh_from_db()
    forms.conflict = True
    forms.differences = differences(app.data, data_normalise(typed), kind=app.kind)
    forms.page_errors.append(
        said
        or _(
            "This application was changed after you opened it (in another tab or window, or by someone else); "
            "what you typed was not saved."
        )
    )


@applicant_required
def phone_application(request: HttpRequest, pk: int) -> HttpResponse:
    applicant: Applicant = request.applicant  # type: ignore[attr-defined]
    app = selectors.application_get(actor=applicant, application_id=pk)
    forms = ApplicationForms(initial=app.data, kind=app.kind)
    forms.version = app.version
    if request.method == "POST" and app.state != S.DRAFT:
        # Sent again from another tab or after going back: it is past the form; show where it stands.
        messages.info(request, _("This application was already sent; here is where it stands."))
        return redirect("intake:phone_application", pk=app.pk)
    if request.method == "POST":
        forms, saved = _save_form(request, applicant, app)
        if saved is not None:
            return redirect("intake:phone_application", pk=app.pk)
        app.refresh_from_db()
    events = list(selectors.application_events(actor=applicant, application_id=pk))
    last = events[-1] if events else None
    context = {
        "app": app,
        "forms": forms,
        "events": events,
        # Why the case came back to the worker, or was refused: at the top, not at the end of the
        # progress list below the whole form.
        "last_word": last if last is not None and last.action in {"return", "refuse"} and last.reason else None,
        "files": selectors.attachments_of(app),
        # The category the opened file is in (and one a second person still decides on), in words.
        "file_category": selectors.file_category(app),
        "can_withdraw": services.may(applicant, app, workflow.WITHDRAW),
        "closed": app.state in workflow.CLOSED,  # nothing more to upload or sign
        "submitting": request.method == "POST" and bool(request.POST.get("submit")),
        "upload_limit_mb": conf.max_upload_bytes() // (1024 * 1024),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/phone/application.html", context, status=status)


def the_upload(request: HttpRequest) -> Any:
    """The one file sent under ``file`` (None without one). Several are refused, rather than the
    last one kept and the others dropped without a word."""
    files = request.FILES.getlist("file")
    if len(files) > 1:
        raise ValidationError({"file": _("Send one file at a time.")})
    return files[0] if files else None


def upload_bytes(upload: Any) -> bytes:
    """An uploaded attachment's content, refused by its size before it is read into memory (a
    large upload waits in a temporary file)."""
    limit = conf.max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}})
    return bytes(upload.read())


@applicant_required
@require_POST
def phone_upload(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        upload = the_upload(request)
        if upload is None:
            raise ValidationError({"file": _("Choose a file.")})
        content = upload_bytes(upload)
        steps.attachment_add(actor=request.applicant, application_id=pk, name=upload.name or "", content=content)  # type: ignore[attr-defined]
        messages.success(request, _("The file was added."))
    except (ValidationError, DomainError) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:phone_application", pk=pk)


@applicant_required
@require_POST
def phone_remove(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    try:
        steps.attachment_remove(actor=request.applicant, application_id=pk, attachment_id=attachment_pk)  # type: ignore[attr-defined]
        messages.success(request, _("The file was removed."))
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:phone_application", pk=pk)


@applicant_required
@require_POST
def phone_authorise(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        steps.authorisation_sign(
            actor=request.applicant,  # type: ignore[attr-defined]
            application_id=pk,
            agreed=bool(request.POST.get("agreed")),
            ip=_ip(request),
        )
        messages.success(request, _("Thank you: the authorisation is signed."))
    except (ValidationError, DomainError) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:phone_application", pk=pk)


@applicant_required
@require_POST
def phone_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.application_transition(actor=request.applicant, application_id=pk, action=workflow.WITHDRAW)  # type: ignore[attr-defined]
        messages.success(request, _("Your application is withdrawn."))
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:phone_application", pk=pk)


# --- staff pages ----------------------------------------------------------------------------------


# The work queue lists the yearly reviews still to do, at most this many; the reviews page has them all.
QUEUE_REVIEWS = selectors.ReviewFilters(state="todo")
QUEUE_REVIEWS_SHOWN = 10
REVIEWS_PER_PAGE = 50


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    number = _digits(raw, 12)
    return number if number else 1


CLOSED_PER_PAGE = 50


def _closed_search(request: HttpRequest) -> HttpResponse:
    """The closed cases' search, posted (as the household list's is, ``web.searches``): a search
    with a digit in it (an ID number, a reference) is kept in the session and the address carries
    its key ``s``, never the text."""
    path = reverse("intake:queue")
    params = {"scope": "closed", **searches.address_params(request, selectors.closed_query(request.POST.get("q")))}
    if (state := request.POST.get("state", "")) in selectors.CLOSED_STATES:
        params["state"] = state
    return redirect(f"{path}?{urlencode(params)}")


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _closed_search(request)
    if request.GET.get("scope") == "closed":
        return _closed(request)
    state = request.GET.get("state", "")
    state = state if state in S.values else ""
    # "all": every case under way in the user's unions, whoever's step it is at (a manager or an
    # evaluator follows them; the work queue holds only the steps the user takes).
    everything = request.GET.get("scope") == "all"
    if everything:
        rows, page = selectors.under_way(actor=request.user, state=state, page=_page_number(request))
        counts = selectors.under_way_counts(actor=request.user)
    else:
        rows, page = selectors.queue(actor=request.user, state=state, page=_page_number(request))
        counts = selectors.queue_counts(actor=request.user)
    # The first tab's count, as the others have theirs: the cases to act on (as its step counts).
    waiting = sum(c["count"] for c in (selectors.queue_counts(actor=request.user) if everything else counts))
    can_start = access.units(request.user, Perm.HOUSEHOLD_EDIT).filter(level=OrgLevel.GRASSROOTS).exists()
    # A short list of the yearly reviews to act on (reports first), their counts, and a link to them all.
    review_rows = list(selectors.review_list(actor=request.user, filters=QUEUE_REVIEWS)[:QUEUE_REVIEWS_SHOWN])
    reviews.review_changes_shown(review_rows)  # the reports as staff check them: names, labels, before → after
    for t in review_rows:  # read-only roles follow the reviews without buttons, as on the reviews page
        t.can_act = access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, t.household.unit)  # type: ignore[attr-defined]
    _decline_refused(request, review_rows)
    context = {
        "rows": rows,
        "page": page,
        "counts": counts,
        "everything": everything,
        "waiting": waiting,
        "tomorrow": timezone.localdate() + dt.timedelta(days=1),
        "under_way": sum(c["count"] for c in selectors.under_way_counts(actor=request.user))
        if not everything
        else sum(c["count"] for c in counts),
        "state": state,
        "can_start": can_start,
        "reviews": review_rows,
        "review_counts": selectors.review_counts(actor=request.user, filters=QUEUE_REVIEWS),
        "can_import": access.units(request.user, Perm.HOUSEHOLD_EDIT).exists(),
    }
    return render(request, "intake/staff/queue.html", context)


def _closed(request: HttpRequest) -> HttpResponse:
    """The closed cases of the user's unions (file opened or reported up, refused, withdrawn), the
    most recently closed first, by state, searched by name, reference or ID number, a page at a time."""
    address = searches.read_address(request, reverse("intake:queue"))
    if address.redirect_to:
        return redirect(address.redirect_to)
    state = address.data.get("state", "")
    state = state if state in selectors.CLOSED_STATES else ""
    q = selectors.closed_query(address.data.get("q", ""))
    paginator = CappedPaginator(selectors.closed_cases(actor=request.user, state=state, q=q), CLOSED_PER_PAGE)
    page = paginator.get_page(_page_number(request))
    counts = selectors.closed_counts(actor=request.user, q=q)
    key = address.query.get("s", "")
    search = {"s": key} if key else ({"q": q} if q else {})
    context = {
        "closed": True,
        "rows": selectors.closed_rows(page.object_list),
        "page": page,
        "paginator": paginator,
        "counts": counts,
        "total": sum(c["count"] for c in counts),
        "state": state,
        "q": q,
        "searched": bool(q),
        "notices": address.notices,
        "base_query": urlencode({"scope": "closed", **search}),
        "query": urlencode({"scope": "closed", **search, **({"state": state} if state else {})}),
        "under_way": sum(c["count"] for c in selectors.under_way_counts(actor=request.user)),
        "waiting": sum(c["count"] for c in selectors.queue_counts(actor=request.user)),
        "can_start": access.units(request.user, Perm.HOUSEHOLD_EDIT).filter(level=OrgLevel.GRASSROOTS).exists(),
        "can_import": access.units(request.user, Perm.HOUSEHOLD_EDIT).exists(),
    }
    return render(request, "intake/staff/closed.html", context)


UNIT_CHOICES_MAX = 500  # a province has some 150 cities and counties


def _review_filters(data: Any) -> tuple[selectors.ReviewFilters, list[str]]:
    """The list's filters as ``data`` (the address's query, or the posted form) has them, taking
    the states the API takes (``selectors.REVIEW_FILTERS``: a group or one state, ``confirmed``
    too); and what the page says of a value it does not know, which is left out (``?state=bogus``
    listed every task without a word)."""
    problems = []
    state = data.get("state", "")
    if state and state not in selectors.REVIEW_FILTERS:
        problems.append(unknown_filter_value(_("Review state"), state))
        state = ""
    raw_year = data.get("year", "")
    year = _digits(raw_year, 4)
    if raw_year and not (year and year >= 2000):
        problems.append(unknown_filter_value(_("Review year"), raw_year))
        year = None
    raw_unit = data.get("unit", "")
    unit = _digits(raw_unit, 12)
    if raw_unit and not unit:
        problems.append(unknown_filter_value(_("Union"), raw_unit))
    filters = selectors.ReviewFilters(
        state=state, q=selectors.review_query(data.get("q", "")), year=year, unit_id=unit or None
    )
    return filters, problems


REVIEW_FILTER_NAMES = ("state", "year", "unit")


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    """The yearly reviews in the user's jurisdiction: counts per state, a filter by state and year,
    a search by file number or ID number, and pages of them, the reports to check first.

    The search is posted, as the household list's is (``web.searches``): a search with a digit in
    it (a file number, an ID number) is kept in the session and the address carries its key
    ``s``, never the text; an ID number in the address's ``q`` is not searched."""
    path = reverse("intake:review_list")
    if request.method == "POST":
        filters, problems = _review_filters(request.POST)
        params = searches.address_params(request, filters.q)
        params.update((name, value) for name in REVIEW_FILTER_NAMES if (value := request.POST.get(name, "")))
        url = path + (f"?{urlencode(params)}" if params else "")
        if not _htmx_partial(request):
            return redirect(url)
        response = _review_page(request, filters, problems, params.get("s", ""), url, page_number=1)
        response["HX-Push-Url"] = url
        return response
    address = searches.read_address(request, path)
    if address.redirect_to:
        return redirect(address.redirect_to)
    filters, problems = _review_filters(address.data)
    here = address.query.copy()  # the address to come back to after confirming: less an unknown key
    if "page" in request.GET:
        here["page"] = request.GET["page"]
    url = path + (f"?{here.urlencode()}" if here else "")
    key = address.query.get("s", "")
    return _review_page(request, filters, address.notices + problems, key, url, _page_number(request))


def _htmx_partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _review_page(
    request: HttpRequest,
    filters: selectors.ReviewFilters,
    problems: list[str],
    key: str,
    here: str,
    page_number: int,
) -> HttpResponse:
    """The reviews page (or its results, for htmx); its links carry the search's key ``key`` when
    the search is kept in the session, else the search itself."""
    paginator = CappedPaginator(selectors.review_list(actor=request.user, filters=filters), REVIEWS_PER_PAGE)
    page = paginator.get_page(page_number)
    page.object_list = list(page.object_list)
    reviews.review_changes_shown(page.object_list)
    # A task's state said by whose move it is, as the filters say it.
    labels = {ReviewState.REPORTED: _("Report to check")}
    for t in page.object_list:
        t.state_label = labels.get(t.state) or t.get_state_display()
        t.can_act = access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, t.household.unit)
    _decline_refused(request, page.object_list)
    counts = selectors.review_counts(actor=request.user, filters=filters)
    years = sorted({*counts.years, *([filters.year] if filters.year else [])}, reverse=True)
    search = {"s": key} if key else {"q": filters.q}
    base = {k: v for k, v in (*search.items(), ("year", filters.year or ""), ("unit", filters.unit_id or "")) if v}
    tabs = [
        ("", _("All"), counts.total),
        ("todo", _("To do"), counts.todo),
        ("reported", _("Reported by the worker: to check"), counts.groups["reported"]),
        ("open", ReviewState.OPEN.label, counts.groups["open"]),
        ("done", _("Closed"), counts.groups["done"]),
    ]
    units = list(access.units(request.user, Perm.HOUSEHOLD_VIEW).exclude(level=OrgLevel.GRASSROOTS).order_by("path"))
    context = {
        "page": page,
        "filters": filters,
        "counts": counts,
        "years": years,
        # Unions above the grassroots to narrow the list to, and how far each one below has come.
        "units": units[:UNIT_CHOICES_MAX],
        "by_union": selectors.review_counts_by_union(actor=request.user, filters=filters),
        "tabs": tabs,
        # A single state the tabs do not show (``?state=confirmed``, as the API takes it) is
        # offered as chosen; one the tabs show (``reported``, ``open``) is offered once.
        "state_choices": [
            *((value, label) for value, label, _n in tabs),
            *(
                [(filters.state, ReviewState(filters.state).label)]
                if filters.state in ReviewState.values and filters.state not in {value for value, _l, _n in tabs}
                else []
            ),
        ],
        "filter_problems": problems,
        "base_query": urlencode(base),
        "query": urlencode({**base, **({"state": filters.state} if filters.state else {})}),
        "here": here,
    }
    template = "intake/staff/_review_results.html" if _htmx_partial(request) else "intake/staff/review_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def counter_new(request: HttpRequest) -> HttpResponse:
    units = [
        u
        for u in access.units(request.user, Perm.HOUSEHOLD_EDIT)
        .filter(level=OrgLevel.GRASSROOTS)
        .select_related("parent")
        .order_by("path")
        if services.may_take_at_counter(request.user, u)
    ]
    if not units:
        # An evaluator or a manager: no union whose files they may change, so nothing to start.
        return render(request, "intake/staff/new.html", {"form": None}, status=403)
    form = NewApplicationForm(request.POST or None, units=units, counter=True)
    if request.method == "POST" and form.is_valid():
        try:
            app = services.application_create(
                actor=request.user, unit_id=form.cleaned_data["unit_id"], kind=form.cleaned_data["kind"]
            )
            return redirect("intake:detail", pk=app.pk)
        except (ValidationError, DomainError, PermissionDenied) as exc:
            _errors_to_messages(request, exc)
    return render(request, "intake/staff/new.html", {"form": form})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = selectors.application_get(actor=request.user, application_id=pk)
    forms = ApplicationForms(initial=app.data, kind=app.kind)
    forms.version = app.version
    workers_draft = services.workers_draft(app)
    editable = (
        app.state == S.DRAFT and not workers_draft and access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, app.unit)
    )
    if request.method == "POST" and editable:
        forms, saved = _save_form(request, request.user, app)
        if saved is not None:
            return redirect("intake:detail", pk=pk)
        app.refresh_from_db()
    actions = [(a, workflow.ACTION_LABELS[a]) for a in services.allowed_actions(request.user, app)]
    step = workflow.step_at(app.kind, app.state)
    can_step = (
        step is not None
        and services.acting_level(request.user, app, step.roles - {workflow.APPLICANT}, step.levels) is not None
    )
    files = list(selectors.attachments_of(app))
    access.grants_loaded(f.uploaded_by for f in files)  # who may remove each: its uploader's unions
    events = list(selectors.application_events(actor=request.user, application_id=pk))
    last = events[-1] if events else None
    context = {
        "app": app,
        "forms": forms,
        "editable": editable,
        "workers_draft": workers_draft,
        # Who may edit the case's union may attach (``steps.attachment_add``); an evaluator reads;
        # nobody on the staff to the worker's own draft.
        "can_attach": not workers_draft and access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, app.unit),
        # Each file, with whether this user may remove it (a file the union uploaded, at a step
        # they take, ``steps.staff_removal_refused``); the files removed, kept for audit.
        "files": [(f, steps.staff_removal_refused(request.user, app, f) is None) for f in files],
        "removed_files": selectors.attachments_removed(app),
        "removed_readable": steps.removed_readable(request.user, app),
        "submitting": request.method == "POST" and bool(request.POST.get("submit")),
        "decision": _decision(app),
        # No identification from figures that cannot be right (a draft saved before they were
        # refused): the page says why rather than "not enough data".
        "figures_wrong": app.state == S.DRAFT and bool(draft_errors(app.data, app.unit_id)),
        "events": events,
        # Why a counter case came back to the union to put right: at the top, above its form, as
        # the worker's phone shows it (the history at the foot of the page says it too).
        "return_word": last if app.returned and last is not None and last.action == "return" else None,
        "actions": actions,
        "act_failed": _act_failed(request, pk),
        "can_step": can_step,
        # A closed case takes no signature; an open one takes a paper signature at any step.
        "closed": app.state in {S.REFUSED, S.WITHDRAWN, S.FILE_OPENED, S.REPORTED_UP},
        "visit_form": _step_form(request, "visit", pk, {"visited_on": timezone.localdate()}),
        "review_form": _step_form(request, "review", pk, {"held_on": timezone.localdate()}),
        "objection_form": _step_form(request, "objection", pk, {"received_on": timezone.localdate()}),
        "check_results": CheckResult,
        # The formal case a temporary one is being made, or that its worker withdrew (the convert
        # button gives way to it: ``services.application_convert``); after a refusal it may be made again.
        "conversion": app.conversions.exclude(state=ApplicationState.REFUSED).order_by("-pk").first(),
        "can_convert": services.may_convert(request.user, app),
        # What a step this user would take waits for (the notice's end, a record to make again, a
        # formal case holding a person of a temporary one): said instead of its button.
        "waiting": services.waiting(request.user, app),
        "check_matches": _check_matches(app),
        # What was typed for a step refused since (``_refused``), shown once to be copied.
        "unsaved": request.session.pop(_unsaved_key(pk), None),
        # Steps whose record was made before a return to them or below: to be made again.
        "again": services.records_to_make_again(app),
        "approval_barred": services.approval_barred(request.user, app),
        # A passed economic check required here and not had: why the approval is not offered.
        "approval_check_barred": services.check_required_message(app)
        if services.approval_check_barred(request.user, app)
        else "",
        # A failed check the approval would override: shown on its form, with a reason required.
        "check_failed": app.state == S.APPROVAL and services.check_failed(app),
        # An override waiting on the household the approval files: the approval closes it.
        "pending_override": services.pending_override(app),
        "reason_max": services.REASON_MAX,
        "categories": [("", _("As identified")), *((c.value, c.label) for c in services.APPROVAL_CATEGORIES)],
        # A manager or an evaluator reads the phone numbers masked (who does the casework calls them).
        **_labelled(
            app.data if access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, app.unit) else masked(app.data, phones=True)
        ),
    }
    return render(request, "intake/staff/detail.html", context, status=400 if request.method == "POST" else 200)


def _check_matches(app: Application) -> dict[str, Any] | None:
    """The system's cross-check of the members (``steps.check_match``), with labels to show."""
    result = app.check_matches
    if not result:
        return None
    from bangfu.matching.models import ConfidenceChoice, Kind, RuleChoice, SeverityChoice

    def label(choices: Any, value: str) -> str:
        try:
            return str(choices(value).label)
        except ValueError:
            return value

    rows = [
        {
            **f,
            "kind_label": label(Kind, f["kind"]),
            "rule_label": label(RuleChoice, f["rule"]),
            "severity_label": label(SeverityChoice, f["severity"]),
            "confidence_label": label(ConfidenceChoice, f["confidence"]),
        }
        for f in result.get("findings", [])
    ]
    datasets = [{**d, "kind_label": label(Kind, d["kind"])} for d in result.get("datasets", [])]
    return {"rows": rows, "datasets": datasets}


def _staff_post(
    request: HttpRequest, pk: int, call: Callable[[], Any], ok: str, keep: dict[str, str] | None = None
) -> HttpResponse:
    """A step of one button (and a short text, named with its label in ``keep``)."""
    try:
        call()
        messages.success(request, ok)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
    except (DomainError, PermissionDenied) as exc:
        _refused(request, pk, exc, [(label, request.POST.get(name, "")) for name, label in (keep or {}).items()])
    return redirect("intake:detail", pk=pk)


# What was typed into a step's form or a decision's reason when the step was refused because the
# case had moved on (someone else refused it, sent it back or recorded the step first): the form is
# no longer on the page as it is now, and a long home-visit record was lost with it. It is kept
# across the redirect and shown once on the application page, to be copied.
def _unsaved_key(pk: int) -> str:
    return f"intake-unsaved-{pk}"


def _refused(request: HttpRequest, pk: int, exc: Exception, typed: list[tuple[str, str]]) -> None:
    """Say why a step was not done, and keep what was typed for it (``_unsaved_key``)."""
    if isinstance(exc, DomainError) and exc.code == services.IntakeError.CONFLICT:
        # The service's words ("reload it") are for a caller still holding the old page; the page
        # shown after this is the application as it is now.
        messages.error(request, _("This application was changed after you opened it: it is shown below as it is now."))
    else:
        _errors_to_messages(request, exc)
    kept = [(str(label), value) for label, value in typed if value.strip()]
    if kept:
        request.session[_unsaved_key(pk)] = kept


@login_required
@require_POST
def act(request: HttpRequest, pk: int) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        app = services.application_transition(
            actor=request.user,
            application_id=pk,
            action=action,
            reason=request.POST.get("reason", ""),
            expected_version=_version(request),
            category=request.POST.get("category", ""),
        )
        if action == "return" and app.state == ApplicationState.DRAFT and services.workers_draft(app):
            # Back with the worker, as the case's badge says (退回补正), not "returned to 'Draft'".
            done = _("The application was returned to the worker for correction.")
        elif action == "return" and app.state == ApplicationState.DRAFT:
            # A counter case: no worker edits it; the union puts it right and sends it again.
            done = _("The application was returned to the counter for correction: put it right and submit it again.")
        else:
            done = workflow.ACTION_DONE[action] % {"step": ApplicationState(app.state).label}
        messages.success(request, done)
        if note := services.approval_note(app):
            messages.warning(request, note)
    except ValidationError as exc:
        # An error of the decision's reason or category goes under that box of that decision's
        # form (marked invalid, the cursor put there), kept in the session across the redirect;
        # any other error at the top of the page.
        errors = field_errors(exc)
        boxes = {f: " ".join(errors.pop(f)) for f in ACT_FIELDS if f in errors}
        if boxes:
            request.session[_act_key(pk)] = {
                "action": action,
                "typed": {f: request.POST.get(f, "") for f in ACT_FIELDS},
                "errors": boxes,
            }
        if errors:
            _errors_to_messages(request, ValidationError(errors))
    except (DomainError, PermissionDenied) as exc:
        label = _("Reason for “%(action)s”") % {"action": workflow.ACTION_LABELS.get(action, action)}
        _refused(request, pk, exc, [(label, request.POST.get("reason", ""))])
    return redirect("intake:detail", pk=pk)


# The boxes of a decision's form (web: the actions on the case page) an error can point at.
ACT_FIELDS = ("reason", "category")


def _act_key(pk: int) -> str:
    return f"intake-act-{pk}"


def _act_failed(request: HttpRequest, pk: int) -> dict[str, Any] | None:
    """The decision refused last (its action, what was typed, the errors of its boxes), once."""
    kept = request.session.pop(_act_key(pk), None)
    if not isinstance(kept, dict) or not isinstance(kept.get("errors"), dict):
        return None
    return kept


# A step's form that failed (the visit, the review, an objection) comes back on the page with
# what was typed and each error under its field: kept in the session across the redirect.
STEP_FORMS: dict[str, type[forms.Form]] = {"visit": VisitForm, "review": ReviewForm, "objection": ObjectionForm}


def _step_key(name: str, pk: int) -> str:
    return f"intake-step-{name}-{pk}"


def _step_failed(request: HttpRequest, name: str, pk: int, errors: dict[str, list[str]]) -> None:
    typed = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
    request.session[_step_key(name, pk)] = {"data": typed, "errors": errors}


def _step_form(request: HttpRequest, name: str, pk: int, initial: dict[str, Any]) -> forms.Form:
    """The step's form: empty with ``initial``, or as it failed last (typed values and errors)."""
    kept = request.session.pop(_step_key(name, pk), None)
    if not isinstance(kept, dict):
        return STEP_FORMS[name](initial=initial)
    form = STEP_FORMS[name](kept.get("data") or {})
    form.is_valid()
    for field, messages_ in (kept.get("errors") or {}).items():
        for message in messages_:
            if field in form.fields and message not in form.errors.get(field, []):
                form.add_error(field, message)
    return form


def _step_post(
    request: HttpRequest, name: str, pk: int, invalid: str, call: Callable[[dict[str, Any]], Any], ok: str
) -> HttpResponse:
    form = STEP_FORMS[name](request.POST)
    if not form.is_valid():
        messages.error(request, invalid)
        _step_failed(request, name, pk, {k: [str(m) for m in v] for k, v in form.errors.items()})
        return redirect("intake:detail", pk=pk)
    try:
        call(form.cleaned_data)
        messages.success(request, ok)
    except ValidationError as exc:
        _errors_to_messages(request, exc)
        if hasattr(exc, "error_dict"):
            _step_failed(request, name, pk, {k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    except (DomainError, PermissionDenied) as exc:
        # Refused as a whole (the case is no longer at this step): the form may no longer be on
        # the page, so what was typed is kept beside it, each text under its field's label.
        _refused(request, pk, exc, [(str(form[name].label), value) for name, value in _typed(form)])
    return redirect("intake:detail", pk=pk)


def _typed(form: forms.Form) -> list[tuple[str, str]]:
    """The fields of a step's form as typed, in the form's order."""
    return [(name, str(form.data.get(name, ""))) for name in form.fields]


@login_required
@require_POST
def visit(request: HttpRequest, pk: int) -> HttpResponse:
    return _step_post(
        request,
        "visit",
        pk,
        _("Fill in every field of the visit record."),
        lambda cd: steps.home_visit_record(actor=request.user, application_id=pk, visit=steps.VisitInput(**cd)),
        _("The home visit was recorded."),
    )


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    return _step_post(
        request,
        "review",
        pk,
        _("Give the date and the minutes."),
        lambda cd: steps.unit_review_record(actor=request.user, application_id=pk, **cd),
        _("The unit review was recorded; the public notice starts."),
    )


@login_required
@require_POST
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    answer_to = request.POST.get("objection_id", "")
    if answer_to:
        if _digits(answer_to) is None:
            raise Http404  # not an objection's id
        return _staff_post(
            request,
            pk,
            lambda: steps.objection_answer(
                actor=request.user,
                application_id=pk,
                objection_id=int(answer_to),
                answer=request.POST.get("answer", ""),
            ),
            _("The answer was recorded."),
            keep={"answer": _("Answer")},
        )
    return _step_post(
        request,
        "objection",
        pk,
        _("Give the date and the objection."),
        lambda cd: steps.objection_record(actor=request.user, application_id=pk, **cd),
        _("The objection was recorded."),
    )


@login_required
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    what = request.POST.get("what")
    if what == "request":
        return _staff_post(
            request,
            pk,
            lambda: steps.check_request(actor=request.user, application_id=pk),
            _("The check was requested."),
        )
    if what == "paper":
        return _staff_post(
            request,
            pk,
            lambda: steps.authorisation_sign(actor=request.user, application_id=pk, agreed=True, ip=None),
            _("The signature on paper was recorded."),
        )
    passed = what == "passed"
    return _staff_post(
        request,
        pk,
        lambda: steps.check_answer(
            actor=request.user, application_id=pk, passed=passed, note=request.POST.get("note", "")
        ),
        _("The answer was recorded."),
        keep={"note": _("What the check found")},
    )


@login_required
@require_POST
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    kind = request.POST.get("kind", "proof")

    def call() -> Any:
        f = the_upload(request)
        if f is None:
            raise ValidationError({"file": _("Choose a file.")})
        # Refused by its size before it is read into memory, as on the phone.
        return steps.attachment_add(
            actor=request.user, application_id=pk, name=f.name or "", content=upload_bytes(f), kind=kind
        )

    return _staff_post(request, pk, call, _("The file was added."))


@login_required
@require_POST
def remove_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    """A file the union uploaded by mistake, taken off the case with the reason (the question is
    asked on the case's page, with no script)."""
    return _staff_post(
        request,
        pk,
        lambda: steps.attachment_remove_by_staff(
            actor=request.user, application_id=pk, attachment_id=attachment_pk, reason=request.POST.get("reason", "")
        ),
        _("The file was removed from the case; it is kept for audit."),
        keep={"reason": _("Reason for removing the file")},
    )


@login_required
@require_POST
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        app = services.application_convert(actor=request.user, application_id=pk)
        messages.success(
            request,
            _("Converted: the formal case %(ref)s is made from the temporary one and takes the formal steps from here.")
            % {"ref": app.reference},
        )
        return redirect("intake:detail", pk=app.pk)
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:detail", pk=pk)


def attachment(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """A file, to staff in the jurisdiction or the worker who applied."""
    applicant = otp.applicant_from_session(request.session)
    row = Attachment.objects.select_related("application").filter(pk=pk).first()
    if row is None:
        raise Http404
    mine = applicant is not None and row.application.applicant_id == applicant.pk
    actor: Any = applicant if mine else request.user
    try:
        row = steps.attachment_open(actor=actor, attachment_id=row.pk)
    except DomainError as exc:  # damaged or missing: said on the application's page
        _errors_to_messages(request, exc)
        if mine:
            return redirect("intake:phone_application", pk=row.application_id)
        return redirect("intake:detail", pk=row.application_id)
    return attachment_response(row)


def attachment_response(row: Attachment) -> FileResponse:
    """An attachment, opened by ``steps.attachment_open``, as a download under its
    ``steps.download_name``: never shown in the site's own pages (the file came from a worker's
    phone), nor kept in the browser's cache (personal data)."""
    name = steps.download_name(row)
    response = FileResponse(row.file, content_type=row.content_type, filename=name, as_attachment=True)
    if "%" in name:
        # Browsers read %xx in a plain filename="…" as an escape (Chrome saves "100%20done.pdf" as
        # "100 done.pdf"); RFC 6266's filename*= is read as it is meant.
        response["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    """The public notice list to print for a notice board: of the user's jurisdiction, or of one
    union and those under it (``?unit=``, offered for each union on the list), with who issues it
    and when, and where to take an objection (lines to fill in by hand: a union's address and phone
    are not kept). A union outside the jurisdiction, or no union at all, is 404, as in the API."""
    raw = request.GET.get("unit", "")
    unit_id = _digits(raw)
    chosen = selectors.notice_union(actor=request.user, unit_id=unit_id)
    if raw and chosen is None:
        raise Http404  # the 404 page: "no such page, or outside your jurisdiction"
    rows = selectors.public_notice_printed(actor=request.user, unit_id=unit_id)
    for a in rows:
        a.main_cause_label = _label(Cause, a.data.get("main_cause"))  # type: ignore[attr-defined]
    unions = list({a.unit_id: a.unit for a in rows}.values())
    issuer = (
        chosen
        or (unions[0] if len(unions) == 1 else None)
        or access.units(request.user).order_by("level", "path").first()
    )
    context = {"rows": rows, "today": timezone.localdate(), "unions": unions, "chosen": chosen, "issuer": issuer}
    return render(request, "intake/staff/notice_list.html", context)


# --- legacy import ----------------------------------------------------------------------------------


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    units = access.units(request.user, Perm.HOUSEHOLD_EDIT).exclude(level=OrgLevel.GRASSROOTS).order_by("path")
    if not units.exists():
        units = access.units(request.user, Perm.HOUSEHOLD_EDIT).order_by("path")
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": _("Choose a file.")})
            unit_raw = request.POST.get("unit_id", "")
            started = timezone.now()
            batch = imports.import_batch_create(
                actor=request.user,
                unit_id=_digits(unit_raw),
                name=upload.name or "",
                content=upload.read(),
            )
            if batch.created_at < started:  # the same file was uploaded for this union before
                messages.info(
                    request,
                    _("This file was uploaded before (%(name)s, %(at)s): here is that import.")
                    % {"name": batch.name, "at": timezone.localtime(batch.created_at).strftime("%Y-%m-%d %H:%M")},
                )
            return redirect("intake:import_detail", pk=batch.pk)
        except (ValidationError, DomainError, PermissionDenied) as exc:
            _errors_to_messages(request, exc)
    batches = access.scope(
        request.user, ImportBatch.objects.select_related("unit", "created_by"), Perm.HOUSEHOLD_EDIT
    ).order_by("-id")
    page = CappedPaginator(batches, 25).get_page(_page_number(request))
    return render(
        request,
        "intake/staff/import_list.html",
        {
            "units": units,
            "page": page,
            "columns": legacy.column_guide(),
            "ignored_columns": join_list(legacy.IGNORED_HEADERS),
        },
        status=400 if request.method == "POST" else 200,
    )


IMPORT_ISSUES_SHOWN = 50  # problems listed on an import's page; the error report has them all


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = imports.import_batch_get(actor=request.user, batch_id=pk)
    context = {
        "batch": batch,
        "issues": batch.issues.all()[:IMPORT_ISSUES_SHOWN],
        "states": ImportState,
        "waiting_since": imports.waiting_for_worker(batch),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "intake/staff/_import_status.html", context)
    return render(request, "intake/staff/import_detail.html", context)


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        imports.import_batch_commit(actor=request.user, batch_id=pk)
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:import_detail", pk=pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        imports.import_batch_cancel(actor=request.user, batch_id=pk)
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return redirect("intake:import_detail", pk=pk)


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    fmt = request.GET.get("format", "xlsx")
    body, content_type = imports.error_report(actor=request.user, batch_id=pk, fmt=fmt)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="import-{pk}-errors.{fmt}"'
    response["Cache-Control"] = "no-store"  # names and file numbers of people
    return response


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        legacy.template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="import-template.xlsx"'
    return response


# --- yearly review ----------------------------------------------------------------------------------


@login_required
@require_POST
def review_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        reviews.review_confirm(
            actor=request.user,
            task_id=pk,
            note=request.POST.get("note", ""),
            seen_state=request.POST.get("state", ""),
            seen_file=request.POST.get("file", ""),
            seen_report=request.POST.get("report", ""),
        )
        messages.success(request, _("The yearly review was recorded."))
    except (ValidationError, DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return _back_to_reviews(request)


@login_required
@require_POST
def review_decline(request: HttpRequest, pk: int) -> HttpResponse:
    """Decline the worker's report (不采纳申报) with the reason typed in its box: the file stays as it
    is and the review waits for the worker again."""
    try:
        reviews.review_decline(
            actor=request.user,
            task_id=pk,
            reason=request.POST.get("reason", ""),
            seen_state=request.POST.get("state", ""),
            seen_report=request.POST.get("report", ""),
        )
        messages.success(request, _("The report was declined; the worker is told why, and the file stays as it is."))
    except ValidationError as exc:
        # A reason refused (empty, too long) was checked after the review was found to be the
        # user's: the message names its file, and the box opens again on the list with the reason
        # as typed and the problem under it (``_decline_refused``).
        problem = " ".join(m for msgs in field_errors(exc).values() for m in msgs)
        number = ReviewTask.objects.filter(pk=pk).values_list("household__file_number", flat=True).first()
        messages.error(
            request, _("File %(number)s: %(problem)s") % {"number": number, "problem": problem} if number else problem
        )
        request.session[DECLINE_REFUSED] = {
            "task": pk,
            "reason": request.POST.get("reason", "")[:DECLINE_TYPED_KEPT],
            "error": problem,
        }
    except (DomainError, PermissionDenied) as exc:
        _errors_to_messages(request, exc)
    return _back_to_reviews(request)


# A declined report's reason refused, kept in the session for the list shown next (the box open
# again with the reason as typed); no more of it than the box could hold a few times over.
DECLINE_REFUSED = "intake-review-decline"
DECLINE_TYPED_KEPT = 4 * services.REASON_MAX


def _decline_refused(request: HttpRequest, tasks: Iterable[ReviewTask]) -> None:
    """The reason staff typed to decline a report and the server refused: the task shown with it
    (``decline_typed``, ``decline_error``) has its decline box open again, the reason in it and the
    problem under it. Read once."""
    refused = request.session.pop(DECLINE_REFUSED, None)
    if not isinstance(refused, dict):
        return
    for t in tasks:
        if t.pk == refused.get("task") and t.state == ReviewState.REPORTED:
            t.decline_typed = str(refused.get("reason", ""))  # type: ignore[attr-defined]
            t.decline_error = str(refused.get("error", ""))  # type: ignore[attr-defined]


def _back_to_reviews(request: HttpRequest) -> HttpResponse:
    """Back to the list the button was on (the reviews page with its filters and page), else the queue."""
    back = request.POST.get("next", "")
    if back.startswith(reverse("intake:review_list")) and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return redirect(back)
    return redirect("intake:queue")


def _proof_page(request: HttpRequest, task: Any, status: int = 200, typed: str = "", error: str = "") -> HttpResponse:
    """The review's first page: the proof of membership, or, after too many wrong ID numbers, when
    the file's review opens again on the phone (no box to type into until then). ``typed`` goes
    back into the box, ``error`` under it."""
    context = {
        "task": task,
        "locked_until": reviews.review_proof_locked_until(task=task),
        "typed": typed,
        "error": error,
    }
    return render(request, "intake/phone/review_proof.html", context, status=status)


def _review_outcome(request: HttpRequest, task: ReviewTask) -> HttpResponse:
    """A review the worker answered, or staff closed: where it stands, and what was reported (the
    worker follows it here, as an application's page shows its progress)."""
    reviews.review_changes_shown([task])
    return render(request, "intake/phone/review_done.html", {"task": task})


@applicant_required
def phone_review(request: HttpRequest, pk: int) -> HttpResponse:
    applicant: Applicant = request.applicant  # type: ignore[attr-defined]
    task = reviews.review_task_get(actor=applicant, task_id=pk, proven=False)
    what = request.POST.get("what", "")
    if request.method == "POST" and what == "prove":
        typed_id = request.POST.get("id_number", "")
        try:
            reviews.review_proof(actor=applicant, task_id=pk, id_number=typed_id)
            return redirect("intake:phone_review", pk=pk)
        except ValidationError as exc:
            # A number that cannot be an ID (a digit missed, a wrong check digit) is a typing slip,
            # not a try: it stays in the box, to be put right rather than typed again in full.
            found = field_errors(exc)
            error = " ".join(found.pop("id_number", []))
            if found:
                _errors_to_messages(request, ValidationError(found))
            return _proof_page(request, task, status=400, typed=typed_id[:30], error=error)
        except DomainError as exc:
            # A counted wrong try empties the box: the number is no member's, and the next try is
            # another member's number, not this one changed a digit at a time.
            if exc.code == reviews.ReviewError.PROOF_WRONG:
                return _proof_page(request, task, status=400, error=exc.message)
            _errors_to_messages(request, exc)
        return _proof_page(request, task, status=400)
    if not reviews.review_proven(actor=applicant, task=task):
        # Nothing of the file before the proof, and no answer taken.
        return _proof_page(request, task, status=400 if request.method == "POST" else 200)
    task, members = reviews.review_household(actor=applicant, task_id=pk)
    # A report sent while the review was being confirmed unchanged is kept (``reviews.review_report``
    # reopens the review for staff), not thrown away.
    late_report = request.method == "POST" and what == "report" and task.state == ReviewState.CONFIRMED
    if task.state != ReviewState.OPEN and not late_report:
        if request.method != "POST":
            return _review_outcome(request, task)
        # Answered already (in another tab, or before going back): nothing is left to send here.
        if task.state == ReviewState.REPORTED:
            messages.info(request, _("Your report is being checked."))
        else:
            messages.info(request, _("This review is already done."))
        return redirect("intake:phone_home")
    posted = request.POST if request.method == "POST" else {}
    boxes: dict[str, list[str]] = {}  # each problem by the box it is about (``ReportError.fields``)
    if request.method == "POST":
        try:
            if what == "confirm":
                reviews.review_confirm(actor=applicant, task_id=pk, note=request.POST.get("note", ""))
            else:
                changes: dict[str, Any] = {
                    "address": request.POST.get("address", ""),
                    "phone": request.POST.get("phone", ""),
                    "members": {
                        str(m.pk): {
                            "monthly_income": request.POST.get(f"m{m.pk}-monthly_income", ""),
                            "work_status": request.POST.get(f"m{m.pk}-work_status", ""),
                            "health": request.POST.get(f"m{m.pk}-health", ""),
                        }
                        for m in members
                    },
                }
                task = reviews.review_report(
                    actor=applicant, task_id=pk, changes=changes, note=request.POST.get("note", "")
                )
            if task.reported_after_confirmation and task.state == ReviewState.REPORTED:
                messages.warning(
                    request,
                    _(
                        "The union had confirmed your yearly review unchanged while you were writing: your report "
                        "was kept and sent to them, and they will check it."
                    ),
                )
            else:
                messages.success(request, _("Thank you: your yearly review was sent."))
            return redirect("intake:phone_home")
        except (ValidationError, DomainError) as exc:
            _errors_to_messages(request, exc)  # the summary at the top, each problem named
            if isinstance(exc, reviews.ReportError):
                boxes = exc.fields
            if isinstance(exc, DomainError) and exc.code in {reviews.ReviewError.DONE, reviews.ReviewError.REPORTED}:
                return redirect("intake:phone_home")  # answered meanwhile, in another tab
    # A form sent back with an error keeps what was typed, and says each problem beside its box
    # (the first box in error takes the cursor: app.js).
    fields = ("monthly_income", "work_status", "health")
    typed = [
        (
            m,
            *(posted.get(f"m{m.pk}-{field}", "") for field in fields),
            {field: " ".join(boxes.get(f"members.{m.pk}.{field}", [])) for field in fields},
        )
        for m in members
    ]
    reviews.review_changes_shown([task])  # the reports the union declined before, with their reasons
    context = {
        "task": task,
        "members": typed,
        "work_statuses": WorkStatus.choices,
        "healths": Health.choices,
        "typed": {k: posted.get(k, "") for k in ("address", "phone", "note")},
        "errors": {k: " ".join(boxes.get(k, [])) for k in ("address", "phone", "note")},
    }
    return render(request, "intake/phone/review.html", context, status=400 if request.method == "POST" else 200)
