"""The yearly review reaches a household by its head's phone number, and numbers are recycled: a
person signed in with that number sees nothing of the file (not even its number) and can answer
nothing until they type the ID number of a living member; wrong numbers are limited and every try
is in the audit log, without the number."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.common import crypto
from bangfu.common.models import AuditEntry
from bangfu.intake import otp, reviews
from bangfu.intake.models import Applicant, HouseholdProof, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import sign_in
from bangfu.registry.models import Household, Member
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, new_id

pytestmark = pytest.mark.django_db

PHONE = "13900001111"


@pytest.fixture
def task(tree: Any, users: Any) -> ReviewTask:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = PHONE
    data.address = "祥云县祥城镇一号"
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    household_create(actor=users["xiangyun_staff"], data=data)
    reviews.yearly_review_create()
    return ReviewTask.objects.select_related("household").get()


def _ids(h: Household) -> dict[str, str]:
    return {m.relationship: crypto.decrypt(m.id_cipher) for m in h.members.all()}


def _private(h: Household) -> list[str]:
    """What of the file must not reach someone who has not proved to be of the household."""
    return [h.file_number, h.address, *(m.name for m in h.members.all())]


def test_a_recycled_number_sees_nothing_of_the_file_and_answers_nothing(task: ReviewTask) -> None:
    stranger = Applicant.objects.create(phone=PHONE)  # the head's old number, now someone else's
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), stranger)
    home = c.get("/apply/").content.decode()
    assert f"Your household's yearly review for {task.year}" in home
    page = c.get(f"/apply/review/{task.pk}/")
    assert page.status_code == 200 and 'id="proof-form"' in page.content.decode()
    for text in _private(task.household):
        assert text not in home and text not in page.content.decode()
    # An answer sent without the proof is not taken.
    r = c.post(f"/apply/review/{task.pk}/", {"what": "confirm"})
    assert r.status_code == 400 and 'id="proof-form"' in r.content.decode()
    r = c.post(f"/apply/review/{task.pk}/", {"what": "report", "note": "nothing"})
    assert r.status_code == 400
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and task.done_by_applicant_id is None


def test_wrong_id_numbers_are_limited_logged_and_lock_the_review(task: ReviewTask) -> None:
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    url = f"/apply/review/{task.pk}/"
    # A number that cannot be an ID is a typing slip, not a try.
    r = c.post(url, {"what": "prove", "id_number": "53292319800101123"})
    assert (
        r.status_code == 400
        and "The ID number should have 18 characters (15 in the old format), not " in r.content.decode()
    )
    assert not HouseholdProof.objects.exists()
    for left in range(reviews.PROOF_TRIES - 1, 0, -1):
        r = c.post(url, {"what": "prove", "id_number": new_id()})
        assert r.status_code == 400
        assert f"tries left: {left}" in r.content.decode()
    r = c.post(url, {"what": "prove", "id_number": new_id()})
    assert "Too many wrong ID numbers" in r.content.decode()
    # Locked: now even the head's own number is refused, and nothing of the file is shown.
    head_id = _ids(task.household)["head"]
    r = c.post(url, {"what": "prove", "id_number": head_id})
    assert r.status_code == 400 and "Too many wrong ID numbers" in r.content.decode()
    assert 'id="review-form"' not in c.get(url).content.decode()
    entries = list(AuditEntry.objects.filter(target_type="intake.review_task", target_id=str(task.pk)).order_by("pk"))
    assert [(e.after or {})["proof"] for e in entries] == ["wrong"] * reviews.PROOF_TRIES + ["refused"]
    assert all(e.action == "login" and e.actor_label.startswith("applicant:139") for e in entries)
    assert all(head_id not in json.dumps([e.after, e.note]) for e in entries)
    # A day later the wrong tries no longer count.
    HouseholdProof.objects.update(at=timezone.now() - reviews.PROOF_WINDOW - dt.timedelta(minutes=1))
    assert c.post(url, {"what": "prove", "id_number": head_id}).status_code == 302
    assert 'id="review-form"' in c.get(url).content.decode()


def test_a_member_proves_once_per_sign_in_and_then_reviews(task: ReviewTask) -> None:
    worker = Applicant.objects.create(phone=PHONE)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    url = f"/apply/review/{task.pk}/"
    spouse_id = next(v for k, v in _ids(task.household).items() if k != "head")
    typed = f"{spouse_id[:6]} {spouse_id[6:14]} {spouse_id[14:].lower()}"  # as people type it
    r = c.post(url, {"what": "prove", "id_number": typed})
    assert r.status_code == 302 and r["Location"] == url
    page = c.get(url).content.decode()
    assert 'id="review-form"' in page and all(m.name in page for m in task.household.members.all())
    assert task.household.file_number in c.get("/apply/").content.decode()
    ok = AuditEntry.objects.get(target_type="intake.review_task", after__proof="ok")
    assert (ok.after or {})["member"] == task.household.members.exclude(relationship="head").get().pk
    # The next sign-in of the number asks again (the number may have changed hands since).
    again = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    assert 'id="proof-form"' in again.get(url).content.decode()
    assert task.household.file_number not in again.get("/apply/").content.decode()
    assert again.post(url, {"what": "confirm"}).status_code == 400
    # …and the first sign-in has ended.
    assert c.get(url)["Location"] == "/apply/login/"


def test_a_deceased_members_number_proves_nothing(task: ReviewTask) -> None:
    spouse = task.household.members.exclude(relationship="head").get()
    Member.objects.filter(pk=spouse.pk).update(deceased=True)
    worker = otp.applicant_from_token(otp.token_for(Applicant.objects.create(phone=PHONE)))
    assert worker is not None
    with pytest.raises(reviews.DomainError) as caught:
        reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(spouse.id_cipher))
    assert caught.value.code == reviews.ReviewError.PROOF_WRONG


def test_the_api_shows_the_file_only_after_the_proof(task: ReviewTask) -> None:
    token = otp.token_for(Applicant.objects.create(phone=PHONE))
    api = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})

    def post(path: str, body: dict[str, Any]) -> Any:
        return api.post(f"/api/v1/applicant/reviews/{task.pk}{path}", json.dumps(body), content_type="application/json")

    listed = api.get("/api/v1/applicant/reviews").json()
    assert listed == [
        {
            "id": task.pk,
            "year": task.year,
            "state": "open",
            "due_on": task.due_on.isoformat(),
            "proven": False,
            "household_id": None,
            "file_number": None,
            "changes": None,
            "note": None,
            "declined": None,
        }
    ]
    detail = api.get(f"/api/v1/applicant/reviews/{task.pk}")
    assert detail.status_code == 400 and detail.json()["error"]["code"] == "review_proof_needed"
    for text in _private(task.household):
        assert text not in detail.content.decode()
    assert post("/confirm", {"note": ""}).json()["error"]["code"] == "review_proof_needed"
    wrong = post("/proof", {"id_number": new_id()})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "review_proof_wrong"
    assert wrong.json()["error"]["details"] == {"tries_left": reviews.PROOF_TRIES - 1}
    bad = post("/proof", {"id_number": "12345"})
    assert bad.status_code == 422 and "id_number" in bad.json()["error"]["fields"]
    right = post("/proof", {"id_number": _ids(task.household)["head"]})
    assert right.status_code == 200, right.content
    body = right.json()
    assert body["proven"] is True and body["file_number"] == task.household.file_number
    assert body["address"] == task.household.address and len(body["members"]) == 2
    assert api.get("/api/v1/applicant/reviews").json()[0]["file_number"] == task.household.file_number
    assert post("/confirm", {"note": ""}).json()["state"] == "confirmed"


def test_another_workers_proof_does_not_count_for_this_sign_in(task: ReviewTask) -> None:
    worker = Applicant.objects.create(phone=PHONE)
    first = otp.applicant_from_token(otp.token_for(worker))
    assert first is not None
    reviews.review_proof(actor=first, task_id=task.pk, id_number=_ids(task.household)["head"])
    assert reviews.review_proven(actor=first, task=task)
    second = otp.applicant_from_token(otp.token_for(worker))
    assert second is not None and not reviews.review_proven(actor=second, task=task)
    plain = Applicant.objects.get(pk=worker.pk)  # no sign-in at all: proves nothing, sees nothing
    with pytest.raises(reviews.DomainError):
        reviews.review_confirm(actor=plain, task_id=task.pk)


def test_a_typing_slip_stays_in_the_box_under_its_error_and_a_wrong_try_does_not(task: ReviewTask) -> None:
    """A number that cannot be an ID (16 digits, a wrong check digit) is no try: it comes back in
    the box, the error under it, to be put right a digit rather than typed again in full. A counted
    wrong try (a real ID, no member's) comes back empty: the next try is another member's number."""
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.create(phone=PHONE))
    url = f"/apply/review/{task.pk}/"
    head_id = _ids(task.household)["head"]
    wrong_check = head_id[:17] + ("1" if head_id[17] != "1" else "2")
    for slip in ("5300001996071289", wrong_check):
        r = c.post(url, {"what": "prove", "id_number": slip})
        page = r.content.decode()
        assert r.status_code == 400 and f'value="{slip}"' in page
        assert 'aria-invalid="true" aria-describedby="id_number-error"' in page
        assert 'id="id_number-error">' in page and ("18 characters" in page or "check" in page)
    assert not HouseholdProof.objects.exists()
    stranger = new_id()
    r = c.post(url, {"what": "prove", "id_number": stranger})
    page = r.content.decode()
    assert r.status_code == 400 and stranger not in page and 'value=""' in page
    assert 'id="id_number-error">This is not the ID number of a member of this household' in page
    # Put right, the number proves.
    assert c.post(url, {"what": "prove", "id_number": head_id}).status_code == 302
