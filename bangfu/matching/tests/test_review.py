"""Reviewing findings: confirm, dismiss, tell the worker, and only then remove the file."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.matching import selectors, services
from bangfu.matching.models import Finding, FindingStatus, ProposalStatus
from bangfu.org.models import OrgUnit
from bangfu.registry.models import Household, Member, TimelineEvent


@pytest.fixture
def findings(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> tuple[Household, list[str]]:
    household, ids = make_household()
    vehicles = services.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "小型轿车"]]),
    )
    deaths = services.dataset_import(
        actor=users["admin"],
        kind="hukou_death",
        path=write_csv("d.csv", [["身份证号", "姓名", "死亡日期"], [ids[2], "张小明", "2025-12-01"]]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[vehicles.pk, deaths.pk])
    return household, ids


def test_confirming_a_disqualifying_finding_never_removes_the_file_before_the_worker_is_told(
    findings: tuple[Household, list[str]], users: dict[str, Any]
) -> None:
    household, _ids = findings
    staff = users["xiangyun_staff"]
    finding = Finding.objects.get(rule="vehicle_owned")
    services.finding_confirm(actor=staff, finding_id=finding.pk, reason="车管所记录属实")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CONFIRMED
    proposal = finding.removal_proposal
    assert proposal.status == ProposalStatus.AWAITING_NOTICE
    household.refresh_from_db()
    assert household.state == "active"  # confirming alone removes nothing
    kinds = set(TimelineEvent.objects.filter(household=household).values_list("kind", flat=True))
    assert {"finding_confirmed", "removal_proposed"} <= kinds
    assert AuditEntry.objects.filter(target_type="matching.finding", target_id=str(finding.pk)).exists()

    with pytest.raises(DomainError) as caught:
        services.removal_proposal_execute(actor=staff, proposal_id=proposal.pk)
    assert caught.value.code == "worker_not_notified"
    household.refresh_from_db()
    assert household.state == "active"

    services.removal_proposal_notify(actor=staff, proposal_id=proposal.pk, note="2026-06-02 电话告知本人")
    removed = services.removal_proposal_execute(actor=staff, proposal_id=proposal.pk)
    assert removed.state == "removed"
    assert not Member.objects.filter(household=household, on_open_file=True).exists()


def test_confirming_a_death_record_marks_the_member_deceased(
    findings: tuple[Household, list[str]], users: dict[str, Any]
) -> None:
    household, _ids = findings
    finding = Finding.objects.get(rule="death_record")
    assert finding.severity == "review"
    services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk)
    son = Member.objects.get(pk=finding.member_id)
    assert son.deceased
    household.refresh_from_db()
    assert household.members_living_together == 2
    assert not hasattr(finding, "removal_proposal") or finding.removal_proposal is None


def test_dismissing_needs_a_reason_and_a_finding_is_reviewed_once(
    findings: tuple[Household, list[str]], users: dict[str, Any]
) -> None:
    finding = Finding.objects.get(rule="vehicle_owned")
    staff = users["xiangyun_staff"]
    with pytest.raises(ValidationError):
        services.finding_dismiss(actor=staff, finding_id=finding.pk, reason=" ")
    services.finding_dismiss(actor=staff, finding_id=finding.pk, reason="车辆已过户，有过户证明")
    with pytest.raises(DomainError):
        services.finding_confirm(actor=staff, finding_id=finding.pk)
    assert Finding.objects.get(pk=finding.pk).status == FindingStatus.DISMISSED


@pytest.mark.parametrize(
    ("reason", "problem"),
    [("x", "Say why"), ("\u200b\u200b", "Say why"), (" \ufeff无 ", "Say why"), ("理" * 501, "At most 500")],
)
def test_a_reason_of_nothing_or_one_character_or_too_long_is_refused_not_cut(
    findings: tuple[Household, list[str]], users: dict[str, Any], reason: str, problem: str
) -> None:
    finding = Finding.objects.get(rule="vehicle_owned")
    staff = users["xiangyun_staff"]
    # A confirmation may go without a reason (zero-width characters alone are none); a dismissal may not.
    reviews = (
        (services.finding_dismiss,)
        if not reason.strip("\u200b")
        else (services.finding_dismiss, services.finding_confirm)
    )
    for review in reviews:
        with pytest.raises(ValidationError) as caught:
            review(actor=staff, finding_id=finding.pk, reason=reason)
        assert caught.value.message_dict["reason"][0].startswith(problem)
    assert Finding.objects.get(pk=finding.pk).status == FindingStatus.OPEN
    services.finding_confirm(actor=staff, finding_id=finding.pk, reason="\u200b属实\u200b")
    finding.refresh_from_db()
    assert finding.reason == "属实"
    with pytest.raises(ValidationError) as caught:
        services.removal_proposal_notify(actor=staff, proposal_id=finding.removal_proposal.pk, note="a")
    assert list(caught.value.message_dict) == ["note"]


def test_findings_outside_the_jurisdiction_are_not_found(
    findings: tuple[Household, list[str]], users: dict[str, Any]
) -> None:
    finding = Finding.objects.get(rule="vehicle_owned")
    with pytest.raises(Http404):
        services.finding_confirm(actor=users["dalishi_staff"], finding_id=finding.pk)
    with pytest.raises(Http404):
        selectors.finding_get(actor=users["dalishi_staff"], finding_id=finding.pk)
    assert selectors.finding_list(actor=users["xiangyun_cadre"]).count() == 2


def test_coverage_rate_counts_files_cross_checked(
    findings: tuple[Household, list[str]], make_household: Any, users: dict[str, Any]
) -> None:
    make_household(unit="dalishi_g")  # filed after the run: not yet cross-checked
    rows = {r.unit: r for r in selectors.match_coverage_rate(actor=users["province_manager"])}
    assert (rows["云南省总工会"].households, rows["云南省总工会"].checked) == (2, 1)
    assert rows["云南省总工会"].rate == 0.5
    assert rows["大理州总工会"].rate == 0.5
    assert rows["昆明市总工会"].households == 0


def _current_decision(household: Household, actor: Any) -> Any:
    from bangfu.eligibility import selectors as eligibility_selectors

    decision = eligibility_selectors.decision_current(actor=actor, household_id=household.pk)
    assert decision is not None
    return decision


def test_confirming_a_disqualifying_finding_changes_the_identification_decision(
    findings: tuple[Household, list[str]], users: dict[str, Any], standard: None
) -> None:
    from bangfu.eligibility import services as eligibility_services

    household, _ids = findings
    staff = users["xiangyun_staff"]
    before = eligibility_services.decision_compute(actor=staff, household_id=household.pk)
    assert before.category in {"deep", "relative"}
    assert not household.vehicles.exists()

    finding = Finding.objects.get(rule="vehicle_owned")
    services.finding_confirm(actor=staff, finding_id=finding.pk, reason="车管所记录属实")

    after = _current_decision(household, staff)
    assert after.pk != before.pk
    assert after.category == "not_eligible"
    assert after.disqualifiers == ["vehicle"]
    car = household.vehicles.get()
    assert car.kind == "car" and "云L1" in car.note
    household.refresh_from_db()
    assert household.version == (before.facts_version or 0) + 1
    summaries = list(TimelineEvent.objects.filter(household=household).values_list("summary", flat=True))
    assert any("云L1" in s for s in summaries)
    # The file is still there: removal waits for the worker to be told.
    assert household.state == "active"


def test_confirming_a_death_recomputes_the_decision_with_the_smaller_household(
    findings: tuple[Household, list[str]], users: dict[str, Any]
) -> None:
    household, _ids = findings
    finding = Finding.objects.get(rule="death_record")
    services.finding_confirm(actor=users["xiangyun_staff"], finding_id=finding.pk)
    decision = _current_decision(household, users["xiangyun_staff"])
    assert decision.facts_version == Household.objects.get(pk=household.pk).version


@pytest.mark.parametrize(
    ("rule", "details", "expect"),
    [
        ("vehicle_owned", {"text": "大型拖拉机"}, {"vehicle_kind": "farm_machinery"}),
        ("vehicle_owned", {"text": "小型普通客车"}, {"vehicle_kind": "car"}),
        ("active_company_role", {"text": "祥云县某某商贸有限公司 / 法定代表人"}, {"role": "legal_representative"}),
        ("active_company_role", {"text": "某公司 / 股东"}, {"role": "controlling_shareholder"}),
        ("recent_home_purchase", {"value": 88.5, "date": "2026-03-01"}, {"floor_area": "88.5"}),
        ("income_discrepancy", {"value": 6000}, None),
    ],
)
def test_what_a_confirmed_finding_adds_to_the_file(rule: str, details: dict[str, Any], expect: Any) -> None:
    finding = Finding(rule=rule, kind="vehicles", record_key="R1", details=details)
    facts = services.confirmed_facts(finding)
    if expect is None:
        assert facts == []
        return
    (fact,) = facts
    for key, value in expect.items():
        assert str(getattr(fact, key)) == value


def test_coverage_rate_adds_up_each_subtree_as_counting_it_alone_would(
    make_household: Any, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    """The rate is one grouped query added up per unit below; it must equal each subtree counted on
    its own: files of unions at every depth (the county itself too), closed files left out."""
    from django.utils import timezone

    from bangfu.matching.models import HouseholdCheck
    from bangfu.registry.codes import OPEN_STATES, FileState

    made = [make_household(unit=u)[0] for u in ("xiangyun_g", "xiangyun_g", "xiangyun", "dalishi_g", "wuhua")]
    Household.objects.filter(pk=made[1].pk).update(state=FileState.EXITED)  # closed: not counted
    for h in (made[0], made[1], made[3]):
        HouseholdCheck.objects.create(household=h, checked_at=timezone.now())
    for actor, unit in ((users["province_manager"], None), (users["province_manager"], tree["dali"].pk)):
        rows = selectors.match_coverage_rate(actor=actor, unit_id=unit)
        assert len(rows) > 1
        for row in rows:
            path = OrgUnit.objects.get(pk=row.unit_id).path
            files = Household.objects.filter(unit__path__startswith=path, state__in=OPEN_STATES)
            assert (row.households, row.checked) == (
                files.count(),
                HouseholdCheck.objects.filter(household__in=files).count(),
            ), row.unit
    by_unit = {
        r.unit: r for r in selectors.match_coverage_rate(actor=users["province_manager"], unit_id=tree["dali"].pk)
    }
    assert (by_unit["大理州总工会"].households, by_unit["大理州总工会"].checked) == (3, 2)
    assert (by_unit["祥云县总工会"].households, by_unit["祥云县总工会"].checked) == (2, 1)
