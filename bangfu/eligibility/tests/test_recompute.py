"""Bulk recompute and what-if on seeded random households."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection  # noqa: F401 - read by the skipif condition
from django.db.models import Count, F
from django.http import Http404
from django.utils import translation

from bangfu.common.models import AuditEntry
from bangfu.eligibility import bulk, recompute, services
from bangfu.eligibility.adapters import FACTS_PREFETCH, RuleBook, StandardBook, facts_from_household
from bangfu.eligibility.models import EligibilityDecision, RecomputeRun, RecomputeStatus, Standard
from bangfu.eligibility.rules import decide
from bangfu.eligibility.rules.engine import summarise
from bangfu.org.models import OrgUnit, Role
from bangfu.registry.models import BusinessRole, Home, Household, Member, Vehicle
from bangfu.testing.factories import user_with_role

ON = date(2026, 6, 1)
NEXT_YEAR = date(2027, 1, 1)


@pytest.fixture
def seeded(db: Any) -> dict[str, Any]:
    from bangfu.seed.run import seed_run

    result = seed_run(households=400, random_seed=11, province="530000")
    province = OrgUnit.objects.get(path=result.province_path)
    manager = user_with_role(province, Role.MANAGER, "mgr")
    staff = user_with_role(province, Role.ADMIN, "boss")
    for year in (2026, 2027):
        services.standard_set(
            actor=manager,
            division_code="530000",
            year=year,
            dibao_monthly="1001",
            minimum_wage_monthly="1900",
            housing_area_per_head="20",
        )
    # A few assets and extra facts so the disqualifiers and the accident test are exercised.
    ids = list(Household.objects.order_by("id").values_list("id", flat=True))
    Vehicle.objects.bulk_create([Vehicle(household_id=i, kind="car") for i in ids[::17]])
    Vehicle.objects.bulk_create([Vehicle(household_id=i, kind="livelihood") for i in ids[::13]])
    BusinessRole.objects.bulk_create(
        [
            BusinessRole(household_id=i, company="X", role="legal_representative", company_active=i % 2 == 0)
            for i in ids[::19]
        ]
    )
    Home.objects.bulk_create([Home(household_id=i, floor_area=90, acquired_on=date(2026, 2, 1)) for i in ids[::23]])
    Household.objects.filter(pk__in=ids[::7]).update(accident_costs_yearly=60_000)
    return {"province": province, "manager": manager, "staff": staff, "ids": ids}


def test_bulk_and_one_household_paths_agree(seeded: dict[str, Any]) -> None:
    province = seeded["province"]
    standards, rulebook = StandardBook.load(ON.year), RuleBook.load()
    bulk_decisions = {
        h.id: decide(h.facts(ON), standards.get(h.region_code, ON), rulebook.get(h.region_code))
        for _total, part in bulk.iter_chunks(province.path, ON, chunk=97)
        for h in part
    }
    qs = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    single = {}
    for h in qs.filter(unit__path__startswith=province.path).exclude(state__in=["cancelled", "removed"]):
        facts = facts_from_household(h, ON)
        single[h.id] = decide(facts, standards.get(facts.region_code, ON), rulebook.get(facts.region_code))
    assert len(single) == bulk.households_in(province.path).count() > 300
    assert bulk_decisions == single
    categories = {d.category for d in single.values()}
    assert {"deep", "relative", "not_eligible"} <= categories


def test_summaries_from_the_database_equal_the_engines(seeded: dict[str, Any]) -> None:
    """The bulk loader (one aggregating query on PostgreSQL) reduces each household exactly as the
    engine reduces the household's facts."""
    province = seeded["province"]
    loaded = {item.id: item.summary for _total, part in bulk.iter_items(province.path, ON, chunk=89) for item in part}
    qs = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    expected = {h.id: summarise(facts_from_household(h, ON)) for h in qs.filter(pk__in=loaded).order_by("id")}
    assert len(loaded) == bulk.households_in(province.path).count() > 300
    assert loaded == expected
    assert any(s.vehicles for s in expected.values()) and any(s.roles for s in expected.values())
    assert any(s.able_without_job for s in expected.values())


def test_recompute_stores_current_decisions_and_reports_changes(seeded: dict[str, Any]) -> None:
    staff, province = seeded["staff"], seeded["province"]
    n = bulk.households_in(province.path).count()
    first = recompute.recompute_start(actor=staff, unit_id=province.pk, on=ON)
    assert (first.status, first.total, first.done, first.changed) == (RecomputeStatus.DONE, n, n, 0)
    assert EligibilityDecision.objects.current().count() == n
    # The stored decision equals the one-household service's decision.
    hid = seeded["ids"][5]
    stored = EligibilityDecision.objects.current().get(household_id=hid)
    again = services.decision_compute(actor=staff, household_id=hid, on=ON)
    assert (stored.category, stored.reasons, stored.net_income_per_head_monthly) == (
        again.category,
        again.reasons,
        again.net_income_per_head_monthly,
    )
    services.standard_set(
        actor=seeded["manager"], division_code="530000", year=2026, dibao_monthly="1500", minimum_wage_monthly="1900"
    )
    history = EligibilityDecision._base_manager.exclude(run=None).order_by("id").values_list()
    before = list(history)
    second = recompute.recompute_start(actor=staff, unit_id=province.pk, on=ON)
    assert second.changed > 0
    assert EligibilityDecision.objects.current().count() == n
    assert EligibilityDecision.objects.count() == 2 * n + 1
    # History is append-only: the replaced decisions are left as they were, none is current.
    assert list(history.filter(run=first)) == before
    assert not EligibilityDecision.objects.current().exclude(run=second).exists()
    replaced = EligibilityDecision.objects.get(household_id=hid, run=first)
    assert not replaced.is_current
    assert [d.is_current for d in EligibilityDecision.objects.filter(household_id=hid)] == [True, False, False]
    changed = EligibilityDecision.objects.filter(run=second).exclude(category=F("previous_category"))
    assert changed.count() == second.changed
    rows = recompute.recompute_report_rows(actor=staff, run_id=second.pk)
    assert len(rows) == second.changed
    # Each household whose category changed has it on its timeline, as a one-household decision does.
    from bangfu.registry.models import TimelineEvent

    events = TimelineEvent.objects.filter(kind="eligibility_decided", data__run=second.pk)
    assert sorted(events.values_list("household_id", flat=True)) == sorted(
        changed.values_list("household_id", flat=True)
    )
    assert not TimelineEvent.objects.filter(kind="eligibility_decided", data__run=first.pk).exists()  # first decisions
    book = openpyxl.load_workbook(io.BytesIO(recompute.recompute_report_xlsx(actor=staff, run_id=second.pk)))
    detail = book.worksheets[1]
    assert detail.max_row == second.changed + 1
    assert {r[1] for r in rows} == {c.value for c in detail["B"][1:]}
    # The download is an export of file numbers with their categories: it is audit-logged.
    exported = AuditEntry.objects.get(target_type="eligibility_recompute_report", target_id=str(second.pk))
    assert exported.action == "export" and exported.after == {"rows": second.changed, "format": "xlsx"}


def test_a_recompute_reports_the_households_it_decided_for_the_first_time(
    seeded: dict[str, Any], client: Any, tmp_path: Any
) -> None:
    """Files with no decision before (imported, or opened before identification) are in the
    report with no previous category, and counted on the page and by the command."""
    staff, province, ids = seeded["staff"], seeded["province"], seeded["ids"]
    services.decision_compute(actor=staff, household_id=ids[0], on=ON)
    n = bulk.households_in(province.path).count()
    out = io.StringIO()
    report = tmp_path / "first.xlsx"
    call_command("identify", "--unit", "530000", "--date", ON.isoformat(), "--report", str(report), stdout=out)
    assert f"{n - 1} households had no decision before" in out.getvalue()
    run = RecomputeRun.objects.get()
    rows = recompute.recompute_report_rows(actor=staff, run_id=run.pk)
    assert len(rows) == n - 1 + run.changed and sum(1 for r in rows if r[2] == "") == n - 1
    with translation.override("en"):
        book = openpyxl.load_workbook(io.BytesIO(recompute.recompute_report_xlsx(actor=staff, run_id=run.pk)))
    previous = [c.value for c in book.worksheets[1]["C"][1:]]
    assert previous.count("None (first decision)") == n - 1
    client.force_login(staff)
    page = client.get(f"/eligibility/recompute/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"{n - 1} households decided for the first time" in page.content.decode()


def test_recompute_as_background_task(seeded: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = recompute.recompute_start(actor=seeded["staff"], unit_id=seeded["province"].pk, run_async=True, on=ON)
    run.refresh_from_db()
    assert (run.status, run.done) == (RecomputeStatus.DONE, bulk.households_in(seeded["province"].path).count())


def test_recompute_outside_jurisdiction_is_not_found(seeded: dict[str, Any]) -> None:
    county = OrgUnit.objects.filter(path__startswith=seeded["province"].path, level=4).first()
    assert county is not None
    other = OrgUnit.objects.filter(level=4).exclude(pk=county.pk).first()
    assert other is not None
    staff = user_with_role(county, Role.CENTRE_STAFF, "county-staff")
    with pytest.raises(Http404):
        recompute.recompute_start(actor=staff, unit_id=other.pk, on=ON)
    run = recompute.recompute_start(actor=staff, unit_id=county.pk, on=ON)
    assert run.total == bulk.households_in(county.path).count()
    assert not RecomputeRun.objects.exclude(pk=run.pk).exists()


def test_whatif_preview_equals_the_real_recompute(seeded: dict[str, Any]) -> None:
    staff, province = seeded["staff"], seeded["province"]
    recompute.recompute_start(actor=staff, unit_id=province.pk, on=NEXT_YEAR)
    before = EligibilityDecision.objects.count()
    preview = recompute.whatif_preview(
        actor=staff, unit_id=province.pk, on=NEXT_YEAR, standard={"dibao_monthly": "1100"}
    )
    assert EligibilityDecision.objects.count() == before  # nothing stored
    assert preview.changed > 0
    assert preview.standard_version == "530000/2027/v2"
    assert sum(u.changed for u in preview.by_unit) == preview.changed
    recompute.whatif_save(actor=staff, unit_id=province.pk, on=NEXT_YEAR, standard={"dibao_monthly": "1100"})
    run = recompute.recompute_start(actor=staff, unit_id=province.pk, on=NEXT_YEAR)
    assert run.changed == preview.changed
    real = sorted(recompute.recompute_report_rows(actor=staff, run_id=run.pk))
    assert real == sorted(preview.households)
    assert set(EligibilityDecision.objects.filter(run=run).values_list("standard_version", flat=True)) == {
        "530000/2027/v2"
    }


def test_whatif_rule_change_needs_a_manager_and_a_consistent_rule_set(seeded: dict[str, Any]) -> None:
    province = seeded["province"]
    cadre = user_with_role(province, Role.CENTRE_STAFF, "staff2")
    with pytest.raises(PermissionDenied):
        recompute.whatif_preview(actor=cadre, unit_id=province.pk, on=ON, rule_params={"comparison": "<="})
    preview = recompute.whatif_preview(
        actor=seeded["manager"], unit_id=province.pk, on=ON, rule_params={"relative_multiple": "2.5"}
    )
    assert preview.ruleset_version == "530000/v1"
    assert preview.total == bulk.households_in(province.path).count()


def test_commands_identify_and_whatif(seeded: dict[str, Any], tmp_path: Any) -> None:
    out = io.StringIO()
    call_command("identify", "--unit", "530000", "--date", "2027-01-01", stdout=out)
    n = bulk.households_in(seeded["province"].path).count()
    assert f"{n} households decided, 0 changed category" in out.getvalue()
    out = io.StringIO()
    report = tmp_path / "preview.xlsx"
    call_command(
        "whatif", "--unit", "530000", "--dibao", "1100", "--from", "2027-01-01", "--report", str(report), stdout=out
    )
    first_line = out.getvalue().splitlines()[0]
    changed = int(first_line.split(" of ")[0])
    assert changed > 0
    assert "(standard 530000/2027/v2, rules default)" in first_line
    assert openpyxl.load_workbook(report).worksheets[1].max_row == changed + 1
    assert AuditEntry.objects.filter(target_type="eligibility_whatif", action="export").count() == 1
    out = io.StringIO()
    call_command("whatif", "--unit", "530000", "--dibao", "1100", "--from", "2027-01-01", "--save", stdout=out)
    assert "Saved 530000/2027/v2." in out.getvalue()
    out = io.StringIO()
    real = tmp_path / "changes.xlsx"
    call_command("identify", "--unit", "530000", "--date", "2027-01-01", "--report", str(real), stdout=out)
    assert f"{n} households decided, {changed} changed category" in out.getvalue()
    assert openpyxl.load_workbook(real).worksheets[1].max_row == changed + 1
    with pytest.raises(CommandError):
        call_command("whatif", "--unit", "530000", "--rule", "relative_multiple=0.5", stdout=io.StringIO())


def test_whatif_from_stored_numbers_equals_the_real_recompute(
    seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Households unchanged since their decision are decided again from the stored numbers, the
    edited ones from their facts; together they give exactly what the real recompute then gives."""
    staff, province, ids = seeded["staff"], seeded["province"], seeded["ids"]
    recompute.recompute_start(actor=staff, unit_id=province.pk, on=NEXT_YEAR)
    edited = ids[::10]
    Member.objects.filter(household_id__in=edited).update(monthly_income=F("monthly_income") + 700)
    Household.objects.filter(pk__in=edited).update(version=F("version") + 1)
    from_facts: list[int] = []
    real_engine = bulk.run_engine

    def spy(**kwargs: Any) -> bulk.Outcome:
        from_facts.extend(kwargs.get("ids") or [])
        return real_engine(**kwargs)

    monkeypatch.setattr(bulk, "run_engine", spy)
    change: dict[str, Any] = {
        "standard": {"dibao_monthly": "1100"},
        "rule_params": {"relative_multiple": "2.2", "comparison": "<="},
    }
    preview = recompute.whatif_preview(actor=staff, unit_id=province.pk, on=NEXT_YEAR, **change)
    live = set(bulk.households_in(province.path).values_list("id", flat=True))
    assert set(from_facts) == set(edited) & live  # only the edited files were read again
    assert preview.changed > 0
    recompute.whatif_save(actor=staff, unit_id=province.pk, on=NEXT_YEAR, **change)
    run = recompute.recompute_start(actor=staff, unit_id=province.pk, on=NEXT_YEAR)
    assert (run.changed, run.total) == (preview.changed, preview.total)
    assert sorted(recompute.recompute_report_rows(actor=staff, run_id=run.pk)) == sorted(preview.households)
    stored = EligibilityDecision.objects.filter(run=run).values_list("category").annotate(n=Count("id"))
    assert dict(stored) == preview.categories
    # On another day nothing is reused (ages and the year before a home purchase move): still equal.
    from_facts.clear()
    later = date(2027, 7, 1)
    preview = recompute.whatif_preview(actor=staff, unit_id=province.pk, on=later, standard={"dibao_monthly": "900"})
    assert len(set(from_facts)) == preview.total


def test_whatif_tells_the_changes_of_the_day_from_those_of_the_values(seeded: dict[str, Any]) -> None:
    """Files changed since their decision change category whatever the standard: the preview still
    counts them (a recompute would give them), but marks them apart from what the dibao does."""
    staff, province, ids = seeded["staff"], seeded["province"], seeded["ids"]
    recompute.recompute_start(actor=staff, unit_id=province.pk, on=NEXT_YEAR)
    edited = ids[::10]
    Member.objects.filter(household_id__in=edited).update(monthly_income=F("monthly_income") + 9000)
    Household.objects.filter(pk__in=edited).update(version=F("version") + 1)
    numbers = dict(Household.objects.filter(pk__in=edited).values_list("file_number", "id"))
    preview = recompute.whatif_preview(
        actor=staff, unit_id=province.pk, on=NEXT_YEAR, standard={"dibao_monthly": "1100"}
    )
    changed_edited = {f for _u, f, _p, _n in preview.households if f in numbers}
    assert changed_edited and preview.anyway_files == changed_edited  # all of them, and only them
    assert preview.anyway == len(changed_edited) < preview.changed  # the dibao changes others
    # With the values in force, every change is the day's (or the file's).
    same = recompute.whatif_preview(actor=staff, unit_id=province.pk, on=NEXT_YEAR, standard={"dibao_monthly": "1001"})
    assert same.anyway == same.changed > 0 and not same.saves
    # The API, the command and the Excel file say the same.
    from django.test import Client

    api = Client(headers={"Accept-Language": "en"})
    api.force_login(staff)
    body = {"unit_id": province.pk, "on": NEXT_YEAR.isoformat(), "standard": {"dibao_monthly": "1100"}}
    out = api.post("/api/v1/eligibility/whatif", body, content_type="application/json").json()
    assert out["changed_whatever_the_values"] == preview.anyway
    assert {h["file_number"] for h in out["households"] if h["whatever_the_values"]} == changed_edited
    book = openpyxl.load_workbook(io.BytesIO(recompute.changes_xlsx(preview.households, preview.anyway_files)))
    marked = {r[1] for r in book.worksheets[1].iter_rows(min_row=2, values_only=True) if r[4]}
    assert marked == changed_edited
    assert book.worksheets[1]["E1"].value == "Changes even with the values in force"
    page = api.post(
        "/eligibility/whatif/",
        {"unit_id": province.pk, "on": NEXT_YEAR.isoformat(), "action": "preview", "dibao_monthly": "1100"},
    ).content.decode()
    assert f"Of these, {preview.anyway} households change on 2027-01-01 even with the values in force" in page
    assert ">even with the values in force</span>" in page
    printed = io.StringIO()
    with translation.override("en"):
        call_command("whatif", "--unit", "530000", "--dibao", "1100", "--from", NEXT_YEAR.isoformat(), stdout=printed)
        assert (
            f"Of these, {preview.anyway} households change on 2027-01-01 even with the values in force"
            in printed.getvalue()
        )
        # Saving the values in force is refused in a sentence, not a traceback.
        with pytest.raises(CommandError, match="Nothing to save"):
            call_command("whatif", "--unit", "530000", "--dibao", "1001", "--from", NEXT_YEAR.isoformat(), "--save")


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the workers need committed rows on PostgreSQL")
def test_a_large_recompute_in_two_processes_stores_what_one_process_does(
    audit_log_emptied: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bangfu.seed.run import seed_run

    result = seed_run(households=300, random_seed=5, province="530000")
    province = OrgUnit.objects.get(path=result.province_path)
    services.standard_set(
        actor=services.SYSTEM, division_code="530000", year=2026, dibao_monthly="1001", minimum_wage_monthly="1900"
    )
    one = recompute.recompute_start(actor=services.SYSTEM, unit_id=province.pk, on=ON)
    by_one = dict(EligibilityDecision.objects.filter(run=one).values_list("household_id", "reasons"))
    monkeypatch.setattr(bulk, "PARALLEL_MIN", 0)
    assert bulk.can_run_parallel(one.total)
    two = recompute.recompute_start(actor=services.SYSTEM, unit_id=province.pk, on=ON)
    assert (two.status, two.total, two.done, two.changed) == (RecomputeStatus.DONE, one.total, one.total, 0)
    by_two = dict(EligibilityDecision.objects.filter(run=two).values_list("household_id", "reasons"))
    assert by_two == by_one
    assert EligibilityDecision.objects.current().filter(run=two).count() == one.total


def test_whatif_command_reads_numbers_as_typed_and_names_the_option_of_a_problem(seeded: dict[str, Any]) -> None:
    out = io.StringIO()
    call_command("whatif", "--unit", "530000", "--dibao", "１，１００", "--from", "2027-01-01", stdout=out)
    assert "(standard 530000/2027/v2" in out.getvalue()  # 1,100 in full width, as the page takes it
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("whatif", "--unit", "530000", "--dibao", "1,5", "--from", "2027-01-01", stdout=io.StringIO())
    assert str(refused.value).startswith("--dibao: ")
    assert "{" not in str(refused.value)


def test_a_whatif_is_for_a_division_not_a_grassroots_union(seeded: dict[str, Any]) -> None:
    # A grassroots union's division code is its district's: a standard changed "for" it would be
    # saved for every union of the district while the preview counted only its own files.
    from django.core.exceptions import ValidationError

    from bangfu.org.models import OrgLevel

    union = OrgUnit.objects.filter(level=OrgLevel.GRASSROOTS, path__startswith=seeded["province"].path).first()
    assert union is not None and union.parent is not None
    with translation.override("en"):
        for call in (recompute.whatif_preview, recompute.whatif_save):
            with pytest.raises(ValidationError) as refused:
                call(actor=seeded["manager"], unit_id=union.pk, on=NEXT_YEAR, standard={"dibao_monthly": "1100"})
            assert union.parent.name in refused.value.message_dict["unit_id"][0]
        with pytest.raises(CommandError) as by_command:
            call_command("whatif", "--unit", union.code, "--dibao", "1100", stdout=io.StringIO())
        assert str(by_command.value).startswith("--unit: ")
    # Counting its files alone, with nothing changed, is still a preview.
    assert recompute.whatif_preview(actor=seeded["manager"], unit_id=union.pk, on=NEXT_YEAR).total >= 0
    assert not Standard.objects.filter(year=NEXT_YEAR.year, dibao_monthly=1100).exists()
