"""The yearly reviews as staff work through thousands of them: a page of their own with counts per
state, a filter by state and year, a search by file number and pages, reports to check first; a
short list on the work queue with the counts and a link; the API's list a page at a time with
the total. Another county's tasks are never shown, by page or by API. And an import's page says
when it lists only the first of its problems."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bangfu.intake import reviews
from bangfu.intake.models import ImportBatch, ReviewState, ReviewTask
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.org.models import OrgUnit
from bangfu.registry import codes
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db

THIS_YEAR = timezone.localdate().year
PAGE = "/applications/reviews/"


def _files(unit: OrgUnit, prefix: str, n: int) -> list[Household]:
    """``n`` files of ``unit`` numbered ``{prefix}-0001``… (no members: the list does not read them)."""
    return Household.objects.bulk_create(
        Household(
            file_number=f"{prefix}-{i:04d}",
            unit=unit,
            category=codes.HardshipCategory.values[0],
            tier=codes.FileTier.values[0],
            main_cause=codes.Cause.values[0],
            address="祥云县祥城镇",
            housing_type=codes.HousingType.values[0],
        )
        for i in range(1, n + 1)
    )


def _tasks(
    files: list[Household], state: str = ReviewState.OPEN, year: int = THIS_YEAR, day: int = 0, **kw: Any
) -> list[int]:
    """A task per file, due on consecutive days from the year's ``day`` (the first file's the oldest)."""
    start = dt.date(year, 1, 1) + dt.timedelta(days=day)
    made = ReviewTask.objects.bulk_create(
        ReviewTask(household=h, year=year, state=state, due_on=start + dt.timedelta(days=i), **kw)
        for i, h in enumerate(files)
    )
    return [t.pk for t in made]


def _staff(users: Any, who: str = "xiangyun_staff", language: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(users[who])
    return c


def _listed(html: str) -> list[str]:
    """The file numbers of the list's rows, in order."""
    if 'id="reviews"' not in html:
        return []
    body = html.split('id="reviews"', 1)[1].split("</table>", 1)[0]
    return re.findall(r">((?:XY|DL)-\d{4})</a>", body)


def _count(html: str, state: str) -> int:
    """The count on the list's button for ``state`` ("" for all)."""
    found = re.search(rf'data-state="{state}"[^>]*>[^<]*<span class="badge[^"]*">([\d,]+)</span>', html)
    assert found, f"no count for {state!r}"
    return int(found.group(1).replace(",", ""))


@pytest.fixture
def county(tree: Any) -> dict[str, list[int]]:
    """祥云: 70 tasks waiting for the worker, 3 reports to check, 5 closed (this year) and 2
    closed last year. 大理市, next door: 4 open and 1 reported."""
    xy = _files(tree["xiangyun_g"], "XY", 80)
    dl = _files(tree["dalishi_g"], "DL", 5)
    return {
        "open": _tasks(xy[:70]),
        "reported": _tasks(xy[70:73], ReviewState.REPORTED, day=100, changes={"address": "新地址"}),
        "done": _tasks(xy[73:76], ReviewState.CONFIRMED, day=100, done_at=timezone.now())
        + _tasks(xy[76:78], ReviewState.UPDATED, day=103, done_at=timezone.now()),
        "last_year": _tasks(xy[78:80], ReviewState.CONFIRMED, year=THIS_YEAR - 1, done_at=timezone.now()),
        "other": _tasks(dl[:4]) + _tasks(dl[4:], ReviewState.REPORTED),
    }


def test_the_list_counts_each_state_and_puts_the_reports_to_check_first(users: Any, county: Any) -> None:
    page = _staff(users).get(PAGE).content.decode()
    assert (_count(page, ""), _count(page, "todo"), _count(page, "reported")) == (80, 73, 3)
    assert (_count(page, "open"), _count(page, "done")) == (70, 7)
    assert "80 yearly reviews" in page and "1–50 shown" in page and "Page 1 of 2" in page
    rows = _listed(page)
    # The worker's reports first, then the tasks waiting for the worker, oldest first.
    assert rows[:5] == ["XY-0071", "XY-0072", "XY-0073", "XY-0001", "XY-0002"] and len(rows) == 50
    # Each button twice: in its column, and under the changes on a phone.
    assert page.count("Checked: apply the changes") == 2 * 3 and "新地址" in page


def test_another_countys_tasks_are_never_shown(users: Any, county: Any) -> None:
    mine = _staff(users)
    for query in ("", "?state=reported", "?state=open", "?q=DL-", "?page=2", "?state=done&year=2000"):
        page = mine.get(PAGE + query).content.decode()
        assert not [n for n in _listed(page) if n.startswith("DL")], query
    page = mine.get(PAGE, {"q": "DL-"}).content.decode()
    assert _count(page, "") == 0 and "No yearly review matches." in page
    # The next county sees its own five, and none of 祥云's.
    theirs = _staff(users, "dalishi_staff").get(PAGE).content.decode()
    assert _listed(theirs) == ["DL-0005", "DL-0001", "DL-0002", "DL-0003", "DL-0004"]
    assert (_count(theirs, ""), _count(theirs, "reported"), _count(theirs, "open")) == (5, 1, 4)
    # By API too: the rows, the total and the counts.
    body = _staff(users, "dalishi_staff").get("/api/v1/reviews", {"page_size": 200}).json()
    assert body["count"] == 5 and {r["file_number"][:3] for r in body["results"]} == {"DL-"}
    assert body["counts"] == {"reported": 1, "open": 4, "done": 0}
    body = mine.get("/api/v1/reviews", {"q": "DL", "state": "todo"}).json()
    assert body["count"] == 0 and body["results"] == []
    # The province sees both counties.
    assert _count(_staff(users, "admin").get(PAGE).content.decode(), "") == 85


@pytest.mark.parametrize("who", ["province_manager", "evaluator"])
def test_managers_and_evaluators_follow_the_reviews_without_acting(users: Any, county: Any, who: str) -> None:
    """Who may see the files sees their yearly reviews; only who may edit them acts on them."""
    c = _staff(users, who)
    page = c.get(PAGE).content.decode()
    assert _count(page, "") == 85 and len(_listed(page)) == 50
    assert "Checked: apply the changes" not in page and "Confirm unchanged" not in page
    queue = c.get("/applications/").content.decode()  # the work queue's short list too
    assert "Checked: apply the changes" not in queue and "Confirm unchanged" not in queue
    assert c.get("/api/v1/reviews").json()["count"] == 85
    task = ReviewTask.objects.get(household__file_number="XY-0071")
    c.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "reported", "next": PAGE})
    refused = c.post(f"/api/v1/reviews/{task.pk}/confirm", {}, content_type="application/json")
    # Seen but not theirs to act on: 403 naming the permission, as the applications answer them.
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["details"] == {"permission": "household.edit"}
    task.refresh_from_db()
    assert task.state == ReviewState.REPORTED


def test_filter_by_state_and_year_and_search_by_file_number(users: Any, county: Any) -> None:
    c = _staff(users)
    page = c.get(PAGE, {"state": "reported"}).content.decode()
    assert _listed(page) == ["XY-0071", "XY-0072", "XY-0073"] and "3 yearly reviews" in page
    assert _count(page, "open") == 70  # the other states' counts stay in view
    page = c.get(PAGE, {"state": "done"}).content.decode()
    assert _listed(page) == ["XY-0079", "XY-0080", "XY-0074", "XY-0075", "XY-0076", "XY-0077", "XY-0078"]
    page = c.get(PAGE, {"state": "done", "year": str(THIS_YEAR - 1)}).content.decode()
    assert _listed(page) == ["XY-0079", "XY-0080"]
    assert (_count(page, ""), _count(page, "done")) == (2, 2)  # counts for that year
    # Part of the number, as typed: full-width digits and spaces.
    page = c.get(PAGE, {"q": " ００ 4"}).content.decode()
    assert _listed(page) == ["XY-0004", *(f"XY-{i:04d}" for i in range(40, 50))]
    page = c.get(PAGE, {"q": "xy-0072"}).content.decode()
    assert _listed(page) == ["XY-0072"] and _count(page, "reported") == 1 and _count(page, "open") == 0
    page = c.get(PAGE, {"q": "nothing-like-it"}).content.decode()
    assert "No yearly review matches." in page
    # A state or year that is not one is left out, not an error.
    assert c.get(PAGE, {"state": "bogus", "year": "²"}).status_code == 200


def test_the_page_takes_the_states_the_api_takes_and_says_which_value_it_does_not_know(users: Any, county: Any) -> None:
    """``?state=confirmed`` (the API's 1) and ``?state=bogus`` each listed every task, without a
    word: the page now takes the API's states and names the value it does not know."""
    from bangfu.intake.selectors import REVIEW_FILTERS

    c = _staff(users)
    page = c.get(PAGE, {"state": "confirmed"}).content.decode()
    assert len(_listed(page)) == 5 and "5 yearly reviews" in page  # 3 this year, 2 last year
    assert '<option value="confirmed" selected>' in page
    for state in REVIEW_FILTERS:  # every value the API takes, taken
        page = c.get(PAGE, {"state": state}).content.decode()
        assert "does not know" not in page, state
    page = c.get(PAGE, {"state": "bogus", "year": "²"}).content.decode()
    assert "The filter “Review state” does not know the value “bogus”" in page
    assert "The filter “Review year” does not know the value “²”" in page
    partial = c.get(PAGE, {"state": "bogus"}, headers={"HX-Request": "true"}).content.decode()
    assert "does not know the value “bogus”" in partial  # said in the results htmx replaces, too


def test_paging_past_fifty_keeps_the_filters(users: Any, county: Any) -> None:
    c = _staff(users)
    first = c.get(PAGE, {"state": "open"}).content.decode()
    assert _listed(first) == [f"XY-{i:04d}" for i in range(1, 51)]
    assert "?state=open&amp;page=2" in first and "Page 1 of 2" in first
    second = c.get(PAGE, {"state": "open", "page": "2"}).content.decode()
    assert _listed(second) == [f"XY-{i:04d}" for i in range(51, 71)]
    assert "51–70 shown" in second and "?state=open&amp;page=1" in second
    # Past the end: the last page.
    assert _listed(c.get(PAGE, {"state": "open", "page": "99"}).content.decode()) == _listed(second)
    # With htmx, only the results (for the search as one types); the whole page without it.
    partial = c.get(PAGE, {"state": "open", "page": "2"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div class="d-flex') and "<html" not in partial
    assert _listed(partial) == _listed(second)


def test_confirming_from_the_list_comes_back_to_it(users: Any, county: Any) -> None:
    c = _staff(users)
    task = ReviewTask.objects.get(household__file_number="XY-0060")
    back = f"{PAGE}?state=open&page=2"
    page = c.get(back).content.decode()
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in page
    r = c.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "open", "next": back})
    assert r.status_code == 302 and r["Location"] == back
    task.refresh_from_db()
    assert task.state == ReviewState.CONFIRMED
    # Elsewhere than the list: back to the queue.
    other = ReviewTask.objects.get(household__file_number="XY-0061")
    r = c.post(f"/applications/reviews/{other.pk}/confirm/", {"state": "open", "next": "https://example.com/"})
    assert r["Location"] == "/applications/"


def test_the_queue_keeps_a_short_list_with_the_counts_and_a_link(users: Any, county: Any) -> None:
    page = _staff(users).get("/applications/").content.decode()
    shown = _listed(page)
    assert len(shown) == 10 and shown[:3] == ["XY-0071", "XY-0072", "XY-0073"]
    assert "The first 10 of 73 to do are shown, the reports to check first." in page
    assert f'href="{PAGE}"' in page and "See all yearly reviews" in page
    assert re.search(r"Reported by the worker: to check <span[^>]*>3<", page)
    assert re.search(r"Waiting for the worker <span[^>]*>70<", page)
    assert re.search(r"Closed <span[^>]*>7<", page)
    assert "DL-" not in page


def test_chinese_by_default(users: Any, county: Any, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"  # the product's default (the tests read English)
    c = Client()
    c.force_login(users["xiangyun_staff"])
    page = c.get(PAGE).content.decode()
    assert '<html lang="zh-hans"' in page and '<h1 class="h4 mb-3">年度复核</h1>' in page and "档案编号" in page


def test_the_list_reads_the_same_queries_whatever_the_page_holds(users: Any, tree: Any) -> None:
    c = _staff(users)
    xy = _files(tree["xiangyun_g"], "XY", 60)
    _tasks(xy[:2], ReviewState.REPORTED, changes={"address": "新地址"})
    _tasks(xy[2:3], ReviewState.UPDATED, done_at=timezone.now(), done_by=users["xiangyun_staff"])
    c.get(PAGE)
    with CaptureQueriesContext(connection) as few:
        c.get(PAGE)
    _tasks(xy[3:], ReviewState.REPORTED, changes={"address": "又一个"})
    with CaptureQueriesContext(connection) as many:
        page = c.get(PAGE).content.decode()
    assert len(_listed(page)) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_api_pages_filters_and_counts(users: Any, county: Any) -> None:
    c = _staff(users)
    body = c.get("/api/v1/reviews").json()
    assert body["count"] == 80 and body["count_capped"] is False and body["page_size"] == 50
    assert body["counts"] == {"reported": 3, "open": 70, "done": 7}
    assert [r["file_number"] for r in body["results"][:4]] == ["XY-0071", "XY-0072", "XY-0073", "XY-0001"]
    assert len(body["results"]) == 50
    body = c.get("/api/v1/reviews", {"page": "2"}).json()
    assert len(body["results"]) == 30 and body["results"][-1]["file_number"] == "XY-0078"
    body = c.get("/api/v1/reviews", {"state": "open", "page": "2", "page_size": "30"}).json()
    assert body["count"] == 70 and [r["file_number"] for r in body["results"]] == [f"XY-{i:04d}" for i in range(31, 61)]
    body = c.get("/api/v1/reviews", {"state": "done", "year": str(THIS_YEAR - 1)}).json()
    assert [r["file_number"] for r in body["results"]] == ["XY-0079", "XY-0080"]
    assert body["counts"] == {"reported": 0, "open": 0, "done": 2} and body["results"][0]["done_at"]
    body = c.get("/api/v1/reviews", {"q": "0072"}).json()
    assert body["count"] == 1 and body["results"][0]["state"] == "reported"
    r = c.get("/api/v1/reviews", {"state": "bogus"})
    assert r.status_code == 422 and "state" in r.json()["error"]["fields"], r.content
    assert c.get("/api/v1/reviews", {"page_size": 201}).status_code == 422
    assert c.get("/api/v1/reviews", {"page": 0}).status_code == 422


def test_review_tasks_for_is_unchanged_for_staff(users: Any, county: Any) -> None:
    """The work still to do, as the worker's and the staff's other pages read it."""
    found = reviews.review_tasks_for(actor=users["xiangyun_staff"])
    assert found.count() == 73
    assert reviews.review_tasks_for(actor=users["dalishi_staff"]).count() == 5


def test_an_import_says_when_it_lists_only_the_first_problems(tree: Any, users: Any) -> None:
    rows = [r for i in range(1, 61) for r in household_rows(f"P-{i:04d}", 住房类型="城堡")]
    upload = io.BytesIO(xlsx(rows))
    upload.name = "old.xlsx"
    c = _staff(users)
    r = c.post("/applications/import/", {"unit_id": tree["xiangyun"].pk, "file": upload})
    batch = ImportBatch.objects.get()
    assert batch.issues_count == 60
    for page in (c.get(r["Location"]), c.get(r["Location"], HTTP_HX_REQUEST="true")):
        html = page.content.decode()
        assert "The first 50 of 60 problems are shown; download the error report for all of them:" in html
        assert html.count("城堡") == 50
        assert f"/applications/import/{batch.pk}/report/?format=csv" in html
    # Fifty or fewer: no such line.
    batch.issues.filter(row__gt=60).delete()
    ImportBatch.objects.filter(pk=batch.pk).update(issues_count=batch.issues.count())
    assert "The first" not in c.get(r["Location"]).content.decode()


def test_a_review_closes_with_its_file(tree: dict, users: dict[str, Any]) -> None:
    """A removed file's review stayed "waiting for the worker", counted as to do, and could still
    be confirmed afterwards."""
    import datetime as dt

    import pytest

    from bangfu.common.errors import DomainError
    from bangfu.intake import reviews
    from bangfu.intake.models import ReviewState, ReviewTask
    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    h = registry.household_create(actor=users["admin"], data=household_input(tree["xiangyun_g"], members=1))
    task = ReviewTask.objects.create(household=h, year=2026, due_on=dt.date(2026, 12, 1))
    registry.household_state_change(
        actor=users["xiangyun_staff"], household_id=h.pk, to_state="cancelled", reason="重复建档"
    )
    task.refresh_from_db()
    assert task.state == ReviewState.CLOSED_WITH_FILE and "closed" in task.note
    with pytest.raises(DomainError) as caught:
        reviews.review_confirm(actor=users["xiangyun_staff"], task_id=task.pk, note="无变化")
    assert "closed" in caught.value.message
