"""The declared workflow: every step in the table works for whom it names, every other is refused;
maker-checker; returns and refusals with reasons; the file opened at the end is scoped."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.intake import services, workflow
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Application, ApplicationKind, ApplicationState, Notice
from bangfu.intake.tests.helpers import form_data, submitted, to_state
from bangfu.org import access
from bangfu.registry.models import Household
from bangfu.testing.factories import pdf_file

S = ApplicationState
pytestmark = pytest.mark.django_db(transaction=False)


def test_whole_path_opens_an_active_file_seen_by_the_right_units(
    tree: dict, users: dict[str, Any], standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        app = submitted(tree["xiangyun_g"])
        app = to_state(app, S.REPORTED_UP, users)
    h = Household.objects.get(pk=app.household_id or 0)
    assert h.state == "active"
    assert h.tier == "city"  # approved by the city centre
    assert h.category == "deep"
    assert [e.action for e in app.events.all()][:3] == ["create", "submit", "accept"]
    # The file is visible in the county and above, not in the neighbouring county.
    assert access.scope(users["xiangyun_staff"], Household.objects.all()).filter(pk=h.pk).exists()
    assert not access.scope(users["dalishi_staff"], Household.objects.all()).filter(pk=h.pk).exists()
    notices = list(Notice.objects.filter(applicant=app.applicant).values_list("text", flat=True))
    assert any("approved" in t for t in notices)
    assert AuditEntry.objects.filter(target_type="intake.application", target_id=str(app.pk)).count() >= 10
    assert outbox


@pytest.mark.parametrize("state", [s for s in S.values if s not in {S.DRAFT}])
def test_every_action_outside_the_table_is_refused(
    tree: dict, users: dict[str, Any], standard: Any, state: str
) -> None:
    """At each state, an admin (who may act at every level) gets an invalid-transition error for
    every action the table does not allow there."""
    if state in {S.REFUSED, S.WITHDRAWN}:
        app = submitted(tree["xiangyun_g"])
        reason = "不符合条件"
        action = workflow.REFUSE if state == S.REFUSED else workflow.WITHDRAW
        actor = users["xiangyun_cadre"] if state == S.REFUSED else app.applicant
        app = services.application_transition(actor=actor, application_id=app.pk, action=action, reason=reason)
    else:
        app = to_state(submitted(tree["xiangyun_g"]), state, users)
    assert app.state == state
    for action in workflow.ALL_ACTIONS:
        if workflow.target(app.kind, state, action) is not None:
            continue
        if (state, action) == (S.SUBMITTED, "submit"):
            continue  # a double tap: answered with the submitted case (see test_intake_submit)
        with pytest.raises(DomainError) as err:
            services.application_transition(actor=users["admin"], application_id=app.pk, action=action, reason="x")
        assert err.value.code == services.IntakeError.INVALID_TRANSITION


def test_each_step_only_for_the_roles_the_table_names(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = submitted(tree["xiangyun_g"])
    # A county staff member cannot take the grassroots steps, a cadre not the centre's.
    with pytest.raises(PermissionDenied):
        services.application_transition(actor=users["xiangyun_staff"], application_id=app.pk, action="accept")
    app = to_state(app, S.HIGHER_REVIEW, users)
    with pytest.raises(PermissionDenied):
        services.application_transition(
            actor=users["xiangyun_cadre"], application_id=app.pk, action="higher_review_pass"
        )
    # Outside the jurisdiction the case does not exist; the evaluator can see but not act.
    from django.http import Http404

    with pytest.raises(Http404):
        services.application_transition(
            actor=users["dalishi_staff"], application_id=app.pk, action="higher_review_pass"
        )
    with pytest.raises(PermissionDenied):
        services.application_transition(actor=users["evaluator"], application_id=app.pk, action="higher_review_pass")
    assert Application.objects.get(pk=app.pk).state == S.HIGHER_REVIEW


def test_allowed_actions_per_actor(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = submitted(tree["xiangyun_g"])
    assert services.allowed_actions(users["xiangyun_cadre"], app) == ["accept", "return", "refuse"]
    assert services.allowed_actions(app.applicant, app) == ["withdraw"]
    assert services.allowed_actions(users["xiangyun_staff"], app) == []


def test_every_table_step_works_for_its_role(tree: dict, users: dict[str, Any], standard: Any) -> None:
    """Each forward step of the formal path succeeds (walked by to_state), and so does return and
    refuse at every step under way."""
    for state in sorted(workflow.UNDER_WAY):
        app = to_state(submitted(tree["xiangyun_g"], phone=f"1390000{len(state):04d}"), state, users)
        step = workflow.step_at(app.kind, state)
        assert step is not None
        actor = users["xiangyun_cadre"] if "grassroots_cadre" in step.roles else users["xiangyun_staff"]
        back = services.application_transition(actor=actor, application_id=app.pk, action="return", reason="补充材料")
        assert back.state == workflow.previous(app.kind, state)
        assert [e.reason for e in back.events.all()][-1] == "补充材料"
        if back.state == S.DRAFT:
            continue  # back with the worker: nothing to refuse
        refused = services.application_transition(
            actor=users["admin"], application_id=app.pk, action="refuse", reason="不符合条件"
        )
        assert refused.state == S.REFUSED


def test_return_and_refuse_need_a_reason(tree: dict, users: dict[str, Any]) -> None:
    app = submitted(tree["xiangyun_g"])
    with pytest.raises(ValidationError) as err:
        services.application_transition(actor=users["xiangyun_cadre"], application_id=app.pk, action="refuse")
    assert "reason" in err.value.message_dict


def test_approver_never_the_first_reviewer(tree: dict, users: dict[str, Any], standard: Any) -> None:
    admin = users["admin"]
    app = submitted(tree["xiangyun_g"])
    app = services.application_transition(actor=admin, application_id=app.pk, action="accept")
    app = services.application_transition(actor=admin, application_id=app.pk, action="first_review_pass")
    app = to_state(app, S.APPROVAL, users)
    with pytest.raises(DomainError) as err:
        services.application_transition(actor=admin, application_id=app.pk, action="approve")
    assert err.value.code == services.IntakeError.MAKER_CHECKER
    assert Application.objects.get(pk=app.pk).state == S.APPROVAL
    assert not Household.objects.exists()


def test_approver_never_a_first_reviewer_of_before_a_return(tree: dict, users: dict[str, Any], standard: Any) -> None:
    """A case returned down to the first review and passed there by someone else still keeps its
    first reviewer of before from approving it."""
    admin = users["admin"]
    app = submitted(tree["xiangyun_g"])
    app = services.application_transition(actor=admin, application_id=app.pk, action="accept")
    app = services.application_transition(actor=admin, application_id=app.pk, action="first_review_pass")
    while app.state != S.FIRST_REVIEW:
        app = services.application_transition(actor=admin, application_id=app.pk, action="return", reason="补充材料")
    app = services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="first_review_pass"
    )
    assert app.first_reviewer == users["xiangyun_cadre"]
    app = to_state(app, S.APPROVAL, users)
    assert "approve" not in services.allowed_actions(admin, app)
    with pytest.raises(DomainError) as err:
        services.application_transition(actor=admin, application_id=app.pk, action="approve")
    assert err.value.code == services.IntakeError.MAKER_CHECKER
    assert Application.objects.get(pk=app.pk).state == S.APPROVAL


def test_stale_version_is_a_conflict(tree: dict, users: dict[str, Any]) -> None:
    app = submitted(tree["xiangyun_g"])
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="accept", expected_version=app.version
    )
    with pytest.raises(DomainError) as err:
        services.application_transition(
            actor=users["xiangyun_cadre"],
            application_id=app.pk,
            action="return",
            reason="x",
            expected_version=app.version,
        )
    assert err.value.code == services.IntakeError.CONFLICT


def test_temporary_aid_is_fast_and_converts_without_reentering(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    from bangfu.intake import steps

    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY)
    pdf = pdf_file()
    steps.attachment_add(actor=app.applicant, application_id=app.pk, name="诊断书.pdf", content=pdf)
    app = services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="emergency_accept"
    )
    app = services.application_transition(actor=users["xiangyun_staff"], application_id=app.pk, action="approve")
    h = Household.objects.get(pk=app.household_id or 0)
    assert h.state == "temporary"
    formal = services.application_convert(actor=users["xiangyun_cadre"], application_id=app.pk)
    assert formal.data == app.data and formal.state == S.SUBMITTED
    # The file's own history says where its case went (every step writes to the household's timeline).
    line = h.timeline.get(kind="application_converted")
    assert line.summary == f"{app.reference} → {formal.reference}" and line.data["application_id"] == formal.pk
    # The proof comes with the case, readable from the formal one.
    (proof,) = formal.attachments.all()
    assert proof.name == "诊断书.pdf" and proof.file.open("rb").read() == pdf
    formal = to_state(formal, S.FILE_OPENED, users)
    h.refresh_from_db()
    assert h.state == "active"
    assert Household.objects.count() == 1


def test_a_converted_temporary_case_links_to_its_formal_case_instead_of_offering_to_convert(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    from django.test import Client

    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=app.pk, action="emergency_accept")
    services.application_transition(actor=users["xiangyun_staff"], application_id=app.pk, action="approve")
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    assert "Convert into a formal file" in c.get(f"/applications/{app.pk}/").content.decode()
    formal = services.application_convert(actor=users["xiangyun_cadre"], application_id=app.pk)
    page = c.get(f"/applications/{app.pk}/").content.decode()
    assert "Convert into a formal file" not in page
    assert f'href="/applications/{formal.pk}/">{formal.reference}</a>' in page
    assert app.events.filter(action="converted", reason=formal.reference).exists()
    assert (
        f'href="/applications/{app.pk}/">{app.reference}</a>' in c.get(f"/applications/{formal.pk}/").content.decode()
    )


def test_a_returned_case_makes_its_records_again_before_going_on(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """Returned from the approval to the home visit, the case does not pass the visit, the unit
    review with its notice or the economic check on the records made before the return; each is
    made again. Returned only to the check, the visit and the review stand."""
    from bangfu.intake import steps
    from bangfu.intake.demo import as_if_noticed, as_if_submitted
    from bangfu.intake.steps import VisitInput

    cadre, staff = users["xiangyun_cadre"], users["xiangyun_staff"]
    early = to_state(submitted(tree["xiangyun_g"], phone="13812340003"), S.HOME_VISIT, users)
    early = services.application_transition(actor=cadre, application_id=early.pk, action="return", reason="补充")
    assert services.records_to_make_again(early) == set()  # nothing recorded yet: nothing to make "again"
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    assert services.records_to_make_again(app) == set()
    app = services.application_transition(actor=staff, application_id=app.pk, action="return", reason="补充")
    assert app.state == S.ECONOMIC_CHECK and services.records_to_make_again(app) == {S.ECONOMIC_CHECK}
    with pytest.raises(DomainError, match="economic check"):
        services.application_transition(actor=staff, application_id=app.pk, action="check_done")
    for _state in range(3):  # back down to the home visit
        actor = cadre if app.state == S.UNIT_REVIEW else staff
        app = services.application_transition(actor=actor, application_id=app.pk, action="return", reason="补充")
    assert app.state == S.HOME_VISIT
    assert services.records_to_make_again(app) == {S.HOME_VISIT, S.UNIT_REVIEW, S.ECONOMIC_CHECK}
    with pytest.raises(DomainError, match="home visit"):
        services.application_transition(actor=cadre, application_id=app.pk, action="visit_done")
    as_if_submitted(app, 40)
    day = timezone.localdate() - dt.timedelta(days=10)
    visit = VisitInput(
        visited_on=day, visitors="王干事", seen="家中简陋", asked="收入", explained="政策", findings="属实"
    )
    steps.home_visit_record(actor=cadre, application_id=app.pk, visit=visit)
    app = services.application_transition(actor=cadre, application_id=app.pk, action="visit_done")
    with pytest.raises(DomainError, match="unit review"):
        services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")
    steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=day, minutes="同意")
    as_if_noticed(Application.objects.get(pk=app.pk))
    app = services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")
    app = services.application_transition(actor=staff, application_id=app.pk, action="higher_review_pass")
    assert services.records_to_make_again(app) == {S.ECONOMIC_CHECK}
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    app = services.application_transition(actor=staff, application_id=app.pk, action="check_done")
    assert app.state == S.APPROVAL and services.records_to_make_again(app) == set()


def test_who_accepted_the_emergency_may_not_approve_the_formal_case_made_from_it(
    tree: dict, users: dict[str, Any], standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Accepting an emergency is the temporary case's first review; the formal case converted from
    it keeps that: its acceptor may not approve the formal one either, and the page says why."""
    from bangfu.intake.messaging import outbox

    county, cadre = users["xiangyun_staff"], users["xiangyun_cadre"]
    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY, phone="13812340002")
    app = services.application_transition(actor=county, application_id=app.pk, action="emergency_accept")
    app = services.application_transition(actor=users["dali_staff"], application_id=app.pk, action="approve")
    with django_capture_on_commit_callbacks(execute=True):
        formal = services.application_convert(actor=cadre, application_id=app.pk)
    assert any(formal.reference in text for _to, text in outbox)  # the worker is told
    formal = to_state(formal, S.APPROVAL, users)
    assert services.approval_barred(county, formal) and "approve" not in services.allowed_actions(county, formal)
    assert services.approval_barred(county, formal).startswith("You accepted as an emergency the temporary aid")
    with pytest.raises(DomainError) as err:
        services.application_transition(actor=county, application_id=formal.pk, action="approve")
    assert err.value.code == services.IntakeError.MAKER_CHECKER
    assert not services.approval_barred(users["dali_staff"], formal)


def test_a_conversion_the_worker_withdrew_is_not_made_again_by_staff(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """The worker withdrew the formal case made from their temporary aid; staff converted the
    temporary case again, and a new formal case stood submitted in the worker's name."""
    from django.test import Client

    from bangfu.common.errors import DomainError

    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=app.pk, action="emergency_accept")
    services.application_transition(actor=users["xiangyun_staff"], application_id=app.pk, action="approve")
    formal = services.application_convert(actor=users["xiangyun_cadre"], application_id=app.pk)
    services.application_transition(actor=app.applicant, application_id=formal.pk, action="withdraw")
    with pytest.raises(DomainError) as caught:
        services.application_convert(actor=users["xiangyun_staff"], application_id=app.pk)
    assert caught.value.code == "conflict" and "The worker withdrew" in caught.value.message
    assert formal.reference in caught.value.message
    assert app.conversions.count() == 1
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    page = c.get(f"/applications/{app.pk}/").content.decode()
    assert "Convert into a formal file" not in page and "The worker withdrew the formal case made from it" in page
    # Refused, the formal path may be taken again from the temporary case.
    other = submitted(tree["xiangyun_g"], phone="13900002222", kind=ApplicationKind.TEMPORARY)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=other.pk, action="emergency_accept")
    services.application_transition(actor=users["xiangyun_staff"], application_id=other.pk, action="approve")
    first = services.application_convert(actor=users["xiangyun_cadre"], application_id=other.pk)
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=first.pk, action="refuse", reason="材料不全"
    )
    assert services.application_convert(actor=users["xiangyun_cadre"], application_id=other.pk).pk != first.pk


def test_maker_checker_names_what_the_user_did_and_is_a_403(tree: dict, users: dict[str, Any], standard: Any) -> None:
    """Who accepted a temporary case as an emergency is told that, not "you submitted or first
    reviewed it"; the API answers 403 (another person may approve it), the page the same words."""
    from bangfu.intake.tests.helpers import staff_api, staff_page

    county = users["xiangyun_staff"]
    app = submitted(tree["xiangyun_g"], kind=ApplicationKind.TEMPORARY, phone="13812340003")
    app = services.application_transition(actor=county, application_id=app.pk, action="emergency_accept")
    said = "You accepted this application as an emergency; someone else must approve it."
    assert services.approval_barred(county, app) == said
    r = staff_api(county).post(
        f"/api/v1/applications/{app.pk}/transition", {"action": "approve"}, content_type="application/json"
    )
    assert r.status_code == 403, r.content
    assert r.json()["error"]["code"] == "maker_checker" and r.json()["error"]["message"] == said
    page = staff_page(county).get(f"/applications/{app.pk}/").content.decode()
    assert said in page and "submitted or first reviewed" not in page
    app.refresh_from_db()
    assert app.state == S.APPROVAL


def test_maker_checker_names_a_submission_and_a_first_review(tree: dict, users: dict[str, Any], standard: Any) -> None:
    cadre = users["xiangyun_cadre"]
    app = services.application_create(
        actor=cadre, unit_id=tree["xiangyun_g"].pk, kind=ApplicationKind.TEMPORARY, form=form_data(tree["xiangyun_g"])
    )
    app = services.application_submit(actor=cadre, application_id=app.pk)
    assert services.maker_checker_refusal(cadre, app).startswith("You submitted this application")
    formal = submitted(tree["xiangyun_g"], phone="13812340004")
    formal = services.application_transition(actor=cadre, application_id=formal.pk, action="accept")
    formal = services.application_transition(actor=cadre, application_id=formal.pk, action="first_review_pass")
    assert services.maker_checker_refusal(cadre, formal).startswith("You did this application's first review")
    assert services.maker_checker_refusal(users["dali_staff"], formal) == ""
