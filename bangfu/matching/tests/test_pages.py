"""The staff pages of the cross-department checks: who may open what, importing a file, starting a
recheck, reviewing findings, telling the worker before removing a file, and the share of files
cross-checked."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.urls.resolvers import URLPattern

from bangfu.common.models import AuditEntry
from bangfu.matching import services
from bangfu.matching.models import Dataset, Finding, MatchRun, RemovalProposal
from bangfu.org.models import Role
from bangfu.registry.models import Household, TimelineEvent
from bangfu.testing.factories import UserFactory, user_with_role

VEHICLE_HEADER = ["身份证号", "姓名", "号牌号码", "车辆类型"]
MISSING = 987654


def client_for(user: Any) -> Client:
    """A signed-in client reading English pages (the assertions use the English source strings)."""
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


@dataclass(frozen=True)
class County:
    """One county's objects: a file, a dataset its centre imported, a finished recheck, an open
    finding, and a confirmed disqualifying one whose removal waits for the worker to be told."""

    household: Household
    ids: list[str]
    dataset: Dataset
    run: MatchRun
    finding: Finding
    confirmed: Finding
    proposal: RemovalProposal


@pytest.fixture
def county_objects(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> Callable[[str, str], County]:
    def make(unit: str, staff: str) -> County:
        household, ids = make_household(unit=unit)
        actor = users[staff]
        rows = [
            VEHICLE_HEADER,
            [ids[0], "张建国", f"{unit}-1", "小型轿车"],
            [ids[1], "李秀英", f"{unit}-2", "小型轿车"],
        ]
        ds = services.dataset_import(
            actor=actor, kind="vehicles", path=write_csv(f"{unit}.csv", rows), file_name=f"{unit}-vehicles.csv"
        )
        with django_capture_on_commit_callbacks(execute=True):
            run = services.match_run(actor=actor, dataset_ids=[ds.pk])
        confirmed = Finding.objects.get(household=household, record_key=f"{unit}-1")
        services.finding_confirm(actor=actor, finding_id=confirmed.pk, reason="车管所记录属实")
        confirmed.refresh_from_db()
        finding = Finding.objects.get(household=household, record_key=f"{unit}-2")
        run.refresh_from_db()
        return County(household, ids, ds, run, finding, confirmed, confirmed.removal_proposal)

    return make


@pytest.fixture
def xiangyun(county_objects: Callable[[str, str], County]) -> County:
    return county_objects("xiangyun_g", "xiangyun_staff")


@pytest.fixture
def dalishi(county_objects: Callable[[str, str], County]) -> County:
    return county_objects("dalishi_g", "dalishi_staff")


def _html(response: Any) -> str:
    return response.content.decode()


def _streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# --- every page, for the right user and the wrong one ---------------------------------------------


LIST_PAGES = [
    "matching:finding_list",
    "matching:dataset_list",
    "matching:dataset_import",
    "matching:run_list",
    "matching:run_start",
    "matching:proposal_list",
    "matching:coverage",
]


def test_every_page_renders_for_the_county_staff(xiangyun: County, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    for name in LIST_PAGES:
        response = c.get(reverse(name))
        assert response.status_code == 200, name
        assert 'id="nav-matching"' in _html(response)
    pages = {
        "matching:dataset_detail": (xiangyun.dataset.pk, xiangyun.dataset.file_name),
        "matching:run_detail": (xiangyun.run.pk, "祥云县纺织厂工会"),
        "matching:finding_detail": (xiangyun.finding.pk, xiangyun.household.file_number),
    }
    for name, (pk, expected) in pages.items():
        response = c.get(reverse(name, args=[pk]))
        assert response.status_code == 200, name
        assert expected in _html(response), name
    queue = _html(c.get(reverse("matching:finding_list")))
    assert xiangyun.household.file_number in queue
    proposals = _html(c.get(reverse("matching:proposal_list")))
    assert f'id="proposal-{xiangyun.proposal.pk}"' in proposals


def test_pages_need_sign_in_and_a_role(users: dict[str, Any]) -> None:
    anonymous = Client()
    for name in LIST_PAGES:
        response = anonymous.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/login/"), name
    nobody: Any = UserFactory(username="no_role")
    c = client_for(nobody)
    for name in LIST_PAGES:
        assert c.get(reverse(name)).status_code == 403, name
    assert 'id="nav-matching"' not in _html(c.get(reverse("web:household_list")))


def _call(c: Client, method: str, name: str, pk: int) -> Any:
    data = {
        "matching:finding_dismiss": {"dismiss-reason": "另一人"},
        "matching:finding_confirm": {"confirm-reason": "属实"},
        "matching:proposal_notify": {f"p{pk}-note": "电话告知"},
    }.get(name, {})
    url = reverse(name, args=[pk])
    return c.post(url, data) if method == "post" else c.get(url)


# Every page of this app that takes an id, with the object of a county it is about.
MATRIX: dict[tuple[str, str], Callable[[County], int]] = {
    ("get", "matching:dataset_detail"): lambda o: o.dataset.pk,
    ("get", "matching:dataset_rejected"): lambda o: o.dataset.pk,
    ("post", "matching:dataset_delete"): lambda o: o.dataset.pk,
    ("get", "matching:run_detail"): lambda o: o.run.pk,
    ("get", "matching:finding_detail"): lambda o: o.finding.pk,
    ("post", "matching:finding_confirm"): lambda o: o.finding.pk,
    ("post", "matching:finding_dismiss"): lambda o: o.finding.pk,
    ("post", "matching:proposal_notify"): lambda o: o.proposal.pk,
    ("post", "matching:proposal_execute"): lambda o: o.proposal.pk,
}


def test_every_page_with_an_id_is_in_the_matrix() -> None:
    from bangfu.matching import urls

    with_ids = {
        f"matching:{p.name}" for p in urls.urlpatterns if isinstance(p, URLPattern) and "<int:" in str(p.pattern)
    }
    assert with_ids == {name for _method, name in MATRIX}, "add these pages to MATRIX"


def _state(o: County) -> tuple[Any, ...]:
    return (
        Dataset.objects.filter(pk=o.dataset.pk).exists(),
        Finding.objects.get(pk=o.finding.pk).status,
        RemovalProposal.objects.get(pk=o.proposal.pk).status,
        Household.objects.get(pk=o.household.pk).state,
        Household.objects.get(pk=o.household.pk).version,
    )


@pytest.mark.parametrize(("method", "name"), list(MATRIX), ids=[n for _m, n in MATRIX])
def test_another_countys_objects_are_not_found(
    method: str, name: str, dalishi: County, xiangyun: County, users: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    before = _state(dalishi)
    response = _call(c, method, name, MATRIX[(method, name)](dalishi))
    missing = _call(c, method, name, MISSING)
    assert response.status_code == 404 and missing.status_code == 404
    page = _html(response)
    assert "outside your jurisdiction" in page  # the same page as "no such object"
    for secret in (dalishi.household.file_number, dalishi.dataset.file_name, "大理市"):
        assert secret not in page
    assert _state(dalishi) == before
    # The owning county reaches the same object.
    own = _call(client_for(users["dalishi_staff"]), method, name, MATRIX[(method, name)](dalishi))
    assert own.status_code not in {403, 404}, (name, own.status_code)


def test_a_viewer_may_look_but_not_act(xiangyun: County, users: dict[str, Any]) -> None:
    """The province's evaluator sees every county's checks but may neither import, start a
    recheck, review a finding, tell a worker nor delete data (403: nothing is hidden)."""
    c = client_for(users["evaluator"])
    assert c.get(reverse("matching:finding_detail", args=[xiangyun.finding.pk])).status_code == 200
    assert c.get(reverse("matching:run_detail", args=[xiangyun.run.pk])).status_code == 200
    assert c.get(reverse("matching:dataset_import")).status_code == 403
    assert c.get(reverse("matching:run_start")).status_code == 403
    before = _state(xiangyun)
    for method, name in MATRIX:
        if method == "post":
            assert _call(c, method, name, MATRIX[(method, name)](xiangyun)).status_code == 403, name
    assert _state(xiangyun) == before
    page = _html(c.get(reverse("matching:finding_detail", args=[xiangyun.finding.pk])))
    assert 'id="confirm-form"' not in page and "does not allow reviewing" in page


def test_a_province_dataset_is_listed_for_the_county_but_not_opened(
    users: dict[str, Any], write_csv: Any, make_household: Any
) -> None:
    _household, ids = make_household()
    province = services.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=write_csv("p.csv", [VEHICLE_HEADER, [ids[0], "张建国", "云A1", "小型轿车"]]),
        file_name="province-vehicles.csv",
    )
    c = client_for(users["xiangyun_staff"])
    listed = _html(c.get(reverse("matching:dataset_list")))
    assert "province-vehicles.csv" in listed and "From above: use only" in listed
    assert reverse("matching:dataset_detail", args=[province.pk]) not in listed
    assert c.get(reverse("matching:dataset_detail", args=[province.pk])).status_code == 404
    assert c.get(reverse("matching:dataset_rejected", args=[province.pk])).status_code == 404
    # It is offered for a recheck all the same.
    assert f'value="{province.pk}"' in _html(c.get(reverse("matching:run_start")))
    # The province's own staff open it.
    assert client_for(users["admin"]).get(reverse("matching:dataset_detail", args=[province.pk])).status_code == 200


def test_the_datasets_name_the_person_who_imported_them_and_the_union_apart(
    users: dict[str, Any], write_csv: Any, make_household: Any
) -> None:
    _household, ids = make_household()
    dataset = services.dataset_import(
        actor=users["xiangyun_staff"],
        kind="vehicles",
        path=write_csv("v.csv", [VEHICLE_HEADER, [ids[0], "张建国", "云A1", "小型轿车"]]),
        file_name="vehicles.csv",
    )
    c = client_for(users["xiangyun_staff"])
    row = _html(c.get(reverse("matching:dataset_list"))).split(f'id="dataset-{dataset.pk}"')[1].split("</tr>")[0]
    assert '<td class="imported-by d-none d-sm-table-cell">xiangyun_staff</td>' in row
    assert '<td class="d-none d-sm-table-cell">祥云县总工会' in row
    page = _html(c.get(reverse("matching:dataset_detail", args=[dataset.pk])))
    assert 'id="imported-by">xiangyun_staff</dd>' in page and "祥云县总工会 · " not in page


# --- importing a file ------------------------------------------------------------------------------


def _upload(name: str, rows: list[list[str]] | None = None, raw: bytes | None = None) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    if raw is None:
        buf = io.StringIO()
        csv.writer(buf).writerows(rows or [])
        raw = buf.getvalue().encode()
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def test_import_shows_counts_and_the_rejected_rows(make_household: Any, users: dict[str, Any]) -> None:
    _household, ids = make_household()
    bad = ids[2][:17] + ("0" if ids[2][17] != "0" else "1")  # a wrong check digit
    rows = [
        VEHICLE_HEADER,
        [ids[0], "张建国", "云L1", "小型轿车"],
        [ids[1], "李秀英", "云L2", "小型轿车"],
        [bad, "张小明", "云L3", "小型轿车"],
        [ids[0], "张建国", "云L4", "小型轿车"],
    ]
    c = client_for(users["xiangyun_staff"])
    form = _html(c.get(reverse("matching:dataset_import")))
    assert 'name="retention_days"' in form and 'name="as_of"' in form and 'name="source"' in form
    response = c.post(
        reverse("matching:dataset_import"),
        {"kind": "vehicles", "file": _upload("车辆.csv", rows), "source": "祥云县交警大队", "retention_days": "90"},
    )
    ds = Dataset.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("matching:dataset_detail", args=[ds.pk])
    assert (ds.rows_taken, ds.rows_rejected, ds.retention_days, ds.file_name) == (3, 1, 90, "车辆.csv")
    assert ds.unit.name == "祥云县总工会"
    page = _html(c.get(response["Location"]))
    assert 'id="rows-taken">3<' in page and 'id="rows-rejected">1<' in page
    assert "rows taken 3, rejected 1" in page  # the message after the import
    rejected = c.get(reverse("matching:dataset_rejected", args=[ds.pk]))
    assert rejected.status_code == 200 and rejected["Content-Type"].startswith("text/csv")
    content = rejected.getvalue()
    body = content.decode("utf-8-sig")
    assert content.startswith(codecs.BOM_UTF8)  # Excel reads it as UTF-8, not GBK
    assert body.splitlines()[0] == "Row in the file,ID number,Reason" and "\n4," in body  # line 4, with its reason
    assert bad not in body  # the rejected number is masked
    # The columns used are saved under the source for its next file.
    assert "身份证号" in page and "祥云县交警大队" in page


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (lambda: _upload("empty.csv", raw=b""), "The file is empty."),
        (lambda: _upload("header.csv", [VEHICLE_HEADER]), "The file has a header but no rows."),
        (lambda: _upload("no-id.csv", [["姓名", "号牌号码"], ["张建国", "云L1"]]), "No ID number column found"),
    ],
    ids=["empty", "header only", "no ID column"],
)
def test_a_failed_import_names_the_problem_and_imports_nothing(
    file: Callable[[], Any], message: str, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    response = c.post(reverse("matching:dataset_import"), {"kind": "vehicles", "file": file()})
    assert response.status_code == 400
    page = _html(response)
    assert "The file was not imported." in page
    assert message in page
    assert "File (CSV in UTF-8 or GBK, Excel or Parquet): " in page  # the field is named
    assert not Dataset.objects.exists()


def test_import_form_errors_name_their_fields(users: dict[str, Any], tree: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    response = c.post(reverse("matching:dataset_import"), {"kind": "vehicles", "retention_days": "0"})
    assert response.status_code == 400 and "Choose a file." in _html(response)
    rows = [VEHICLE_HEADER, ["11010519491231002X", "王某", "云A1", "小型轿车"]]
    response = c.post(
        reverse("matching:dataset_import"), {"kind": "vehicles", "file": _upload("v.csv", rows), "retention_days": "0"}
    )
    assert response.status_code == 400
    assert "Keep for (days): Keep a dataset for at least one day." in _html(response)
    other = c.post(
        reverse("matching:dataset_import"),
        {"kind": "vehicles", "file": _upload("v.csv", rows), "unit": str(tree["dalishi"].pk)},
    )
    assert other.status_code == 404
    assert not Dataset.objects.exists()


def test_deleting_a_dataset(xiangyun: County, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    response = c.post(reverse("matching:dataset_delete", args=[xiangyun.dataset.pk]), {"note": "错报"})
    assert response.status_code == 302 and response["Location"] == reverse("matching:dataset_list")
    assert not Dataset.objects.filter(pk=xiangyun.dataset.pk).exists()
    assert Finding.objects.filter(pk=xiangyun.finding.pk, dataset=None).exists()
    assert c.get(reverse("matching:dataset_delete", args=[xiangyun.dataset.pk])).status_code == 405


# --- recheck runs ----------------------------------------------------------------------------------


def test_start_a_run_and_see_its_summary(
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    tree: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    household, ids = make_household()
    staff = users["xiangyun_staff"]
    ds = services.dataset_import(
        actor=staff,
        kind="vehicles",
        path=write_csv(
            "v.csv", [VEHICLE_HEADER, [ids[0], "张建国", "云L1", "小型轿车"], [ids[1], "李秀英", "云L2", "小型轿车"]]
        ),
    )
    c = client_for(staff)
    form = _html(c.get(reverse("matching:run_start") + f"?dataset={ds.pk}"))
    assert f'value="{ds.pk}" ' in form and "checked" in form
    # Without a choice, the newest dataset of each kind the union may use is ticked.
    blank = _html(c.get(reverse("matching:run_start")))
    assert f'value="{ds.pk}" class="form-check-input" id="id_dataset_ids_0" checked>' in blank
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            reverse("matching:run_start"), {"unit": tree["xiangyun"].pk, "dataset_ids": [ds.pk], "engine": "duckdb"}
        )
    run = MatchRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("matching:run_detail", args=[run.pk])
    page = _html(c.get(response["Location"]))
    assert 'data-status="done"' in page and "100%" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling
    assert "3 persons in 1 file checked; new findings: 2." in page
    assert "祥云县纺织厂工会" in page and "Vehicles" in page  # by unit, by kind
    assert f"?run={run.pk}" in page
    queue = _html(c.get(reverse("matching:finding_list"), {"run": run.pk}))
    assert "2 findings" in queue and household.file_number in queue
    assert run.pk in set(MatchRun.objects.values_list("pk", flat=True))
    assert str(run.pk) in _html(c.get(reverse("matching:run_list")))


def test_the_run_page_polls_until_the_run_is_done(tree: dict[str, Any], users: dict[str, Any]) -> None:
    run = MatchRun.objects.create(unit=tree["xiangyun"], status="running", progress=20)
    c = client_for(users["xiangyun_staff"])
    partial = c.get(reverse("matching:run_detail", args=[run.pk]), headers={"HX-Request": "true"})
    body = _html(partial)
    assert partial.status_code == 200 and "<html" not in body
    assert 'hx-trigger="every 1s"' in body and "width: 20%" in body
    MatchRun.objects.filter(pk=run.pk).update(status="done", progress=100)
    body = _html(c.get(reverse("matching:run_detail", args=[run.pk]), headers={"HX-Request": "true"}))
    assert "hx-trigger" not in body and 'data-status="done"' in body


def test_a_run_of_another_county_or_without_data_is_refused(
    xiangyun: County, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    runs = MatchRun.objects.count()
    other = c.post(
        reverse("matching:run_start"),
        {"unit": tree["dalishi"].pk, "dataset_ids": [xiangyun.dataset.pk], "engine": "duckdb"},
    )
    assert other.status_code == 404
    none = c.post(reverse("matching:run_start"), {"unit": tree["xiangyun"].pk, "engine": "duckdb"})
    assert none.status_code == 400
    assert "Department data to check against: Choose datasets you may use." in _html(none)
    assert MatchRun.objects.count() == runs


# --- findings --------------------------------------------------------------------------------------


def test_the_queue_opens_on_the_open_findings_whatever_else_the_query_names(
    xiangyun: County, users: dict[str, Any]
) -> None:
    """``/matching/?severity=disqualifying`` listed the confirmed findings too: the page's default
    held only for a query of nothing at all. The form sends the status it shows, "all" included."""
    c = client_for(users["xiangyun_staff"])
    url = reverse("matching:finding_list")
    disqualifying = _html(c.get(url, {"severity": "disqualifying"}))
    assert "1 finding" in disqualifying and "Findings to review" in disqualifying
    assert '<option value="open" selected>' in disqualifying
    assert '<option value="all">All statuses</option>' in disqualifying
    assert "The filter “Severity” does not know the value “bogus”" in _html(c.get(url, {"severity": "bogus"}))
    every = _html(c.get(url, {"severity": "disqualifying", "status": "all"}))
    assert "2 findings" in every and '<option value="all" selected>' in every and "All findings" in every
    # The download follows the same rule as the list it sits under.
    rows = list(csv.reader(io.StringIO(_streamed(c.get(reverse("matching:finding_export"), {"kind": "vehicles"})))))
    assert len(rows) == 2  # the header and the open finding


def test_the_vehicle_rule_is_named_for_what_it_raises_a_car(xiangyun: County, users: dict[str, Any]) -> None:
    """The rule raises a car only (motorcycles, tricycles, farm vehicles and light trucks are
    livelihood vehicles, ``VEHICLES_NOT_DISQUALIFYING``); it was named "a vehicle that is not a
    livelihood or disability vehicle" on every page and in the download."""
    c = client_for(users["xiangyun_staff"])
    label = "Owns a car (not a livelihood or disability vehicle)"
    listed = _html(c.get(reverse("matching:finding_list")))
    page = _html(c.get(reverse("matching:finding_detail", args=[xiangyun.finding.pk])))
    export = _streamed(c.get(reverse("matching:finding_export"), {"kind": "vehicles"}))
    for shown in (listed, page, export):
        assert label in shown and "Owns a vehicle" not in shown


def test_each_count_of_a_recheck_opens_the_findings_it_counts(xiangyun: County, users: dict[str, Any]) -> None:
    """The summary's counts are of the run's findings in every status (one of the two findings is
    confirmed); their links opened the list with the page's default, or with none, and showed
    another number."""
    c = client_for(users["xiangyun_staff"])
    page = _html(c.get(reverse("matching:run_detail", args=[xiangyun.run.pk])))
    summary = page[page.index('id="run-summary"') :]
    links = re.findall(r'<a href="(/matching/\?[^"]+)">([\d,]+)</a>', summary)  # a count, linked
    # On a phone, each severity's count under its name, linked the same.
    phone = re.findall(r'<a href="(/matching/\?[^"]+)">[^<:]+: ([\d,]+)</a>', summary)
    assert phone and {href for href, _n in phone} <= {href for href, _n in links}, phone
    links += phone
    for row in re.findall(r"<tr><td><a .*?</tr>", summary):  # a union's or a kind's name: its row's sum
        cells = re.findall(r'<td class="text-end(?: d-none d-sm-table-cell)?">(?:<a [^>]+>)?([\d,]+)', row)
        kind_row = "kind=" in row.split("</td>")[0]
        counted = cells if kind_row else cells[1:]  # a union's row has its files first
        links.append((re.findall(r'href="([^"]+)"', row)[0], str(sum(int(n.replace(",", "")) for n in counted))))
    assert len(links) >= 4, summary
    for href, shown in links:
        href = href.replace("&amp;", "&")
        assert "status=all" in href
        listed = _html(c.get(href))
        n = int(shown.replace(",", ""))
        assert (f"{n} finding" if n == 1 else f"{n} findings") in listed, href
    new = re.search(r'href="([^"]+)" id="run-findings"', page)
    assert new is not None and "status=all" in new.group(1)
    assert f"{xiangyun.run.findings_new} findings" in _html(c.get(new.group(1).replace("&amp;", "&")))


def test_the_queue_masks_ids_filters_and_pages(
    xiangyun: County, users: dict[str, Any], settings: Any, tree: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    page = _html(c.get(reverse("matching:finding_list")))
    spouse = xiangyun.household.members.get(relationship="spouse")
    assert spouse.id_masked in page and xiangyun.ids[1] not in page
    assert "1 finding" in page  # opens on the open findings only
    assert "2 findings" in _html(c.get(reverse("matching:finding_list"), {"status": ""}))
    assert "1 finding" in _html(c.get(reverse("matching:finding_list"), {"status": "confirmed"}))
    tax = _html(c.get(reverse("matching:finding_list"), {"kind": "tax"}, headers={"HX-Request": "true"}))
    assert "No finding matches." in tax
    assert reverse("matching:finding_export") + "?kind=tax" in tax  # the export follows the filters
    assert "No finding matches." in _html(c.get(reverse("matching:finding_list"), {"unit": tree["dalishi"].pk}))
    settings.BANGFU_PAGE_SIZE = 1
    first = _html(c.get(reverse("matching:finding_list"), {"status": ""}))
    assert "Page 1 of 2" in first and "status=&amp;page=2" in first
    partial = c.get(reverse("matching:finding_list"), {"status": "", "page": "2"}, headers={"HX-Request": "true"})
    assert "<html" not in _html(partial) and "Page 2 of 2" in _html(partial)


def test_export_is_masked_and_audit_logged(xiangyun: County, dalishi: County, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    response = c.get(reverse("matching:finding_export"), {"status": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = _streamed(response)
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert {r["File number"] for r in rows} == {xiangyun.household.file_number}  # not 大理市's
    assert len(rows) == 2 and not any(i in body for i in xiangyun.ids)
    # Words for the people who open it, not the codes the CLI and the API give.
    assert {r["Department data"] for r in rows} == {"Vehicles"} and "vehicle_owned" not in body
    assert AuditEntry.objects.filter(action="export", target_type="matching.findings_export").count() == 1
    # Full ID numbers: by POST, for a role that may reveal, and logged as a reveal.
    revealed = c.post(reverse("matching:finding_export") + "?status=", {"reveal": "1"})
    assert xiangyun.ids[0] in _streamed(revealed)
    assert AuditEntry.objects.filter(action="reveal", target_type="matching.findings_export").count() == 1
    cadre = client_for(users["xiangyun_cadre"])
    assert cadre.post(reverse("matching:finding_export"), {"reveal": "1"}).status_code == 403
    assert AuditEntry.objects.filter(action="reveal", target_type="matching.findings_export").count() == 1


def test_confirm_shows_what_happened(
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    standard: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _household, ids = make_household()
    staff = users["xiangyun_staff"]
    ds = services.dataset_import(
        actor=staff, kind="vehicles", path=write_csv("v.csv", [VEHICLE_HEADER, [ids[0], "张建国", "云L9", "小型轿车"]])
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=staff, dataset_ids=[ds.pk])
    finding = Finding.objects.get()
    c = client_for(staff)
    url = reverse("matching:finding_detail", args=[finding.pk])
    before = _html(c.get(url))
    assert 'id="confirm-form"' in before and 'id="dismiss-form"' in before
    assert "云L9" in before and "小型轿车" in before  # the record and its details
    response = c.post(reverse("matching:finding_confirm", args=[finding.pk]), {"confirm-reason": "车管所记录属实"})
    assert response.status_code == 302 and response["Location"] == url
    page = _html(c.get(url))
    assert "The finding was confirmed." in page
    assert 'data-category="not_eligible"' in page and "Not eligible" in page
    assert 'id="what-happened"' in page and "云L9" in page.split('id="what-happened"')[1]
    assert 'id="proposal-link"' in page and 'id="confirm-form"' not in page
    assert Finding.objects.get().status == "confirmed"
    # Reviewing twice is refused with the reason, not an error page.
    again = c.post(reverse("matching:finding_confirm", args=[finding.pk]), {}, follow=True)
    assert "This finding has already been reviewed." in _html(again)
    assert RemovalProposal.objects.filter(finding=finding).count() == 1


def test_dismiss_needs_a_reason(xiangyun: County, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("matching:finding_dismiss", args=[xiangyun.finding.pk])
    response = c.post(url, {"dismiss-reason": "  "})
    assert response.status_code == 400
    page = _html(response)
    assert "Say why the finding is dismissed." in page
    reason_block = page.split('id="dismiss-form"')[1].split("</form>")[0]
    assert "is-invalid" in reason_block and "Say why the finding is dismissed." in reason_block
    assert Finding.objects.get(pk=xiangyun.finding.pk).status == "open"
    response = c.post(url, {"dismiss-reason": "车辆已过户，有过户证明"})
    assert response.status_code == 302
    finding = Finding.objects.get(pk=xiangyun.finding.pk)
    assert (finding.status, finding.reason) == ("dismissed", "车辆已过户，有过户证明")
    page = _html(c.get(reverse("matching:finding_detail", args=[finding.pk])))
    assert "车辆已过户" in page and 'id="dismiss-form"' not in page


# --- removal proposals -----------------------------------------------------------------------------


def test_tell_the_worker_then_remove_the_file(xiangyun: County, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    pk = xiangyun.proposal.pk
    page = _html(c.get(reverse("matching:proposal_list")))
    card = page.split(f'id="proposal-{pk}"')[1].split("</section>")[0]
    assert "disabled" in card.split('class="col-12 col-md-4 remove-form"')[1]  # not yet told
    # The service refuses anyway.
    refused = c.post(reverse("matching:proposal_execute", args=[pk]))
    assert refused.status_code == 409
    assert "must be told of the check result before the file is removed" in _html(refused)
    assert Household.objects.get(pk=xiangyun.household.pk).state == "active"
    # A note is required.
    empty = c.post(reverse("matching:proposal_notify", args=[pk]), {f"p{pk}-note": ""})
    assert empty.status_code == 400
    assert "Say how and when the worker was told." in _html(empty).split(f'id="proposal-{pk}"')[1]
    told = c.post(reverse("matching:proposal_notify", args=[pk]), {f"p{pk}-note": "2026-11-28 入户当面告知本人"})
    assert told.status_code == 302
    page = _html(c.get(reverse("matching:proposal_list")))
    card = page.split(f'id="proposal-{pk}"')[1].split("</section>")[0]
    assert "入户当面告知本人" in card and "disabled" not in card
    removed = c.post(reverse("matching:proposal_execute", args=[pk]))
    assert removed.status_code == 302
    assert Household.objects.get(pk=xiangyun.household.pk).state == "removed"
    page = _html(c.get(reverse("matching:proposal_list")))
    assert "was removed" in page and f'id="proposal-{pk}"' not in page  # no longer to do
    assert f'id="proposal-{pk}"' in _html(c.get(reverse("matching:proposal_list"), {"show": "all"}))


# --- coverage --------------------------------------------------------------------------------------


def test_coverage_per_unit(xiangyun: County, make_household: Any, users: dict[str, Any], tree: dict[str, Any]) -> None:
    make_household(unit="dalishi_g")  # on file, never cross-checked
    c = client_for(users["province_manager"])
    page = _html(c.get(reverse("matching:coverage")))
    assert "云南省总工会" in page and "50.0%" in page  # 1 of 2 open files
    dali = _html(c.get(reverse("matching:coverage"), {"unit": tree["dali"].pk}))
    assert "祥云县总工会" in dali and "100.0%" in dali and "0.0%" in dali
    county = client_for(users["xiangyun_staff"])
    assert "100.0%" in _html(county.get(reverse("matching:coverage")))
    assert county.get(reverse("matching:coverage"), {"unit": tree["dalishi"].pk}).status_code == 404


def test_a_grassroots_cadre_reviews_in_its_own_union(xiangyun: County, users: dict[str, Any]) -> None:
    """A grassroots cadre may review the findings of its union's files, but imports nothing."""
    c = client_for(users["xiangyun_cadre"])
    assert c.get(reverse("matching:dataset_import")).status_code == 403
    assert c.get(reverse("matching:run_start")).status_code == 200
    assert 'id="confirm-form"' in _html(c.get(reverse("matching:finding_detail", args=[xiangyun.finding.pk])))


def test_a_user_at_the_county_sees_no_sibling_in_the_unit_pickers(
    xiangyun: County, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    other = user_with_role(tree["dalishi"], Role.CENTRE_STAFF, "dalishi_second")
    page = _html(client_for(other).get(reverse("matching:run_start")))
    assert "大理市总工会" in page and "祥云县" not in page
    assert xiangyun.dataset.file_name not in page


def test_a_province_run_counts_by_city(
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    tree: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Not one row per grassroots union (a province has hundreds): one per union below the run's."""
    _h1, a = make_household()
    _h2, b = make_household(unit="dalishi_g")
    admin = users["admin"]
    ds = services.dataset_import(
        actor=admin,
        kind="vehicles",
        path=write_csv("v.csv", [VEHICLE_HEADER, [a[0], "张建国", "云L1", "小型轿车"], [b[0], "张建国", "云A2", "车"]]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_run(actor=admin, unit=tree["province"], dataset_ids=[ds.pk])
    page = _html(client_for(admin).get(reverse("matching:run_detail", args=[run.pk])))
    assert "大理州总工会" in page and f"?run={run.pk}&amp;unit={tree['dali'].pk}&amp;status=all" in page
    assert "祥云县纺织厂工会" not in page and "大理市下关街道工会" not in page
    row = page[page.index("大理州总工会") :]
    cells = [re.sub(r"<[^>]*>", "", c.split("<td", 1)[-1].split(">", 1)[-1]) for c in row.split("</td>")[1:3]]
    assert cells == ["2", "2"]  # two files, two disqualifying findings


def test_odd_record_keys_are_shown_as_the_department_wrote_them(
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    standard: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Keys of 16 and 17 bytes, Chinese, emoji, full-width, differing only in case or width, with
    spaces around, a control character, none at all: each is its own finding, kept as written
    (trimmed) by the pages, the export and the command line; a record without a key is named by
    its row in the reader's words, in the export and on the timeline; the file keeps no words of it."""
    _household, ids = make_household()
    staff = users["xiangyun_staff"]
    keys = ["云A123456789012", "云A1234567890123", "不动产权第0012345号", "🚗🚗🚗🚗", "  粤B12345  "]
    keys += ["ＡＢＣ１２３", "ABC123", "abc123", "A\x01B", ""]
    rows = [VEHICLE_HEADER, *([ids[0], "张建国", k, "小型轿车"] for k in keys)]
    ds = services.dataset_import(actor=staff, kind="vehicles", path=write_csv("odd.csv", rows))
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=staff, dataset_ids=[ds.pk])
    stored = {k.strip() for k in keys[:-1]} | {"row 11"}
    assert set(Finding.objects.values_list("record_key", flat=True)) == stored

    c = client_for(staff)
    for finding in Finding.objects.exclude(record_key="row 11"):
        page = _html(c.get(reverse("matching:finding_detail", args=[finding.pk])))
        assert f'<dd class="col-7 col-sm-8 text-break">{finding.record_key}</dd>' in page
    chinese = Client(headers={"Accept-Language": "zh-hans"})
    chinese.force_login(staff)
    body = _streamed(chinese.get(reverse("matching:finding_export"), {"status": ""}))
    exported = {r[4] for r in csv.reader(io.StringIO(body))}
    assert exported == (stored - {"row 11"}) | {"文件第 11 行", "记录号"}  # the header's word and the keys
    out = io.StringIO()
    call_command("match", "--user", staff.username, "findings", stdout=out)
    assert {r["record_key"] for r in csv.DictReader(io.StringIO(out.getvalue()))} == stored

    keyless = Finding.objects.get(record_key="row 11")
    response = chinese.post(reverse("matching:finding_confirm", args=[keyless.pk]), {"confirm-reason": "属实"})
    assert response.status_code == 302
    summaries = " ".join(TimelineEvent.objects.filter(household=keyless.household).values_list("summary", flat=True))
    assert "记录文件第 11 行" in summaries and "row 11" not in summaries
    # The file keeps the record's own values, in no reader's words: a row is no value of the record.
    assert keyless.household.vehicles.get().note == "小型轿车"


def test_columns_whose_headers_are_not_recognised_are_chosen_on_the_page_and_kept_for_the_source(
    make_household: Any, users: dict[str, Any], tmp_path: Any
) -> None:
    """A file headed 车主身份证 / 车牌 / 车型 could not be imported at all: the saved columns of a
    source were only ever what the headers gave. The page now lists the file's columns for each
    field; the command and the API take them as field=column."""
    _household, ids = make_household()
    rows = [["车主身份证", "姓名", "车牌", "车型"], [ids[0], "张建国", "云L1", "小型轿车"]]
    c = client_for(users["xiangyun_staff"])
    first = c.post(reverse("matching:dataset_import"), {"kind": "vehicles", "file": _upload("odd.csv", rows)})
    assert first.status_code == 400
    page = _html(first)
    assert 'id="column-mapping"' in page and '<option value="车主身份证">车主身份证</option>' in page
    assert '<option value="姓名" selected>姓名</option>' in page  # a header recognised is chosen already
    assert 'for="map_id_number">ID number *<' in page
    chosen = {"map_id_number": "车主身份证", "map_record_key": "车牌", "map_vehicle_type": "车型", "map_name": "姓名"}
    response = c.post(
        reverse("matching:dataset_import"),
        {"kind": "vehicles", "file": _upload("odd.csv", rows), "source": "宾川县交警", **chosen},
    )
    assert response.status_code == 302, _html(response)
    ds = Dataset.objects.get()
    assert (ds.rows_taken, ds.mapping["id_number"], ds.mapping["record_key"]) == (1, "车主身份证", "车牌")
    # Kept for the source: its next file needs no choosing.
    again = c.post(
        reverse("matching:dataset_import"),
        {"kind": "vehicles", "file": _upload("odd2.csv", rows), "source": "宾川县交警"},
    )
    assert again.status_code == 302
    # The command and the API, as field=column.
    path = tmp_path / "odd3.csv"
    path.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "match", "--user", "xiangyun_staff", "import", "--kind", "vehicles", str(path),
        "--map", "id_number=车主身份证", "--map", "record_key=车牌", "--map", "vehicle_type=车型", stdout=out,
    )  # fmt: skip
    assert "rows taken 1," in out.getvalue()
    bad = c.post(
        "/api/v1/matching/datasets",
        {"kind": "vehicles", "file": _upload("odd.csv", rows), "mapping": "id_number车主身份证"},
    )
    assert bad.status_code == 422 and "mapping" in bad.json()["error"]["fields"]
    good = c.post(
        "/api/v1/matching/datasets",
        {
            "kind": "vehicles",
            "file": _upload("odd.csv", rows),
            "mapping": "id_number=车主身份证;record_key=车牌;vehicle_type=车型",
        },
    )
    assert good.status_code == 201, good.content
    assert Dataset.objects.count() == 4


def test_a_finding_of_a_province_run_links_no_run_the_county_cannot_open(
    county_objects: Callable[[str, str], County], users: dict[str, Any]
) -> None:
    """A county's staff followed "Recheck #1" from a finding to a "Not found" page: the run was
    the province's."""
    from django.test import Client

    objects = county_objects("xiangyun_g", "admin")  # imported and run at the top of the tree
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    page = c.get(f"/matching/findings/{objects.finding.pk}/").content.decode()
    assert f'href="/matching/runs/{objects.run.pk}/"' not in page and "started by a union above yours" in page
    assert c.get(f"/matching/runs/{objects.run.pk}/").status_code == 404
    c.force_login(users["admin"])
    assert (
        f'href="/matching/runs/{objects.run.pk}/"'
        in c.get(f"/matching/findings/{objects.finding.pk}/").content.decode()
    )


# --- read aloud (WCAG 2.2 AA) ----------------------------------------------------------------------


def test_the_two_reasons_of_a_finding_are_named_by_their_decision_and_its_hint_is_read(
    xiangyun: County, users: dict[str, Any]
) -> None:
    """Confirming and dismissing each had a box read as "Reason"; the dismissal's hint stood
    outside its box, unread."""
    from bangfu.testing.a11y import Page

    c = client_for(users["xiangyun_staff"])
    url = reverse("matching:finding_detail", args=[xiangyun.finding.pk])
    page = Page(_html(c.get(url)))
    confirm, dismiss = page.by_id["id_confirm-reason"], page.by_id["id_dismiss-reason"]
    assert page.name_of(confirm) == "Reason for confirming"
    assert page.name_of(dismiss) == "Reason for dismissing"
    assert page.description_of(dismiss).startswith("Dismissing needs a reason")
    assert page.broken_references() == []
    page = Page(_html(c.post(reverse("matching:finding_dismiss", args=[xiangyun.finding.pk]), {"dismiss-reason": ""})))
    dismiss = page.by_id["id_dismiss-reason"]
    assert dismiss.get("aria-invalid") == "true"
    assert "Say why the finding is dismissed." in page.description_of(dismiss)
    assert page.broken_references() == []


def test_the_tabs_and_filters_say_which_is_shown(xiangyun: County, users: dict[str, Any]) -> None:
    from bangfu.testing.a11y import Page

    c = client_for(users["xiangyun_staff"])
    page = Page(_html(c.get(reverse("matching:proposal_list"))))
    tabs = next(n for n in page.all("nav") if "matching-tabs" in n.classes())
    assert [a.text() for a in tabs.iter() if a.tag == "a" and a.get("aria-current") == "page"] == ["Removal proposals"]
    assert [a.text() for a in page.all("a") if a.get("aria-current") == "true"] == ["To do"]
    page = Page(_html(c.get(reverse("matching:proposal_list"), {"show": "all"})))
    assert [a.text() for a in page.all("a") if a.get("aria-current") == "true"] == ["All"]
