"""The closed cases' list (page and API): each case with the decision that closed it — its
approval, a refusal, a withdrawal — and the day it was taken. A temporary case converted to a
formal one, or an approved case reported up, keeps them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from bangfu.intake import services
from bangfu.intake.models import Applicant, Application, ApplicationKind
from bangfu.intake.models import ApplicationState as S
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page, submitted, to_state

pytestmark = pytest.mark.django_db


def _closed_table(user: Any) -> str:
    html = staff_page(user).get("/applications/?scope=closed").content.decode()
    return html[html.index('id="closed"') : html.index("</table>", html.index('id="closed"'))]


def _row(table: str, app: Application) -> str:
    start = table.index(app.reference)
    return table[start : table.index("</tr>", start)]


def test_a_converted_temporary_case_keeps_its_approval_reason(tree: dict, users: dict[str, Any], standard: Any) -> None:
    unit, cadre, county = tree["xiangyun_g"], users["xiangyun_cadre"], users["xiangyun_staff"]
    worker = Applicant.objects.create(phone="13900005001")
    temp = services.application_create(
        actor=worker, unit_id=unit.pk, kind=ApplicationKind.TEMPORARY, form=form_data(unit)
    )
    services.application_submit(actor=worker, application_id=temp.pk)
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    reason = "车祸致困，按意外致困"
    services.application_transition(actor=county, application_id=temp.pk, action="approve", reason=reason)
    formal = services.application_convert(actor=cadre, application_id=temp.pk)
    row = _row(_closed_table(county), temp)
    assert "车祸致困，按意外致困" in row and formal.reference not in row
    listed = staff_api(county).get("/api/v1/applications/closed").json()["results"]
    assert [r["reason"] for r in listed if r["id"] == temp.pk] == ["车祸致困，按意外致困"]


def test_a_case_reported_up_keeps_the_day_and_reason_of_its_approval(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit, staff = tree["xiangyun_g"], users["xiangyun_staff"]
    approved_on = (timezone.now() - dt.timedelta(days=10)).replace(microsecond=0)
    with mock.patch("django.utils.timezone.now", return_value=approved_on):
        app = to_state(submitted(unit, phone="13900005002"), S.APPROVAL, users)
        app = services.application_transition(
            actor=users["dali_staff"], application_id=app.pk, action="approve", reason="经核查符合深度困难"
        )
    services.application_transition(actor=users["dali_staff"], application_id=app.pk, action="report_up")
    row = _row(_closed_table(staff), app)
    assert "经核查符合深度困难" in row and timezone.localtime(approved_on).strftime("%Y-%m-%d") in row
    listed = staff_api(staff).get("/api/v1/applications/closed").json()["results"]
    (mine,) = [r for r in listed if r["id"] == app.pk]
    assert mine["state"] == "reported_up" and mine["reason"] == "经核查符合深度困难"
    assert dt.datetime.fromisoformat(mine["closed_at"]) == approved_on


def test_the_closed_search_finds_the_masked_number_the_list_shows(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit, cadre = tree["xiangyun_g"], users["xiangyun_cadre"]
    app = submitted(unit, phone="13900005003")
    services.application_transition(actor=cadre, application_id=app.pk, action="refuse", reason="收入高于标准")
    app.refresh_from_db()
    masked = app.head_id_masked
    assert "*" in masked
    page = staff_page(cadre)
    found = page.post("/applications/", {"q": masked})
    table = page.get(found["Location"]).content.decode()
    assert app.reference in table[table.index('id="closed"') :]
    api = staff_api(cadre).post("/api/v1/applications/closed/search", {"q": masked}, content_type="application/json")
    assert [r["id"] for r in api.json()["results"]] == [app.pk]
