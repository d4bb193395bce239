"""Pinyin of a person's name for search: full pinyin and initials, lower-case, without separators.

The result is pypinyin's ``lazy_pinyin`` of the name's letters and digits (phrase-aware, each
character's default reading, non-Chinese text kept as it is), lower-cased. Calling
``lazy_pinyin`` costs about 130 µs a name, which is most of the time of a bulk import; so a name
that pypinyin would read character by character is read from a per-character table built from
pypinyin itself (a few µs), and only the others go to ``lazy_pinyin``.

pypinyin reads a string character by character unless a stretch of it is one of its phrases
(``长孙``, ``银行`` …): it splits the Chinese text into words by longest match against its phrase
dictionary and gives a phrase its phrase reading, any other word each character's first
reading. So a name all of whose characters have a reading, and none of whose stretches of two
or more characters is a phrase, gets exactly the per-character readings; anything else (a phrase
inside, a character without a reading, Latin letters or digits) takes ``lazy_pinyin`` itself.
Surnames with two readings (单 曾 区 仇 解 查 朴 盖 乐 尉 …) get the same reading as before:
pypinyin's default one.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS

__all__ = ["name_pinyin", "name_pinyin_reference"]

_LONGEST_FAST = 12  # longer names (rare) take the reference path: the phrase test grows as n²

# character → (full pinyin, initial), lower-case; filled on first sight of each character.
_CHARS: dict[str, tuple[str, str] | None] = {}


def name_pinyin_reference(name: str) -> tuple[str, str]:
    """What pypinyin gives for the whole name (the definition; ``name_pinyin`` equals it)."""
    clean = "".join(ch for ch in name if ch.isalnum())
    full = "".join(lazy_pinyin(clean)).lower()
    initials = "".join(lazy_pinyin(clean, style=Style.FIRST_LETTER)).lower()
    return full[:240], initials[:60]


def _char(ch: str) -> tuple[str, str] | None:
    """The readings of one Chinese character, or None if pypinyin has none for it."""
    if ord(ch) not in PINYIN_DICT or ch in PHRASES_DICT or not RE_HANS.fullmatch(ch):
        return None
    full = lazy_pinyin(ch)
    first = lazy_pinyin(ch, style=Style.FIRST_LETTER)
    if len(full) != 1 or len(first) != 1:
        return None
    return full[0].lower(), first[0].lower()


def _has_phrase(clean: str) -> bool:
    n = len(clean)
    for i in range(n - 1):
        for j in range(i + 2, n + 1):
            if clean[i:j] in PHRASES_DICT:
                return True
    return False


def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials, lower-case, without separators (for search by pinyin)."""
    clean = name if name.isalnum() else "".join(ch for ch in name if ch.isalnum())
    if not clean or len(clean) > _LONGEST_FAST:
        return name_pinyin_reference(name)
    chars = _CHARS
    found = [chars[ch] if ch in chars else _learn(ch) for ch in clean]
    readings = [r for r in found if r is not None]
    if len(readings) != len(clean) or (len(clean) > 1 and _has_phrase(clean)):
        return name_pinyin_reference(name)
    full = "".join([r[0] for r in readings])
    initials = "".join([r[1] for r in readings])
    return full[:240], initials[:60]


def _learn(ch: str) -> tuple[str, str] | None:
    """``_char(ch)``, kept in the table."""
    reading = _CHARS[ch] = _char(ch)
    return reading
