"""The yearly review (tasks made once a year; the worker confirms or reports, staff apply), the
import pages, and the staff application page showing labels rather than codes."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bangfu.common import crypto
from bangfu.intake import otp, reviews
from bangfu.intake.models import Applicant, ImportBatch, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import sign_in, submitted
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.registry.models import Household
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


def _old_file(tree: Any, users: Any, phone: str = "13900001111") -> Household:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[0].phone = phone
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    return household_create(actor=users["xiangyun_staff"], data=data)


def test_yearly_review_tasks_are_made_once(tree: Any, users: Any) -> None:
    old = _old_file(tree, users)
    new = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], members=1))
    out = io.StringIO()
    call_command("intake", "yearly-review", stdout=out)
    assert out.getvalue().startswith("1 ")
    assert list(ReviewTask.objects.values_list("household_id", flat=True)) == [old.pk]
    assert reviews.yearly_review_create() == 0  # again: nothing more
    assert not ReviewTask.objects.filter(household=new).exists()


def test_a_review_still_open_from_last_year_is_not_doubled(tree: Any, users: Any) -> None:
    # Last year's review waits for the worker (or the worker's report for staff) at New Year: the
    # yearly job makes no second task for the file; once it is closed, next year's comes as usual.
    today = timezone.localdate()
    h = _old_file(tree, users)
    h.filed_on = today - dt.timedelta(days=800)
    h.save(update_fields=["filed_on"])
    for state in (ReviewState.OPEN, ReviewState.REPORTED):
        ReviewTask.objects.all().delete()
        ReviewTask.objects.create(household=h, year=today.year - 1, state=state, due_on=today - dt.timedelta(days=370))
        assert reviews.yearly_review_create(today=today) == 0
        assert list(ReviewTask.objects.values_list("year", flat=True)) == [today.year - 1]
    ReviewTask.objects.filter(household=h).update(
        state=ReviewState.CONFIRMED, done_at=timezone.now() - dt.timedelta(days=369)
    )
    assert reviews.yearly_review_create(today=today) == 1
    assert sorted(ReviewTask.objects.values_list("year", flat=True)) == [today.year - 1, today.year]


def test_worker_reports_changes_and_staff_apply_them(tree: Any, users: Any) -> None:
    h = _old_file(tree, users)
    reviews.yearly_review_create()
    task = ReviewTask.objects.get(household=h)
    worker = Applicant.objects.create(phone="13900001111")
    stranger = Applicant.objects.create(phone="13900002222")
    assert list(reviews.review_tasks_for(actor=stranger)) == []
    head = h.members.get(relationship="head")
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    assert "Yearly review" in c.get("/apply/").content.decode()
    # The worker shows the household is theirs (reviews.review_proof) before seeing or answering.
    r = c.post(f"/apply/review/{task.pk}/", {"what": "prove", "id_number": crypto.decrypt(head.id_cipher)})
    assert r.status_code == 302
    form = c.get(f"/apply/review/{task.pk}/").content.decode()
    assert f'name="m{head.pk}-health"' in form and "Diabetes" in form  # health can change too
    report = {f"m{head.pk}-monthly_income": "1500", f"m{head.pk}-work_status": "employed", "address": ""}
    r = c.post(f"/apply/review/{task.pk}/", {"what": "report", **report, f"m{head.pk}-health": "diabetes"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED
    head.refresh_from_db()
    assert head.monthly_income == 800  # not yet: staff check first

    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    page = staff.get("/applications/").content.decode()
    assert h.file_number in page and "Checked: apply the changes" in page
    other = Client()
    other.force_login(users["dalishi_staff"])
    assert h.file_number not in other.get("/applications/").content.decode()
    assert other.post(f"/applications/reviews/{task.pk}/confirm/").status_code == 404
    staff.post(f"/applications/reviews/{task.pk}/confirm/")
    task.refresh_from_db()
    head.refresh_from_db()
    assert task.state == ReviewState.UPDATED and head.monthly_income == 1500 and head.work_status == "employed"
    assert head.health == "diabetes"
    assert h.timeline.filter(kind="yearly_review").count() == 2


def test_worker_confirms_unchanged(tree: Any, users: Any) -> None:
    h = _old_file(tree, users)
    reviews.yearly_review_create()
    task = ReviewTask.objects.get(household=h)
    worker = otp.applicant_from_token(otp.token_for(Applicant.objects.create(phone="13900001111")))
    assert worker is not None
    member = h.members.exclude(relationship="head").get()
    reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(member.id_cipher))
    reviews.review_confirm(actor=worker, task_id=task.pk)
    task.refresh_from_db()
    assert task.state == ReviewState.CONFIRMED and task.done_by_applicant_id == worker.pk
    # Nothing left to answer; the review stays on the phone a while with its outcome.
    assert list(reviews.review_tasks_for(actor=worker, state=ReviewState.OPEN)) == []
    assert [t.state for t in reviews.review_tasks_for(actor=worker)] == [ReviewState.CONFIRMED]


def test_import_pages_upload_preview_commit_and_report(tree: Any, users: Any) -> None:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_staff"])
    assert c.get("/applications/import/template.xlsx")["Content-Type"].startswith("application/vnd.openxml")
    upload = io.BytesIO(xlsx(household_rows("P-0001") + household_rows("P-0002", 住房类型="城堡")))
    upload.name = "old.xlsx"
    r = c.post("/applications/import/", {"unit_id": tree["xiangyun"].pk, "file": upload})
    assert r.status_code == 302
    batch = ImportBatch.objects.get()
    page = c.get(r["Location"]).content.decode()
    assert "Import 1 household" in page and "城堡" in page
    partial = c.get(r["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="import-status"') and "<html" not in partial
    c.post(f"/applications/import/{batch.pk}/commit/")
    assert Household.objects.filter(file_number="P-0001").exists()
    assert not Household.objects.filter(file_number="P-0002").exists()
    report = c.get(f"/applications/import/{batch.pk}/report/?format=csv")
    assert "P-0002" in report.content.decode("utf-8-sig")
    other = Client()
    other.force_login(users["dalishi_staff"])
    assert other.get(f"/applications/import/{batch.pk}/").status_code == 404
    assert other.get(f"/applications/import/{batch.pk}/report/?format=csv").status_code == 404


def test_import_page_says_what_is_wrong_with_a_bad_file(tree: Any, users: Any) -> None:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_staff"])
    upload = io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600)
    upload.name = "secret.xlsx"
    r = c.post("/applications/import/", {"unit_id": tree["xiangyun"].pk, "file": upload})
    assert r.status_code == 400 and "password" in r.content.decode()
    assert not ImportBatch.objects.exists()


def test_application_page_shows_labels_not_codes(tree: Any, users: Any) -> None:
    app = submitted(tree["xiangyun_g"])
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["xiangyun_cadre"])
    page = c.get(f"/applications/{app.pk}/").content.decode()
    assert "Major illness" in page and "Head of household" in page and "Children&#x27;s schooling" in page
    assert "<td>head</td>" not in page


def test_queue_pages_instead_of_cutting_off(tree: Any, users: Any, settings: Any) -> None:
    for i in range(3):
        submitted(tree["xiangyun_g"], phone=f"1380000000{i}", members=1)
    from bangfu.intake import selectors

    rows, page = selectors.queue(actor=users["xiangyun_cadre"], per_page=2)
    assert len(rows) == 2 and page.has_next()
    rows2, _page = selectors.queue(actor=users["xiangyun_cadre"], page=2, per_page=2)
    assert len(rows2) == 1 and {r.application.pk for r in rows}.isdisjoint({r.application.pk for r in rows2})
    counts = selectors.queue_counts(actor=users["xiangyun_cadre"])
    assert counts == [{"state": "submitted", "label": counts[0]["label"], "count": 3, "overdue": 0}]
