"""The words a case's history and the worker's notices use: a withdrawal is said to be one, as the
worker asked; the temporary case says when the formal case made from it was withdrawn (it kept
"being made a formal case"); the formal case's first line names the temporary aid it was made
from (not a bare "Submitted"); the approval's error about the category names the identification's
result as its box does (识别结果)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from bangfu.intake import otp, services
from bangfu.intake.models import Applicant, Application, ApplicationState, Notice
from bangfu.intake.selectors import application_decision
from bangfu.intake.tests.helpers import converted_temporary, sign_in, staff_page, submitted, to_state
from bangfu.testing.catalog import translated

pytestmark = pytest.mark.django_db
S = ApplicationState


def _notices(worker: Applicant) -> list[Notice]:
    return list(Notice.objects.filter(applicant=worker).order_by("pk"))


def test_the_worker_is_told_the_withdrawal_they_asked_for(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app = submitted(tree["xiangyun_g"])
    worker = app.applicant
    assert worker is not None
    with django_capture_on_commit_callbacks(execute=True):
        services.application_transition(actor=worker, application_id=app.pk, action="withdraw")
    notice = _notices(worker)[-1]
    assert notice.msgid == "Your application %(ref)s was withdrawn, as you asked."
    with translation.override("en"):
        assert notice_said(notice) == f"Your application {app.reference} was withdrawn, as you asked."
    with (
        translation.override("zh-hans"),
        translated(
            "zh-hans", "Your application %(ref)s was withdrawn, as you asked.", "您的申请%(ref)s已按您的要求撤回。"
        ),
    ):
        assert notice_said(notice) == f"您的申请{app.reference}已按您的要求撤回。"


def notice_said(notice: Notice) -> str:
    return services.notice_text(notice.msgid, notice.params)


def _phone_lines(worker: Applicant, app: Application) -> list[str]:
    page = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker).get(f"/apply/{app.pk}/").content.decode()
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    return [" ".join(li.split()) for li in timeline.split("<li")[1:]]


def test_a_converted_case_names_its_temporary_aid_and_the_temporary_case_its_withdrawal(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    temp, formal = converted_temporary(tree, users, users["xiangyun_staff"], "13912340002")
    worker = formal.applicant
    assert worker is not None
    # The formal case's first line: made from the temporary aid, named (page and API).
    first = _phone_lines(worker, formal)[0]
    assert f"Made from the temporary aid {temp.reference}" in first and "Submitted" not in first
    token = otp.token_for(worker)
    mine = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        f"/api/v1/applicant/applications/{formal.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert mine.json()["events"][0]["label"] == f"Made from the temporary aid {temp.reference}"
    # The temporary case: made into a formal case, then (the worker withdrawing it) said so.
    assert any(
        "Made into a formal application" in line and formal.reference in line for line in _phone_lines(worker, temp)
    )
    services.application_transition(actor=worker, application_id=formal.pk, action="withdraw")
    lines = _phone_lines(worker, temp)
    assert "The worker withdrew the formal application made from it" in lines[-1] and formal.reference in lines[-1]
    assert not any("Being made a formal case" in line for line in lines)


def test_the_temporary_case_says_the_formal_case_made_from_it_was_refused(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    temp, formal = converted_temporary(tree, users, users["xiangyun_staff"], "13912340002")
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=formal.pk, action="refuse", reason="不符合条件"
    )
    last = Application.objects.get(pk=temp.pk).events.order_by("pk").last()
    assert last is not None and (last.action, last.reason) == ("conversion_refused", formal.reference)
    with translation.override("en"):
        assert last.label == "The formal application made from it was refused"


def test_the_category_error_of_the_approval_names_the_identification_as_its_box(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    decided = application_decision(app)
    other = next(c for c in services.APPROVAL_CATEGORIES if decided is None or c != str(decided.category))
    page = staff_page(users["dali_staff"])
    page.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    with translated(
        "zh-hans",
        "The category differs from the identification: give the reason for the file's history.",
        "所选类别与识别结果不同：请填写理由，记入档案历史。",
    ):
        shown = page.post(
            f"/applications/{app.pk}/act/",
            {"action": "approve", "category": other, "reason": "", "version": app.version},
            follow=True,
        ).content.decode()
    error = shown.split('id="reason-approve-error"')[1].split("</div>")[0]
    assert "识别结果" in error and "认定结果" not in error
    assert "类别与识别结果不同时填写" in shown  # the box's label, in the same words
