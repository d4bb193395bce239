"""A step's record is made once for the case as it stands: the checking centre's answer, the unit
review, an objection's answer are not made again (409 naming the one recorded) unless the case
came back to the step; the same visit, check request or file sent twice is not kept twice; the
earlier record is in the audit entry of the one that replaces it."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.intake import services, steps
from bangfu.intake.demo import as_if_submitted
from bangfu.intake.models import Application, ApplicationState, CheckResult
from bangfu.intake.tests.helpers import submitted, to_state

S = ApplicationState
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def _at_check(tree: dict, users: dict[str, Any]) -> Application:
    app = to_state(submitted(tree["xiangyun_g"]), S.ECONOMIC_CHECK, users)
    staff = users["xiangyun_staff"]
    steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    return steps.check_request(actor=staff, application_id=app.pk)


def _last_audit(app: Application, action: str) -> AuditEntry:
    entry = (
        AuditEntry.objects.filter(target_type="intake.application", target_id=str(app.pk), after__action=action)
        .order_by("-pk")
        .first()
    )
    assert entry is not None
    return entry


def test_the_checks_answer_is_recorded_once_per_request(tree: dict, users: dict[str, Any]) -> None:
    app = _at_check(tree, users)
    staff = users["xiangyun_staff"]
    steps.check_answer(actor=staff, application_id=app.pk, passed=False, note="名下有车")
    with pytest.raises(DomainError) as caught:
        steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    assert caught.value.code == "conflict"
    assert "already recorded" in caught.value.message and "Not passed" in caught.value.message
    app.refresh_from_db()
    assert (app.check_result, app.check_note) == (CheckResult.FAILED, "名下有车")
    assert app.events.filter(action="check_answered").count() == 1
    # Nor is it put aside by a new request (back to pending), for a later answer to replace it.
    with pytest.raises(DomainError) as caught:
        steps.check_request(actor=staff, application_id=app.pk)
    assert caught.value.code == "conflict"
    app.refresh_from_db()
    assert app.check_result == CheckResult.FAILED


def test_the_check_is_requested_once_while_it_is_pending(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app = _at_check(tree, users)
    with django_capture_on_commit_callbacks() as jobs, pytest.raises(DomainError) as caught:
        steps.check_request(actor=users["xiangyun_staff"], application_id=app.pk)
    assert caught.value.code == "conflict" and "awaits" in caught.value.message
    assert not jobs
    assert app.events.filter(action="check_requested").count() == 1


def test_the_check_is_answered_again_when_the_case_came_back_to_it(tree: dict, users: dict[str, Any]) -> None:
    app = _at_check(tree, users)
    staff, approver = users["xiangyun_staff"], users["dali_staff"]
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    services.application_transition(actor=staff, application_id=app.pk, action="check_done")
    services.application_transition(actor=approver, application_id=app.pk, action="return", reason="再核一次")
    steps.check_answer(actor=staff, application_id=app.pk, passed=False, note="新的答复：有房")
    entry = _last_audit(app, "check_answered")
    assert (entry.before or {})["result"] == CheckResult.PASSED
    assert (entry.after or {})["result"] == CheckResult.FAILED
    with pytest.raises(DomainError):  # made again once; not a third time
        steps.check_answer(actor=staff, application_id=app.pk, passed=True)


def test_the_check_is_requested_again_when_the_case_came_back_to_it(tree: dict, users: dict[str, Any]) -> None:
    app = _at_check(tree, users)
    staff, approver = users["xiangyun_staff"], users["dali_staff"]
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    services.application_transition(actor=staff, application_id=app.pk, action="check_done")
    services.application_transition(actor=approver, application_id=app.pk, action="return", reason="再核一次")
    steps.check_request(actor=staff, application_id=app.pk)
    entry = _last_audit(app, "check_requested")
    assert (entry.before or {}).get("result") == CheckResult.PASSED  # the answer put aside is kept
    steps.check_answer(actor=staff, application_id=app.pk, passed=False, note="新的答复：有房")
    app.refresh_from_db()
    assert app.check_result == CheckResult.FAILED


def _at_unit_review(tree: dict, users: dict[str, Any]) -> Application:
    app = submitted(tree["xiangyun_g"])
    as_if_submitted(app, 30)
    app = to_state(app, S.HOME_VISIT, users)
    cadre = users["xiangyun_cadre"]
    visit = steps.VisitInput(TODAY() - dt.timedelta(days=25), "王干事", "老旧公房", "收入与病情", "帮扶政策", "属实")
    steps.home_visit_record(actor=cadre, application_id=app.pk, visit=visit)
    return services.application_transition(actor=cadre, application_id=app.pk, action="visit_done")


def test_the_unit_review_is_recorded_once(tree: dict, users: dict[str, Any]) -> None:
    app = _at_unit_review(tree, users)
    cadre = users["xiangyun_cadre"]
    steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=TODAY(), minutes="全体同意")
    with pytest.raises(DomainError) as caught:
        steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=TODAY(), minutes="改过的纪要")
    assert caught.value.code == "conflict" and "already recorded" in caught.value.message
    app.refresh_from_db()
    assert app.unit_review_minutes == "全体同意"


def test_an_objection_is_answered_once_and_its_answer_is_kept(tree: dict, users: dict[str, Any]) -> None:
    app = _at_unit_review(tree, users)
    cadre = users["xiangyun_cadre"]
    row = steps.objection_record(actor=cadre, application_id=app.pk, received_on=TODAY(), text="他家有车")
    steps.objection_answer(actor=cadre, application_id=app.pk, objection_id=row.pk, answer="车已报废，见证明")
    with pytest.raises(DomainError) as caught:
        steps.objection_answer(actor=cadre, application_id=app.pk, objection_id=row.pk, answer="另一个答复")
    assert caught.value.code == "conflict" and "already answered" in caught.value.message
    row.refresh_from_db()
    assert row.answer == "车已报废，见证明"
    assert (_last_audit(app, "objection_answered").after or {})["answer"] == "车已报废，见证明"
    assert app.events.get(action="objection_answered").reason == "车已报废，见证明"


def test_the_same_visit_twice_is_one_visit(tree: dict, users: dict[str, Any]) -> None:
    app = submitted(tree["xiangyun_g"])
    as_if_submitted(app, 30)
    app = to_state(app, S.HOME_VISIT, users)
    cadre = users["xiangyun_cadre"]
    visit = steps.VisitInput(TODAY(), "王干事", "老旧公房", "收入与病情", "帮扶政策", "属实")
    first = steps.home_visit_record(actor=cadre, application_id=app.pk, visit=visit)
    again = steps.home_visit_record(actor=cadre, application_id=app.pk, visit=visit)
    assert again.pk == first.pk
    assert app.visits.count() == 1 and app.events.filter(action="visit_recorded").count() == 1
    other = steps.VisitInput(TODAY(), "王干事", "老旧公房", "收入与病情", "帮扶政策", "另有发现")
    steps.home_visit_record(actor=cadre, application_id=app.pk, visit=other)
    assert app.visits.count() == 2


def _png(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


def test_the_same_file_is_attached_once_and_a_case_holds_at_most_so_many(
    tree: dict, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = submitted(tree["xiangyun_g"])
    cadre = users["xiangyun_cadre"]
    first = steps.attachment_add(actor=cadre, application_id=app.pk, name="a.png", content=_png("red"))
    again = steps.attachment_add(actor=cadre, application_id=app.pk, name="b.png", content=_png("red"))
    assert again.pk == first.pk and app.attachments.count() == 1
    monkeypatch.setattr(steps, "MAX_ATTACHMENTS", 2)
    steps.attachment_add(actor=cadre, application_id=app.pk, name="c.png", content=_png("blue"))
    with pytest.raises(steps.ValidationError) as caught:
        steps.attachment_add(actor=cadre, application_id=app.pk, name="d.png", content=_png("green"))
    assert "at most 2 files" in caught.value.message_dict["file"][0]
    assert app.attachments.count() == 2


def test_a_case_page_never_answers_another_cases_objection(tree: dict, users: dict[str, Any]) -> None:
    """The case page's answer form took any objection's id: posted on one case, it answered an
    objection of another case of the same union (the API's answer was already scoped to its case)."""
    from django.http import Http404
    from django.test import Client

    cadre = users["xiangyun_cadre"]
    first = _at_unit_review(tree, users)
    row = steps.objection_record(actor=cadre, application_id=first.pk, received_on=TODAY(), text="他家有车")
    second = submitted(tree["xiangyun_g"], phone="13900001234")
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(cadre)
    r = c.post(f"/applications/{second.pk}/objection/", {"objection_id": str(row.pk), "answer": "答复"})
    assert r.status_code == 404
    with pytest.raises(Http404):
        steps.objection_answer(actor=cadre, application_id=second.pk, objection_id=row.pk, answer="答复")
    row.refresh_from_db()
    assert row.answered_at is None and not first.events.filter(action="objection_answered").exists()
    # Left empty, the answer is asked for by name; answered on its own case, it is kept.
    r = c.post(f"/applications/{first.pk}/objection/", {"objection_id": str(row.pk), "answer": "\u200b "}, follow=True)
    assert "Write the answer to the objection." in r.content.decode()
    c.post(f"/applications/{first.pk}/objection/", {"objection_id": str(row.pk), "answer": "车已报废"})
    row.refresh_from_db()
    assert row.answer == "车已报废"
