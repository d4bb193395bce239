"""The public notice list of one union (page ``?unit=``, API ``unit_id``) holds that union's cases
and those of the unions under it; a union outside the jurisdiction is refused, page and API alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bangfu.intake.models import Application
from bangfu.intake.models import ApplicationState as S
from bangfu.intake.tests.helpers import staff_api, staff_page, submitted
from bangfu.org.models import OrgKind, OrgLevel
from bangfu.org.services import org_unit_create

pytestmark = pytest.mark.django_db


def _on_notice(*cases: Application) -> None:
    today = timezone.localdate()
    Application.objects.filter(pk__in=[a.pk for a in cases]).update(
        state=S.UNIT_REVIEW, notice_from=today, notice_to=today + dt.timedelta(days=6)
    )


def test_a_countys_notice_list_holds_its_unions_cases(tree: dict, users: dict[str, Any]) -> None:
    case = submitted(tree["xiangyun_g"], phone="13900006001")
    other = submitted(tree["dalishi_g"], phone="13900006002")
    _on_notice(case, other)
    county = tree["xiangyun"]
    for who in ("xiangyun_staff", "province_manager"):
        html = staff_page(users[who]).get(f"/applications/notice/?unit={county.pk}").content.decode()
        table = html[html.index('id="notice"') : html.index("</table>")]
        assert tree["xiangyun_g"].name in table and tree["dalishi_g"].name not in table, who
        assert f"{county.name} · " in html and f"Issued by {county.name}" in html, who
        listed = staff_api(users[who]).get(f"/api/v1/applications/public-notice?unit_id={county.pk}").json()
        assert (listed["count"], [r["id"] for r in listed["results"]]) == (1, [case.pk]), who


def test_a_union_outside_the_jurisdiction_is_refused_on_the_page_as_in_the_api(
    tree: dict, users: dict[str, Any]
) -> None:
    _on_notice(submitted(tree["xiangyun_g"], phone="13900006003"))
    staff = users["xiangyun_staff"]
    outside = tree["dalishi"].pk
    assert staff_page(staff).get(f"/applications/notice/?unit={outside}").status_code == 404
    assert staff_api(staff).get(f"/api/v1/applications/public-notice?unit_id={outside}").status_code == 404
    assert staff_page(staff).get("/applications/notice/?unit=abc").status_code == 404


def test_the_unions_links_start_without_a_separator(tree: dict, users: dict[str, Any]) -> None:
    second = org_unit_create(
        name="祥云县运输公司工会",
        level=OrgLevel.GRASSROOTS,
        division_code="532923",
        parent=tree["xiangyun"],
        kind=OrgKind.ENTERPRISE,
    )
    _on_notice(submitted(tree["xiangyun_g"], phone="13900006004"), submitted(second, phone="13900006005"))
    html = staff_page(users["xiangyun_staff"]).get("/applications/notice/").content.decode()
    nav = html[html.index('id="notice-unions"') : html.index("</nav>", html.index('id="notice-unions"'))]
    text = nav[nav.index(">") + 1 :]
    assert "Print the list of one union:" in text
    after = text.split("Print the list of one union:", 1)[1].strip()
    assert after.startswith("<a") and after.count(" · ") == 1
