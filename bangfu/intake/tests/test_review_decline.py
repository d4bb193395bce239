"""Staff decline a worker's yearly-review report (不采纳申报): a reason is required and refused whole
beyond 1,000 characters; nothing in the file changes; the report is kept with the decision, who and
when; the worker who sent it is told why and reads it on the phone's review page; the review waits
for the worker again, who may report again (or confirm), and staff may still confirm it unchanged.
Only who may apply a report may decline it; a decline is on the timeline and in the audit log; a
report sent after a decline is never applied or declined unseen."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.utils import timezone

from bangfu.common import crypto
from bangfu.common.errors import DomainError, ErrorCode
from bangfu.common.models import AuditEntry
from bangfu.intake import messaging, reviews
from bangfu.intake.models import Applicant, Notice, ReviewDecline, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import sign_in, yearly_review_task
from bangfu.registry.models import Household, Member, TimelineEvent

pytestmark = pytest.mark.django_db

PHONE = "13900005555"
REASON = "社保记录显示仍在岗，收入未下降；请带工资条到工会。"


@pytest.fixture
def task(tree: Any, users: Any, standard: Any) -> ReviewTask:
    return yearly_review_task(tree["xiangyun_g"], users["xiangyun_staff"], PHONE)


def _head(task: ReviewTask) -> Member:
    return task.household.members.get(relationship="head")


def _worker(task: ReviewTask) -> Applicant:
    """The head signed in (as the API does) and the household proved."""
    from bangfu.intake import otp

    applicant = Applicant.objects.get_or_create(phone=PHONE)[0]
    worker = otp.applicant_from_token(otp.token_for(applicant))
    assert worker is not None
    reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(_head(task).id_cipher))
    return worker


def _reported(task: ReviewTask, income: str = "0") -> Applicant:
    worker = _worker(task)
    changes = {"members": {str(_head(task).pk): {"monthly_income": income, "work_status": "laid_off"}}}
    reviews.review_report(actor=worker, task_id=task.pk, changes=changes, note="厂里停产了")
    return worker


def _staff(users: Any, who: str = "xiangyun_staff", language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(users[who])
    return c


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, json.dumps(body), content_type="application/json")


def _file(task: ReviewTask) -> tuple[int, list[tuple[Any, ...]]]:
    """The household's version and its members' reviewed fields: what a decline must not touch."""
    h = Household.objects.get(pk=task.household_id)
    rows = list(h.members.order_by("pk").values_list("monthly_income", "work_status", "health", "phone"))
    return h.version, rows


# --- the decision ---------------------------------------------------------------------------------


def test_a_declined_report_leaves_the_file_and_the_review_waits_for_the_worker(
    task: ReviewTask, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    worker = _reported(task)
    before = _file(task)
    staff = users["xiangyun_staff"]
    ReviewTask.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))  # overdue
    with django_capture_on_commit_callbacks(execute=True):
        decline = reviews.review_decline(actor=staff, task_id=task.pk, reason=REASON, seen_state=ReviewState.REPORTED)
    assert _file(task) == before  # nothing in the file changed
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and task.changes == {} and task.note == ""
    assert task.done_at is None and task.done_by is None
    # The worker is asked again, with the configured days to answer from today.
    assert task.due_on == timezone.localdate() + dt.timedelta(days=30)
    # The report is kept with the decision: what was reported, why it was not taken, who and when.
    decline = ReviewDecline.objects.get(pk=decline.pk)
    head = _head(task)
    assert decline.changes == {"members": {str(head.pk): {"monthly_income": "0", "work_status": "laid_off"}}}
    assert Decimal(decline.reported_from["members"][str(head.pk)]["monthly_income"]) == Decimal("1196")
    assert decline.note == "厂里停产了" and decline.reported_by_applicant_id == worker.pk
    assert decline.reason == REASON and decline.declined_by == staff and decline.declined_at is not None
    # On the household's timeline and in the audit log, as the other review steps.
    event = TimelineEvent.objects.filter(household_id=task.household_id, kind="yearly_review").first()
    assert event is not None and "declined" in event.summary and event.data["reason"] == REASON
    entry = AuditEntry.objects.filter(target_type="intake.review_task", target_id=str(task.pk)).order_by("-seq").first()
    assert entry is not None and entry.actor == staff and entry.after is not None
    assert entry.after["state"] == "open" and entry.after["declined"]["reason"] == REASON
    assert entry.after["declined"]["changes"] == decline.changes
    page = _staff(users).get(f"/households/{task.household_id}/").content.decode()
    assert "the worker&#x27;s report was declined" in page and REASON in page  # the timeline says why
    # The worker who sent it is told, with the reason, in-app and through the other backends.
    notice = Notice.objects.filter(applicant=worker).first()
    assert notice is not None and notice.msgid == reviews.NOTICE_DECLINED
    assert REASON in notice.text and task.due_on.isoformat() in notice.text and REASON in notice.shown
    assert any(REASON in text for _to, text in messaging.outbox)


def test_a_reason_is_required(task: ReviewTask, users: Any) -> None:
    _reported(task)
    for reason in ("", "   \r\n "):
        with pytest.raises(ValidationError) as exc:
            reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason=reason)
        assert "reason" in exc.value.message_dict
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", {"state": "reported"})
    assert r.status_code == 422 and "reason" in json.dumps(r.json())
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and task.changes and not ReviewDecline.objects.exists()


def test_a_reason_over_a_thousand_characters_is_refused_whole(task: ReviewTask, users: Any) -> None:
    _reported(task)
    before = _file(task)
    entries = AuditEntry.objects.filter(target_type="intake.review_task").count()
    with pytest.raises(ValidationError) as exc:
        reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason="理" * 1001)
    assert "1001" in exc.value.message_dict["reason"][0] and "1000" in exc.value.message_dict["reason"][0]
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", {"reason": "理" * 1001, "state": "reported"})
    assert r.status_code == 422
    page = _staff(users).post(
        f"/applications/reviews/{task.pk}/decline/", {"reason": "理" * 1001, "state": "reported"}, follow=True
    )
    assert "shorten it to at most 1000" in _text(page.content.decode())
    # Nothing written: the report waits as it was, no decline kept (never a cut one), no entry, no notice.
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and task.note == "厂里停产了"
    assert not ReviewDecline.objects.exists() and _file(task) == before
    assert AuditEntry.objects.filter(target_type="intake.review_task").count() == entries
    assert not Notice.objects.filter(msgid=reviews.NOTICE_DECLINED).exists()
    # A line break counts once, as the box counts it: 1,000 characters are taken whole.
    reason = "理" * 998 + "\r\n" + "由"
    decline = reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason=reason)
    assert decline.reason == "理" * 998 + "\n由" and len(decline.reason) == 1000


def test_only_who_may_apply_the_report_may_decline_it(task: ReviewTask, users: Any) -> None:
    _reported(task)
    # Another county's staff do not see it; a worker cannot decline; an evaluator sees it but may not act.
    with pytest.raises(Http404):
        reviews.review_decline(actor=users["dalishi_staff"], task_id=task.pk, reason=REASON)
    assert (
        _post(_staff(users, "dalishi_staff"), f"/api/v1/reviews/{task.pk}/decline", {"reason": REASON}).status_code
        == 404
    )
    page = _staff(users, "dalishi_staff").post(f"/applications/reviews/{task.pk}/decline/", {"reason": REASON})
    assert page.status_code == 404
    with pytest.raises(PermissionDenied):
        reviews.review_decline(actor=users["evaluator"], task_id=task.pk, reason=REASON)
    assert (
        _post(_staff(users, "evaluator"), f"/api/v1/reviews/{task.pk}/decline", {"reason": REASON}).status_code == 403
    )
    worker = Applicant.objects.get(phone=PHONE)
    with pytest.raises(PermissionDenied):
        reviews.review_decline(actor=worker, task_id=task.pk, reason=REASON)
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and not ReviewDecline.objects.exists()
    # The grassroots cadre of the file's union may edit it, so may decline its report.
    reviews.review_decline(actor=users["xiangyun_cadre"], task_id=task.pk, reason=REASON)
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN


def test_only_a_report_waiting_can_be_declined(task: ReviewTask, users: Any) -> None:
    staff = users["xiangyun_staff"]
    with pytest.raises(DomainError) as exc:  # nothing reported yet
        reviews.review_decline(actor=staff, task_id=task.pk, reason=REASON)
    assert exc.value.code == ErrorCode.CONFLICT
    _reported(task)
    reviews.review_decline(actor=staff, task_id=task.pk, reason=REASON)
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", {"reason": REASON, "state": "reported"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"  # declined by someone else meanwhile
    reviews.review_confirm(actor=staff, task_id=task.pk, seen_state=ReviewState.OPEN)
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", {"reason": REASON})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_done"
    assert ReviewDecline.objects.count() == 1


# --- after the decline ------------------------------------------------------------------------------


def test_the_worker_reads_why_and_reports_again(
    task: ReviewTask, users: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _reported(task)
    staff_page = _staff(users)
    first = staff_page.get("/api/v1/reviews?state=reported").json()["results"][0]
    with django_capture_on_commit_callbacks(execute=True):
        r = _post(
            staff_page,
            f"/api/v1/reviews/{task.pk}/decline",
            {"reason": REASON, "state": "reported", "report_token": first["report_token"]},
        )
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "open" and body["changes"] == {} and body["report_token"] == ""
    assert [d["reason"] for d in body["declined"]] == [REASON] and body["declined"][0][
        "declined_by"
    ] == "xiangyun_staff"
    assert body["declined"][0]["changes"] == first["changes"]

    # The worker's phone: the review's form again, with why the report was not taken.
    worker = Applicant.objects.get(phone=PHONE)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    head = _head(task)
    c.post(f"/apply/review/{task.pk}/", {"what": "prove", "id_number": crypto.decrypt(head.id_cipher)})
    page = c.get(f"/apply/review/{task.pk}/").content.decode()
    assert 'id="review-form"' in page and 'id="review-declined"' in page
    assert "The union did not take your report" in _text(page) and REASON in page
    home = c.get("/apply/").content.decode()
    assert f'href="/apply/review/{task.pk}/" data-state="open"' in home

    # A second report is taken, and staff apply it.
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"/apply/review/{task.pk}/", {"what": "report", f"m{head.pk}-monthly_income": "800"}, follow=True)
    assert "Thank you: your yearly review was sent." in _text(r.content.decode())
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and task.changes == {"members": {str(head.pk): {"monthly_income": "800"}}}
    assert Notice.objects.filter(applicant=worker).first().msgid == reviews.NOTICE_REPORTED  # type: ignore[union-attr]
    # Its page, being checked, still says what the union did not take before.
    done = c.get(f"/apply/review/{task.pk}/").content.decode()
    assert 'data-state="reported"' in done and REASON in done
    second = staff_page.get("/api/v1/reviews?state=reported").json()["results"][0]
    assert second["report_token"] != first["report_token"] and len(second["declined"]) == 1
    r = _post(
        staff_page,
        f"/api/v1/reviews/{task.pk}/confirm",
        {"state": "reported", "report_token": second["report_token"], "file_token": second["file_token"]},
    )
    assert r.status_code == 200 and r.json()["state"] == "updated"
    head.refresh_from_db()
    assert head.monthly_income == 800


def test_the_api_gives_the_worker_why_after_the_proof(task: ReviewTask, users: Any) -> None:
    from bangfu.intake import otp

    applicant = Applicant.objects.get_or_create(phone=PHONE)[0]
    token = otp.token_for(applicant)
    phone = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    head = _head(task)
    mine = phone.get("/api/v1/applicant/reviews").json()
    assert mine[0]["declined"] is None  # nothing of the file, nor of a report, before the proof
    r = _post(phone, f"/api/v1/applicant/reviews/{task.pk}/proof", {"id_number": crypto.decrypt(head.id_cipher)})
    assert r.status_code == 200 and r.json()["declined"] == []
    r = _post(phone, f"/api/v1/applicant/reviews/{task.pk}/report", {"changes": {"address": "祥云县新村1号"}})
    assert r.status_code == 200
    reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason=REASON)
    mine = phone.get("/api/v1/applicant/reviews").json()
    assert mine[0]["state"] == "open" and mine[0]["declined"][0]["reason"] == REASON
    assert mine[0]["declined"][0]["changes"] == {"address": "祥云县新村1号"}
    detail = phone.get(f"/api/v1/applicant/reviews/{task.pk}").json()
    assert detail["declined"][0]["reason"] == REASON


def test_a_report_sent_after_a_decline_is_not_applied_or_declined_unseen(task: ReviewTask, users: Any) -> None:
    """Two staff look at the same report; one declines it; the worker sends the same report again.
    The other's apply or decline, chosen on the first report, is refused (409) — even though the
    same fields hold the same values — and nothing is written."""
    _reported(task)
    staff = _staff(users)
    seen = staff.get("/api/v1/reviews?state=reported").json()["results"][0]
    reviews.review_decline(actor=users["xiangyun_cadre"], task_id=task.pk, reason=REASON)
    _reported(task)  # the same report again
    before = _file(task)
    r = _post(
        staff,
        f"/api/v1/reviews/{task.pk}/confirm",
        {"state": "reported", "report_token": seen["report_token"], "file_token": seen["file_token"]},
    )
    assert (
        r.status_code == 409
        and r.json()["error"]["code"] == "conflict"
        and r.json()["error"]["details"]["report_token"]
    )
    r = _post(
        staff,
        f"/api/v1/reviews/{task.pk}/decline",
        {"reason": "不符", "state": "reported", "report_token": seen["report_token"]},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and _file(task) == before and ReviewDecline.objects.count() == 1


def test_after_a_decline_the_worker_or_staff_may_confirm_unchanged(task: ReviewTask, users: Any) -> None:
    worker = _reported(task)
    reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason=REASON)
    reviews.review_confirm(actor=worker, task_id=task.pk)
    task.refresh_from_db()
    assert task.state == ReviewState.CONFIRMED


def test_a_decline_from_the_reviews_page(task: ReviewTask, users: Any) -> None:
    """The reviews page offers, beside "apply", a box for the reason and a button to decline, in
    English and in Chinese; the decline comes back to the page with its filters, which shows it."""
    from django.utils import translation
    from django.utils.html import escape

    _reported(task)
    for language in ("en", "zh-hans"):
        html = _staff(users, language=language).get("/applications/reviews/?state=reported").content.decode()
        assert f'action="/applications/reviews/{task.pk}/decline/"' in html
        assert 'name="reason"' in html and 'maxlength="1000"' in html and "required" in html
        with translation.override(language):  # the words as the catalogue has them in that language
            button = translation.gettext("Decline the report")
            box = translation.gettext(
                "Why the report is not taken (the worker will read it; nothing in the file changes)"
            )
        assert escape(button) in html and escape(box) in html
    # A manager follows the reviews without the buttons.
    html = _staff(users, "evaluator").get("/applications/reviews/").content.decode()
    assert "/decline/" not in html
    staff = _staff(users)
    html = staff.get("/applications/reviews/?state=reported").content.decode()
    token = re.search(r'name="report" value="([0-9a-f]+)"', html)
    assert token is not None
    r = staff.post(
        f"/applications/reviews/{task.pk}/decline/",
        {"reason": REASON, "state": "reported", "report": token.group(1), "next": "/applications/reviews/?state=open"},
        follow=True,
    )
    said = _text(r.content.decode())
    assert r.redirect_chain[-1][0] == "/applications/reviews/?state=open"
    assert "The report was declined" in said and "Report declined on" in said and REASON in said
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN


def test_applying_a_report_a_colleague_declined_meanwhile_says_so(task: ReviewTask, users: Any) -> None:
    # Two tabs: one declines, the other then applies the report it saw. It was told the worker had
    # sent a report: none had, and staff went looking for it.
    _reported(task)
    reviews.review_decline(actor=users["xiangyun_staff"], task_id=task.pk, reason=REASON)
    with pytest.raises(DomainError) as exc:
        reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, seen_state=ReviewState.REPORTED)
    assert exc.value.code == ErrorCode.CONFLICT
    assert "No report of the worker waits on this review now" in exc.value.message


def test_a_reason_refused_on_the_page_comes_back_in_its_open_box(task: ReviewTask, users: Any) -> None:
    """A reason the server refuses (spaces only, 1,001 characters) is kept: the decline box of that
    review opens again with the reason as typed and the problem under it (marked invalid, so the
    cursor goes there), and the message at the top names the file; shown once."""
    from django.utils.html import escape

    _reported(task)
    number = task.household.file_number
    staff = _staff(users)
    for reason, problem in (
        ("   ", "Give the reason; the worker will see it."),
        ("理" * 1001, "shorten it to at most"),
    ):
        r = staff.post(
            f"/applications/reviews/{task.pk}/decline/",
            {"reason": reason, "state": "reported", "next": "/applications/reviews/?state=reported"},
            follow=True,
        )
        html = r.content.decode()
        assert r.redirect_chain[-1][0] == "/applications/reviews/?state=reported"
        assert f"File {number}: " in _text(html) and problem in _text(html)
        boxes = re.findall(r'<details class="mt-1 review-decline" open>.*?</details>', html, re.S)
        assert len(boxes) == 2  # the narrow screen's copy and the wide one's, with ids of their own
        for box, where in zip(boxes, ("-narrow", ""), strict=True):
            error_id = f"decline-{task.pk}{where}-error"
            assert f'aria-invalid="true" aria-describedby="{error_id}">{escape(reason)}</textarea>' in box
            assert f'<div class="text-danger small field-error" id="{error_id}">' in box and problem in box
    # Once: the list shown next has the box closed and empty again.
    html = staff.get("/applications/reviews/?state=reported").content.decode()
    assert 'review-decline" open' not in html and 'aria-invalid="true"' not in html
    # On the queue, where the decline comes back to without a list to go to.
    r = staff.post(f"/applications/reviews/{task.pk}/decline/", {"reason": " ", "state": "reported"}, follow=True)
    assert r.redirect_chain[-1][0] == "/applications/"
    assert '<details class="mt-1 review-decline" open>' in r.content.decode()
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED and not ReviewDecline.objects.exists()


def test_the_api_counts_a_reason_s_line_breaks_as_the_page_does(task: ReviewTask, users: Any) -> None:
    """995 characters and 5 line breaks sent as CR LF are 1,000 characters in the box (and as kept):
    the API takes them too, for a declined report as for an application's decision."""
    _reported(task)
    reason = ("理" * 199 + "\r\n") * 5  # 995 characters and 5 line breaks: 1,005 sent, 1,000 kept
    assert len(reason) == 1005 and len(reason.replace("\r\n", "\n")) == 1000
    task.refresh_from_db()
    seen = {"state": "reported", "report_token": reviews.report_token(task)}
    body = {"reason": reason + "由", **seen}  # 1,001 as kept: still refused
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", body)
    assert r.status_code == 422, r.content
    r = _post(_staff(users), f"/api/v1/reviews/{task.pk}/decline", {"reason": reason, **seen})
    assert r.status_code == 200, r.content
    assert ReviewDecline.objects.get().reason == ("理" * 199 + "\n") * 4 + "理" * 199
