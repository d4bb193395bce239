"""The yearly job tells every worker of a new review in bulk: a province opens hundreds of thousands
of reviews at once, so their notices are written a batch an INSERT, not one round trip each — the
job's queries do not grow with the reviews — and each worker is told exactly once, however many
times the job runs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bangfu.intake import messaging, reviews
from bangfu.intake.models import Applicant, Notice, ReviewTask
from bangfu.registry.models import Member
from bangfu.seed.run import seed_run

pytestmark = pytest.mark.django_db

SENT: list[messaging.Message] = []


class SendOnly:
    """A message backend with ``send`` only (as an SMS gateway's may be)."""

    def send(self, message: messaging.Message) -> None:
        SENT.append(message)


HOUSEHOLDS = 400


@pytest.fixture
def signed_up() -> set[str]:
    """A seeded province, every head's number signed up on the phone (an in-app notice per review)."""
    seed_run(households=HOUSEHOLDS, random_seed=3, province="530000")
    phones = set(Member.objects.filter(relationship="head").exclude(phone="").values_list("phone", flat=True))
    Applicant.objects.bulk_create([Applicant(phone=p) for p in phones])
    return phones


def test_the_yearly_job_tells_many_workers_in_a_few_queries(
    signed_up: set[str], django_assert_max_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A fixed number of queries a chunk of reviews (reviews.CHUNK), not one or more a review.
    with django_assert_max_num_queries(30), django_capture_on_commit_callbacks(execute=True):
        made = reviews.yearly_review_create()
    assert made > 300  # the seed's files filed more than a year ago
    told = Counter(Notice.objects.filter(msgid=reviews.NOTICE_OPENED).values_list("applicant__phone", flat=True))
    heads = dict(
        Member.objects.filter(relationship="head", household__review_tasks__isnull=False).values_list(
            "household_id", "phone"
        )
    )
    # Every worker told once per review of a file they head, in the text of their own review.
    assert sum(told.values()) == made == ReviewTask.objects.count()
    assert told == Counter(p for p in heads.values() if p)
    notice = Notice.objects.filter(msgid=reviews.NOTICE_OPENED).select_related("applicant").first()
    assert notice is not None and notice.applicant is not None
    task = ReviewTask.objects.get(
        household__members__phone=notice.applicant.phone, household__members__relationship="head"
    )
    assert notice.params == {"year": task.year, "due": task.due_on.isoformat()}


def test_a_second_run_tells_nobody_again(signed_up: set[str], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = reviews.yearly_review_create()
    notices = Notice.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert reviews.yearly_review_create() == 0
    assert first > 0 and Notice.objects.count() == notices and callbacks == []  # nothing sent again


def test_a_backend_without_send_many_gets_each_message(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    """An SMS gateway written with ``send`` only still gets every message of a batch, once."""
    SENT.clear()
    settings.BANGFU_INTAKE_MESSAGE_BACKENDS = [f"{__name__}.SendOnly", "bangfu.intake.messaging.InAppBackend"]
    batch = [messaging.Message(text=f"m{i}", phone=f"1390000{i:04d}") for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        messaging.notify_many(batch)
    assert batch == SENT and Notice.objects.count() == 0  # phone-only messages: no in-app row
