"""One recompute of a union at a time covers the unions above and inside it: a county's and one
of its companies' recomputes started at the same minute both decided the company's households."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from bangfu.common.errors import DomainError, ErrorCode
from bangfu.eligibility import recompute
from bangfu.eligibility.models import RecomputeRun
from bangfu.eligibility.tests.test_api import Api


@pytest.fixture
def queued(settings: Any) -> None:
    """Recomputes wait in the queue (no worker)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def test_a_recompute_inside_or_above_one_under_way_is_refused_naming_it(
    queued: None, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    county = recompute.recompute_start(actor=users["xiangyun_staff"], unit_id=tree["xiangyun"].pk, run_async=True)
    answer = Api(users["xiangyun_cadre"]).post("/recompute", {"unit_id": tree["xiangyun_g"].pk})
    assert answer.status_code == 409, answer.content
    error = answer.json()["error"]
    assert error["code"] == ErrorCode.RUN_UNDER_WAY and error["details"]["run_id"] == county.pk
    assert error["message"].startswith(f"A recompute of {tree['xiangyun'].name} is already under way: run {county.pk}")
    with translation.override("en"), pytest.raises(DomainError) as above:
        recompute.recompute_start(actor=users["admin"], unit_id=tree["province"].pk, run_async=True)
    assert above.value.details["run_id"] == county.pk
    # Another county's subtree does not overlap: it runs.
    other = recompute.recompute_start(actor=users["dalishi_staff"], unit_id=tree["dalishi"].pk, run_async=True)
    assert RecomputeRun.objects.filter(pk__in=[county.pk, other.pk]).count() == RecomputeRun.objects.count() == 2


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_county_and_its_company_asked_at_once_are_queued_once(
    shared_database: None, audit_log_emptied: None, queued: None, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    barrier = threading.Barrier(2)
    results: list[Any] = [None] * 2
    asks = [(users["xiangyun_staff"], tree["xiangyun"].pk), (users["xiangyun_cadre"], tree["xiangyun_g"].pk)]

    def start(i: int) -> None:
        who, unit_id = asks[i]
        try:
            barrier.wait()
            results[i] = recompute.recompute_start(actor=who, unit_id=unit_id, run_async=True)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r in results if isinstance(r, RecomputeRun)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(runs) == 1 and len(refused) == 1, results
    assert refused[0].details["run_id"] == runs[0].pk
    assert RecomputeRun.objects.count() == 1
