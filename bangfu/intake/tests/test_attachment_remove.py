"""A wrong photo uploaded to a draft comes off again: the worker removes a file they sent while the
application is theirs (a draft, or returned to them to put right), on the phone page (a question
first, no script needed) or through the API; the stored file goes with it, the case's progress and
the audit log say so. Once the application is with the union, or for a file the union added, the
removal is refused saying why, and nothing changes."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from bangfu.common.models import AuditEntry
from bangfu.intake import otp, services, steps
from bangfu.intake.models import Applicant, Application, ApplicationEvent, ApplicationKind, Attachment
from bangfu.intake.tests.helpers import form_data, sign_in
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db

PHONE = "13900003333"


def _pdf(n: int) -> bytes:
    return pdf_file(filler=n)  # each a file of its own


def _stored(media: Path, row: Attachment) -> Path:
    return media / str(row.file.name)


@pytest.fixture
def worker() -> Applicant:
    return Applicant.objects.create(phone=PHONE)


@pytest.fixture
def draft(tree: dict, worker: Applicant) -> Application:
    return services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]))


def _api(worker: Applicant) -> Client:
    return Client(headers={"Authorization": f"Bearer {otp.token_for(worker)}", "Accept-Language": "en"})


def test_the_worker_removes_a_wrong_photo_from_the_draft_on_the_phone(
    media: Path, worker: Applicant, draft: Application, django_capture_on_commit_callbacks: Any
) -> None:
    wrong = steps.attachment_add(actor=worker, application_id=draft.pk, name="错的.pdf", content=_pdf(1))
    right = steps.attachment_add(actor=worker, application_id=draft.pk, name="病历.pdf", content=_pdf(2))
    assert _stored(media, wrong).exists()
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    page = c.get(f"/apply/{draft.pk}/").content.decode()
    # One question per file, behind a tap on "Remove", which names the file for a screen reader.
    assert page.count('<details class="remove-file">') == 2
    assert '<span class="visually-hidden"> 错的.pdf</span>' in page
    assert f'action="/apply/{draft.pk}/attachments/{wrong.pk}/remove/"' in page
    with django_capture_on_commit_callbacks(execute=True):  # the stored file goes once committed
        r = c.post(f"/apply/{draft.pk}/attachments/{wrong.pk}/remove/", follow=True)
    page = r.content.decode()
    assert "The file was removed." in page
    assert list(draft.attachments.values_list("name", flat=True)) == ["病历.pdf"]
    assert not _stored(media, wrong).exists() and _stored(media, right).exists()
    # The progress says so (with the file's name), and so does the audit log (without it).
    event = ApplicationEvent.objects.get(application=draft, action="attachment_removed")
    assert event.reason == "错的.pdf" and event.actor_label.startswith("applicant:")
    assert "File removed" in page
    entry = AuditEntry.objects.get(
        target_type="intake.application", target_id=str(draft.pk), after__action="attachment_removed"
    )
    assert entry.before == {"attachment": wrong.pk, "kind": "proof", "size": wrong.size, "sha256": wrong.sha256}
    assert entry.actor_label.startswith("applicant:")
    # Sent again (Back, then the button): no such file any more, nothing else removed.
    assert c.post(f"/apply/{draft.pk}/attachments/{wrong.pk}/remove/").status_code == 404
    assert draft.attachments.count() == 1


def test_the_api_removes_a_file_of_the_draft(
    media: Path, worker: Applicant, draft: Application, django_capture_on_commit_callbacks: Any
) -> None:
    api = _api(worker)
    url = f"/api/v1/applicant/applications/{draft.pk}/attachments"
    from django.core.files.uploadedfile import SimpleUploadedFile

    sent = api.post(url, {"file": SimpleUploadedFile("p.pdf", _pdf(3), "application/pdf")})
    assert sent.status_code == 201, sent.content
    row = Attachment.objects.get(pk=sent.json()["id"])
    assert row.by_worker
    with django_capture_on_commit_callbacks(execute=True):
        gone = api.delete(f"{url}/{row.pk}")
    assert gone.status_code == 204, gone.content
    assert not Attachment.objects.filter(pk=row.pk).exists() and not _stored(media, row).exists()
    assert api.get(f"{url}/{row.pk}").status_code == 404
    assert api.delete(f"{url}/{row.pk}").json()["error"]["code"] == "not_found"
    assert api.get(f"/api/v1/applicant/applications/{draft.pk}").json()["attachments"] == []


def test_a_file_stays_once_the_application_is_with_the_union(
    media: Path, worker: Applicant, draft: Application
) -> None:
    row = steps.attachment_add(actor=worker, application_id=draft.pk, name="p.pdf", content=_pdf(4))
    services.application_submit(actor=worker, application_id=draft.pk)
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    assert 'class="remove-file"' not in c.get(f"/apply/{draft.pk}/").content.decode()
    page = c.post(f"/apply/{draft.pk}/attachments/{row.pk}/remove/", follow=True).content.decode()
    assert "This application is with the union now, so its files can no longer be removed" in page
    r = _api(worker).delete(f"/api/v1/applicant/applications/{draft.pk}/attachments/{row.pk}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_draft"
    assert "can no longer be removed" in r.json()["error"]["message"]
    assert Attachment.objects.filter(pk=row.pk).exists() and _stored(media, row).exists()
    assert not ApplicationEvent.objects.filter(action="attachment_removed").exists()


def test_returned_to_the_worker_their_own_files_come_off_not_the_unions(
    media: Path, users: dict[str, Any], worker: Applicant, draft: Application
) -> None:
    mine = steps.attachment_add(actor=worker, application_id=draft.pk, name="mine.pdf", content=_pdf(5))
    services.application_submit(actor=worker, application_id=draft.pk)
    cadre = users["xiangyun_cadre"]
    theirs = steps.attachment_add(actor=cadre, application_id=draft.pk, name="union.pdf", content=_pdf(6))
    assert not theirs.by_worker
    services.application_transition(actor=cadre, application_id=draft.pk, action="return", reason="照片看不清")
    r = _api(worker).delete(f"/api/v1/applicant/applications/{draft.pk}/attachments/{theirs.pk}")
    assert r.status_code == 403 and "added by the union" in r.json()["error"]["message"]
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    page = c.get(f"/apply/{draft.pk}/").content.decode()
    assert f"/attachments/{mine.pk}/remove/" in page and f"/attachments/{theirs.pk}/remove/" not in page
    page = c.post(f"/apply/{draft.pk}/attachments/{theirs.pk}/remove/", follow=True).content.decode()
    assert "This file was added by the union, not by you" in page
    assert Attachment.objects.filter(pk=theirs.pk).exists() and _stored(media, theirs).exists()
    assert c.post(f"/apply/{draft.pk}/attachments/{mine.pk}/remove/").status_code == 302
    assert list(draft.attachments.values_list("pk", flat=True)) == [theirs.pk]


def test_only_the_worker_who_applied_removes_and_staff_do_not_through_this_service(
    users: dict[str, Any], worker: Applicant, draft: Application
) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    row = steps.attachment_add(actor=worker, application_id=draft.pk, name="p.pdf", content=_pdf(7))
    stranger = Applicant.objects.create(phone="13900004444")
    with pytest.raises(Http404):
        steps.attachment_remove(actor=stranger, application_id=draft.pk, attachment_id=row.pk)
    assert sign_in(Client(), stranger).post(f"/apply/{draft.pk}/attachments/{row.pk}/remove/").status_code == 404
    with pytest.raises(PermissionDenied):
        steps.attachment_remove(actor=users["xiangyun_cadre"], application_id=draft.pk, attachment_id=row.pk)
    # Another application's file under this application's id: not found either.
    other = services.application_create(actor=worker, unit_id=draft.unit_id, kind=ApplicationKind.TEMPORARY)
    with pytest.raises(Http404):
        steps.attachment_remove(actor=worker, application_id=other.pk, attachment_id=row.pk)
    assert Attachment.objects.filter(pk=row.pk).exists()


def test_a_stored_file_another_case_shares_stays(
    media: Path, worker: Applicant, draft: Application, django_capture_on_commit_callbacks: Any
) -> None:
    """A formal case converted from a temporary one points at the temporary case's stored files."""
    row = steps.attachment_add(actor=worker, application_id=draft.pk, name="p.pdf", content=_pdf(8))
    other = services.application_create(actor=worker, unit_id=draft.unit_id, kind=ApplicationKind.TEMPORARY)
    Attachment.objects.create(
        application=other, name=row.name, file=row.file.name, content_type=row.content_type, size=row.size,
        sha256=row.sha256, by_worker=True,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        steps.attachment_remove(actor=worker, application_id=draft.pk, attachment_id=row.pk)
    assert callbacks and _stored(media, row).exists()


def test_the_files_already_sent_are_marked_by_who_sent_them_from_the_audit_log(
    users: dict[str, Any], worker: Applicant, draft: Application
) -> None:
    mine = steps.attachment_add(actor=worker, application_id=draft.pk, name="mine.pdf", content=_pdf(9))
    services.application_submit(actor=worker, application_id=draft.pk)
    theirs = steps.attachment_add(
        actor=users["xiangyun_cadre"], application_id=draft.pk, name="u.pdf", content=_pdf(10)
    )
    Attachment.objects.update(by_worker=False)  # as before the column
    migration = importlib.import_module("bangfu.intake.migrations.0015_attachment_by_worker")
    migration.mark_the_workers_files(apps, None)
    assert dict(Attachment.objects.values_list("pk", "by_worker")) == {mine.pk: True, theirs.pk: False}
