"""A file the union uploaded by mistake (the wrong person's ID card photographed at the counter, a
home-visit photo of the wrong house) comes off the case: the one who uploaded it, or a colleague of
their union, while the case is at a step their role takes, on the case page (a question first, no
script needed) or through the API, saying why. Nothing is destroyed: the file is no longer part of
the case but is kept, with who removed it, when and why, and the case's history and the audit log
say so. Each refusal says why, and nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from bangfu.common.models import AuditEntry
from bangfu.intake import services, steps
from bangfu.intake.models import Application, ApplicationEvent, Attachment, AttachmentKind
from bangfu.intake.tests.helpers import sign_in, staff_api, staff_page, submitted, to_state
from bangfu.org.models import Role
from bangfu.testing.factories import pdf_file, user_with_role

pytestmark = pytest.mark.django_db


def _remove(user: Any, app: Application, row: Attachment, reason: str = "拍错了人的身份证") -> Any:
    return staff_api(user).post(
        f"/api/v1/applications/{app.pk}/attachments/{row.pk}/remove",
        {"reason": reason},
        content_type="application/json",
    )


@pytest.fixture
def case(tree: dict, users: dict[str, Any]) -> Application:
    app = submitted(tree["xiangyun_g"], phone="13900007777")
    return to_state(app, "first_review", users)


def _add(user: Any, app: Application, n: int, kind: str = AttachmentKind.PROOF) -> Attachment:
    return steps.attachment_add(
        actor=user, application_id=app.pk, name=f"f{n}.pdf", content=pdf_file(filler=n), kind=kind
    )


def _stored(media: Path, row: Attachment) -> Path:
    return media / str(row.file.name)


def test_the_uploader_removes_a_wrong_file_on_the_case_page_and_it_is_kept(
    media: Path, users: dict[str, Any], case: Application
) -> None:
    cadre = users["xiangyun_cadre"]
    worker_proof = _add(case.applicant, case, 1)
    wrong = steps.attachment_add(actor=cadre, application_id=case.pk, name="张三身份证.pdf", content=pdf_file(filler=2))
    assert wrong.uploaded_by_id == cadre.pk and not wrong.by_worker
    c = staff_page(cadre)
    page = c.get(f"/applications/{case.pk}/").content.decode()
    # A question behind a tap on "Remove" for the union's file only, naming it for a screen reader.
    assert page.count('<details class="remove-file">') == 1
    assert f'action="/applications/{case.pk}/attachments/{wrong.pk}/remove/"' in page
    assert f"/attachments/{worker_proof.pk}/remove/" not in page
    assert '<span class="visually-hidden"> 张三身份证.pdf</span>' in page
    r = c.post(f"/applications/{case.pk}/attachments/{wrong.pk}/remove/", {"reason": "拍错了人的身份证"}, follow=True)
    page = r.content.decode()
    assert "The file was removed from the case; it is kept for audit." in page
    # No longer part of the case, but kept: the row, its stored file, who, when and why.
    assert f'href="/attachments/{wrong.pk}/"' not in page  # not downloaded from the case
    assert 'id="removed-files"' in page and "拍错了人的身份证" in page
    wrong.refresh_from_db()
    assert wrong.removed_at is not None and wrong.removed_by_id == cadre.pk
    assert wrong.removed_reason == "拍错了人的身份证" and _stored(media, wrong).exists()
    assert c.get(f"/attachments/{wrong.pk}/").status_code == 404
    # The history says so (with the name and the reason), and so does the audit log (without the name).
    event = ApplicationEvent.objects.get(application=case, action="attachment_removed")
    assert event.reason == "“张三身份证.pdf”: 拍错了人的身份证" and event.actor_id == cadre.pk
    entry = AuditEntry.objects.get(
        target_type="intake.application", target_id=str(case.pk), after__action="attachment_removed"
    )
    assert entry.before == {"attachment": wrong.pk, "kind": "proof", "size": wrong.size, "sha256": wrong.sha256}
    assert entry.after == {"action": "attachment_removed", "kept": True}
    assert entry.note == "拍错了人的身份证" and entry.actor_id == cadre.pk
    # Who reads the audit log may still download it (logged as such); the worker no longer sees it.
    manager = staff_page(users["province_manager"])
    assert f'href="/attachments/{wrong.pk}/"' in manager.get(f"/applications/{case.pk}/").content.decode()
    assert manager.get(f"/attachments/{wrong.pk}/").status_code == 200
    assert AuditEntry.objects.filter(target_type="intake.attachment", target_id=str(wrong.pk), after__removed=True)
    assert case.applicant is not None
    phone = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), case.applicant).get(f"/apply/{case.pk}/").content.decode()
    assert "张三身份证.pdf" not in phone.split('id="proofs"')[1].split("</ul>")[0]
    # Sent again (Back, then the button): no such file on the case any more.
    assert c.post(f"/applications/{case.pk}/attachments/{wrong.pk}/remove/", {"reason": "x"}).status_code == 404


def test_a_colleague_removes_it_through_the_api_and_the_case_no_longer_lists_it(
    tree: dict, users: dict[str, Any], case: Application
) -> None:
    colleague = user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "xiangyun_cadre2")
    wrong = _add(users["xiangyun_cadre"], case, 3, AttachmentKind.VISIT_PHOTO)
    r = _remove(colleague, case, wrong, "  错拍了邻居家  ")
    assert r.status_code == 200, r.content
    assert r.json()["removed_by"] == "xiangyun_cadre2" and r.json()["removed_reason"] == "错拍了邻居家"
    got = staff_api(colleague).get(f"/api/v1/applications/{case.pk}").json()
    assert got["attachments"] == [] and [a["id"] for a in got["removed_attachments"]] == [wrong.pk]
    assert staff_api(colleague).get(f"/api/v1/applications/{case.pk}/attachments/{wrong.pk}").status_code == 404
    assert _remove(colleague, case, wrong).json()["error"]["code"] == "not_found"
    # The same file sent again is attached again (the removed one does not answer for it).
    again = _add(colleague, case, 3, AttachmentKind.VISIT_PHOTO)
    assert again.pk != wrong.pk and again.removed_at is None


def test_the_reason_is_required(users: dict[str, Any], case: Application) -> None:
    cadre = users["xiangyun_cadre"]
    row = _add(cadre, case, 4)
    r = _remove(cadre, case, row, "   ")
    assert r.status_code == 422 and r.json()["error"]["fields"]["reason"] == ["Say why the file is removed."]
    page = staff_page(cadre).post(f"/applications/{case.pk}/attachments/{row.pk}/remove/", {"reason": ""}, follow=True)
    assert "Say why the file is removed." in page.content.decode()
    row.refresh_from_db()
    assert row.removed_at is None and not ApplicationEvent.objects.filter(action="attachment_removed").exists()


def test_a_reason_longer_than_kept_is_refused_alike_on_the_page_and_the_api(
    users: dict[str, Any], case: Application
) -> None:
    cadre = users["xiangyun_cadre"]
    row = _add(cadre, case, 5)
    too_long = "错" * (steps.REMOVAL_REASON_MAX + 1)
    r = _remove(cadre, case, row, too_long)
    assert r.status_code == 422 and list(r.json()["error"]["fields"]) == ["reason"]
    assert str(steps.REMOVAL_REASON_MAX) in r.json()["error"]["fields"]["reason"][0]
    page = staff_page(cadre).post(
        f"/applications/{case.pk}/attachments/{row.pk}/remove/", {"reason": too_long}, follow=True
    )
    assert f"Say it in at most {steps.REMOVAL_REASON_MAX} characters." in page.content.decode()
    row.refresh_from_db()
    assert row.removed_at is None and not ApplicationEvent.objects.filter(action="attachment_removed").exists()
    assert _remove(cadre, case, row, "错" * steps.REMOVAL_REASON_MAX).status_code == 200
    # The API's schema says the limit the service keeps (it said 1,000).
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["RemoveIn"]
    assert schema["properties"]["reason"]["maxLength"] == steps.REMOVAL_REASON_MAX


def test_refused_at_a_step_the_role_does_not_take(users: dict[str, Any], case: Application) -> None:
    cadre = users["xiangyun_cadre"]
    row = _add(cadre, case, 5)
    app = to_state(case, "higher_review", users)  # the county centre's step now
    r = _remove(cadre, app, row)
    assert r.status_code == 403, r.content
    assert "at the step “Higher review”, which your role does not take" in r.json()["error"]["message"]
    page = staff_page(cadre)
    assert 'class="remove-file"' not in page.get(f"/applications/{app.pk}/").content.decode()
    said = page.post(f"/applications/{app.pk}/attachments/{row.pk}/remove/", {"reason": "x"}, follow=True)
    assert "which your role does not take" in said.content.decode()
    row.refresh_from_db()
    assert row.removed_at is None


def test_refused_for_a_file_of_another_union(tree: dict, users: dict[str, Any], case: Application) -> None:
    """At the higher review the county's and the city's centres both take the step: the city's
    staff do not remove what the county's uploaded."""
    app = to_state(case, "higher_review", users)
    county = users["xiangyun_staff"]
    row = _add(county, app, 6, AttachmentKind.CHECK_ANSWER)
    r = _remove(users["dali_staff"], app, row)
    assert r.status_code == 403, r.content
    assert "uploaded by xiangyun_staff, of another union" in r.json()["error"]["message"]
    # Outside the jurisdiction altogether: no such case.
    assert _remove(users["dalishi_staff"], app, row).status_code == 404
    row.refresh_from_db()
    assert row.removed_at is None
    assert _remove(county, app, row).status_code == 200


def test_refused_for_the_workers_own_file(users: dict[str, Any], case: Application) -> None:
    proof = _add(case.applicant, case, 7)
    r = _remove(users["xiangyun_cadre"], case, proof)
    assert r.status_code == 403
    assert "sent by the worker: staff do not remove it" in r.json()["error"]["message"]
    assert "return the case to the worker for correction" in r.json()["error"]["message"]
    proof.refresh_from_db()
    assert proof.removed_at is None


def test_refused_for_a_file_of_another_case(tree: dict, users: dict[str, Any], case: Application) -> None:
    cadre = users["xiangyun_cadre"]
    other = to_state(submitted(tree["xiangyun_g"], phone="13900008888"), "first_review", users)
    theirs = _add(cadre, other, 8)
    r = _remove(cadre, case, theirs)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    with pytest.raises(services.Http404):
        steps.attachment_remove_by_staff(actor=cadre, application_id=case.pk, attachment_id=theirs.pk, reason="x")
    theirs.refresh_from_db()
    assert theirs.removed_at is None


def test_refused_once_returned_to_the_worker_or_closed(users: dict[str, Any], case: Application) -> None:
    cadre = users["xiangyun_cadre"]
    row = _add(cadre, case, 9)
    services.application_transition(actor=cadre, application_id=case.pk, action="return", reason="补材料")
    services.application_transition(actor=cadre, application_id=case.pk, action="return", reason="补材料")
    r = _remove(cadre, case, row)
    assert r.status_code == 409 and "with the worker for correction" in r.json()["error"]["message"]
    services.application_submit(actor=case.applicant, application_id=case.pk)
    services.application_transition(actor=cadre, application_id=case.pk, action="refuse", reason="不符合条件")
    r = _remove(cadre, case, row)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert "closed (“Refused”)" in r.json()["error"]["message"]
    row.refresh_from_db()
    assert row.removed_at is None


def test_the_uploaders_of_the_files_already_there_are_named_from_the_audit_log(
    users: dict[str, Any], case: Application
) -> None:
    import importlib

    from django.apps import apps

    cadre = users["xiangyun_cadre"]
    mine = _add(case.applicant, case, 10)
    theirs = _add(cadre, case, 11)
    Attachment.objects.update(uploaded_by=None)  # as before the column
    migration = importlib.import_module("bangfu.intake.migrations.0016_attachment_uploaded_by_removed")
    migration.name_the_uploaders(apps, None)
    assert dict(Attachment.objects.values_list("pk", "uploaded_by")) == {mine.pk: None, theirs.pk: cadre.pk}


def test_the_case_page_weighs_who_may_remove_each_file_in_a_fixed_number_of_queries(
    media: Path, tree: dict, users: dict[str, Any], case: Application
) -> None:
    """Whether a file may be removed depends on its uploader's unions: read once per file, a full
    case (30 files) cost 30 more queries than a case with one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cadre = users["xiangyun_cadre"]
    colleague = user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "xiangyun_cadre_2")
    uploaders = [colleague, users["xiangyun_staff"]]
    _add(colleague, case, 0)
    c = staff_page(cadre)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            page = c.get(f"/applications/{case.pk}/").content.decode()
        return len(captured), page.count('<details class="remove-file">')

    one, removable = queries()
    assert removable == 1
    for n in range(1, steps.MAX_ATTACHMENTS):
        _add(uploaders[n % 2], case, n)
    assert queries() == (one, steps.MAX_ATTACHMENTS // 2)
