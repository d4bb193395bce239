"""Why an ID number is wrong: one whole sentence per reason, translated as one, the same wherever
it is shown (a form, an import, the API, the command line)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from bangfu.common.ids import _MESSAGES, InvalidResidentId, ResidentId
from bangfu.intake import legacy
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input

TODAY = dt.date(2025, 6, 30)

# A number of each reason, and the sentence it gives in English.
SAID = [
    ("", "The ID number is empty."),
    (
        "5329 2319-90a1011212",
        "Character 11 of the ID number, “a”, is not allowed: an ID number has only digits, and an X only "
        "as its last character.",
    ),
    (
        "5.32923E+17",
        "The ID number was stored as a number (for example by Excel), so its last digits are lost: "
        "format the column as text, then export or type the number again.",
    ),
    ("5329231990010X1212", "Character 14 of the ID number is an X, which may only be the 18th and last character."),
    ("53292319900101121", "The ID number should have 18 characters (15 in the old format), not 17."),
    (
        "532923199002301212",
        "The birth date in the ID number (characters 7 to 14), 1990-02-30, is not a real date.",
    ),
    ("532923900230121", "The birth date in the ID number (characters 7 to 12), 1990-02-30, is not a real date."),
    ("532923189912311212", "The birth date in the ID number, 1899-12-31, is before 1900."),
    ("532923202507011212", "The birth date in the ID number, 2025-07-01, is in the future."),
    ("999999199001011212", "The region code of the ID number (its first 6 digits), 999999, does not exist."),
    ("532923199001011219", "The check digit of the ID number (its 18th character) should be 2, not 9."),
]


def _why(raw: str) -> InvalidResidentId:
    with pytest.raises(InvalidResidentId) as caught:
        ResidentId.parse(raw, today=TODAY)
    return caught.value


@pytest.mark.parametrize(("raw", "said"), SAID)
def test_each_reason_is_one_sentence_with_its_values(raw: str, said: str) -> None:
    with translation.override("en"):
        assert _why(raw).message == said


@pytest.mark.parametrize("code", sorted(_MESSAGES))
def test_each_reason_is_one_message_in_each_language(code: str) -> None:
    """The reason is one message, a sentence with its full stop, in English and in the Chinese
    used without Django (as the catalogue gives it): never a label and a message put together."""
    english, chinese = _MESSAGES[code]
    assert english[0].isupper() and english.endswith("."), english
    assert chinese.endswith("。") and "." not in chinese.replace("%(", ""), chinese
    assert set(re.findall(r"%\((\w+)\)s", english)) == set(re.findall(r"%\((\w+)\)s", chinese))


@pytest.mark.parametrize("code", sorted(_MESSAGES))
def test_each_reason_is_translated_whole(code: str) -> None:
    """Translated as one sentence: what the catalogue gives is what is shown, values filled in (the
    catalogue's Chinese is the one used without Django)."""
    english, chinese = _MESSAGES[code]
    params: dict[str, str | int] = {name: f"<{name}>" for name in re.findall(r"%\((\w+)\)s", english)}
    with translation.override("zh-hans"):
        assert InvalidResidentId(code, **params).message == chinese % params


def test_the_kind_of_a_reason_leaves_out_the_values_and_keeps_the_places() -> None:
    """An import that refuses a file names the most common kind of reason: the values (…) left
    out, the characters of the birth date kept (7 to 12 in the old format)."""
    with translation.override("en"):
        assert _why("53292319900101121A").kind == (
            "Character … of the ID number, “…”, is not allowed: an ID number has only digits, and an X only "
            "as its last character."
        )
        assert _why("532923900230121").kind == (
            "The birth date in the ID number (characters 7 to 12), …, is not a real date."
        )


def test_the_form_the_api_and_the_import_give_the_same_sentence(tree: dict[str, Any], users: dict[str, Any]) -> None:
    """The registry (the pages' form and the API call it) puts the sentence under the member's ID
    number as it is; a legacy import's cell stored as a number by Excel gets the same sentence as
    a department file's (its own words were another message)."""
    data = household_input(tree["xiangyun_g"])
    good = data.members[1].id_number
    data.members[1].id_number = good[:17] + ("0" if good[17] != "0" else "1")
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            household_create(actor=users["admin"], data=data)
        (said,) = caught.value.message_dict["members.1.id_number"]
        assert said == _why(data.members[1].id_number).message
        assert said.startswith("身份证号的校验码（第18位）应为") and said.endswith("。")
    with translation.override("en"):
        assert legacy.id_stored_as_number_message() == _why("5.32923E+17").message
