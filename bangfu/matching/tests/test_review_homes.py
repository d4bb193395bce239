"""Confirmed real-estate findings write each home of the department's record once, as it is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from bangfu.matching import services
from bangfu.matching.models import Finding


@pytest.fixture
def homes_findings(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> Any:
    household, ids = make_household(members=2)
    rows = [
        ["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"],
        [ids[0], "张建国", "云(2026)祥云县不动产权第0001号", "90.5", "2026-06-01"],
        [ids[0], "张建国", "云(2019)祥云县不动产权第0777号", "80", "2019-05-10"],
    ]
    ds = services.dataset_import(actor=users["admin"], kind="real_estate", path=write_csv("h.csv", rows))
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    return household


def _homes(household: Any) -> list[tuple[Decimal, dt.date | None, str]]:
    return sorted((h.floor_area, h.acquired_on, h.note) for h in household.homes.all())


def test_homes_over_the_limit_write_each_home_with_its_own_area_and_date_once(
    homes_findings: Any, users: dict[str, Any]
) -> None:
    household = homes_findings
    staff = users["xiangyun_staff"]
    over = Finding.objects.get(rule="homes_over_limit")
    assert [h["area"] for h in over.details["home_records"]] == [80.0, 90.5] or [
        h["area"] for h in over.details["home_records"]
    ] == [90.5, 80.0]
    services.finding_confirm(actor=staff, finding_id=over.pk, reason="不动产登记属实")
    homes = _homes(household)
    assert [(a, d) for a, d, _n in homes] == [
        (Decimal("80.00"), dt.date(2019, 5, 10)),
        (Decimal("90.50"), dt.date(2026, 6, 1)),
    ]
    assert "第0777号" in homes[0][2] and "第0001号" not in homes[0][2]
    assert "第0001号" in homes[1][2] and "第0777号" not in homes[1][2]

    # The purchase within the year is of a home now on the file: not written a second time.
    recent = Finding.objects.get(rule="recent_home_purchase")
    services.finding_confirm(actor=staff, finding_id=recent.pk, reason="不动产登记属实")
    assert len(_homes(household)) == 2


def test_a_recent_purchase_confirmed_first_is_not_written_again_by_the_homes_over_the_limit(
    homes_findings: Any, users: dict[str, Any]
) -> None:
    household = homes_findings
    staff = users["xiangyun_staff"]
    services.finding_confirm(
        actor=staff, finding_id=Finding.objects.get(rule="recent_home_purchase").pk, reason="不动产登记属实"
    )
    assert [(a, d) for a, d, _n in _homes(household)] == [(Decimal("90.50"), dt.date(2026, 6, 1))]
    services.finding_confirm(
        actor=staff, finding_id=Finding.objects.get(rule="homes_over_limit").pk, reason="不动产登记属实"
    )
    assert [(a, d) for a, d, _n in _homes(household)] == [
        (Decimal("80.00"), dt.date(2019, 5, 10)),
        (Decimal("90.50"), dt.date(2026, 6, 1)),
    ]


def test_a_home_the_file_declares_without_a_certificate_is_not_counted_twice(
    homes_findings: Any, users: dict[str, Any]
) -> None:
    household = homes_findings
    household.homes.create(floor_area=Decimal("80.00"), note="自有住房")
    services.finding_confirm(
        actor=users["xiangyun_staff"],
        finding_id=Finding.objects.get(rule="homes_over_limit").pk,
        reason="不动产登记属实",
    )
    assert sorted(h.floor_area for h in household.homes.all()) == [Decimal("80.00"), Decimal("90.50")]
