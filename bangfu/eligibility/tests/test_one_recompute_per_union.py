"""One recompute of a union at a time: a second one asked for while the first is queued or running
is refused (409) naming the run under way, on the page, the API and the command line; truly at
once too (threads, PostgreSQL). A union above or inside is refused as well (``test_nested_runs``);
a run that stopped with its process holds the union no longer than ``RUN_STALE_AFTER``."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from bangfu.common.errors import DomainError, ErrorCode
from bangfu.eligibility import recompute
from bangfu.eligibility.models import RecomputeRun, RecomputeStatus
from bangfu.eligibility.tests.test_api import Api
from bangfu.org.models import Role
from bangfu.testing.factories import user_with_role


@pytest.fixture
def queued(settings: Any) -> None:
    """Recomputes wait in the queue (no worker)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.mark.django_db
def test_a_second_recompute_of_a_union_under_way_is_refused_naming_the_first(
    queued: None, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    staff = users["xiangyun_staff"]
    other = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")
    first = recompute.recompute_start(actor=staff, unit_id=tree["xiangyun"].pk, run_async=True)
    at = timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M")
    unit = tree["xiangyun"].name
    said = f"A recompute of {unit} is already under way: run {first.pk}, started by {staff.username} at {at}."

    with translation.override("en"), pytest.raises(DomainError) as caught:
        recompute.recompute_start(actor=other, unit_id=tree["xiangyun"].pk, run_async=True)
    assert caught.value.code == ErrorCode.RUN_UNDER_WAY and caught.value.message.startswith(said)

    answer = Api(other).post("/recompute", {"unit_id": tree["xiangyun"].pk})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "run_under_way"
    assert answer.json()["error"]["details"]["run_id"] == first.pk
    assert answer.json()["error"]["message"].startswith(said)

    page = Client(headers={"Accept-Language": "en"})
    page.force_login(other)
    shown = page.post("/eligibility/recompute/", {"unit_id": tree["xiangyun"].pk})
    assert shown.status_code == 409
    html = shown.content.decode()
    assert f"run {first.pk}, started by {staff.username}" in html
    assert f'href="/eligibility/recompute/{first.pk}/"' in html

    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("identify", "--unit", "532923")
    assert str(refused.value).startswith(said)
    assert RecomputeRun.objects.count() == 1

    # A union above is refused too, naming the run under way inside it; a run stopped with its
    # process no longer holds the union.
    with pytest.raises(DomainError) as above:
        recompute.recompute_start(actor=users["admin"], unit_id=tree["province"].pk, run_async=True)
    assert above.value.details["run_id"] == first.pk
    long_ago = timezone.now() - recompute.RUN_STALE_AFTER - dt.timedelta(minutes=1)
    RecomputeRun.objects.filter(pk=first.pk).update(status=RecomputeStatus.RUNNING, started_at=long_ago)
    again = recompute.recompute_start(actor=other, unit_id=tree["xiangyun"].pk, run_async=True)
    first.refresh_from_db()
    assert first.status == RecomputeStatus.FAILED and again.status == RecomputeStatus.QUEUED


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_same_recompute_asked_for_three_times_at_once_is_queued_once(
    shared_database: None, audit_log_emptied: None, queued: None, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    other = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")
    barrier = threading.Barrier(3)
    results: list[Any] = [None] * 3

    def start(i: int, who: Any) -> None:
        try:
            barrier.wait()
            results[i] = recompute.recompute_start(actor=who, unit_id=tree["xiangyun"].pk, run_async=True)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=start, args=(i, who))
        for i, who in enumerate([users["xiangyun_staff"], other, users["xiangyun_staff"]])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r in results if isinstance(r, RecomputeRun)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(runs) == 1 and len(refused) == 2, results
    assert all(r.details["run_id"] == runs[0].pk for r in refused)
    assert RecomputeRun.objects.count() == 1
