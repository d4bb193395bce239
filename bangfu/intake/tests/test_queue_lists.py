"""The staff's lists of applications: every case sent to the union is in one of them. A case under
way is in the work queue of who takes its step and among all the cases under way; a case returned
to the counter is in the queue of who puts it right, with the reason; a closed case (file opened or
reported up, refused, withdrawn) is under way nowhere, never overdue, and listed with the closed
cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bangfu.intake import selectors
from bangfu.intake.models import Application
from bangfu.intake.models import ApplicationState as S
from bangfu.intake.tests.helpers import staff_api, staff_page, submitted, to_state

pytestmark = pytest.mark.django_db


def _ids(rows: Any) -> list[int]:
    return [r.application.pk for r in rows]


def test_an_approved_case_is_closed_not_under_way_nor_overdue(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.FILE_OPENED, users, approver=users["xiangyun_staff"])
    # Approved long ago: no step's limit makes it overdue.
    Application.objects.filter(pk=app.pk).update(state_since=timezone.now() - dt.timedelta(days=90))
    staff = users["xiangyun_staff"]
    for who in ("xiangyun_staff", "province_manager"):
        user = users[who]
        mine, _page = selectors.queue(actor=user)
        everything, _page = selectors.under_way(actor=user)
        assert app.pk not in _ids(mine) + _ids(everything), who
        counted = selectors.queue_counts(actor=user) + selectors.under_way_counts(actor=user)
        assert "file_opened" not in [c["state"] for c in counted], who
        api = staff_api(user)
        for scope in ("mine", "all"):
            listed = api.get(f"/api/v1/applications/queue?scope={scope}").json()["results"]
            assert app.pk not in [r["id"] for r in listed], (who, scope)
            counts = api.get(f"/api/v1/applications/counts?scope={scope}").json()
            assert "file_opened" not in [c["state"] for c in counts], (who, scope)
    page = staff_page(staff).get("/applications/?scope=all").content.decode()
    assert app.reference not in page and "overdue" not in page
