"""Text kept in the language it was written in is shown in the reader's: a system message is
found in the catalog, with the values that filled it, in either language; anything else (a
person's words, a message that reads two ways) is shown as it was kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bangfu.common import retranslate
from bangfu.common.retranslate import in_reader_language


@pytest.fixture(autouse=True)
def fresh_index() -> Iterator[None]:
    retranslate._index.cache_clear()
    retranslate._in_language.cache_clear()
    yield
    retranslate._index.cache_clear()
    retranslate._in_language.cache_clear()


def written_in(language: str, msgid: str, **params: Any) -> str:
    with translation.override(language):
        text = _(msgid)
        return text % params if params else text


@pytest.mark.parametrize(
    ("msgid", "params"),
    [
        ("“%(value)s” is not one of the allowed values.", {"value": "城堡"}),
        ("This person is also in household %(file)s of this file.", {"file": "P-0002"}),
        ("Imported from %(name)s", {"name": "祥云县 2016.xlsx"}),
        ("This field is required.", {}),
        ("Yearly review: the worker confirmed the data.", {}),
    ],
)
@pytest.mark.parametrize(("written", "read"), [("zh-hans", "en"), ("en", "zh-hans"), ("zh-hans", "zh-hans")])
def test_a_system_message_is_read_in_the_readers_language(
    msgid: str, params: dict[str, str], written: str, read: str
) -> None:
    kept = written_in(written, msgid, **params)
    with translation.override(read):
        assert in_reader_language(kept) == written_in(read, msgid, **params)
    if written != read:
        assert written_in(written, msgid, **params) != written_in(read, msgid, **params)  # the test means something


def test_django_s_own_translation_of_a_message_is_recognised_too() -> None:
    with translation.override("en"):
        assert in_reader_language("这个字段是必填项。") == "This field is required."


@pytest.mark.parametrize("text", ["", "户主说下个月复工", "张建国", "P-0001", "“城堡”不是允许的取值。另外还有别的话"])
def test_other_text_is_shown_as_it_was_kept(text: str) -> None:
    with translation.override("en"):
        assert in_reader_language(text) == text


def test_a_text_that_two_messages_could_have_made_is_shown_as_kept(monkeypatch: Any) -> None:
    catalog = {
        "zh-hans": [("File %(n)s was opened", "档案%(n)s已处理"), ("File %(n)s was closed", "档案%(n)s已处理")],
        "en": [],
    }
    monkeypatch.setattr(retranslate, "_catalog", lambda language: catalog.get(language, []))
    with translation.override("en"):
        assert in_reader_language("档案P-1已处理") == "档案P-1已处理"
        # Each English text still names one message.
        assert in_reader_language("File P-1 was opened") == "File P-1 was opened"


def test_a_message_with_too_little_fixed_text_is_not_guessed(monkeypatch: Any) -> None:
    catalog = {"zh-hans": [("%(a)s: %(b)s", "%(a)s：%(b)s")], "en": []}
    monkeypatch.setattr(retranslate, "_catalog", lambda language: catalog.get(language, []))
    with translation.override("en"):
        assert in_reader_language("住址：文化路") == "住址：文化路"


@pytest.mark.parametrize(("written", "read"), [("zh-hans", "en"), ("en", "zh-hans")])
def test_a_label_filled_into_a_message_is_read_in_the_readers_language_too(written: str, read: str) -> None:
    """A finding confirmed in Chinese read in English named its rule in Chinese."""
    rule = "Owns a vehicle that is not a livelihood or disability vehicle"
    with translation.override(written):
        kept = _("Cross-check finding confirmed: %(rule)s") % {"rule": _(rule)}
    with translation.override(read):
        assert in_reader_language(kept) == _("Cross-check finding confirmed: %(rule)s") % {"rule": _(rule)}
    # A person's own short words filled in stay as they were written.
    with translation.override("zh-hans"):
        kept = _("Cross-check finding dismissed: %(reason)s") % {"reason": "属实"}
    with translation.override("en"):
        assert in_reader_language(kept).endswith(": 属实")


def written_counted(language: str, message: tuple[str, str], count: int, **params: Any) -> str:
    with translation.override(language):
        return ngettext(*message, count) % params


SKIPPED = ("Skipped %(n)s row of totals or notes.", "Skipped %(n)s rows of totals or notes.")


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize(("written", "read"), [("zh-hans", "en"), ("en", "zh-hans"), ("en", "en")])
def test_a_message_with_a_count_is_read_in_the_readers_language_in_the_form_of_its_count(
    written: str, read: str, n: int
) -> None:
    """Chinese has one form for every count: read in English, the count in ``n`` chooses "row" or
    "rows"; English's either form reads as the one Chinese form."""
    kept = written_counted(written, SKIPPED, n, n=n)
    with translation.override(read):
        assert in_reader_language(kept) == written_counted(read, SKIPPED, n, n=n)


@pytest.mark.parametrize(
    ("kept", "read"), [("该行有3列，表头有5列", "en"), ("it has 3 columns, the header has 5", "zh-hans")]
)
def test_a_message_whose_count_cannot_be_told_is_read_only_where_the_form_does_not_depend_on_it(
    kept: str, read: str
) -> None:
    """No placeholder says which of ``found`` and ``columns`` is the count: the Chinese text could be
    "column" or "columns" and is shown as kept; the English plural is the one Chinese form."""
    message = (
        "it has %(found)s column, the header has %(columns)s",
        "it has %(found)s columns, the header has %(columns)s",
    )
    with translation.override(read):
        shown = in_reader_language(kept)
    assert shown == (kept if read == "en" else written_counted("zh-hans", message, 3, found=3, columns=5))


def test_a_form_its_count_denies_is_shown_as_kept() -> None:
    with translation.override("zh-hans"):
        assert in_reader_language("Skipped 3 row of totals or notes.") == "Skipped 3 row of totals or notes."


def test_a_number_placeholder_is_filled_as_a_number() -> None:
    """Django's own "at most %(limit_value)d characters", kept in English, read in Chinese."""
    message = (
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
    )
    kept = written_counted("en", message, 5, limit_value=5, show_value=7)
    with translation.override("zh-hans"):
        assert in_reader_language(kept) == written_counted("zh-hans", message, 5, limit_value=5, show_value=7)
