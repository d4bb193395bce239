"""A job loss reported at the yearly review gives the category the same facts give on the form: the
identity follows the work status ("working" is imputed no wage), and the form refuses the pair."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.services import decision_compute
from bangfu.intake import reviews
from bangfu.intake.models import ReviewState, ReviewTask
from bangfu.intake.reviews import household_as_input
from bangfu.registry import codes
from bangfu.registry.models import Household
from bangfu.registry.services import household_create, household_update
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


def _working_couple(tree: Any, users: Any, identity: str = "working", work_status: str = "employed") -> Household:
    data = household_input(tree["xiangyun_g"], members=2)
    data.rigid_expenses = []
    data.incomes = []
    head = data.members[0]
    head.health, head.enterprise_state = "good", "normal"
    head.identity, head.work_status, head.monthly_income = identity, work_status, Decimal(3000)
    data.members[1].monthly_income = Decimal(1000)
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    return household_create(actor=users["xiangyun_staff"], data=data)


def test_a_job_loss_at_the_review_is_decided_as_the_same_facts_on_the_form(
    tree: Any, users: Any, standard: Any
) -> None:
    staff = users["xiangyun_staff"]
    h = _working_couple(tree, users)
    decision_compute(actor=staff, household_id=h.pk)
    reviews.yearly_review_create()
    task = ReviewTask.objects.get(household=h)
    head = h.members.get(relationship="head")
    changes = {"members": {str(head.pk): {"monthly_income": "0", "work_status": "unemployed"}}}
    reviews.review_report(actor=staff, task_id=task.pk, changes=changes)
    reviews.review_confirm(actor=staff, task_id=task.pk, seen_state=ReviewState.REPORTED)
    head.refresh_from_db()
    assert (head.identity, head.work_status) == ("unemployed", "unemployed")
    after = EligibilityDecision.objects.current().get(household_id=h.pk)

    # The same facts entered on the form: the head without a job, earning nothing.
    same = household_input(tree["xiangyun_g"], members=2)
    same.rigid_expenses, same.incomes = [], []
    same.members[0].health, same.members[0].enterprise_state = "good", "normal"
    same.members[0].identity, same.members[0].work_status = "unemployed", "unemployed"
    same.members[0].monthly_income, same.members[1].monthly_income = Decimal(0), Decimal(1000)
    other = household_create(actor=staff, data=same)
    by_form = decision_compute(actor=staff, household_id=other.pk)
    # (1,900 imputed + 1,000) / 2: the minimum wage counts for the head in both.
    assert after.net_income_per_head_monthly == by_form.net_income_per_head_monthly == Decimal("1450.00")
    assert after.category == by_form.category


def test_identity_follows_only_what_work_decides() -> None:
    follow = codes.identity_following
    assert follow("unemployed", "working") == "unemployed"
    assert follow("employed", "unemployed") == "working"
    assert follow("retired", "working") == "retired"
    assert follow("unemployed", "student") == "student"  # not a matter of work
    assert follow("unemployed", "unable") == "unable"
    assert follow("sick_leave", "working") == "working"  # no doubt to settle


def test_the_form_refuses_working_beside_unemployed(tree: Any, users: Any) -> None:
    staff = users["xiangyun_staff"]
    with pytest.raises(ValidationError) as exc:
        _working_couple(tree, users, identity="working", work_status="unemployed")
    assert "Without a job" in exc.value.message_dict["members.0.identity"][0]
    h = _working_couple(tree, users)
    data = household_as_input(h)
    data.members[0].work_status = "unemployed"
    with pytest.raises(ValidationError) as exc:
        household_update(actor=staff, household_id=h.pk, data=data)
    assert set(exc.value.message_dict) == {"members.0.identity"}
