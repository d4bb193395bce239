"""Two reviewers acting on the same case at once: exactly one succeeds. Runs on PostgreSQL (row
locks) and on SQLite (IMMEDIATE transactions serialise the writers)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from bangfu.common.errors import DomainError
from bangfu.intake import services
from bangfu.intake.models import ApplicationState
from bangfu.intake.tests.helpers import submitted
from bangfu.org.models import Role
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.postgresql


def test_two_reviewers_at_once_exactly_one_succeeds(
    shared_database: None, audit_log_emptied: None, tree: dict, users: dict[str, Any]
) -> None:
    app = submitted(tree["xiangyun_g"])
    second = user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "second_cadre")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def act(actor: Any, action: str, reason: str) -> None:
        try:
            barrier.wait()
            services.application_transition(
                actor=actor, application_id=app.pk, action=action, reason=reason, expected_version=app.version
            )
            results.append("ok")
        except (DomainError, PermissionDenied) as exc:
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(users["xiangyun_cadre"], "accept", "")),
        threading.Thread(target=act, args=(second, "refuse", "重复申请")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["DomainError", "ok"]
    app.refresh_from_db()
    assert app.state in {ApplicationState.FIRST_REVIEW, ApplicationState.REFUSED}
    assert app.events.exclude(action__in=["create", "submit"]).count() == 1


def test_two_answers_of_the_check_at_once_exactly_one_is_recorded(
    shared_database: None, audit_log_emptied: None, tree: dict, users: dict[str, Any]
) -> None:
    from bangfu.intake import steps
    from bangfu.intake.tests.helpers import to_state

    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.ECONOMIC_CHECK, users)
    staff = users["xiangyun_staff"]
    second = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")
    steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    steps.check_request(actor=staff, application_id=app.pk)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def answer(actor: Any, passed: bool) -> None:
        try:
            barrier.wait()
            steps.check_answer(actor=actor, application_id=app.pk, passed=passed, note="" if passed else "有车")
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=answer, args=(staff, True)),
        threading.Thread(target=answer, args=(second, False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert app.events.filter(action="check_answered").count() == 1
