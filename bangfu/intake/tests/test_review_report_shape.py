"""A worker's yearly-review report through the API: a key a report does not know is refused by
name, and members sent in another shape than an object keyed by member id are said to be so —
not taken for "tell us what changed" or for a person who is not on the file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from bangfu.common import crypto
from bangfu.intake import otp, reviews
from bangfu.intake.models import Applicant, ReviewState, ReviewTask
from bangfu.intake.tests.helpers import yearly_review_task

pytestmark = pytest.mark.django_db

PHONE = "13900007777"


@pytest.fixture
def task(tree: Any, users: Any, standard: Any) -> ReviewTask:
    return yearly_review_task(tree["xiangyun_g"], users["xiangyun_staff"], PHONE)


@pytest.fixture
def worker(task: ReviewTask) -> Client:
    """The worker's API client, the household proved."""
    token = otp.token_for(Applicant.objects.get_or_create(phone=PHONE)[0])
    c = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    head = task.household.members.get(relationship="head")
    proof = {"id_number": crypto.decrypt(head.id_cipher)}
    r = c.post(f"/api/v1/applicant/reviews/{task.pk}/proof", proof, content_type="application/json")
    assert r.status_code == 200, r.content
    return c


def _report(c: Client, task: ReviewTask, changes: Any) -> Any:
    body = json.dumps({"changes": changes})
    return c.post(f"/api/v1/applicant/reviews/{task.pk}/report", body, content_type="application/json")


def _head_id(task: ReviewTask) -> int:
    return task.household.members.get(relationship="head").pk


def test_an_unknown_key_is_named(task: ReviewTask, worker: Client) -> None:
    r = _report(worker, task, {"foo": "bar"})
    assert r.status_code == 422, r.content
    assert r.json()["error"]["fields"] == {
        "changes.foo": ["This field is not part of the request; check its spelling."]
    }
    r = _report(worker, task, {"members": {str(_head_id(task)): {"income": "800"}}})
    assert r.status_code == 422
    assert list(r.json()["error"]["fields"]) == [f"changes.members.{_head_id(task)}.income"]
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN


def test_members_in_a_list_are_said_to_be_the_wrong_shape(task: ReviewTask, worker: Client) -> None:
    """The file's own member, sent in a list: the shape is wrong, not the person."""
    r = _report(worker, task, {"members": [{"id": _head_id(task), "monthly_income": "-5"}]})
    assert r.status_code == 422, r.content
    [said] = r.json()["error"]["fields"]["changes.members"]
    assert said.startswith("Enter an object keyed by member id") and "not a member" not in r.content.decode()
    r = _report(worker, task, {"members": {str(_head_id(task)): "800"}})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {f"changes.members.{_head_id(task)}": ["Enter an object with named fields."]}


def test_a_report_in_the_right_shape_is_taken(task: ReviewTask, worker: Client) -> None:
    r = _report(worker, task, {"members": {str(_head_id(task)): {"monthly_income": "800"}}, "address": None})
    assert r.status_code == 200, r.content
    assert r.json()["changes"] == {"members": {str(_head_id(task)): {"monthly_income": "800"}}}


def test_the_service_says_the_same_to_any_caller(task: ReviewTask) -> None:
    worker = otp.applicant_from_token(otp.token_for(Applicant.objects.get_or_create(phone=PHONE)[0]))
    assert worker is not None
    head = task.household.members.get(relationship="head")
    reviews.review_proof(actor=worker, task_id=task.pk, id_number=crypto.decrypt(head.id_cipher))
    with pytest.raises(ValidationError) as caught:
        reviews.review_report(actor=worker, task_id=task.pk, changes={"foo": "bar"})
    assert list(caught.value.message_dict) == ["changes.foo"]
    with pytest.raises(ValidationError) as caught:
        reviews.review_report(actor=worker, task_id=task.pk, changes={"members": [{"id": head.pk}]})
    assert list(caught.value.message_dict) == ["changes.members"]


def test_the_openapi_describes_the_changes() -> None:
    from bangfu.api.api import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    changes = schemas["ReviewChangesIn"]
    assert set(changes["properties"]) == {"address", "phone", "members"}
    assert changes["additionalProperties"] is False
    member = schemas["ReviewMemberChangesIn"]
    assert set(member["properties"]) == {"monthly_income", "work_status", "health"}
    assert "laid_off" in member["properties"]["work_status"]["enum"]
