"""A bulk recompute loses nothing a person does while it runs.

``bulk.run_engine`` reads a chunk of households with their current decisions, decides them, then
writes the chunk. What people do in between (ask for an override, approve or reject one, decide a
household again) is done here through the real services at exactly that point (``bulk._write``
wrapped so that it acts first); on PostgreSQL also from a second connection that still holds its
row lock while the chunk is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.eligibility import bulk, recompute, services
from bangfu.eligibility.models import EligibilityDecision, RecomputeRun, Standard
from bangfu.org.models import OrgUnit, Role
from bangfu.registry.models import TimelineEvent, Vehicle
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role

ON = date(2026, 6, 1)
# Written through COPY on PostgreSQL: the reason must come back exactly, escapes included.
REASON = "The car is a livelihood vehicle:\ta taxi\nsee the licence \\ 2026"


@pytest.fixture
def people(tree: dict[str, OrgUnit], users: dict[str, Any], province_standard: Standard) -> tuple[Any, Any, OrgUnit]:
    """A maker, a checker and the grassroots union of their households."""
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    return users["xiangyun_staff"], checker, tree["xiangyun_g"]


def _decided(staff: Any, unit: OrgUnit) -> tuple[int, EligibilityDecision]:
    """A household decided once: deep hardship (233.33 yuan per head)."""
    h = household_create(actor=staff, data=household_input(unit)).pk
    d = services.decision_compute(actor=staff, household_id=h, on=ON)
    assert d.category == "deep"
    return h, d


def _current(h: int) -> EligibilityDecision:
    return EligibilityDecision.objects.current().get(household_id=h)


def _between_read_and_write(monkeypatch: pytest.MonkeyPatch, act: Callable[[], None], times: int = 1) -> list[int]:
    """Do ``act`` after a chunk was read and decided, just before it is written (the first ``times``
    chunks written); returns the number of households of every chunk written."""
    real = bulk._write
    written: list[int] = []

    def write(decided: list[Any], **kwargs: Any) -> set[int]:
        if len(written) < times:
            act()
        written.append(len(decided))
        return real(decided, **kwargs)

    monkeypatch.setattr(bulk, "_write", write)
    return written


def _override(d: EligibilityDecision) -> tuple[Any, ...]:
    return (
        d.override_status,
        d.overridden_category,
        d.override_reason,
        d.override_by_id,
        d.override_at,
        d.override_approved_by_id,
        d.override_approved_at,
    )


def test_an_override_asked_for_while_a_chunk_is_decided_is_carried_to_its_new_decision(
    people: tuple[Any, Any, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, checker, unit = people
    h, first = _decided(staff, unit)
    other, _ = _decided(staff, unit)

    def ask() -> None:
        services.decision_override_request(actor=staff, decision_id=first.pk, category="relative", reason=REASON)

    written = _between_read_and_write(monkeypatch, ask)
    out = bulk.run_engine(path=unit.path, on=ON, write=True, actor_id=staff.pk, ids=[h, other])
    assert written == [2]
    assert (out.done, out.changed, out.lapsed, out.superseded) == (2, 0, 0, 0)

    asked = EligibilityDecision.objects.get(pk=first.pk)
    now = _current(h)
    assert now.pk > first.pk and now.category == "deep" and now.previous_category == "deep"
    assert _override(now) == _override(asked)
    assert (now.override_status, now.overridden_category, now.override_reason) == ("pending", "relative", REASON)
    assert (now.override_by_id, now.effective_category) == (staff.pk, "deep")
    assert _current(other).override_status == ""
    # The request is on the timeline and in the audit log once, naming the decision it was asked on.
    events = TimelineEvent.objects.filter(household_id=h, kind=services.TIMELINE_OVERRIDE)
    assert [(e.data["status"], e.data["decision_id"]) for e in events] == [("pending", first.pk)]
    entries = AuditEntry.objects.filter(target_type="eligibility_decision")
    assert [(e.target_id, (e.after or {}).get("override_status")) for e in entries] == [(str(first.pk), "pending")]
    # It waits on the new decision: the replaced one can no longer be approved, the new one can,
    # by a second person only.
    with pytest.raises(DomainError) as err:
        services.decision_override_approve(actor=checker, decision_id=first.pk)
    assert err.value.code == "no_decision"
    with pytest.raises(DomainError) as err:
        services.decision_override_approve(actor=staff, decision_id=now.pk)
    assert err.value.code == "maker_checker"
    approved = services.decision_override_approve(actor=checker, decision_id=now.pk)
    assert approved.effective_category == "relative"


def test_an_approval_or_a_rejection_made_while_a_chunk_is_decided_is_the_one_carried(
    people: tuple[Any, Any, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, checker, unit = people
    decided = dict(_decided(staff, unit) for _ in range(3))
    approve, reject, wait = decided
    for h in decided:
        services.decision_override_request(actor=staff, decision_id=decided[h].pk, category="accident", reason=REASON)

    def check() -> None:
        services.decision_override_approve(actor=checker, decision_id=decided[approve].pk)
        services.decision_override_approve(actor=checker, decision_id=decided[reject].pk, approve=False)

    _between_read_and_write(monkeypatch, check)
    out = bulk.run_engine(path=unit.path, on=ON, write=True, ids=list(decided))
    assert (out.done, out.changed, out.lapsed, out.superseded) == (3, 0, 0, 0)

    now = _current(approve)
    was = EligibilityDecision.objects.get(pk=decided[approve].pk)
    assert now.pk > was.pk and _override(now) == _override(was)
    assert (now.override_status, now.override_approved_by_id, now.effective_category) == (
        "approved",
        checker.pk,
        "accident",
    )
    # A rejected override is over: not carried, not revived from what the chunk read.
    now = _current(reject)
    assert now.pk > decided[reject].pk
    assert (now.override_status, now.overridden_category, now.effective_category) == ("", "", "deep")
    # The override no one touched meanwhile is carried as it was.
    now = _current(wait)
    assert (now.override_status, now.overridden_category, now.override_by_id) == ("pending", "accident", staff.pk)
    statuses = TimelineEvent.objects.filter(household_id__in=decided, kind=services.TIMELINE_OVERRIDE)
    assert sorted(e.data["status"] for e in statuses) == ["approved", "pending", "pending", "pending", "rejected"]


def test_an_override_asked_for_while_a_chunk_is_decided_lapses_and_is_counted_when_the_category_changes(
    people: tuple[Any, Any, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, _checker, unit = people
    h, first = _decided(staff, unit)
    Vehicle.objects.create(household_id=h, kind="car")  # read by the run: not eligible now

    def ask() -> None:
        services.decision_override_request(actor=staff, decision_id=first.pk, category="relative", reason=REASON)

    _between_read_and_write(monkeypatch, ask)
    out = bulk.run_engine(path=unit.path, on=ON, write=True, ids=[h])
    assert (out.done, out.changed, out.lapsed, out.superseded) == (1, 1, 1, 0)
    now = _current(h)
    assert (now.category, now.previous_category, now.override_status, now.effective_category) == (
        "not_eligible",
        "deep",
        "",
        "not_eligible",
    )
    assert EligibilityDecision.objects.get(pk=first.pk).override_status == "pending"


def test_a_household_decided_again_while_its_chunk_is_decided_is_decided_by_the_run_from_what_is_stored_then(
    people: tuple[Any, Any, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, checker, unit = people
    changed, approved, plain = (_decided(staff, unit) for _ in range(3))
    for _h, d in (changed, approved):
        services.decision_override_request(actor=staff, decision_id=d.pk, category="relative", reason=REASON)
    newer: dict[int, EligibilityDecision] = {}

    def meanwhile() -> None:
        # A car is written into one file and the household decided again (its override lapses); the
        # other is decided again and the override, carried, approved on that decision.
        Vehicle.objects.create(household_id=changed[0], kind="car")
        newer[changed[0]] = services.decision_compute(actor=staff, household_id=changed[0], on=ON)
        newer[approved[0]] = services.decision_compute(actor=staff, household_id=approved[0], on=ON)
        services.decision_override_approve(actor=checker, decision_id=newer[approved[0]].pk)

    written = _between_read_and_write(monkeypatch, meanwhile)
    run = RecomputeRun.objects.create(unit=unit, started_by=staff)
    ids = [changed[0], approved[0], plain[0]]
    out = bulk.run_engine(path=unit.path, on=ON, write=True, run_id=run.pk, actor_id=staff.pk, ids=ids)
    now = _current(changed[0])
    assert now.run_id == run.pk and now.pk > newer[changed[0]].pk
    assert (now.category, now.previous_category, now.override_status) == ("not_eligible", "not_eligible", "")
    now = _current(approved[0])
    assert now.run_id == run.pk and now.pk > newer[approved[0]].pk
    assert _override(now) == _override(EligibilityDecision.objects.get(pk=newer[approved[0]].pk))
    assert (now.override_status, now.effective_category) == ("approved", "relative")
    assert _current(plain[0]).run_id == run.pk
    assert EligibilityDecision.objects.filter(household_id__in=ids).count() == 3 + 2 + 3
    lapses = TimelineEvent.objects.filter(kind=services.TIMELINE_OVERRIDE, data__status="lapsed")
    assert [(e.household_id, e.data["decision_id"]) for e in lapses] == [(changed[0], newer[changed[0]].pk)]
    assert (out.done, out.changed, out.lapsed, out.superseded) == (3, 0, 0, 0)
    assert dict(out.categories) == {"deep": 2, "not_eligible": 1}
    assert sorted(EligibilityDecision.objects.filter(run=run).values_list("household_id", flat=True)) == sorted(ids)
    # The chunk was written without the two, which were then read and decided again.
    assert written == [3, 2]


def test_a_household_decided_again_each_time_the_run_would_write_it_keeps_that_decision_and_is_reported(
    people: tuple[Any, Any, OrgUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, _checker, unit = people
    busy, _ = _decided(staff, unit)
    plain, _ = _decided(staff, unit)
    by_person: list[EligibilityDecision] = []

    def meanwhile() -> None:
        by_person.append(services.decision_compute(actor=staff, household_id=busy, on=ON))

    written = _between_read_and_write(monkeypatch, meanwhile, times=2)
    run = recompute.recompute_start(actor=staff, unit_id=unit.pk, on=ON)
    assert _current(busy).pk == by_person[-1].pk and _current(busy).run_id is None
    assert list(EligibilityDecision.objects.filter(run=run).values_list("household_id", flat=True)) == [plain]
    assert (run.done, run.total, run.changed) == (2, 2, 0)
    assert written == [2, 1]
    entry = AuditEntry.objects.filter(target_type="eligibility_recompute", target_id=str(run.pk)).get()
    assert entry.after is not None
    assert (entry.after["superseded"], entry.after["categories"]) == (1, {"deep": 1})


# ---- two connections at once (PostgreSQL) ---------------------------------------------------------


def _blocked_on_a_lock(thread: threading.Thread) -> bool:
    """Wait until another session of this database waits for a lock (True), or ``thread`` ends
    without having waited (False). A bound on the wait only keeps a broken run from hanging."""
    deadline = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            row = cur.fetchone()
            if row and row[0]:
                return True
        time.sleep(0.01)
    return False


@pytest.fixture
def bulk_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[threading.Thread, Any]]]:
    """Start ``bulk.run_engine(write=True)`` on its own connection; it stops after reading and
    deciding its first chunk until the returned event ``go`` is set."""
    threads: list[threading.Thread] = []
    go = threading.Event()

    def start(**kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
        read = threading.Event()
        result: dict[str, Any] = {"go": go}
        real = bulk._write

        def write(decided: list[Any], **kw: Any) -> set[int]:
            if not read.is_set():
                read.set()
                go.wait(timeout=120)
            return real(decided, **kw)

        monkeypatch.setattr(bulk, "_write", write)

        def run() -> None:
            try:
                result["out"] = bulk.run_engine(write=True, **kwargs)
            except BaseException as exc:  # reported by the test
                result["error"] = exc
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        assert read.wait(timeout=120)
        return thread, result

    yield start
    go.set()
    for t in threads:
        t.join(timeout=120)


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks between two connections on PostgreSQL")
def test_a_chunk_waits_for_an_override_being_asked_for_and_carries_it(
    audit_log_emptied: None, people: tuple[Any, Any, OrgUnit], bulk_in_a_thread: Callable[..., Any]
) -> None:
    staff, checker, unit = people
    h, first = _decided(staff, unit)
    thread, result = bulk_in_a_thread(path=unit.path, on=ON, ids=[h])
    with transaction.atomic():
        services.decision_override_request(actor=staff, decision_id=first.pk, category="relative", reason=REASON)
        result["go"].set()
        # The chunk's write waits for the row this transaction locked.
        waited = _blocked_on_a_lock(thread)
    thread.join(timeout=120)
    assert "error" not in result
    assert (result["out"].done, result["out"].lapsed, result["out"].superseded) == (1, 0, 0)
    now = _current(h)
    assert now.pk > first.pk
    assert _override(now) == _override(EligibilityDecision.objects.get(pk=first.pk))
    assert (now.override_status, now.overridden_category, now.override_reason) == ("pending", "relative", REASON)
    assert services.decision_override_approve(actor=checker, decision_id=now.pk).effective_category == "relative"
    assert waited


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks between two connections on PostgreSQL")
def test_a_chunk_waits_for_a_household_being_decided_again_then_decides_it_from_that_decision(
    audit_log_emptied: None, people: tuple[Any, Any, OrgUnit], bulk_in_a_thread: Callable[..., Any]
) -> None:
    staff, checker, unit = people
    h, first = _decided(staff, unit)
    services.decision_override_request(actor=staff, decision_id=first.pk, category="relative", reason=REASON)
    thread, result = bulk_in_a_thread(path=unit.path, on=ON, ids=[h])
    with transaction.atomic():
        newer = services.decision_compute(actor=staff, household_id=h, on=ON)
        services.decision_override_approve(actor=checker, decision_id=newer.pk)
        result["go"].set()
        waited = _blocked_on_a_lock(thread)
    thread.join(timeout=120)
    assert "error" not in result
    assert (result["out"].done, result["out"].changed, result["out"].superseded) == (1, 0, 0)
    now = _current(h)
    assert now.pk > newer.pk and now.previous_category == "deep"
    assert _override(now) == _override(EligibilityDecision.objects.get(pk=newer.pk))
    assert (now.override_status, now.override_approved_by_id, now.effective_category) == (
        "approved",
        checker.pk,
        "relative",
    )
    assert EligibilityDecision.objects.filter(household_id=h).count() == 3
    assert waited


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks between two connections on PostgreSQL")
def test_a_chunk_whose_locks_meet_a_persons_in_a_deadlock_is_written_again(
    audit_log_emptied: None, people: tuple[Any, Any, OrgUnit], bulk_in_a_thread: Callable[..., Any]
) -> None:
    staff, _checker, unit = people
    (first, d1), (second, d2) = sorted(_decided(staff, unit) for _ in range(2))
    thread, result = bulk_in_a_thread(path=unit.path, on=ON, ids=[first, second])
    broken_here = False
    try:
        with transaction.atomic():
            services.decision_override_request(actor=staff, decision_id=d2.pk, category="relative", reason=REASON)
            result["go"].set()
            # The chunk has locked the first decision and waits for the second; asking for an
            # override on the first closes the circle, and PostgreSQL ends the transaction that
            # waited first: the chunk's, which is then written again.
            assert _blocked_on_a_lock(thread)
            services.decision_override_request(actor=staff, decision_id=d1.pk, category="accident", reason=REASON)
    except OperationalError:  # on a machine slow enough, the circle was broken on this side instead
        broken_here = True
    thread.join(timeout=120)
    assert "error" not in result
    assert (result["out"].done, result["out"].superseded) == (2, 0)
    asked = {h: EligibilityDecision.objects.get(pk=d.pk) for h, d in ((first, d1), (second, d2))}
    for h in (first, second):
        now = _current(h)
        assert now.pk > asked[h].pk and _override(now) == _override(asked[h])
    if not broken_here:
        assert [_current(h).overridden_category for h in (first, second)] == ["accident", "relative"]
