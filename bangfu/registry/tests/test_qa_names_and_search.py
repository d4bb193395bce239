"""A name must hold a letter (a pasted zero-width space or a lone dot is no name), and search takes
digits and Latin letters as an input method in full-width mode types them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.registry import services
from bangfu.registry.selectors import HouseholdFilters, household_list
from bangfu.testing.factories import household_input


@pytest.mark.parametrize("name", ["\u200b", "\ufeff", "·", "・・", " \u3000 "])
def test_a_name_without_a_letter_is_refused(tree: dict, users: dict[str, Any], name: str) -> None:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[1].name = name
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=data)
    assert list(exc.value.message_dict) == ["members.1.name"]


@pytest.mark.parametrize(
    "name", ["艾合买提·阿吉", "艾合买提•阿吉", "艾合买提・阿吉", "艾合买提･阿吉", "John Smith", "李"]
)
def test_a_name_with_a_letter_is_taken(tree: dict, users: dict[str, Any], name: str) -> None:
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].name = name
    h = services.household_create(actor=users["xiangyun_staff"], data=data)
    assert h.members.get().name == name


def _found(actor: Any, q: str) -> list[str]:
    return [h.file_number for h in household_list(actor=actor, filters=HouseholdFilters(q=q))]


def test_full_width_digits_and_letters_search_as_typed_in_half_width(tree: dict, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    assert _found(staff, h.file_number[:10].translate(full_width)) == [h.file_number]
    assert _found(staff, "ＺＪＧ") == [h.file_number]  # 张建国's initials
    assert _found(staff, "ｚｈａｎｇ　ｊｉａｎ") == [h.file_number]
