"""The public self-test page: no sign-in, the same engine and the region's standard, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from bangfu.common.models import AuditEntry
from bangfu.eligibility import selftest, services
from bangfu.eligibility.models import EligibilityDecision, Standard
from bangfu.registry.models import Household

URL = "/self-test/"


@pytest.fixture
def standard(tree: dict[str, Any]) -> None:
    cache.clear()
    services.standard_set(
        actor=services.SYSTEM,
        division_code="530000",
        year=2026,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
        housing_area_per_head="20",
    )


def answer(client: Client, **fields: Any) -> str:
    data = {"region": "532923", "household_size": "3", "m0_age": "45", "m0_situation": "working", "m0_income": "1500"}
    data.update({k: str(v) for k, v in fields.items()})
    response = client.post(URL, data)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def en() -> Client:
    return Client(headers={"Accept-Language": "en"})


def test_the_page_is_public_and_chinese_by_default(standard: None) -> None:
    page = Client().get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'lang="zh-hans"' in text
    assert 'value="532923"' in text  # the counties of the union tree are offered
    assert page["Cache-Control"] == "no-store"


def test_low_income_with_illness_is_likely_deep_hardship_and_says_why(standard: None, en: Client) -> None:
    text = answer(en, m1_age="44", m1_situation="ill", m1_income="0", medical_yearly="6000")
    assert 'data-category="deep"' in text
    assert "Deep hardship" in text
    assert "1,001.00" in text  # the region's dibao, from the province's standard
    assert "with illness" in text
    assert "Counted income 18,000.00 yuan − rigid expenses 6,000.00 yuan a year" in text
    # A worker who came from the phone pages finds the way back to apply (the page was a dead end).
    assert 'id="back-to-apply"' in text and 'id="apply-link"' in text and 'href="/apply/"' in text


def test_income_above_the_relative_line_is_not_eligible(standard: None, en: Client) -> None:
    text = answer(en, household_size="1", m0_income="3000")
    assert 'data-category="not_eligible"' in text
    assert "(members without a job at the minimum wage) 3,000.00 yuan ≥ 2 × dibao 1,001.00 yuan" in text


def test_a_car_disqualifies_whatever_the_income(standard: None, en: Client) -> None:
    text = answer(en, m0_income="500", owns_car="on")
    assert 'data-category="not_eligible"' in text
    assert "Owns a vehicle other than a livelihood or disability vehicle (Private car)" in text


def test_an_able_member_without_a_job_counts_at_the_minimum_wage(standard: None, en: Client) -> None:
    text = answer(en, household_size="2", m1_age="30", m1_situation="unemployed", m1_income="0")
    assert "counted at the minimum wage 1,900.00 yuan a month" in text


def test_a_region_without_standard_cannot_decide(standard: None, en: Client) -> None:
    Standard.objects.all().delete()
    text = answer(en)
    assert "Cannot decide: no dibao standard for 532923 in" in text


def test_absurd_values_are_refused_with_the_field_named(standard: None, en: Client) -> None:
    response = en.post(URL, {"region": "532923", "household_size": "40", "m0_age": "45", "m0_income": "-5"})
    text = response.content.decode()
    assert 'id="self-test-answer"' not in text
    assert "Ensure this value is less than or equal to 20." in text
    assert "Ensure this value is greater than or equal to 0." in text
    response = en.post(URL, {"region": "999999", "household_size": "2"})
    text = response.content.decode()
    assert "Select a valid choice." in text
    assert "Enter at least yourself" in text


def test_nothing_is_stored(standard: None, en: Client) -> None:
    before = (EligibilityDecision.objects.count(), Household.objects.count(), AuditEntry.objects.count())
    answer(en, m1_age="44", m1_situation="ill")
    assert (EligibilityDecision.objects.count(), Household.objects.count(), AuditEntry.objects.count()) == before


def test_answers_are_rate_limited_per_address(standard: None, en: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "RATE_LIMIT", 2)
    answer(en)
    answer(en)
    response = en.post(URL, {"region": "532923", "household_size": "1", "m0_age": "45"})
    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()
    other = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="10.0.0.9")
    assert other.post(URL, {"region": "532923", "household_size": "1", "m0_age": "45"}).status_code == 200


def test_a_negative_age_gets_its_own_message_only(standard: None, en: Client) -> None:
    text = en.post(URL, {"region": "532923", "household_size": "1", "m0_age": "-3"}).content.decode()
    assert "Ensure this value is greater than or equal to" in text
    assert "Enter at least yourself" not in text


def test_the_answer_groups_the_dibao_and_puts_the_language_s_colon(standard: None, en: Client) -> None:
    text = answer(en, m1_age="44", m1_situation="ill", m1_income="0", medical_yearly="6000")
    assert "Urban dibao in your region: 1,001.00 yuan a month" in text
    assert "Likely result: <span" in text
    zh = answer(Client(headers={"Accept-Language": "zh-hans"}), m1_age="44", m1_situation="ill", m1_income="0")
    assert "每月1,001.00元" in zh
    assert "：<span" in zh and ": <span" not in zh
