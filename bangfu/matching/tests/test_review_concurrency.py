"""Two reviewers acting on the same finding at once: exactly one succeeds, and the file is changed
once. Runs on PostgreSQL (row locks) and on an on-disk SQLite database (writers take turns)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.matching import services
from bangfu.matching.models import Finding, FindingStatus, RemovalProposal
from bangfu.org.models import Role
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.postgresql


def test_two_reviewers_at_once_exactly_one_succeeds(
    shared_database: None,
    audit_log_emptied: None,
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    tree: dict[str, Any],
    standard: None,
) -> None:
    _household, ids = make_household()
    ds = services.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "小型轿车"]]),
    )
    run = services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    services.match_run_execute(run_id=run.pk)
    finding = Finding.objects.get()
    second = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def act(review: Callable[..., Any], actor: Any, **kwargs: Any) -> None:
        try:
            barrier.wait()
            review(actor=actor, finding_id=finding.pk, **kwargs)
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=act, args=(services.finding_confirm, users["xiangyun_staff"]), kwargs={"reason": "属实"}
        ),
        threading.Thread(target=act, args=(services.finding_dismiss, second), kwargs={"reason": "残疾人专用车"}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["finding_not_open", "ok"], results
    finding.refresh_from_db()
    assert finding.status in {FindingStatus.CONFIRMED, FindingStatus.DISMISSED}
    assert AuditEntry.objects.filter(target_type="matching.finding", target_id=str(finding.pk)).count() == 1
    confirmed = finding.status == FindingStatus.CONFIRMED
    assert RemovalProposal.objects.filter(finding=finding).count() == (1 if confirmed else 0)
