"""An override holds while the computed decision it overrode stays the same, in both recompute paths.

The same households, with an approved override whose computed category stays (carried), an approved
one whose facts change (lapsed), a rejected one (not carried) and a pending one (carried, then
approved on the new decision by a second person), are decided again by the bulk recompute and, from
the same state, one by one (``services.decision_compute``): both store the same rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import transaction

from bangfu.common.errors import DomainError
from bangfu.eligibility import bulk, services
from bangfu.eligibility.models import EligibilityDecision, OverrideStatus, Standard
from bangfu.org.models import Role
from bangfu.registry.models import TimelineEvent, Vehicle
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role

ON = date(2026, 6, 1)
# Written through COPY on PostgreSQL: the reason must come back exactly, escapes included.
REASON = "The car is a livelihood vehicle:\ta taxi\nsee the licence \\ 2026"
# Every stored field but the id, the moment of deciding and the run (a bulk run's label).
COMPARED = tuple(
    f.attname for f in EligibilityDecision._meta.concrete_fields if f.attname not in {"id", "decided_at", "run_id"}
)


def _current(ids: list[int]) -> dict[int, tuple[Any, ...]]:
    rows = EligibilityDecision.objects.current().filter(household_id__in=ids).values_list(*COMPARED)
    return {row[0]: row for row in rows}


def test_bulk_and_one_household_paths_carry_and_lapse_overrides_alike(
    tree: dict[str, Any], users: dict[str, Any], province_standard: Standard
) -> None:
    staff = users["xiangyun_staff"]
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    unit = tree["xiangyun_g"]
    # Deep hardship each (233.33 yuan per head); the first also owns a car, so it is not eligible.
    kept, lapsed, rejected, pending, plain = (
        household_create(actor=staff, data=household_input(unit)).pk for _ in range(5)
    )
    Vehicle.objects.create(household_id=kept, kind="car")
    first = {
        h: services.decision_compute(actor=staff, household_id=h, on=ON)
        for h in (kept, lapsed, rejected, pending, plain)
    }
    assert first[kept].category == "not_eligible"
    assert {first[h].category for h in (lapsed, rejected, pending, plain)} == {"deep"}

    for h, category in ((kept, "deep"), (lapsed, "relative"), (rejected, "relative"), (pending, "accident")):
        services.decision_override_request(actor=staff, decision_id=first[h].pk, category=category, reason=REASON)
    for h in (kept, lapsed):
        services.decision_override_approve(actor=checker, decision_id=first[h].pk)
    services.decision_override_approve(actor=checker, decision_id=first[rejected].pk, approve=False)
    # The facts of one overridden household change: a car makes it not eligible.
    Vehicle.objects.create(household_id=lapsed, kind="car")

    ids = [kept, lapsed, rejected, pending, plain]
    point = transaction.savepoint_create()
    out = bulk.run_engine(path=unit.path, on=ON, write=True, actor_id=staff.pk, ids=ids)
    by_bulk = _current(ids)
    transaction.savepoint_rollback(point)
    assert (out.done, out.changed, out.lapsed) == (5, 1, 1)
    assert set(_current(ids)) == set(ids) and all(_current(ids)[h][1] == first[h].category for h in ids)

    second = {h: services.decision_compute(actor=staff, household_id=h, on=ON) for h in ids}
    by_one = _current(ids)
    assert by_bulk == by_one

    # Carried with everything it was: maker, reason, approval.
    d = second[kept]
    assert d.pk != first[kept].pk and d.category == "not_eligible" and d.effective_category == "deep"
    was = EligibilityDecision.objects.get(pk=first[kept].pk)
    assert (d.override_status, d.overridden_category, d.override_reason) == ("approved", "deep", REASON)
    assert (d.override_by_id, d.override_at, d.override_approved_by_id, d.override_approved_at) == (
        was.override_by_id,
        was.override_at,
        was.override_approved_by_id,
        was.override_approved_at,
    )
    # Lapsed: the computed category changed; the timeline says so.
    d = second[lapsed]
    assert (d.category, d.override_status, d.overridden_category, d.effective_category) == (
        "not_eligible",
        "",
        "",
        "not_eligible",
    )
    assert (d.override_by_id, d.override_at, d.override_reason) == (None, None, "")
    event = TimelineEvent.objects.filter(household_id=lapsed, kind=services.TIMELINE_OVERRIDE).order_by("-id").first()
    assert event is not None
    assert event.summary == "Override to Relative hardship lapsed: the computed category changed to Not eligible"
    assert event.data["decision_id"] == d.pk
    # Rejected: over, not carried; no lapse either.
    d = second[rejected]
    assert (d.category, d.override_status, d.overridden_category, d.effective_category) == ("deep", "", "", "deep")
    lapses = TimelineEvent.objects.filter(kind=services.TIMELINE_OVERRIDE, summary__contains="lapsed")
    assert list(lapses.values_list("household_id", flat=True)) == [lapsed]
    # Pending: carried, still waiting, and approved on the new decision by a second person only.
    d = second[pending]
    assert (d.override_status, d.overridden_category, d.effective_category) == ("pending", "accident", "deep")
    with pytest.raises(DomainError) as err:
        services.decision_override_approve(actor=staff, decision_id=d.pk)
    assert err.value.code == "maker_checker"
    approved = services.decision_override_approve(actor=checker, decision_id=d.pk)
    assert (approved.override_status, approved.effective_category) == (OverrideStatus.APPROVED, "accident")
    assert second[plain].override_status == ""


def test_a_carried_override_lapses_when_a_later_recompute_changes_the_category(
    tree: dict[str, Any], users: dict[str, Any], province_standard: Standard
) -> None:
    staff = users["xiangyun_staff"]
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    unit = tree["xiangyun_g"]
    h = household_create(actor=staff, data=household_input(unit)).pk
    d = services.decision_compute(actor=staff, household_id=h, on=ON)
    services.decision_override_request(actor=staff, decision_id=d.pk, category="relative", reason="Recovered")
    services.decision_override_approve(actor=checker, decision_id=d.pk)
    for _ in range(2):  # monthly recomputes: the override holds
        bulk.run_engine(path=unit.path, on=ON, write=True)
        assert EligibilityDecision.objects.current().get(household_id=h).effective_category == "relative"
    assert EligibilityDecision.objects.filter(household_id=h).count() == 3
    Vehicle.objects.create(household_id=h, kind="car")
    out = bulk.run_engine(path=unit.path, on=ON, write=True)
    assert (out.changed, out.lapsed) == (1, 1)
    now = EligibilityDecision.objects.current().get(household_id=h)
    assert (now.category, now.override_status, now.effective_category) == ("not_eligible", "", "not_eligible")
    # A lapsed override is not revived when the category comes back.
    Vehicle.objects.filter(household_id=h).delete()
    out = bulk.run_engine(path=unit.path, on=ON, write=True)
    assert (out.changed, out.lapsed) == (1, 0)
    assert EligibilityDecision.objects.current().get(household_id=h).override_status == ""
