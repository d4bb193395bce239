"""The exit test (脱困: income per head above the dibao line for ``exit_months`` consecutive months)
reads the monthly income records, on the one-household path and on the bulk path (PostgreSQL's
aggregating query, or the Python loader elsewhere), with the same result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from bangfu.eligibility import bulk, services
from bangfu.eligibility.adapters import (
    FACTS_PREFETCH,
    HISTORY_MONTHS,
    MISSING_MONTH,
    RuleBook,
    StandardBook,
    facts_from_household,
    history_from,
    income_history,
)
from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.rules.engine import exit_test, summarise
from bangfu.org.models import Role
from bangfu.registry import services as registry
from bangfu.registry.income_records import IncomeRecordInput, add_months, income_record_add, per_head
from bangfu.registry.models import Household, IncomeRecord
from bangfu.testing.factories import household_input, user_with_role

ON = date(2026, 6, 15)
JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)
LINE = Decimal(1000)
ABOVE, BELOW = Decimal("1200.00"), Decimal("900.00")


def before(month: date, n: int) -> date:
    return add_months(month, -n)


# --- the history, pure --------------------------------------------------------------------------


def test_the_history_runs_from_the_first_record_to_last_month() -> None:
    records = [(before(MAY, n), ABOVE) for n in range(6)]
    assert income_history(records, ON) == (ABOVE,) * 6
    assert exit_test(income_history(records, ON), LINE, 6) == (6, True)


def test_this_months_record_counts_and_its_absence_does_not_break_the_run() -> None:
    records = [(before(MAY, n), ABOVE) for n in range(5)]
    assert exit_test(income_history(records, ON), LINE, 6) == (5, False)
    assert exit_test(income_history([*records, (JUNE, ABOVE)], ON), LINE, 6) == (6, True)
    assert exit_test(income_history([*records, (JUNE, BELOW)], ON), LINE, 6) == (0, False)


def test_a_month_not_recorded_breaks_the_run() -> None:
    records = [(before(MAY, n), ABOVE) for n in range(8) if n != 3]
    history = income_history(records, ON)
    assert history == (ABOVE, ABOVE, ABOVE, ABOVE, MISSING_MONTH, ABOVE, ABOVE, ABOVE)
    assert exit_test(history, LINE, 6) == (3, False)


def test_a_follow_up_that_stopped_does_not_count() -> None:
    """Six good months a year ago, nothing since: the run is over."""
    records = [(before(MAY, n), ABOVE) for n in range(12, 18)]
    history = income_history(records, ON)
    assert history[-1] == MISSING_MONTH and len(history) == 18
    assert exit_test(history, LINE, 6) == (0, False)


def test_records_after_the_decision_date_and_before_the_window_are_not_read() -> None:
    records = [(before(MAY, n), ABOVE) for n in range(6)]
    later = [(date(2026, 7, 1), BELOW), (date(2027, 1, 1), BELOW)]
    assert income_history([*records, *later], ON) == (ABOVE,) * 6
    old = [(before(MAY, HISTORY_MONTHS), BELOW)]
    assert income_history([*records, *old], ON) == (ABOVE,) * 6
    assert income_history(old, ON) == ()
    assert income_history([], ON) == ()
    assert history_from(ON) == before(JUNE, HISTORY_MONTHS)
    # The longest exit test a rule set may ask for fits in the window.
    full = [(before(MAY, n), ABOVE) for n in range(HISTORY_MONTHS)]
    assert exit_test(income_history(full, ON), LINE, 36) == (36, True)


# --- the database, both paths -------------------------------------------------------------------

# name → (months back from May with their income per head; None: not recorded), expected (run, met)
CASES: dict[str, tuple[dict[int, Decimal | None], tuple[int, bool] | None]] = {
    "six above": (dict.fromkeys(range(6), ABOVE), (6, True)),
    "a gap": ({n: (None if n == 2 else ABOVE) for n in range(6)}, (2, False)),
    "five above": ({n: (BELOW if n == 5 else ABOVE) for n in range(8)}, (5, False)),
    "stopped": (dict.fromkeys(range(4, 10), ABOVE), (0, False)),
    "this month too": ({-1: ABOVE, **dict.fromkeys(range(5), ABOVE)}, (6, True)),
    "never followed up": ({}, None),
}


@pytest.fixture
def followed(tree: dict, users: dict[str, Any]) -> dict[str, Any]:
    province = tree["province"]
    manager = user_with_role(province, Role.MANAGER, "exit-manager")
    services.standard_set(
        actor=manager, division_code="530000", year=2026, dibao_monthly=str(LINE), minimum_wage_monthly="1900"
    )
    by_case: dict[str, Household] = {}
    for name, (months, _expected) in CASES.items():
        h = registry.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
        IncomeRecord.objects.bulk_create(
            IncomeRecord(
                household=h,
                month=before(MAY, n),
                net_income=value * 3,
                members=3,
                per_head=per_head(value * 3, 3),
                source="phone_call",
                recorded_at=h.created_at,
            )
            for n, value in months.items()
            if value is not None
        )
        # A record after the decision date is not read.
        IncomeRecord.objects.create(
            household=h, month=date(2026, 8, 1), net_income=0, members=3, per_head=0, source="phone_call",
            recorded_at=h.created_at,
        )  # fmt: skip
        by_case[name] = h
    return {"province": province, "households": by_case, "staff": users["xiangyun_staff"]}


def current(household_id: int) -> EligibilityDecision:
    """The household's current decision: its newest."""
    found = EligibilityDecision.objects.filter(household_id=household_id).order_by("-id").first()
    assert found is not None
    return found


def _exit(d: EligibilityDecision) -> tuple[int, bool] | None:
    return None if d.exit_months_above is None else (d.exit_months_above, bool(d.exit_test_met))


def test_both_paths_read_the_same_months(followed: dict[str, Any]) -> None:
    province, households = followed["province"], followed["households"]
    loaded = {item.id: item.summary for _total, part in bulk.iter_items(province.path, ON, chunk=4) for item in part}
    qs = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    for name, h in households.items():
        single = summarise(facts_from_household(qs.get(pk=h.pk), ON))
        assert loaded[h.pk].income_history == single.income_history, name
        assert loaded[h.pk] == single, name
    assert loaded[households["a gap"].pk].income_history.count(MISSING_MONTH) == 1


def test_both_paths_give_the_same_exit_result(followed: dict[str, Any]) -> None:
    staff, province, households = followed["staff"], followed["province"], followed["households"]
    single = {
        name: _exit(services.decision_compute(actor=staff, household_id=h.pk, on=ON)) for name, h in households.items()
    }
    assert single == {name: expected for name, (_months, expected) in CASES.items()}

    bulk.run_engine(path=province.path, on=ON, write=True)
    stored = {name: _exit(current(h.pk)) for name, h in households.items()}
    assert stored == single
    decision = current(households["five above"].pk)
    [reason] = [r for r in decision.reasons if r["code"].startswith("exit_test")]
    assert reason == {
        "code": "exit_test_not_met",
        "params": {"dibao": "1,000.00", "run": "5", "months": "6"},
    }


def test_the_rule_sets_exit_months_is_read_on_both_paths(followed: dict[str, Any]) -> None:
    """With ``exit_months`` 2 the household with a gap three months ago has exited."""
    province, h = followed["province"], followed["households"]["a gap"]
    rulebook = RuleBook([("", 1, {"exit_months": 2})])
    standards = StandardBook.load(ON.year)
    out = bulk.run_engine(path=province.path, on=ON, write=True, standards=standards, rulebook=rulebook, ids=[h.pk])
    assert out.done == 1
    assert _exit(current(h.pk)) == (2, True)
    qs = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    facts = facts_from_household(qs.get(pk=h.pk), ON)
    from bangfu.eligibility.rules import decide

    d = decide(facts, standards.get(facts.region_code, ON), rulebook.get(facts.region_code))
    assert (d.exit_months_above, d.exit_test_met) == (2, True)


def test_a_new_record_makes_the_stored_decision_out_of_date(followed: dict[str, Any], tree: dict) -> None:
    """The what-if reuses a stored decision only while the file's version is the one it was read
    from: recording a month makes a new version, so the next what-if decides the file again."""
    staff = followed["staff"]
    h = followed["households"]["five above"]
    d = services.decision_compute(actor=staff, household_id=h.pk)
    assert d.facts_version == Household.objects.get(pk=h.pk).version
    month = add_months(timezone.localdate(), -1)
    income_record_add(
        actor=staff,
        household_id=h.pk,
        data=IncomeRecordInput(month=month, net_income=Decimal("3600"), source="home_visit", replace=True),
    )
    assert Household.objects.get(pk=h.pk).version == d.facts_version + 1
    again = services.decision_compute(actor=staff, household_id=h.pk)
    assert again.facts_version == d.facts_version + 1


def test_the_household_page_shows_the_exit_test(followed: dict[str, Any], users: dict[str, Any]) -> None:
    from django.test import Client

    staff = followed["staff"]
    for name in ("five above", "six above"):
        services.decision_compute(actor=staff, household_id=followed["households"][name].pk, on=ON)
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_cadre"])
    html = c.get(f"/households/{followed['households']['five above'].pk}/").content.decode()
    assert "Exit test not met" in html
    assert "Income per head above the dibao line for 5 consecutive months (6 needed)" in html
    html = c.get(f"/households/{followed['households']['six above'].pk}/").content.decode()
    assert "Exit test met" in html and "for 6 consecutive months (6 needed)" in html
    html = c.get(f"/households/{followed['households']['never followed up'].pk}/").content.decode()
    assert 'data-testid="exit-test"' not in html


def test_an_edit_exits_a_file_only_when_the_exit_test_is_met(followed: dict[str, Any]) -> None:
    """A file's edit sets 已脱困 only when its current decision finds the exit test met; a removal
    and a removed file's return are not edits at all (they have their own steps)."""
    from django.core.exceptions import ValidationError

    staff, households = followed["staff"], followed["households"]

    def edit(h: Household, state: str, spouse_income: Decimal | None = None) -> str:
        data = household_input(h.unit)
        members = list(h.members.order_by("position"))
        data.members = data.members[: len(members)]
        for given, stored in zip(data.members, members, strict=True):  # the same people, numbers kept
            given.member_id, given.id_number, given.relationship = stored.pk, "", stored.relationship
        if spouse_income is not None:
            data.members[1].monthly_income = spouse_income
        data.state = state
        try:
            registry.household_update(actor=staff, household_id=h.pk, data=data)
        except ValidationError as exc:
            return exc.message_dict["state"][0]
        return ""

    assert "has not been computed" in edit(households["six above"], "exited")  # no decision yet
    for h in households.values():
        services.decision_compute(actor=staff, household_id=h.pk, on=ON)
    assert "is not met" in edit(households["five above"], "exited")
    assert "has not been computed" in edit(households["never followed up"], "exited")
    # Six months above the line in the records, but the file's incomes never updated: the decision
    # still finds deep hardship, so the family is not out of hardship (the third condition).
    assert current(households["six above"].pk).category == "deep"
    assert "still finds “Deep hardship”" in edit(households["six above"], "exited")
    six = households["six above"]
    assert edit(six, "active", spouse_income=Decimal(9000)) == ""  # the incomes brought up to date
    assert services.decision_compute(actor=staff, household_id=six.pk, on=ON).category == "not_eligible"
    assert edit(six, "exited", spouse_income=Decimal(9000)) == ""
    assert Household.objects.get(pk=households["six above"].pk).state == "exited"
    assert "removal proposal" in edit(households["a gap"], "removed")
    registry.household_state_change(
        actor=staff, household_id=households["stopped"].pk, to_state="removed", reason="核查"
    )
    assert "applies again" in edit(households["stopped"], "active")
    assert Household.objects.get(pk=households["stopped"].pk).state == "removed"
