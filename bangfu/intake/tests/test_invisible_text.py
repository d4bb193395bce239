"""Text that shows nothing — a zero-width space, a direction mark, a byte-order mark, pasted from a
chat or a web page — is no text. A worker's yearly report of an address made of them replaced the
file's address with nothing visible; a reason made of them refused a case and told the worker
"理由：" and nothing; a right-to-left override in a note showed it reversed on the staff page.
Such characters are taken out of every free text a person types, as they are out of names and the
cells of an import, and what is left is checked as typed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bangfu.intake import reviews, services, steps
from bangfu.intake.models import ApplicationState, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import submitted, to_state, yearly_review_task
from bangfu.intake.tests.test_review_decline import PHONE, _worker
from bangfu.registry import services as registry
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(tree: Any, users: Any, standard: Any) -> ReviewTask:
    return yearly_review_task(tree["xiangyun_g"], users["xiangyun_staff"], PHONE)


NOTHING = ["\u200b\u200f", "\u3000\u200b", "\ufeff", "\u202e", "\u2060\u200d\u200c"]


@pytest.mark.parametrize("address", NOTHING)
def test_a_reported_address_that_shows_nothing_is_no_change(task: ReviewTask, address: str) -> None:
    worker = _worker(task)
    before = Household.objects.get(pk=task.household_id).address
    with pytest.raises(ValidationError) as exc:
        reviews.review_report(actor=worker, task_id=task.pk, changes={"address": address})
    assert "changes" in exc.value.message_dict
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and Household.objects.get(pk=task.household_id).address == before


def test_a_reported_address_and_note_keep_what_shows(task: ReviewTask, users: Any) -> None:
    worker = _worker(task)
    reviews.review_report(
        actor=worker, task_id=task.pk, changes={"address": "\u200b文化路\u200d12号\u200f"}, note="\u202e测试说明"
    )
    task.refresh_from_db()
    assert task.changes["address"] == "文化路12号" and task.note == "测试说明"


@pytest.mark.parametrize("reason", NOTHING)
def test_a_reason_that_shows_nothing_is_no_reason(task: ReviewTask, users: Any, reason: str) -> None:
    staff = users["xiangyun_staff"]
    reviews.review_report(actor=_worker(task), task_id=task.pk, changes={"phone": "13900006666"})
    with pytest.raises(ValidationError) as exc:
        reviews.review_decline(actor=staff, task_id=task.pk, reason=reason)
    assert exc.value.message_dict["reason"] == ["Give the reason; the worker will see it."]
    app = submitted(task.household.unit, phone="13900007777")
    with pytest.raises(ValidationError) as exc:
        services.application_transition(
            actor=users["xiangyun_cadre"], application_id=app.pk, action="refuse", reason=reason
        )
    assert exc.value.message_dict["reason"] == ["Give the reason; the worker will see it."]
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED


def test_a_kept_reason_loses_its_invisible_characters(tree: dict, users: Any) -> None:
    app = submitted(tree["xiangyun_g"], phone="13900007777")
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="return", reason="\u200b请补充\u200b病历\u202e"
    )
    assert app.events.order_by("-pk").first().reason == "请补充病历"  # type: ignore[union-attr]


def test_the_steps_records_refuse_what_shows_nothing(tree: dict, users: Any) -> None:
    cadre = users["xiangyun_cadre"]
    app = to_state(submitted(tree["xiangyun_g"], phone="13900007777"), ApplicationState.HOME_VISIT, users)
    visit = steps.VisitInput(
        visited_on=timezone.localdate(),
        visitors="王干事",
        seen="\u200b",
        asked="\u200e",
        explained="政策",
        findings="属实",
    )
    with pytest.raises(ValidationError) as exc:
        steps.home_visit_record(actor=cadre, application_id=app.pk, visit=visit)
    assert set(exc.value.message_dict) == {"seen", "asked"}
    assert not app.visits.exists()


def test_a_household_address_that_shows_nothing_is_refused(tree: dict, users: Any) -> None:
    data = household_input(tree["xiangyun_g"])
    data.address = "\u200b\u200f"
    with pytest.raises(ValidationError) as exc:
        registry.household_create(actor=users["xiangyun_staff"], data=data)
    assert exc.value.message_dict["address"] == ["Enter the address."]
    data.address = "\u200e祥城镇\u200b文化路12号 "
    h = registry.household_create(actor=users["xiangyun_staff"], data=data)
    assert h.address == "祥城镇文化路12号"
