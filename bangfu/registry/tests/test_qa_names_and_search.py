"""A name must hold a letter (a pasted zero-width space or a lone dot is no name) and is kept without
zero-width characters; search takes digits and Latin letters as an input method in full-width mode
types them, and a masked ID number as a list shows it."""

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


@pytest.mark.parametrize("name", ["陈光荣🎉", "<script>alert(1)</script>", "张三2", "王=五", "李#"])
def test_a_name_with_an_emoji_a_digit_or_markup_is_refused(tree: dict, users: dict[str, Any], name: str) -> None:
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[1].name = name
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=data)
    assert list(exc.value.message_dict) == ["members.1.name"]


@pytest.mark.parametrize("name", ["-李四", "－李四", "'李四", "·李四", ".李四", "(李四)", "（李）四", "\u0301李四"])
def test_a_name_starting_with_anything_but_a_letter_is_refused(tree: dict, users: dict[str, Any], name: str) -> None:
    """``-李四`` was taken: a search for 李四 did not find the file and the exports showed
    ``'-李四``. The characters a name may hold inside it may not start it."""
    data = household_input(tree["xiangyun_g"], members=2)
    data.members[1].name = name
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=data)
    assert list(exc.value.message_dict) == ["members.1.name"]


@pytest.mark.parametrize(
    "name",
    [
        "艾合买提·阿吉",
        "艾合买提•阿吉",
        "艾合买提・阿吉",
        "艾合买提･阿吉",
        "John Smith",
        "李",
        "Mary-Jane O'Neil",
        "张三（小）",
    ],
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


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("张\u200b建国", "张建国"),  # a zero-width space pasted from a chat
        ("\ufeff张建国\u200d", "张建国"),  # a byte-order mark and a joiner
        ("John\u3000\u3000Smith", "John Smith"),  # ideographic spaces
        ("John\u00a0 Smith ", "John Smith"),  # a no-break space
    ],
)
def test_a_name_is_kept_without_zero_width_characters_and_odd_spaces(
    tree: dict, users: dict[str, Any], typed: str, kept: str
) -> None:
    staff = users["xiangyun_staff"]
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].name = typed
    h = services.household_create(actor=staff, data=data)
    assert h.members.get().name == kept
    assert _found(staff, kept) == [h.file_number]  # found by what is typed


def test_a_masked_id_number_copied_from_a_list_finds_its_file(tree: dict, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"], members=2))
    masked = h.members.order_by("position")[1].id_masked
    assert "*" in masked
    assert _found(staff, masked) == [h.file_number]
    assert _found(staff, masked.replace("**********", "****")) == [h.file_number]  # stars miscounted
    assert _found(staff, " " + masked.replace("*", "＊").lower() + " ") == [h.file_number]  # full-width stars
    assert _found(staff, masked[:4] + "*" * 10 + "0000") == []
    assert _found(users["dalishi_staff"], masked) == []  # another county's files are not searched


@pytest.mark.parametrize("typed", ["\u200b张建国", "张建国\u200b", "张 建国", "张\u3000建国", " 张建"])
def test_a_name_typed_with_a_zero_width_character_or_a_space_is_found(
    tree: dict, users: dict[str, Any], typed: str
) -> None:
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    assert _found(staff, typed) == [h.file_number]


@pytest.mark.parametrize(
    ("phone", "ok"), [("12345", False), ("1380013800012345", False), ("0872-1234567", True), ("138 0013 8000", True)]
)
def test_a_phone_number_has_the_digits_of_one(tree: dict, users: dict[str, Any], phone: str, ok: bool) -> None:
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].phone = phone
    if ok:
        services.household_create(actor=users["xiangyun_staff"], data=data)
        return
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=data)
    assert list(exc.value.message_dict) == ["members.0.phone"]
