"""The yearly review from the worker's report to its outcome: a report is applied only onto the
file it was checked against; a report sent while staff confirmed the review is kept and reopens
it; the worker is told of every step and follows the review on the phone until a while after it
closes; a review is due a configured number of days after it appears; the list's state filter
offers each state once."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.common import crypto
from bangfu.common.errors import DomainError
from bangfu.intake import reviews
from bangfu.intake.models import Applicant, Notice, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import sign_in, yearly_review_task
from bangfu.registry import services as registry
from bangfu.registry.models import Household, Member
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db

PHONE = "13900005555"


@pytest.fixture
def task(tree: Any, users: Any, standard: Any) -> ReviewTask:
    return yearly_review_task(tree["xiangyun_g"], users["xiangyun_staff"], PHONE)


def _head(task: ReviewTask) -> Member:
    return task.household.members.get(relationship="head")


def _worker_page(task: ReviewTask, worker: Applicant | None = None) -> Client:
    """The worker signed in on the phone, the household proved."""
    worker = worker or Applicant.objects.get_or_create(phone=PHONE)[0]
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    c.post(f"/apply/review/{task.pk}/", {"what": "prove", "id_number": crypto.decrypt(_head(task).id_cipher)})
    return c


def _staff(users: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_staff"])
    return c


def _staff_edits_income(users: Any, task: ReviewTask, amount: str) -> None:
    """A staff user saves the household's page with the head's income changed."""
    h = Household.objects.get(pk=task.household_id)
    data = reviews.household_as_input(h)
    head = _head(task)
    data.members = [replace(m, monthly_income=Decimal(amount)) if m.member_id == head.pk else m for m in data.members]
    registry.household_update(actor=users["xiangyun_staff"], household_id=h.pk, data=data)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- 1. a report is applied only onto the file it was checked against ---------------------------------


def test_a_report_is_not_applied_over_a_file_changed_since(task: ReviewTask, users: Any) -> None:
    head = _head(task)
    c = _worker_page(task)
    c.post(f"/apply/review/{task.pk}/", {"what": "report", f"m{head.pk}-monthly_income": "800"})
    _staff_edits_income(users, task, "3000")
    staff = _staff(users)
    page = _text(staff.get("/applications/reviews/?state=reported").content.decode())
    # The report as it came, and the file's value now beside it.
    assert "Monthly income (yuan): 1,196.00 → 800.00 (on the file now: 3,000.00)" in page

    # Applying it from a client that saw only the report (no file token) is refused, nothing written.
    with pytest.raises(DomainError) as caught:
        reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    assert caught.value.code == "conflict"
    assert "1,196.00 when reported, now 3,000.00" in caught.value.message
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.REPORTED and head.monthly_income == 3000

    # The API says the same (409), and answers the token of the file as it is now.
    url = f"/api/v1/reviews/{task.pk}/confirm"
    task.refresh_from_db()
    seen = {"state": "reported", "report_token": reviews.report_token(task)}
    r = staff.post(
        url, json.dumps({**seen, "file_token": reviews.file_token(task.reported_from)}), content_type="application/json"
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.content
    assert "1,196.00 when reported, now 3,000.00" in r.json()["error"]["message"]
    head.refresh_from_db()
    assert head.monthly_income == 3000

    # A token of a file seen before the edit is refused too.
    stale = reviews.file_token({"members": {str(head.pk): {"monthly_income": "2000.00"}}})
    r = staff.post(url, json.dumps({**seen, "file_token": stale}), content_type="application/json")
    assert r.status_code == 409

    # Staff re-check it on the list (which sends the token of the file they saw) and apply it.
    listed = staff.get("/api/v1/reviews", {"state": "reported"}).json()["results"]
    assert listed[0]["file_token"] == reviews.file_token(reviews._values_before(task, task.changes))
    staff.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "reported", "file": _token(staff)})
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.UPDATED and head.monthly_income == 800


def page_html(staff: Client) -> str:
    return staff.get("/applications/reviews/?state=reported").content.decode()


def _token(staff: Client) -> str:
    """The file token the reviews page's "apply" button sends."""
    found = re.search(r'name="file" value="([0-9a-f]+)"', page_html(staff))
    assert found is not None
    return found.group(1)


def test_the_page_refuses_an_apply_over_a_changed_file_and_says_what_changed(task: ReviewTask, users: Any) -> None:
    head = _head(task)
    staff = _staff(users)
    reviews.review_report(
        actor=_worker_actor(task), task_id=task.pk, changes={"members": {str(head.pk): {"monthly_income": "800"}}}
    )
    token = _token(staff)
    _staff_edits_income(users, task, "3000")  # after the list was opened
    r = staff.post(
        f"/applications/reviews/{task.pk}/confirm/",
        {"state": "reported", "file": token, "next": "/applications/reviews/?state=reported"},
        follow=True,
    )
    said = _text(r.content.decode())
    assert "The file was changed after the worker" in said and "1,196.00 when reported, now 3,000.00" in said
    head.refresh_from_db()
    task.refresh_from_db()
    assert head.monthly_income == 3000 and task.state == ReviewState.REPORTED


def test_an_unchanged_file_takes_the_report_without_a_token(task: ReviewTask, users: Any) -> None:
    """A client that sends no token still applies a report onto the file as it was reported."""
    head = _head(task)
    reviews.review_report(
        actor=_worker_actor(task), task_id=task.pk, changes={"members": {str(head.pk): {"monthly_income": "800"}}}
    )
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    head.refresh_from_db()
    assert head.monthly_income == 800


def _worker_actor(task: ReviewTask) -> Applicant:
    from bangfu.intake import otp

    worker = otp.applicant_from_token(otp.token_for(Applicant.objects.get_or_create(phone=PHONE)[0]))
    assert worker is not None
    reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(_head(task).id_cipher))
    return worker


# --- 2. a report sent while staff confirmed is kept ---------------------------------------------------


def test_a_report_sent_after_staff_confirmed_reopens_the_review(
    task: ReviewTask, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    head = _head(task)
    c = _worker_page(task)
    assert 'id="review-form"' in c.get(f"/apply/review/{task.pk}/").content.decode()
    staff = _staff(users)
    r = staff.post(f"/api/v1/reviews/{task.pk}/confirm", json.dumps({"state": "open"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(
            f"/apply/review/{task.pk}/",
            {"what": "report", f"m{head.pk}-monthly_income": "2000", "note": "工资涨了"},
            follow=True,
        )
    said = _text(r.content.decode())
    assert "The union had confirmed your yearly review unchanged while you were writing" in said
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and task.reported_after_confirmation
    assert task.changes == {"members": {str(head.pk): {"monthly_income": "2000"}}} and task.note == "工资涨了"
    assert task.done_at is None
    notice = Notice.objects.filter(applicant__phone=PHONE).first()
    assert notice is not None and notice.msgid == reviews.NOTICE_REOPENED
    # Staff see it flagged among the reports to check, and apply it.
    page = _text(page_html(staff))
    assert "Reported after the review was confirmed unchanged" in page and "1,196.00 → 2,000.00" in page
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    head.refresh_from_db()
    assert head.monthly_income == 2000


def test_a_report_does_not_reopen_an_updated_review(task: ReviewTask, users: Any) -> None:
    head = _head(task)
    worker = _worker_actor(task)
    reviews.review_report(actor=worker, task_id=task.pk, changes={"members": {str(head.pk): {"health": "diabetes"}}})
    reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk)
    with pytest.raises(DomainError):
        reviews.review_report(actor=worker, task_id=task.pk, changes={"members": {str(head.pk): {"health": "mild"}}})


# --- 3. the worker is told, and follows the review ---------------------------------------------------


def test_the_worker_is_told_of_each_step_and_follows_it_on_the_phone(
    tree: Any, users: Any, standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from bangfu.intake import messaging

    worker = Applicant.objects.create(phone=PHONE)
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = PHONE
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    h = household_create(actor=users["xiangyun_staff"], data=data)
    with django_capture_on_commit_callbacks(execute=True):
        reviews.yearly_review_create()
    task = ReviewTask.objects.select_related("household").get(household=h)
    opened = Notice.objects.get(applicant=worker)
    assert opened.msgid == reviews.NOTICE_OPENED and str(task.year) in opened.text
    assert task.due_on.isoformat() in opened.text
    assert any(str(task.year) in text for _to, text in messaging.outbox)

    head = _head(task)
    c = _worker_page(task, worker)
    with django_capture_on_commit_callbacks(execute=True):
        # The report changes the head's phone: the worker still follows the review they answered.
        report = {"what": "report", f"m{head.pk}-health": "diabetes", "phone": "13900006666"}
        c.post(f"/apply/review/{task.pk}/", report)
    assert Notice.objects.filter(applicant=worker).first().msgid == reviews.NOTICE_REPORTED  # type: ignore[union-attr]
    home = c.get("/apply/").content.decode()
    assert f'href="/apply/review/{task.pk}/" data-state="reported"' in home
    assert "Your report is being checked." in home

    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    assert Notice.objects.filter(applicant=worker).first().msgid == reviews.NOTICE_APPLIED  # type: ignore[union-attr]
    assert Member.objects.get(pk=head.pk).phone == "13900006666"
    page = c.get(f"/apply/review/{task.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-state="updated"' in html
    assert "Checked: the changes you reported are now on your file." in html and 'id="review-form"' not in html
    home = c.get("/apply/").content.decode()
    assert "Checked: the changes you reported are now on your file." in home
    assert "You confirmed" not in home

    # After the configured days the outcome leaves the home page.
    ReviewTask.objects.filter(pk=task.pk).update(done_at=timezone.now() - dt.timedelta(days=31))
    assert list(reviews.review_tasks_for(actor=worker)) == []


def test_the_worker_is_told_when_staff_confirm(
    task: ReviewTask, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    worker = Applicant.objects.create(phone=PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.OPEN)
    assert Notice.objects.get(applicant=worker).msgid == reviews.NOTICE_CONFIRMED
    assert [t.state for t in reviews.review_tasks_for(actor=worker)] == [ReviewState.CONFIRMED]


def test_a_phone_only_message_leaves_no_notice_row(
    tree: Any, users: Any, standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A worker who never signed in gets the review's message through the phone's backends only."""
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].phone = "13900007777"
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    household_create(actor=users["xiangyun_staff"], data=data)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert reviews.yearly_review_create() == 1
    assert len(callbacks) == 1 and Notice.objects.count() == 0


# --- 4. a review is due some days after it appears ----------------------------------------------------


def test_a_new_review_is_due_after_the_configured_days(tree: Any, users: Any, standard: Any, settings: Any) -> None:
    data = household_input(tree["xiangyun_g"], members=1)
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    household_create(actor=users["xiangyun_staff"], data=data)
    settings.BANGFU_INTAKE_REVIEW_DUE_DAYS = 45
    today = timezone.localdate()
    reviews.yearly_review_create(today=today)
    task = ReviewTask.objects.get()
    assert task.due_on == today + dt.timedelta(days=45)
    # Not overdue the next day, as the list's counts per union have it (due before the day).
    tomorrow = today + dt.timedelta(days=1)
    assert not ReviewTask.objects.filter(due_on__lt=tomorrow).exists()


def test_the_default_due_days_are_thirty(task: ReviewTask) -> None:
    assert task.due_on == timezone.localdate() + dt.timedelta(days=30)


# --- 5. the state filter offers each state once ------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("state", ["reported", "open", "confirmed", "todo"])
def test_the_state_filter_offers_each_state_once(task: ReviewTask, users: Any, language: str, state: str) -> None:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(users["xiangyun_staff"])
    html = c.get(f"/applications/reviews/?state={state}").content.decode()
    select = re.search(r'<select name="state" id="review-state"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    values = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert len(values) == len(set(values)) and state in values
    assert select.group(1).count(" selected") == 1


def test_the_api_applies_a_report_only_when_told_what_was_seen(task: ReviewTask, users: Any) -> None:
    """A client that leaves out the state, the file's token or the report's token would skip every
    check of what it saw: each one left out is named (422), nothing written; the page's form sends
    them all, and the list gives them."""
    head = _head(task)
    reviews.review_report(
        actor=_worker_actor(task), task_id=task.pk, changes={"members": {str(head.pk): {"monthly_income": "800"}}}
    )
    staff = _staff(users)

    def post(path: str, body: dict[str, Any]) -> Any:
        return staff.post(f"/api/v1/reviews/{task.pk}/{path}", json.dumps(body), content_type="application/json")

    for body, missing in (
        ({}, {"state", "file_token", "report_token"}),
        ({"state": "reported"}, {"file_token", "report_token"}),
        ({"state": "reported", "file_token": "0" * 16}, {"report_token"}),
    ):
        r = post("confirm", body)
        assert r.status_code == 422, r.content
        assert set(r.json()["error"]["fields"]) == missing
    r = post("decline", {"reason": "不符"})
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"state", "report_token"}
    r = post("decline", {"reason": "", "state": "reported"})
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"reason", "report_token"}
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.REPORTED and head.monthly_income == 1196

    [seen] = staff.get("/api/v1/reviews", {"state": "reported"}).json()["results"]
    r = post("confirm", {k: seen[k] for k in ("state", "file_token", "report_token")})
    assert r.status_code == 200 and r.json()["state"] == "updated", r.content
    head.refresh_from_db()
    assert head.monthly_income == 800


def test_the_api_confirms_an_open_review_with_its_state_only(task: ReviewTask, users: Any) -> None:
    staff = _staff(users)
    url = f"/api/v1/reviews/{task.pk}/confirm"
    r = staff.post(url, json.dumps({"note": ""}), content_type="application/json")
    assert r.status_code == 422 and set(r.json()["error"]["fields"]) == {"state"}
    r = staff.post(url, json.dumps({"state": "open"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
