"""Text longer than its column is refused under its field, before anything is written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.registry import models, services, validation
from bangfu.registry.inputs import AmountInput, BankAccountInput, BusinessRoleInput, HomeInput, VehicleInput
from bangfu.registry.models import Household, Member
from bangfu.testing.factories import household_input


def _with_collections(d: Any) -> None:
    d.incomes = [AmountInput(kind="wages", amount_yearly=Decimal(100))]
    d.rigid_expenses = [AmountInput(kind="medical", amount_yearly=Decimal(100))]
    d.homes = [HomeInput(floor_area=Decimal(50))]
    d.vehicles = [VehicleInput(kind="car")]
    d.business_roles = [BusinessRoleInput(company="某公司", role="employer")]
    d.bank_account = BankAccountInput(bank="农业银行", holder_name="张建国", card_number="6228480402564890018")


CASES = [
    ("address", lambda d: setattr(d, "address", "云南省大理州祥云县" * 30)),
    ("cause_note", lambda d: setattr(d, "cause_note", "x" * 201)),
    ("filed_by_name", lambda d: setattr(d, "filed_by_name", "x" * 51)),
    ("reviewed_by_name", lambda d: setattr(d, "reviewed_by_name", "x" * 51)),
    ("members.1.disease_note", lambda d: setattr(d.members[1], "disease_note", "病" * 201)),
    ("members.0.phone", lambda d: setattr(d.members[0], "phone", "1" * 21)),
    ("members.0.employer", lambda d: setattr(d.members[0], "employer", "e" * 101)),
    ("members.0.industry", lambda d: setattr(d.members[0], "industry", "i" * 61)),
    ("members.2.school_or_employer", lambda d: setattr(d.members[2], "school_or_employer", "s" * 101)),
    ("incomes.0.note", lambda d: setattr(d.incomes[0], "note", "n" * 201)),
    ("rigid_expenses.0.note", lambda d: setattr(d.rigid_expenses[0], "note", "n" * 201)),
    ("homes.0.note", lambda d: setattr(d.homes[0], "note", "n" * 201)),
    ("vehicles.0.note", lambda d: setattr(d.vehicles[0], "note", "n" * 201)),
    ("business_roles.0.company", lambda d: setattr(d.business_roles[0], "company", "c" * 101)),
    ("bank_account.bank", lambda d: setattr(d.bank_account, "bank", "b" * 61)),
    ("bank_account.branch", lambda d: setattr(d.bank_account, "branch", "b" * 101)),
    ("bank_account.holder_name", lambda d: setattr(d.bank_account, "holder_name", "h" * 61)),
]


@pytest.mark.parametrize(("path", "mutate"), CASES, ids=[c[0] for c in CASES])
def test_too_long_text_is_refused_under_its_field(tree: dict, users: dict[str, Any], path: str, mutate: Any) -> None:
    data = household_input(tree["xiangyun_g"])
    _with_collections(data)
    services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    before = (Household.objects.count(), Member.objects.count())
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_cadre"], data=data)
    assert list(exc.value.message_dict) == [path]
    assert "at most" in exc.value.message_dict[path][0]
    assert (Household.objects.count(), Member.objects.count()) == before


def test_text_at_its_limit_is_kept_whole(tree: dict, users: dict[str, Any]) -> None:
    data = household_input(tree["xiangyun_g"])
    data.address = "址" * 200
    data.members[1].disease_note = "病" * 200
    h = services.household_create(actor=users["xiangyun_cadre"], data=data)
    h.refresh_from_db()
    assert h.address == "址" * 200
    assert h.members.get(position=1).disease_note == "病" * 200


@pytest.mark.parametrize(
    ("model", "limits"),
    [
        (models.Household, validation.HOUSEHOLD_TEXT),
        (models.Member, validation.MEMBER_TEXT),
        (models.Income, validation.NOTE_TEXT),
        (models.RigidExpense, validation.NOTE_TEXT),
        (models.Home, validation.NOTE_TEXT),
        (models.Vehicle, validation.NOTE_TEXT),
        (models.BusinessRole, validation.COMPANY_TEXT),
        (models.BankAccount, validation.BANK_TEXT),
    ],
)
def test_the_limits_are_the_columns(model: Any, limits: dict[str, int]) -> None:
    assert limits == {name: model._meta.get_field(name).max_length for name in limits}
