"""A monthly income recorded by the same user in another tab makes a new version of the file: the
stale edit form says it was the user's own change, not someone else's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bangfu.common.errors import DomainError
from bangfu.registry import services
from bangfu.registry.income_records import IncomeRecordInput, add_months, income_record_add
from bangfu.testing.factories import household_input


def test_a_stale_form_after_ones_own_income_record_does_not_blame_someone_else(
    tree: dict, users: dict[str, Any]
) -> None:
    from django.utils import timezone

    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    opened = h.version
    month = add_months(timezone.localdate(), -1)
    income_record_add(
        actor=staff,
        household_id=h.pk,
        data=IncomeRecordInput(month=month, net_income=Decimal(3000), source="home_visit"),
    )
    data = household_input(tree["xiangyun_g"])
    for given, stored in zip(data.members, h.members.order_by("position"), strict=True):
        given.member_id, given.id_number = stored.pk, ""
    with pytest.raises(DomainError) as exc:
        services.household_update(actor=staff, household_id=h.pk, data=data, expected_version=opened)
    assert "You changed this file elsewhere" in exc.value.message and "Someone else" not in exc.value.message
    with pytest.raises(DomainError) as exc:
        services.household_update(actor=users["xiangyun_cadre"], household_id=h.pk, data=data, expected_version=opened)
    assert "Someone else" in exc.value.message
