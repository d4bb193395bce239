"""Search through the selector and the capped paginator, on both of its paths: a selective name
(resolved to the matching files' ids) and a broad one (joined back by EXISTS)."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.paging import CappedPaginator
from bangfu.registry import selectors, services
from bangfu.registry.selectors import HouseholdFilters, household_count_cap, household_list
from bangfu.testing.factories import household_input


def _page(actor: Any, q: str, number: int = 1, per_page: int = 2, **filters: Any) -> tuple[list[str], int, bool]:
    f = HouseholdFilters(q=q, **filters)
    paginator = CappedPaginator(household_list(actor=actor, filters=f), per_page, cap=household_count_cap(f))
    page = paginator.page(number)
    return [h.file_number for h in page.object_list], paginator.count, paginator.capped


@pytest.fixture
def files(tree: dict, users: dict[str, Any]) -> dict[str, list[str]]:
    made: dict[str, list[str]] = {"xiangyun": [], "dalishi": []}
    for _ in range(5):
        made["xiangyun"].append(
            services.household_create(
                actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"])
            ).file_number
        )
    for _ in range(2):
        made["dalishi"].append(
            services.household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"])).file_number
        )
    return made


@pytest.mark.parametrize("probe", [5_000, 2])  # 2: every name search takes the broad path
def test_name_search_pages_newest_first_inside_the_jurisdiction(
    users: dict[str, Any], files: dict[str, list[str]], monkeypatch: Any, probe: int
) -> None:
    monkeypatch.setattr(selectors, "PREFIX_PROBE", probe)
    newest_first = sorted(files["xiangyun"], reverse=True)
    for q in ("张建", "zhangjian", "zjg"):
        first, count, capped = _page(users["xiangyun_staff"], q)
        assert (first, count, capped) == (newest_first[:2], 5, False)
        assert _page(users["xiangyun_staff"], q, number=3)[0] == newest_first[4:]
    everyone = _page(users["province_manager"], "张建", per_page=10)
    assert sorted(everyone[0]) == sorted(files["xiangyun"] + files["dalishi"]) and everyone[1] == 7
    # Other filters still apply on either path.
    assert _page(users["xiangyun_staff"], "张建", state="exited")[:2] == ([], 0)
    assert _page(users["xiangyun_staff"], "王")[:2] == ([], 0)


def test_a_broad_search_says_more_without_counting(
    users: dict[str, Any], files: dict[str, list[str]], monkeypatch: Any, django_assert_num_queries: Any
) -> None:
    monkeypatch.setattr(selectors, "PREFIX_PROBE", 2)
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 1)  # the probe stops after 3 people, in 2+ files
    f = HouseholdFilters(q="张")
    paginator = CappedPaginator(household_list(actor=users["xiangyun_staff"], filters=f), 2, cap=household_count_cap(f))
    with django_assert_num_queries(0):
        assert (paginator.count, paginator.capped) == (2, True)


def test_a_broad_search_pages_through_the_files_it_saw(
    users: dict[str, Any], files: dict[str, list[str]], monkeypatch: Any, django_assert_max_num_queries: Any
) -> None:
    """More matches than the count shows: pages are the newest of the files the probe saw, no
    count and no walk over every file."""
    monkeypatch.setattr(selectors, "PREFIX_PROBE", 3)  # stops after 4 people: 张建国/张小明 of 2+ files
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 1)
    first, count, capped = _page(users["xiangyun_staff"], "张")
    assert capped and count == 2
    assert len(first) == 2 and set(first) <= set(files["xiangyun"]) and first == sorted(first, reverse=True)


@pytest.mark.parametrize("probe", [5_000, 2])
@pytest.mark.parametrize("typed", ["阿卜杜·热合曼", "阿卜杜•热合曼", "阿卜杜・热合曼", "阿卜杜.热", "阿卜杜．热合"])
def test_a_name_with_a_middle_dot_is_found_whichever_dot_was_typed(
    tree: dict, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch, probe: int, typed: str
) -> None:
    monkeypatch.setattr(selectors, "PREFIX_PROBE", probe)
    numbers = []
    for dot in ["\u00b7", "\u2022"]:
        data = household_input(tree["xiangyun_g"])
        data.members[0].name = f"阿卜杜{dot}热合曼"
        numbers.append(services.household_create(actor=users["xiangyun_staff"], data=data).file_number)
    found, count, _capped = _page(users["xiangyun_staff"], typed, per_page=10)
    assert sorted(found) == sorted(numbers) and count == 2


@pytest.mark.parametrize(
    "typed", ["B0070000", "b00700000001", "祥云-2016", "祥云-2016-001", "Z1", "z1", "Ｚ１", "007", "7"]
)
def test_a_file_number_from_an_older_system_is_found(tree: dict, users: dict[str, Any], typed: str) -> None:
    """Imported files keep their numbers, letters and all, however short ("Z1" was searched as a
    name and found nothing); no name has a digit."""
    staff = users["xiangyun_staff"]
    from bangfu.registry.models import Household

    for number in ("B00700000001", "祥云-2016-001", "C00700000002", "Z1", "Z12", "007"):
        h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
        Household.objects.filter(pk=h.pk).update(file_number=number)  # as the legacy import keeps it
    found, _count, _capped = _page(staff, typed, per_page=10)
    expected = {
        "B0070000": ["B00700000001"],
        "b00700000001": ["B00700000001"],
        "Z1": ["Z12", "Z1"],
        "z1": ["Z12", "Z1"],
        "Ｚ１": ["Z12", "Z1"],
        "007": ["007"],
        "7": [],
    }.get(typed, ["祥云-2016-001"])
    assert found == expected
