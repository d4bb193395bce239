"""The steps cannot be dated so as to skip what they stand for: a visit before the application, a
public notice ended before anyone could read it, an objection from the future; the economic
check is done only once the checking centre has answered; a new file is approved in a current
category, and in another than the identification's only with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bangfu.common.errors import DomainError
from bangfu.intake import services, steps
from bangfu.intake.demo import as_if_noticed, as_if_submitted
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import submitted, to_state
from bangfu.registry.models import Household

S = ApplicationState
pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def _visit(on: dt.date) -> steps.VisitInput:
    return steps.VisitInput(on, "王干事", "老旧公房", "收入与病情", "帮扶政策", "情况属实")


def test_a_visit_cannot_be_dated_before_the_application(tree: dict, users: dict[str, Any]) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.HOME_VISIT, users)
    cadre = users["xiangyun_cadre"]
    with pytest.raises(ValidationError) as caught:
        steps.home_visit_record(actor=cadre, application_id=app.pk, visit=_visit(TODAY() - dt.timedelta(days=1)))
    assert list(caught.value.message_dict) == ["visited_on"]
    assert not app.visits.exists()
    steps.home_visit_record(actor=cadre, application_id=app.pk, visit=_visit(TODAY()))
    assert app.visits.count() == 1


def _at_unit_review(tree: dict, users: dict[str, Any]) -> Application:
    app = submitted(tree["xiangyun_g"])
    as_if_submitted(app, 30)
    app = to_state(app, S.HOME_VISIT, users)
    steps.home_visit_record(
        actor=users["xiangyun_cadre"], application_id=app.pk, visit=_visit(TODAY() - dt.timedelta(days=25))
    )
    return services.application_transition(actor=users["xiangyun_cadre"], application_id=app.pk, action="visit_done")


def test_a_review_dated_back_does_not_end_the_notice(tree: dict, users: dict[str, Any]) -> None:
    app = _at_unit_review(tree, users)
    cadre = users["xiangyun_cadre"]
    held = TODAY() - dt.timedelta(days=20)
    app = steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=held, minutes="同意")
    # The notice is posted once the review is recorded: from tomorrow, for the configured 7 days.
    assert (app.notice_from, app.notice_to) == (TODAY() + dt.timedelta(days=1), TODAY() + dt.timedelta(days=7))
    assert app.unit_review_on == held
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")
    assert "has not ended" in caught.value.message
    as_if_noticed(app)
    assert services.application_transition(actor=cadre, application_id=app.pk, action="notice_done").state == (
        S.HIGHER_REVIEW
    )


def test_an_objection_is_dated_between_the_application_and_today(tree: dict, users: dict[str, Any]) -> None:
    app = _at_unit_review(tree, users)
    cadre = users["xiangyun_cadre"]
    for day in (TODAY() + dt.timedelta(days=1), TODAY() - dt.timedelta(days=31)):
        with pytest.raises(ValidationError) as caught:
            steps.objection_record(actor=cadre, application_id=app.pk, received_on=day, text="有车")
        assert list(caught.value.message_dict) == ["received_on"]
    with pytest.raises(ValidationError) as caught:
        steps.objection_record(actor=cadre, application_id=app.pk, received_on=None, text=" ")
    assert set(caught.value.message_dict) == {"received_on", "text"}
    assert not app.objections.exists()
    steps.objection_record(actor=cadre, application_id=app.pk, received_on=TODAY(), text="有车")
    assert app.objections.count() == 1


def test_the_check_is_done_only_once_answered(tree: dict, users: dict[str, Any]) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.ECONOMIC_CHECK, users)
    staff = users["xiangyun_staff"]
    steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    steps.check_request(actor=staff, application_id=app.pk)
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=staff, application_id=app.pk, action="check_done")
    assert "not answered" in caught.value.message
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    assert services.application_transition(actor=staff, application_id=app.pk, action="check_done").state == (
        S.APPROVAL
    )


@pytest.mark.parametrize("category", ["legacy_dibao", "legacy_dibao_edge", "legacy_accident", "nonsense"])
def test_a_new_file_is_not_approved_in_a_pre_2018_category(
    tree: dict, users: dict[str, Any], standard: Any, category: str
) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    with pytest.raises(ValidationError) as caught:
        services.application_transition(
            actor=users["dali_staff"], application_id=app.pk, action="approve", category=category, reason="见材料"
        )
    assert list(caught.value.message_dict) == ["category"]
    assert not Household.objects.exists()


def test_another_category_than_the_identifications_needs_a_reason(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    # The standard fixture's household is identified as deep hardship.
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    approver = users["dali_staff"]
    with pytest.raises(ValidationError) as caught:
        services.application_transition(actor=approver, application_id=app.pk, action="approve", category="accident")
    assert list(caught.value.message_dict) == ["reason"]
    assert not Household.objects.exists()
    app = services.application_transition(
        actor=approver, application_id=app.pk, action="approve", category="accident", reason="突发车祸，医疗支出大"
    )
    # The file carries the identification's category until a second person approves the override.
    assert (app.category, Household.objects.get(pk=app.household_id or 0).category) == ("accident", "deep")
    assert app.events.filter(action="approve", reason="突发车祸，医疗支出大").exists()


def test_the_identifications_category_needs_no_reason(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    app = services.application_transition(
        actor=users["dali_staff"], application_id=app.pk, action="approve", category="deep"
    )
    assert Household.objects.get(pk=app.household_id or 0).category == "deep"
