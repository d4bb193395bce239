"""Staff and rechecks acting on the same findings, files and runs at the same moment, each on its
own database connection: exactly one outcome wins, the other is told why, and the file, the
timeline, the audit log and the findings hold exactly what happened. Runs on PostgreSQL (row
locks); on SQLite only with an on-disk test database (writers take turns)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from django.db import connection, transaction
from django.utils import timezone

from bangfu.common import crypto
from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.eligibility.models import EligibilityDecision
from bangfu.matching import bulk, services
from bangfu.matching.engine.rules import FINDING_COLUMNS
from bangfu.matching.models import Dataset, Finding, FindingStatus, MatchRun, RemovalProposal, RunStatus
from bangfu.org.models import Role
from bangfu.registry import services as registry_services
from bangfu.registry.models import Household, TimelineEvent
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.postgresql

VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]
DEATHS = ["身份证号", "姓名", "死亡日期"]


@pytest.fixture(autouse=True)
def threads_on_one_database(shared_database: None, audit_log_emptied: None) -> None:
    """Every test here runs threads (``shared_database``) and writes the audit log."""


@pytest.fixture
def queued(settings: Any) -> None:
    """Runs wait in the queue (no worker), so that the tests run them when they choose."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` at once, each in its own thread and connection; each one's result, or the
    exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def first_holding(first: Callable[[], Any], then: Callable[[], Any]) -> list[Any]:
    """``first`` in a transaction kept open half a second after it has acted, and ``then`` started
    meanwhile: it meets ``first``'s locks and goes on when ``first`` commits."""
    acted = threading.Event()

    def holding() -> Any:
        with transaction.atomic():
            result = first()
            acted.set()
            time.sleep(0.5)
        return result

    def after() -> Any:
        acted.wait(10)
        return then()

    return together(holding, after)


def _findings(make_household: Any, users: dict[str, Any], write_csv: Any) -> tuple[Household, list[Dataset]]:
    """A file whose head and spouse own a car, and whose spouse and son have died."""
    household, ids = make_household()
    admin = users["admin"]
    vehicles = services.dataset_import(
        actor=admin,
        kind="vehicles",
        path=write_csv("v.csv", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"], [ids[1], "李秀英", "云L2", "轿车"]]),
    )
    deaths = services.dataset_import(
        actor=admin,
        kind="hukou_death",
        path=write_csv("d.csv", [DEATHS, [ids[1], "李秀英", "2025-12-01"], [ids[2], "张小明", "2025-12-01"]]),
    )
    run = services.match_run(actor=admin, dataset_ids=[vehicles.pk, deaths.pk])
    services.match_run_execute(run_id=run.pk)
    return household, [vehicles, deaths]


def _ids(household: Household) -> list[str]:
    return [crypto.decrypt(c) for c in household.members.order_by("id").values_list("id_cipher", flat=True)]


def _kinds(household: Household) -> list[str]:
    return sorted(
        TimelineEvent.objects.filter(household=household).exclude(kind="file_created").values_list("kind", flat=True)
    )


@pytest.fixture
def second(tree: dict[str, Any]) -> Any:
    return user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")


def test_two_staff_confirm_the_same_finding_at_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, second: Any, standard: None
) -> None:
    household, _datasets = _findings(make_household, users, write_csv)
    finding = Finding.objects.get(record_key="云L1")
    results = together(
        lambda: services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="属实"),
        lambda: services.finding_confirm(actor=second, finding_id=finding.pk, reason="车管所记录"),
    )
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(lost) == 1 and lost[0].code == "finding_not_open", results
    assert AuditEntry.objects.filter(target_type="matching.finding", target_id=str(finding.pk)).count() == 1
    assert RemovalProposal.objects.filter(household=household).count() == 1
    assert household.vehicles.count() == 1
    assert EligibilityDecision.objects.filter(household=household).count() == 1
    assert _kinds(household) == ["eligibility_decided", "file_updated", "finding_confirmed", "removal_proposed"]


def test_the_same_car_from_two_files_confirmed_by_two_staff_at_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, second: Any, standard: None
) -> None:
    """Last quarter's vehicle file and this quarter's both have the car: two findings, confirmed
    at the same moment. The file gets the car once and one removal is proposed.

    A later file no longer raises a car already open (``bulk._not_raised``), but two runs at once,
    or findings raised before that, still leave two open findings of one car: the second is made
    here as such a run would have made it."""
    household, (vehicles, _deaths) = _findings(make_household, users, write_csv)
    again = services.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=write_csv("v2.csv", [VEHICLES, [_ids(household)[0], "张建国", "云L1", "轿车"]]),
    )
    run = services.match_run(actor=users["admin"], dataset_ids=[again.pk])
    services.match_run_execute(run_id=run.pk)
    (old,) = Finding.objects.filter(record_key="云L1")
    new = Finding.objects.get(pk=old.pk)
    new.pk, new.dataset, new.run = None, again, run
    new.save()
    assert (old.dataset_id, new.dataset_id) == (vehicles.pk, again.pk)
    results = together(
        lambda: services.finding_confirm(actor=users["xiangyun_staff"], finding_id=old.pk, reason="属实"),
        lambda: services.finding_confirm(actor=second, finding_id=new.pk, reason="属实"),
    )
    assert all(isinstance(r, Finding) for r in results), results
    assert household.vehicles.count() == 1
    assert RemovalProposal.objects.filter(household=household).count() == 1
    assert _kinds(household).count("removal_proposed") == 1


def test_two_death_records_of_one_household_confirmed_at_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, second: Any, standard: None
) -> None:
    household, _datasets = _findings(make_household, users, write_csv)
    spouse, son = Finding.objects.filter(rule="death_record").order_by("member_id")
    results = together(
        lambda: services.finding_confirm(actor=users["xiangyun_staff"], finding_id=spouse.pk),
        lambda: services.finding_confirm(actor=second, finding_id=son.pk),
    )
    assert all(isinstance(r, Finding) for r in results), results
    household.refresh_from_db()
    assert household.members_living_together == 1
    assert list(household.members.filter(deceased=False).values_list("name", flat=True)) == ["张建国"]
    decisions = EligibilityDecision.objects.filter(household=household).order_by("id")
    assert decisions.count() == 2
    # The later decision saw both deaths: it was made from the file as it is now.
    assert decisions.last().facts_version == household.version  # type: ignore[union-attr]
    assert _kinds(household).count("member_deceased") == 2


def test_a_finding_confirmed_while_its_dataset_is_purged(
    make_household: Any, users: dict[str, Any], write_csv: Any, standard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both happen: the finding keeps what the record said, without the link to the data. The
    purge wrote its audit entry first, holding the audit log's lock while it cleared the findings'
    link; a reviewer who had just locked the finding waited for that lock: a deadlock, and the
    night's purge or the review failed. Here the review starts just after the purge's entry."""
    household, (vehicles, _deaths) = _findings(make_household, users, write_csv)
    finding = Finding.objects.get(record_key="云L1")
    purging = threading.Event()
    real = services.audit_record

    def audit_then_pause(**kwargs: Any) -> Any:
        entry = real(**kwargs)
        if kwargs["target_type"] == "matching.dataset":
            purging.set()
            time.sleep(0.5)
        return entry

    monkeypatch.setattr(services, "audit_record", audit_then_pause)

    def confirm() -> Any:
        purging.wait(10)
        return services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="属实")

    results = together(
        lambda: services.dataset_delete(actor=None, dataset=vehicles, note="retention period ended"), confirm
    )
    assert results[0] is None and isinstance(results[1], Finding), results
    finding.refresh_from_db()
    assert (finding.status, finding.dataset_id) == (FindingStatus.CONFIRMED, None)
    assert not Dataset.objects.filter(pk=vehicles.pk).exists()
    assert RemovalProposal.objects.filter(finding=finding).count() == 1
    assert household.vehicles.count() == 1
    assert AuditEntry.objects.filter(target_type="matching.dataset", action="delete").count() == 1
    assert AuditEntry.objects.filter(target_type="matching.finding", target_id=str(finding.pk)).count() == 1


def test_a_finding_confirmed_while_a_recheck_of_its_data_runs(
    make_household: Any, users: dict[str, Any], write_csv: Any, standard: None, queued: None
) -> None:
    household, datasets = _findings(make_household, users, write_csv)
    finding = Finding.objects.get(record_key="云L1")
    run = services.match_run(actor=users["admin"], dataset_ids=[d.pk for d in datasets])
    results = together(
        lambda: services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk, reason="属实"),
        lambda: services.match_run_execute(run_id=run.pk),
    )
    assert isinstance(results[0], Finding) and results[1].status == RunStatus.DONE, results
    assert results[1].findings_new == 0
    assert Finding.objects.count() == 4
    assert Finding.objects.get(pk=finding.pk).status == FindingStatus.CONFIRMED
    assert RemovalProposal.objects.filter(household=household).count() == 1


def _two_proposals_told(make_household: Any, users: dict[str, Any], write_csv: Any) -> tuple[Household, list[Any]]:
    household, _datasets = _findings(make_household, users, write_csv)
    staff = users["xiangyun_staff"]
    for finding in Finding.objects.filter(rule="vehicle_owned").order_by("id"):
        services.finding_confirm(actor=staff, finding_id=finding.pk, reason="属实")
    proposals = list(RemovalProposal.objects.order_by("id"))
    for p in proposals:
        services.removal_proposal_notify(actor=staff, proposal_id=p.pk, note="电话告知本人")
    return household, proposals


def test_two_staff_remove_one_file_by_its_two_proposals_at_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, second: Any, standard: None
) -> None:
    household, (car, other_car) = _two_proposals_told(make_household, users, write_csv)
    results = first_holding(
        lambda: services.removal_proposal_execute(actor=users["xiangyun_staff"], proposal_id=car.pk),
        lambda: services.removal_proposal_execute(actor=second, proposal_id=other_car.pk),
    )
    assert isinstance(results[0], Household), results
    assert isinstance(results[1], DomainError) and results[1].code == "removal_proposal_lapsed", results
    assert (
        results[1].message
        == f"File {household.file_number} is no longer open (Removed): there is no removal to act on."
    )
    household.refresh_from_db()
    assert household.state == "removed"
    assert _kinds(household).count("state_changed") == 1
    assert (
        AuditEntry.objects.filter(target_type="household", target_id=str(household.pk), action="update")
        .filter(after__state="removed")
        .count()
        == 1
    )


def test_a_file_removed_while_another_path_closes_it(
    make_household: Any, users: dict[str, Any], write_csv: Any, second: Any, standard: None
) -> None:
    """The worker's file exits hardship (a review) at the moment staff remove it: the exit came
    first, so there is nothing left to remove."""
    household, (car, _other) = _two_proposals_told(make_household, users, write_csv)
    results = first_holding(
        lambda: registry_services.household_state_change(
            actor=second, household_id=household.pk, to_state="exited", reason="连续6个月收入超过低保标准"
        ),
        lambda: services.removal_proposal_execute(actor=users["xiangyun_staff"], proposal_id=car.pk),
    )
    assert isinstance(results[0], Household), results
    assert isinstance(results[1], DomainError) and results[1].code == "removal_proposal_lapsed", results
    assert "(Exited hardship)" in results[1].message
    household.refresh_from_db()
    assert household.state == "exited"
    assert _kinds(household).count("state_changed") == 1


def test_a_run_taken_by_two_processes_at_once_is_run_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, queued: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bangfu match run`` runs the run it started while the worker picks up the same task: one
    of them runs it, the other waits for it (the command line, to print the outcome) or leaves it
    (the worker)."""
    _household, datasets = _findings(make_household, users, write_csv)
    engine_runs: list[int] = []
    real = services.backends.match_table

    def slow_match(*args: Any, **kwargs: Any) -> Any:
        engine_runs.append(1)
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(services.backends, "match_table", slow_match)
    monkeypatch.setattr(services, "RUN_WAIT_SECONDS", 0.05, raising=False)
    run = services.match_run(actor=users["admin"], dataset_ids=[d.pk for d in datasets])
    results = together(
        lambda: services.match_run_execute(run_id=run.pk), lambda: services.match_run_execute(run_id=run.pk)
    )
    assert len(engine_runs) == 1
    assert [(r.status, r.persons) for r in results] == [(RunStatus.DONE, 3)] * 2, results
    # The worker's task leaves a run someone else is running, without waiting for it.
    MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    assert services.match_run_execute(run_id=run.pk, wait=False).status == RunStatus.RUNNING
    assert len(engine_runs) == 1


def test_an_overlapping_recheck_waits_for_the_one_under_way_and_records_nothing_twice(
    make_household: Any, users: dict[str, Any], write_csv: Any, tree: dict[str, Any], queued: None
) -> None:
    """The province's recheck and Xiangyun's over the same data: the second is refused while the
    first is under way (one run over overlapping unions at a time), then runs after it; every
    finding is recorded once, by the run that wrote it first."""
    _household, datasets = _findings(make_household, users, write_csv)
    Finding.objects.all().delete()
    ids = [d.pk for d in datasets]
    province = services.match_run(actor=users["admin"], dataset_ids=ids)
    with pytest.raises(DomainError):
        services.match_run(actor=users["xiangyun_staff"], unit=tree["xiangyun"], dataset_ids=ids)
    first = services.match_run_execute(run_id=province.pk)
    county = services.match_run(actor=users["xiangyun_staff"], unit=tree["xiangyun"], dataset_ids=ids)
    second = services.match_run_execute(run_id=county.pk)
    assert [r.status for r in (first, second)] == [RunStatus.DONE] * 2
    assert Finding.objects.count() == 4
    assert (first.findings_new, second.findings_new) == (4, 0)
    # Each summary counts the findings its run recorded: together, each finding once.
    assert [sum(r.summary["by_severity"].values()) for r in (first, second)] == [4, 0]


def test_two_runs_writing_the_same_findings_in_opposite_orders_do_not_deadlock() -> None:
    """DuckDB returns a join's rows in no fixed order, so two runs over overlapping unions write
    the same findings (and households' check times) in different orders. On PostgreSQL the second
    writer of a row waits for the first; in opposite orders each waited for the other, and one
    run failed ("deadlock detected"). Written here in opposite orders, then rolled back (the
    foreign keys are checked at commit)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    n = 20_000
    found = pa.table(
        {
            "household_id": [i // 3 + 1 for i in range(n)],
            "member_id": [i + 1 for i in range(n)],
            "dataset_id": [1] * n,
            "kind": ["vehicles"] * n,
            "record_key": [f"云A{i:05d}" for i in range(n)],
            "rule": ["vehicle_owned"] * n,
            "severity": ["disqualifying"] * n,
            "confidence": ["high"] * n,
            "details": ["{}"] * n,
        }
    ).select(list(FINDING_COLUMNS))
    backwards = found.take(pa.array(range(n - 1, -1, -1)))
    households = sorted({i // 3 + 1 for i in range(n)})

    def write(table: pa.Table | None, checked: list[int] | None) -> str:
        with transaction.atomic():
            if table is not None:
                bulk.findings_insert(table, run_id=1, now=timezone.now())
            if checked is not None:
                bulk.household_checks_upsert(checked, run_id=1, now=timezone.now())
            transaction.set_rollback(True)
        return "written"

    assert together(lambda: write(found, None), lambda: write(backwards, None)) == ["written", "written"]
    assert together(lambda: write(None, households), lambda: write(None, households[::-1])) == ["written", "written"]


def test_the_same_recheck_asked_for_three_times_at_once_is_queued_once(
    make_household: Any, users: dict[str, Any], write_csv: Any, tree: dict[str, Any], queued: None, second: Any
) -> None:
    """Three requests for a recheck of Xiangyun at the same moment, from two people: one run is
    queued, the two others are refused naming it (a check before the insert let all three by)."""
    _household, datasets = _findings(make_household, users, write_csv)
    ids = [d.pk for d in datasets]
    before = MatchRun.objects.count()
    results = together(
        *[
            (lambda who=who: services.match_run(actor=who, unit=tree["xiangyun"], dataset_ids=ids))
            for who in (users["xiangyun_staff"], second, users["xiangyun_staff"])
        ]
    )
    runs = [r for r in results if isinstance(r, MatchRun)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(runs) == 1 and len(refused) == 2, results
    assert all(r.code == "run_under_way" and r.details["run_id"] == runs[0].pk for r in refused)
    assert MatchRun.objects.count() == before + 1
