"""Staff applying a worker's yearly-review report: the household is identified again from what it
now holds; staff read the report in words before applying it; a report sent while staff were
looking at the list is never applied by their "confirm unchanged"; a new phone number is kept as
the sign-in has it, so the next review still reaches the worker."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from bangfu.common import crypto
from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.services import decision_compute
from bangfu.intake import otp, reviews, services
from bangfu.intake.models import Applicant, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import form_data, to_state
from bangfu.registry.models import Household, Member
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db

PHONE = "13900005555"


@pytest.fixture
def task(tree: Any, users: Any, standard: Any) -> ReviewTask:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = PHONE
    data.members[0].monthly_income = data.members[1].monthly_income = Decimal(3000)
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    h = household_create(actor=users["xiangyun_staff"], data=data)
    decision_compute(actor=users["xiangyun_staff"], household_id=h.pk)
    reviews.yearly_review_create()
    return ReviewTask.objects.select_related("household").get()


def _worker(task: ReviewTask) -> Applicant:
    worker = otp.applicant_from_token(otp.token_for(Applicant.objects.get_or_create(phone=PHONE)[0]))
    assert worker is not None
    head = task.household.members.get(relationship="head")
    reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(head.id_cipher))
    return worker


def _members(task: ReviewTask) -> tuple[Member, Member]:
    head = task.household.members.get(relationship="head")
    return head, task.household.members.exclude(pk=head.pk).get()


def test_applying_a_report_identifies_the_household_again(task: ReviewTask, users: Any) -> None:
    """A new illness and a lost job change the household's decision when staff apply them, as a
    confirmed cross-check finding does; the worker's report alone changes nothing."""
    head, spouse = _members(task)
    before = EligibilityDecision.objects.current().get(household_id=task.household_id)
    lost_job = {"monthly_income": "0", "work_status": "laid_off"}
    changes = {"members": {str(head.pk): {"health": "malignant_tumour", **lost_job}, str(spouse.pk): lost_job}}
    reviews.review_report(actor=_worker(task), task_id=task.pk, changes=changes)
    assert EligibilityDecision.objects.current().get(household_id=task.household_id).pk == before.pk

    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    h = Household.objects.get(pk=task.household_id)
    after = EligibilityDecision.objects.current().get(household_id=h.pk)
    assert after.pk != before.pk and after.facts_version == h.version  # decided from the file as it is now
    assert after.net_income_per_head_monthly < before.net_income_per_head_monthly
    assert h.members.get(pk=head.pk).health == "malignant_tumour"
    assert h.timeline.filter(kind="eligibility_decided").count() == 2
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.get(f"/households/{h.pk}/").content.decode()
    assert "<strong>Yearly review</strong>" in page and "<strong>yearly_review</strong>" not in page


def test_staff_read_the_report_in_words_before_applying_it(task: ReviewTask, users: Any) -> None:
    head, spouse = _members(task)
    changes = {
        "members": {
            str(head.pk): {"health": "diabetes", "monthly_income": "１,000"},
            str(spouse.pk): {"work_status": "retired"},
        },
        "address": "祥云县新街1号",
    }
    reviews.review_report(actor=_worker(task), task_id=task.pk, changes=changes)
    task.refresh_from_db()
    assert task.changes["members"][str(head.pk)]["monthly_income"] == "1000"  # plain, not "１,000"
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.get("/applications/").content.decode()
    assert "&#x27;members&#x27;" not in page and "malignant_tumour" not in page  # no codes, no ids
    assert f"{head.name} · Health: Malignant tumour → Diabetes" in page
    assert f"{head.name} · Monthly income (yuan): 3,000.00 → 1,000.00" in page
    assert f"{spouse.name} · Work status:" in page and "→ Retired" in page
    assert f"Address: {task.household.address} → 祥云县新街1号" in page


def test_confirm_unchanged_never_applies_a_report_sent_meanwhile(task: ReviewTask, users: Any) -> None:
    """Staff open the list (the task open: "Confirm unchanged"); the worker then reports a change;
    the click must not apply the report nobody has read."""
    head, _spouse = _members(task)
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.get("/applications/").content.decode()
    assert "Confirm unchanged" in page and 'name="state" value="open"' in page
    reviews.review_report(
        actor=_worker(task), task_id=task.pk, changes={"members": {str(head.pk): {"monthly_income": "9000"}}}
    )
    r = staff.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "open"}, follow=True)
    assert "The worker sent a report after you opened the list; check it before confirming." in r.content.decode()
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.REPORTED and head.monthly_income == 3000
    # The API says so too (409), when the caller sends the state it saw.
    url = f"/api/v1/reviews/{task.pk}/confirm"
    r = staff.post(url, json.dumps({"state": "open"}), content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.content
    # Seen as reported, it is applied.
    r = staff.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "reported"})
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.UPDATED and head.monthly_income == 9000


def test_a_new_phone_number_is_kept_as_the_sign_in_has_it(task: ReviewTask, users: Any) -> None:
    """The next review reaches the worker by the head's phone number, compared as stored: typed
    with +86, spaces, dashes or full-width digits it would never match a sign-in."""
    reviews.review_report(actor=_worker(task), task_id=task.pk, changes={"phone": "+86 １３９-0000-6666"})
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk)
    head, _spouse = _members(task)
    assert head.phone == "13900006666"
    ReviewTask.objects.create(household_id=task.household_id, year=task.year + 1, due_on=timezone.localdate())
    found = reviews.review_tasks_for(actor=Applicant.objects.create(phone="13900006666"))
    assert [t.year for t in found] == [task.year + 1]


@pytest.mark.parametrize("phone", ["123", "1390000666612345"])
def test_a_phone_number_the_file_cannot_take_is_refused_on_the_phone(task: ReviewTask, phone: str) -> None:
    """Taken before, it could never be applied: staff were left with a report they could not close."""
    with pytest.raises(ValidationError) as caught:
        reviews.review_report(actor=_worker(task), task_id=task.pk, changes={"phone": phone})
    assert "7 to 12 digits" in str(caught.value.message_dict["changes"])
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN


def test_a_head_phone_typed_in_full_width_on_the_application_reaches_the_yearly_review(
    tree: Any, users: Any, standard: Any
) -> None:
    form = form_data(tree["xiangyun_g"])
    form["members"][0]["phone"] = "１３９ ０００ ０７７７７"  # as a Chinese keyboard types it
    worker = Applicant.objects.create(phone="13900007777")
    app = services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk, form=form)
    app = to_state(services.application_submit(actor=worker, application_id=app.pk), "file_opened", users)
    assert app.phone == "13900007777"  # the messages about the case go there too
    assert app.household is not None
    head = app.household.members.get(relationship="head")
    assert head.phone == "13900007777"
    ReviewTask.objects.create(household=app.household, year=2099, due_on=timezone.localdate())
    assert [t.year for t in reviews.review_tasks_for(actor=worker)] == [2099]


def test_a_review_sent_from_a_second_tab_says_it_was_sent_and_offers_no_form(task: ReviewTask) -> None:
    """Two tabs hold the form; one sends the report; the other's "Nothing changed" (or going back
    to the form) says the report is being checked, on the home page, not the form again."""
    from bangfu.intake.tests.helpers import sign_in

    head, _spouse = _members(task)
    worker = Applicant.objects.create(phone=PHONE)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    c.post(f"/apply/review/{task.pk}/", {"what": "prove", "id_number": crypto.decrypt(head.id_cipher)})
    url = f"/apply/review/{task.pk}/"
    r = c.post(url, {"what": "report", f"m{head.pk}-health": "diabetes"})
    assert r.status_code == 302 and r["Location"] == "/apply/"
    r = c.post(url, {"what": "confirm"}, follow=True)
    assert r.redirect_chain == [("/apply/", 302)]
    assert "Your report is being checked." in r.content.decode()
    # Going back to the form shows where the review stands, with no form.
    page = c.get(url).content.decode()
    assert 'id="review-outcome"' in page and "Your report is being checked." in page
    assert 'id="review-form"' not in page
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and task.changes["members"][str(head.pk)] == {"health": "diabetes"}


def test_a_deceased_member_takes_no_report(task: ReviewTask) -> None:
    """The review lists the living members only; the API refuses a change for one who died."""
    _head, spouse = _members(task)
    Member.objects.filter(pk=spouse.pk).update(deceased=True)
    with pytest.raises(ValidationError) as caught:
        reviews.review_report(
            actor=_worker(task), task_id=task.pk, changes={"members": {str(spouse.pk): {"monthly_income": "900"}}}
        )
    assert caught.value.message_dict == {"changes": ["This person is not a member of this file."]}


@pytest.mark.parametrize("typed", ["139 0000 5555", "139-0000-5555", "+86 139 0000 5555", "１３９００００５５５５"])
def test_a_head_phone_typed_by_staff_or_in_a_workbook_reaches_the_yearly_review(
    tree: Any, users: Any, typed: str
) -> None:
    """Staff and old workbooks write numbers in groups, with dashes, the country code or a Chinese
    keyboard's digits: the file keeps the number a sign-in has, so the worker's review reaches them."""
    from bangfu.intake import imports
    from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].phone = typed
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    by_staff = household_create(actor=users["xiangyun_staff"], data=data)
    content = xlsx(household_rows("L-7001", 联系电话=typed, 建档日期=dt.date(2016, 4, 1)))
    batch = imports.import_file(
        actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, name="p.xlsx", content=content, commit=True
    )
    by_import = Household.objects.get(file_number="L-7001")
    assert batch.households_created == 1
    for h in (by_staff, by_import):
        assert h.members.get(relationship="head").phone == PHONE
    reviews.yearly_review_create()
    worker = Applicant.objects.create(phone=PHONE)
    assert {t.household_id for t in reviews.review_tasks_for(actor=worker)} == {by_staff.pk, by_import.pk}


def test_the_migration_writes_the_phones_kept_as_typed_as_a_sign_in_has_them(tree: Any, users: Any) -> None:
    from importlib import import_module

    from django.apps import apps

    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], members=2))
    head, other = h.members.order_by("position")
    Member.objects.filter(pk=head.pk).update(phone="139 0000 5555")
    Member.objects.filter(pk=other.pk).update(phone="0872-1234567")
    import_module("bangfu.registry.migrations.0008_head_phone_plain_and_indexed").plain_phones(apps, None)
    head.refresh_from_db()
    other.refresh_from_db()
    assert (head.phone, other.phone) == (PHONE, "08721234567")
