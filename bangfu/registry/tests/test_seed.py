"""``bangfu seed``: deterministic, valid and realistic synthetic files, loaded in bulk."""

from __future__ import annotations

import statistics
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bangfu.common import crypto, divisions
from bangfu.common.audit import audit_verify
from bangfu.common.ids import ResidentId
from bangfu.common.models import AuditEntry
from bangfu.org.models import OrgLevel, OrgUnit, Role
from bangfu.registry import services
from bangfu.registry.models import BankAccount, FileNumberSequence, Household, Member, TimelineEvent
from bangfu.seed.generate import AS_OF
from bangfu.seed.run import seed_run
from bangfu.testing.factories import household_input, user_with_role

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    return [
        (
            h.file_number,
            h.unit.name,
            [(m.name, m.id_masked, str(m.monthly_income)) for m in h.members.order_by("position")],
        )
        for h in Household.objects.select_related("unit").prefetch_related("members").order_by("file_number")
    ]


def _empty_registry() -> None:
    Household.objects.all().delete()
    FileNumberSequence.objects.all().delete()
    for level in (OrgLevel.GRASSROOTS, OrgLevel.COUNTY, OrgLevel.CITY, OrgLevel.PROVINCE):
        OrgUnit.objects.filter(level=level).delete()


def test_same_seed_gives_the_same_files() -> None:
    seed_run(households=150, random_seed=42)
    first = _snapshot()
    _empty_registry()
    seed_run(households=150, random_seed=42)
    assert _snapshot() == first
    _empty_registry()
    seed_run(households=150, random_seed=43)
    assert _snapshot() != first


@pytest.fixture
def seeded() -> Any:
    return seed_run(households=2000, random_seed=7)


def test_tree_covers_every_prefecture_and_county_of_yunnan(seeded: Any) -> None:
    cities = set(OrgUnit.objects.filter(level=OrgLevel.CITY).values_list("division_code", flat=True))
    assert cities == set(divisions.children("530000", 2025))
    counties = OrgUnit.objects.filter(level=OrgLevel.COUNTY)
    assert counties.get(division_code="532923").name == "祥云县总工会"
    assert counties.count() == sum(len(divisions.children(c, 2025)) for c in cities)
    per_county = Counter(OrgUnit.objects.filter(level=OrgLevel.GRASSROOTS).values_list("parent_id", flat=True))
    assert set(per_county) == set(counties.values_list("id", flat=True))
    assert min(per_county.values()) >= 2 and max(per_county.values()) <= 6


def test_every_id_is_valid_for_the_birth_year_and_unique(seeded: Any) -> None:
    seen: set[str] = set()
    for cipher, masked, born, sex in Member.objects.values_list("id_cipher", "id_masked", "birth_date", "sex"):
        number = crypto.decrypt(cipher)
        rid = ResidentId.parse(number, today=AS_OF)  # region in use in the birth year, check digit right
        assert (rid.birth_date, rid.sex, rid.masked) == (born, sex, masked)
        assert divisions.division_exists(rid.region_code, born.year)
        seen.add(number)
    assert len(seen) == Member.objects.count() == seeded.persons


def test_households_look_like_real_files(seeded: Any) -> None:
    households = list(Household.objects.all())
    assert len(households) == 2000
    sizes = Counter(Member.objects.values_list("household_id", flat=True))
    assert set(sizes.values()) <= set(range(1, 7))
    assert 3.0 <= statistics.mean(sizes.values()) <= 3.6
    heads = Counter(Member.objects.filter(relationship="head").values_list("household_id", flat=True))
    assert len(heads) == 2000 and set(heads.values()) == {1}
    # Nobody "working" without a job (the form refuses the pair; identification would impute no wage).
    assert not Member.objects.filter(identity="working", work_status="unemployed").exists()

    categories = Counter(h.category for h in households)
    assert 0.38 <= categories["deep"] / 2000 <= 0.52
    assert 0.38 <= categories["relative"] / 2000 <= 0.52
    assert 0.06 <= categories["accident"] / 2000 <= 0.14
    assert 0 < sum(h.is_migrant_worker for h in households) < 200
    causes = Counter(h.main_cause for h in households)
    assert causes.most_common(1)[0][0] == 6  # major illness comes first
    assert causes[3] > causes[9] > 0  # then laid off, ... schooling
    for h in households:
        assert len(h.secondary_causes) <= 3 and h.main_cause not in h.secondary_causes
        assert len(set(h.secondary_causes)) == len(h.secondary_causes)
    net = [h.net_income_per_head_monthly for h in households]
    assert sum(300 <= x <= 2000 for x in net) / len(net) > 0.7
    assert Counter(h.state for h in households).most_common(1)[0][0] == "active"
    assert {h.filed_on.year for h in households if h.filed_on} >= set(range(2014, 2027))


def test_people_look_like_yunnan(seeded: Any) -> None:
    ethnicity = Counter(Member.objects.values_list("ethnicity", flat=True))
    total = sum(ethnicity.values())
    assert 0.45 <= ethnicity["01"] / total <= 0.8  # Han
    assert {"07", "14", "16", "18"} <= set(ethnicity)  # Yi, Bai, Hani, Dai
    assert Member.objects.filter(name__contains="·", ethnicity="05").exists()
    parents = Member.objects.filter(relationship__in=["son", "daughter"]).select_related("household")
    for child in parents[:500]:
        head = Member.objects.get(household_id=child.household_id, relationship="head")
        assert child.birth_date > head.birth_date
        assert child.sex == ("M" if child.relationship == "son" else "F")
    assert Member.objects.filter(relationship="head").exclude(health="good").count() > 600
    disabled = Member.objects.filter(health="disabled")
    assert disabled.exists() and not disabled.filter(disability_type="").exists()
    assert not disabled.filter(disability_grade__isnull=True).exists()


def test_one_timeline_event_per_file_one_audit_entry_per_run(seeded: Any) -> None:
    assert TimelineEvent.objects.filter(kind="file_created").count() == 2000
    entries = AuditEntry.objects.filter(target_type="seed")
    assert entries.count() == 1
    assert entries.get().after == {"households": 2000, "persons": seeded.persons, "seed": 7, "province": "530000"}
    card = BankAccount.objects.first()
    assert (
        card is not None and "*" in card.card_masked and crypto.decrypt(card.card_cipher)[-4:] == card.card_masked[-4:]
    )
    assert audit_verify() is None


def test_service_files_continue_the_numbering(seeded: Any) -> None:
    unit = OrgUnit.objects.get(code="532923-G01")
    cadre = user_with_role(unit, Role.GRASSROOTS_CADRE)
    created = services.household_create(actor=cadre, data=household_input(unit))
    same_prefix = Household.objects.filter(file_number__startswith=created.file_number[:10])
    assert created.file_number == max(same_prefix.values_list("file_number", flat=True))
    assert same_prefix.count() >= 1
    assert Household.objects.count() == 2001
    assert audit_verify() is None


def test_refuses_a_province_that_has_files() -> None:
    seed_run(households=20, random_seed=1)
    with pytest.raises(CommandError, match="already has household files"):
        call_command("seed", households=20, random_seed=2, stdout=StringIO())
    assert Household.objects.count() == 20


def test_command_prints_a_summary() -> None:
    out = StringIO()
    call_command("seed", households=30, random_seed=3, stdout=out)
    assert "30" in out.getvalue() and Household.objects.count() == 30
