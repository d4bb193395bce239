"""A case on public notice is no one's work until the notice ends: the work queue lists it, last,
with the day the notice ends, but does not count it; and the step's clock (days waiting, overdue)
runs from the day after the notice ends, not from the day the case came to the step."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.intake import selectors, steps
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import submitted, to_state

pytestmark = pytest.mark.django_db
S = ApplicationState


def _reviewed(tree: dict, users: dict[str, Any]) -> Application:
    """A case at the unit review, its review recorded today (the notice runs from tomorrow), at
    the step for 30 days."""
    app = to_state(submitted(tree["xiangyun_g"]), S.UNIT_REVIEW, users)
    Application.objects.filter(pk=app.pk).update(state_since=timezone.now() - dt.timedelta(days=30))
    steps.unit_review_record(
        actor=users["xiangyun_cadre"], application_id=app.pk, held_on=timezone.localdate(), minutes="同意"
    )
    app.refresh_from_db()
    return app


def _count(actor: Any, state: str) -> dict[str, Any] | None:
    return next((c for c in selectors.queue_counts(actor=actor) if c["state"] == state), None)


def test_a_case_on_notice_is_listed_with_its_end_but_not_counted(tree: dict, users: dict[str, Any]) -> None:
    cadre = users["xiangyun_cadre"]
    app = to_state(submitted(tree["xiangyun_g"]), S.UNIT_REVIEW, users)
    # Before its review is recorded, it is the cadre's work (hold the review).
    assert _count(cadre, S.UNIT_REVIEW) == {
        "state": S.UNIT_REVIEW,
        "label": S.UNIT_REVIEW.label,
        "count": 1,
        "overdue": 0,
    }
    other = to_state(submitted(tree["xiangyun_g"], phone="13800138001"), S.FIRST_REVIEW, users)
    Application.objects.filter(pk=app.pk).update(state_since=timezone.now() - dt.timedelta(days=30))
    steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=timezone.localdate(), minutes="同意")
    app.refresh_from_db()
    assert app.notice_to is not None and app.notice_to > timezone.localdate()

    # Not counted as work, however long the case has been at the step; listed last, with the day.
    assert _count(cadre, S.UNIT_REVIEW) is None
    rows, _page = selectors.queue(actor=cadre)
    assert [r.application.pk for r in rows] == [other.pk, app.pk]
    row = rows[-1]
    assert row.waiting_for_notice and row.notice_until == app.notice_to and not row.overdue

    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(cadre)
    page = c.get("/applications/").content.decode()
    # Recorded today, the notice starts tomorrow: said so, not "on public notice".
    assert f"Public notice starts tomorrow (until {app.notice_to:%m-%d})" in page and "On public notice" not in page
    api = c.get("/api/v1/applications/counts").json()
    assert [x["state"] for x in api] == [S.FIRST_REVIEW]
    listed = c.get("/api/v1/applications/queue").json()["results"]
    assert listed[-1]["id"] == app.pk and listed[-1]["waiting_for_notice"] is True
    assert listed[-1]["notice_until"] == app.notice_to.isoformat()

    # An objection to answer is work, on notice or not.
    steps.objection_record(actor=cadre, application_id=app.pk, received_on=timezone.localdate(), text="收入不实")
    assert _count(cadre, S.UNIT_REVIEW)["count"] == 1  # type: ignore[index]


def test_the_steps_clock_runs_from_the_day_after_the_notice(tree: dict, users: dict[str, Any]) -> None:
    cadre = users["xiangyun_cadre"]
    app = _reviewed(tree, users)
    today = timezone.localdate()
    # The notice ended yesterday: the step is due today, its first day.
    Application.objects.filter(pk=app.pk).update(notice_to=today - dt.timedelta(days=1))
    assert _count(cadre, S.UNIT_REVIEW) == {
        "state": S.UNIT_REVIEW,
        "label": S.UNIT_REVIEW.label,
        "count": 1,
        "overdue": 0,
    }
    (row,) = selectors.queue(actor=cadre)[0]
    assert row.days_waiting == 0 and not row.overdue and row.notice_until is None
    # Past the step's limit counted from the day after the notice: overdue, on the page and the API.
    limit = selectors.conf.limit_days()[S.UNIT_REVIEW]
    Application.objects.filter(pk=app.pk).update(notice_to=today - dt.timedelta(days=limit + 2))
    (row,) = selectors.queue(actor=cadre)[0]
    assert row.days_waiting == limit + 1 and row.overdue
    assert _count(cadre, S.UNIT_REVIEW)["overdue"] == 1  # type: ignore[index]
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(cadre)
    # The step's overdue count says what it counts to a screen reader too, not only in a tooltip.
    assert '1<span class="visually-hidden"> overdue</span>' in page.get("/applications/").content.decode()
    Application.objects.filter(pk=app.pk).update(notice_to=today - dt.timedelta(days=limit + 1))
    (row,) = selectors.queue(actor=cadre)[0]
    assert row.days_waiting == limit and not row.overdue
    assert _count(cadre, S.UNIT_REVIEW)["overdue"] == 0  # type: ignore[index]
    # The cases under way (a manager's tab) judge it alike.
    under_way, _page = selectors.under_way(actor=cadre)
    assert [(r.days_waiting, r.overdue) for r in under_way] == [(limit, False)]
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(cadre)
    counts = json.loads(c.get("/api/v1/applications/counts?scope=all").content)
    assert counts == [{"state": S.UNIT_REVIEW, "label": str(S.UNIT_REVIEW.label), "count": 1, "overdue": 0}]


def test_a_notice_posted_for_tomorrow_says_it_starts_tomorrow_and_each_tab_has_its_count(
    tree: dict, users: dict[str, Any]
) -> None:
    cadre, manager = users["xiangyun_cadre"], users["province_manager"]
    app = _reviewed(tree, users)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert app.notice_from == tomorrow and app.notice_to is not None
    for who in (cadre, manager):
        c = Client(HTTP_ACCEPT_LANGUAGE="en")
        c.force_login(who)
        page = c.get("/applications/?scope=all").content.decode()
        assert f"Public notice starts tomorrow (until {app.notice_to:%m-%d})" in page
        assert "On public notice" not in page
        (row,) = c.get("/api/v1/applications/queue?scope=all").json()["results"]
        assert row["notice_starts"] == tomorrow.isoformat() and row["notice_until"] == app.notice_to.isoformat()
    # Started: on public notice.
    Application.objects.filter(pk=app.pk).update(notice_from=timezone.localdate())
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(manager)
    assert f"On public notice (until {app.notice_to:%m-%d})" in c.get("/applications/?scope=all").content.decode()
    assert c.get("/api/v1/applications/queue?scope=all").json()["results"][0]["notice_starts"] is None
    # The work queue's tab has its count (the cases to act on), on every tab, as the others have.
    to_state(submitted(tree["xiangyun_g"], phone="13800138002"), S.FIRST_REVIEW, users)
    c.force_login(cadre)
    for scope in ("", "all", "closed"):
        html = c.get(f"/applications/?scope={scope}").content.decode()
        tab = html[html.index('id="scope-mine"') : html.index("</a>", html.index('id="scope-mine"'))]
        assert '<span class="badge text-bg-light">1</span>' in tab, scope
