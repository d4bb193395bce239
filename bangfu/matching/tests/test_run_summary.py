"""A recheck's summary counts the findings that recheck recorded, and no other run's."""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.test import Client
from django.urls import reverse
from ninja.testing import TestClient

from bangfu.matching import services
from bangfu.matching.api import router
from bangfu.matching.models import Dataset, Finding, MatchRun, RunStatus

VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]
DIBAO = ["身份证号", "姓名", "救助状态"]


def _run(actor: Any, datasets: list[Dataset], capture: Any, **kwargs: Any) -> MatchRun:
    with capture(execute=True):
        run = services.match_run(actor=actor, dataset_ids=[d.pk for d in datasets], **kwargs)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return run


def _page(user: Any, url: str, **query: Any) -> str:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    response = c.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_recheck_over_the_same_files_counts_only_what_it_recorded(
    make_household: Any,
    users: dict[str, Any],
    tree: dict[str, Any],
    write_csv: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Xiangyun's recheck records three findings of its file; Dali's recheck a day later checks
    that file again and another one in Dali city, and records one new finding there. The second
    summary counted the first one's three again (everything the matching found, of whatever run),
    and its counts opened findings it had not recorded."""
    xiangyun, a = make_household(unit="xiangyun_g")
    dalishi, b = make_household(unit="dalishi_g")
    admin = users["admin"]
    vehicles = services.dataset_import(
        actor=admin,
        kind="vehicles",
        path=write_csv(
            "v.csv",
            [
                VEHICLES,
                [a[0], "张建国", "云L1", "小型轿车"],
                [a[1], "李秀英", "云L2", "小型轿车"],
                [b[0], "张建国", "云L9", "小型轿车"],
            ],
        ),
    )
    dibao = services.dataset_import(
        actor=admin, kind="dibao_roll", path=write_csv("d.csv", [DIBAO, [a[2], "张小明", "在保"]])
    )
    capture = django_capture_on_commit_callbacks
    first = _run(users["xiangyun_staff"], [vehicles, dibao], capture, unit=tree["xiangyun"])
    assert first.findings_new == 3
    first_summary = first.summary
    assert first_summary["by_severity"] == {"disqualifying": 2, "info": 1}
    # One of them reviewed meanwhile: the second run's counts are not of the first's, in any status.
    reviewed = Finding.objects.filter(run=first, severity="disqualifying").first()
    assert reviewed is not None
    services.finding_dismiss(actor=users["xiangyun_staff"], finding_id=reviewed.pk, reason="车已卖出")

    second = _run(admin, [vehicles, dibao], capture, unit=tree["dali"])
    assert second.households == 2
    assert list(Finding.objects.filter(run=second).values_list("household_id", flat=True)) == [dalishi.pk]
    assert second.findings_new == 1
    assert second.summary["by_severity"] == {"disqualifying": 1}
    assert second.summary["by_kind"] == {"vehicles": {"disqualifying": 1}}
    assert second.summary["by_unit"] == [
        {"unit_id": tree["xiangyun_g"].pk, "unit": "祥云县纺织厂工会", "households": 1, "findings": {}},
        {
            "unit_id": tree["dalishi_g"].pk,
            "unit": "大理市下关街道工会",
            "households": 1,
            "findings": {"disqualifying": 1},
        },
    ]
    first.refresh_from_db()
    assert first.summary == first_summary  # the first run's summary stays its own
    assert xiangyun.pk != dalishi.pk

    # The API gives the same counts.
    got = TestClient(router).get(f"/matching/runs/{second.pk}", user=admin, auth=admin).json()
    assert (got["findings_new"], got["summary"]["by_severity"]) == (1, {"disqualifying": 1})

    # The page: the total row counts one disqualifying finding and no information, and each count
    # opens this run's findings, as many as it says.
    page = _page(admin, reverse("matching:run_detail", args=[second.pk]))
    summary = page[page.index('id="run-summary"') :]
    total = re.search(r"<tfoot>.*?</tfoot>", summary, re.DOTALL)
    assert total is not None
    cells = re.findall(r'<td class="text-end[^"]*">(?:<a [^>]+>)?([\d,]+)', total.group(0))
    assert cells == ["2", "1", "0", "0", "0"], cells  # files, then disqualifying, to review, income, information
    assert "Vehicles" in summary and "Dibao" not in summary
    links = re.findall(r'<a href="(/matching/\?[^"]+)">([\d,]+)</a>', summary)
    assert links
    # The phone's counts (each severity under its name) open the run's findings too.
    assert all("run=" in href for href in re.findall(r'<a href="(/matching/\?[^"]+)"', summary))
    for href, shown in links:
        href = href.replace("&amp;", "&")
        assert f"run={second.pk}" in href
        listed = _page(admin, href)
        assert (f"{shown} finding" if shown == "1" else f"{shown} findings") in listed, href


def test_the_summaries_of_rechecks_already_run_are_counted_again(
    make_household: Any,
    users: dict[str, Any],
    tree: dict[str, Any],
    write_csv: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Migration 0005 recounts a finished run's summary from the findings it recorded: one kept
    before it counted an earlier run's findings too. The files checked per union stay."""
    from django.apps import apps

    recount = importlib.import_module("bangfu.matching.migrations.0005_run_summaries_count_own_findings").recount
    _household, a = make_household(unit="xiangyun_g")
    admin = users["admin"]
    vehicles = services.dataset_import(
        actor=admin, kind="vehicles", path=write_csv("v.csv", [VEHICLES, [a[0], "张建国", "云L1", "小型轿车"]])
    )
    capture = django_capture_on_commit_callbacks
    first = _run(admin, [vehicles], capture, unit=tree["xiangyun"])
    second = _run(admin, [vehicles], capture, unit=tree["xiangyun"])
    right = {"first": first.summary, "second": second.summary}
    assert second.summary["by_severity"] == {}
    unit = tree["xiangyun_g"]
    kept = {  # as the version before counted the second run: the first run's finding again
        "by_unit": [{"unit_id": unit.pk, "unit": unit.name, "households": 1, "findings": {"disqualifying": 1}}],
        "by_kind": {"vehicles": {"disqualifying": 1}},
        "by_severity": {"disqualifying": 1},
    }
    MatchRun.objects.filter(pk=second.pk).update(summary=kept)
    recount(apps, None)
    first.refresh_from_db()
    second.refresh_from_db()
    assert {"first": first.summary, "second": second.summary} == right
    assert second.summary["by_unit"] == [{"unit_id": unit.pk, "unit": unit.name, "households": 1, "findings": {}}]
