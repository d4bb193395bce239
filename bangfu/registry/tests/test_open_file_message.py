"""The one-open-file refusal names the other file to staff (its number masked outside their
jurisdiction) and tells anyone else only that there is one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.registry import services as registry
from bangfu.registry.validation import check_household
from bangfu.testing.factories import household_input

pytestmark = pytest.mark.django_db


def _clash(tree: Any, users: Any, actor: Any) -> str:
    existing = household_input(tree["xiangyun_g"], members=1)
    h = registry.household_create(actor=users["xiangyun_staff"], data=existing)
    again = household_input(tree["xiangyun_g"], members=1)
    again.members[0].id_number = existing.members[0].id_number
    _errors, checked = check_household(again)
    with pytest.raises(ValidationError) as err:
        registry.open_file_check(actor, checked, None, opening=True)
    message = err.value.message_dict["members.0.id_number"][0]
    assert h.file_number
    return message


def test_staff_are_told_which_file(tree: Any, users: Any) -> None:
    message = _clash(tree, users, users["xiangyun_staff"])
    assert "already on the open file" in message and tree["xiangyun_g"].name in message


def test_anyone_else_is_told_only_that_there_is_one(tree: Any, users: Any) -> None:
    from bangfu.intake.models import Applicant

    message = _clash(tree, users, Applicant.objects.create(phone="13700000099"))
    assert message == "This person is already on an open file; ask your union."


def test_staff_of_another_county_learn_the_union_to_ask_not_the_name(tree: Any, users: Any) -> None:
    """Anyone with a staff account could otherwise look people up by ID number: outside the
    jurisdiction the refusal names the union to ask and the file's number masked, no name."""
    from bangfu.registry.models import Household

    message = _clash(tree, users, users["dalishi_staff"])
    h = Household.objects.get()
    assert tree["xiangyun_g"].name in message and "outside your jurisdiction" in message
    assert h.file_number not in message and "as " not in message
    assert h.members.get().name[0] not in message
