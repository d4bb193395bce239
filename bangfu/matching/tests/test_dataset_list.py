"""Which datasets a user sees: its own jurisdiction's, and those imported above it that it may run
a recheck against — but only its own can be opened or have their rejected rows downloaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from bangfu.matching import selectors, services


def test_a_county_lists_the_province_datasets_it_may_run_against(
    tree: dict[str, Any], users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    province_set = services.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=write_csv(
            "v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], ["11010519491231002X", "王某", "云A1", "小型轿车"]]
        ),
    )
    county = users["xiangyun_staff"]
    listed = list(selectors.dataset_list(actor=county))
    assert province_set in listed
    assert listed.count(province_set) == 1
    # Another city's staff see it too (it is their province's), but not a sibling's own datasets.
    assert province_set in list(selectors.dataset_list(actor=users["dalishi_staff"]))
    # Listing is not opening: the province's rejected rows stay with the province.
    with pytest.raises(Http404):
        selectors.dataset_get(actor=county, dataset_id=province_set.pk)
    # And the county may run a recheck of its own files against it.
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_run(actor=county, dataset_ids=[province_set.pk])
    run.refresh_from_db()
    assert run.unit == tree["xiangyun"]
    assert run.status == "done"


def test_a_county_does_not_list_a_sibling_county_dataset(
    users: dict[str, Any], write_csv: Any, tree: dict[str, Any]
) -> None:
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    dali_admin = user_with_role(tree["dalishi"], Role.ADMIN, "dalishi_admin")
    theirs = services.dataset_import(
        actor=dali_admin,
        kind="vehicles",
        path=write_csv(
            "v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], ["11010519491231002X", "王某", "云A1", "小型轿车"]]
        ),
    )
    assert theirs.unit == tree["dalishi"]
    assert theirs not in list(selectors.dataset_list(actor=users["xiangyun_staff"]))
    assert theirs in list(selectors.dataset_list(actor=users["province_manager"]))
