"""Standards, rule sets, one-household decisions and overrides, through the services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from bangfu.common.audit import audit_verify
from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.eligibility import selectors, services
from bangfu.eligibility.adapters import RuleBook, StandardBook
from bangfu.eligibility.models import EligibilityDecision, Standard
from bangfu.eligibility.presentation import reason_texts
from bangfu.org.models import Role
from bangfu.registry.models import TimelineEvent
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role

ON = date(2026, 6, 1)


@pytest.fixture
def household(tree: dict[str, Any], users: dict[str, Any]) -> Any:
    # head 800 (malignant tumour), spouse 1,200, student son; pension 2,400; medical 18,000 a year
    # → (24,000 + 2,400 − 18,000) / 12 / 3 = 233.33 per head → deep
    return household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))


def test_standard_falls_back_to_the_parent_division(province_standard: Standard) -> None:
    book = StandardBook.load(2026)
    found = book.get("532923", ON)
    assert found is not None
    assert (found.division_code, found.dibao_monthly, found.version) == ("530000", Decimal("1001.00"), "530000/2026/v1")
    assert book.get("450200", ON) is None


def test_standard_change_keeps_history_and_is_audited(users: dict[str, Any], province_standard: Standard) -> None:
    new = services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="1100",
        minimum_wage_monthly="1900",
    )
    rows = list(Standard.objects.filter(division_code="530000").order_by("version"))
    assert [(r.version, r.dibao_monthly, r.is_current) for r in rows] == [
        (1, Decimal("1001.00"), False),
        (2, Decimal("1100.00"), True),
    ]
    entry = AuditEntry.objects.filter(target_type="eligibility_standard").order_by("-seq").first()
    assert entry is not None
    assert entry.target_id == new.label
    assert entry.before is not None
    assert entry.after is not None
    assert (entry.before["dibao_monthly"], entry.after["dibao_monthly"]) == ("1001.00", "1100.00")
    assert entry.actor_label == "province_manager"
    assert audit_verify() is None


def test_standard_bad_input_names_the_field(users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        services.standard_set(
            actor=users["province_manager"],
            division_code="53",
            year=2026,
            dibao_monthly="-5",
            minimum_wage_monthly="abc",
        )
    assert set(exc.value.message_dict) == {"division_code", "dibao_monthly", "minimum_wage_monthly"}


def test_only_managers_covering_the_division_set_standards(users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        services.standard_set(
            actor=users["xiangyun_staff"], division_code="532923", year=2026, dibao_monthly=900, minimum_wage_monthly=1
        )
    with pytest.raises(PermissionDenied):  # Yunnan's manager cannot set Liuzhou's standard
        services.standard_set(
            actor=users["province_manager"],
            division_code="450200",
            year=2026,
            dibao_monthly=900,
            minimum_wage_monthly=1,
        )


def test_inconsistent_rule_set_refused_with_the_reason(users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        services.ruleset_publish(
            actor=users["province_manager"],
            region_code="530000",
            params={"deep_multiple": "1", "relative_multiple": "0.8"},
        )
    assert "may not be below the deep-hardship multiple" in exc.value.message_dict["relative_multiple"][0]
    with pytest.raises(ValidationError) as exc:
        services.ruleset_publish(actor=users["province_manager"], region_code="530000", params={"bogus": 1})
    assert "bogus" in exc.value.message_dict


def test_rule_set_versions_and_lookup(users: dict[str, Any]) -> None:
    services.ruleset_publish(actor=users["province_manager"], region_code="530000", params={"comparison": "<="})
    second = services.ruleset_publish(
        actor=users["province_manager"], region_code="530000", params={"comparison": "<=", "exit_months": 12}
    )
    assert second.version == 2
    rules = RuleBook.load().get("532923")
    assert (rules.version, rules.comparison, rules.exit_months) == ("530000/v2", "<=", 12)
    assert RuleBook.load().get("450200").version == "default"


def test_no_standard_gives_cannot_decide(users: dict[str, Any], household: Any) -> None:
    d = services.decision_compute(actor=users["xiangyun_staff"], household_id=household.pk, on=ON)
    assert d.category == "cannot_decide"
    assert reason_texts(d.reasons) == ["Cannot decide: no dibao standard for 532923 in 2026"]


def test_decision_is_stored_with_reasons_and_history(
    users: dict[str, Any], household: Any, province_standard: Standard
) -> None:
    staff = users["xiangyun_staff"]
    first = services.decision_compute(actor=staff, household_id=household.pk, on=ON)
    assert first.category == "deep"
    assert first.net_income_per_head_monthly == Decimal("233.33")
    assert first.standard_version == "530000/2026/v1"
    assert first.ruleset_version == "default"
    assert (
        "Net income per head per month as counted (members without a job at the minimum wage) "
        "233.33 yuan < 1 × dibao 1,001.00 yuan, with illness"
    ) in reason_texts(first.reasons)
    services.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="100", minimum_wage_monthly=1
    )
    second = services.decision_compute(actor=staff, household_id=household.pk, on=ON)
    assert (second.category, second.previous_category, second.standard_version) == (
        "not_eligible",
        "deep",
        "530000/2026/v2",
    )
    history = list(selectors.decision_history(actor=staff, household_id=household.pk))
    assert [(d.pk, d.is_current) for d in history] == [(second.pk, True), (first.pk, False)]
    assert TimelineEvent.objects.filter(household=household, kind="eligibility_decided").count() == 2


def test_decisions_outside_jurisdiction_are_not_found(
    users: dict[str, Any], household: Any, province_standard: Standard
) -> None:
    with pytest.raises(Http404):
        services.decision_compute(actor=users["dalishi_staff"], household_id=household.pk, on=ON)
    with pytest.raises(Http404):
        selectors.decision_current(actor=users["dalishi_staff"], household_id=household.pk)


def test_override_needs_a_second_person(
    tree: dict[str, Any], users: dict[str, Any], household: Any, province_standard: Standard
) -> None:
    staff, cadre = users["xiangyun_staff"], users["xiangyun_cadre"]
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    d = services.decision_compute(actor=staff, household_id=household.pk, on=ON)
    with pytest.raises(ValidationError) as exc:
        services.decision_override_request(actor=staff, decision_id=d.pk, category="relative", reason="")
    assert "reason" in exc.value.message_dict
    services.decision_override_request(
        actor=staff, decision_id=d.pk, category="relative", reason="The illness is cured since May"
    )
    with pytest.raises(DomainError) as err:
        services.decision_override_approve(actor=staff, decision_id=d.pk)
    assert err.value.code == "maker_checker"
    with pytest.raises(Http404):
        services.decision_override_approve(actor=users["dalishi_staff"], decision_id=d.pk)
    with pytest.raises(PermissionDenied):  # a grassroots cadre may not set categories
        services.decision_override_approve(actor=cadre, decision_id=d.pk)
    approved = services.decision_override_approve(actor=checker, decision_id=d.pk)
    assert approved.effective_category == "relative"
    assert approved.override_approved_by_id == checker.pk
    assert EligibilityDecision.objects.get(pk=d.pk).category == "deep"  # the computed one is kept
    kinds = list(TimelineEvent.objects.filter(household=household, kind="eligibility_override").values_list("summary"))
    assert len(kinds) == 2
    assert AuditEntry.objects.filter(target_type="eligibility_decision", target_id=str(d.pk)).count() == 2


def test_a_standard_or_rule_set_change_is_in_its_unions_audit_log(tree: Any, users: Any) -> None:
    """Set for a county, the entry carries the county's union (its managers read it); the
    province's carries the province's."""
    from bangfu.common.models import AuditEntry
    from bangfu.eligibility import services as eligibility

    eligibility.standard_set(
        actor=eligibility.SYSTEM, division_code="532923", year=2026, dibao_monthly="950", minimum_wage_monthly="1900"
    )
    eligibility.ruleset_publish(actor=eligibility.SYSTEM, region_code="530000", params={"comparison": "<="})
    paths = dict(
        AuditEntry.objects.filter(target_type__startswith="eligibility_").values_list("target_type", "unit_path")
    )
    assert paths == {"eligibility_standard": tree["xiangyun"].path, "eligibility_ruleset": tree["province"].path}
