"""Text stored in the language it was written in, shown in the reader's language.

Some text is kept as it was shown to the person who caused it: the problems an import found in a
file (written in the language of the cadre who uploaded it), notes and summaries on a timeline.
``in_reader_language`` finds the message such a text was made from — in the message catalog, as
the source text (English) or as any language's translation, with the values that filled its
placeholders — and renders that message again in the active language with the same values. Text
that matches no message, or more than one equally well, is shown as it is: it may be a person's
own words, or a message of an older version.

A message with a count (``ngettext``) is found by any of its forms, in any language, and rendered
in the form the reader's language gives its count. Where the count is not plain from the form
that was found (Chinese has one form for every count; English two), it is read from a
placeholder that holds it (``COUNTS``: ``n`` and ``count`` as numbers; an app adds its own, as
intake does for the row numbers a note names); a text whose count cannot be told is shown as it is.
"""

from __future__ import annotations

import gettext
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])|%%")
_PLAIN_PERCENT = re.compile(r"%(?!\()")  # a positional %s or a stray %: not a message we can fill
MIN_LITERAL = 6  # fixed text (``_weight``) a message with placeholders needs to be recognised


def _weight(chunk: str) -> int:
    """Fixed text's worth for telling messages apart: a Han character says as much as two letters."""
    chunk = chunk.strip()
    return len(chunk) + sum(1 for c in chunk if ord(c) > 0x2E7F)


@dataclass(frozen=True)
class _Plural:
    """Which form of a message with a count a pattern is."""

    plural: str  # the source's plural (``msgid_plural``)
    language: str  # the language of the form; "" for the source text
    form: int  # its index among that language's forms


@dataclass(frozen=True)
class _Pattern:
    msgid: str
    regex: re.Pattern[str]
    literal: int  # characters of fixed text: the more, the surer the match
    plural: _Plural | None = None  # a form of a message with a count


def _number(value: str) -> int | None:
    digits = value.strip().replace(",", "")
    return int(digits) if digits.isdigit() else None


# The placeholders that hold the count of a message with one, each with how to read it from the
# value it was filled with (None: no count in it). Apps add theirs in their ``AppConfig.ready``;
# a name means one thing in every message that has it.
COUNTS: dict[str, Callable[[str], int | None]] = {"n": _number, "count": _number}
# The placeholders whose values are written in their writer's language (a list joined with its
# marks) and can be written again in the reader's: each with how (None: keep the value as it is).
# Apps add theirs in their ``AppConfig.ready``, as for ``COUNTS``.
VALUES: dict[str, Callable[[str], str | None]] = {}
_SAMPLE_COUNTS = range(201)  # the counts tried when none is read: enough for any plural rule


def _compile(text: str) -> tuple[re.Pattern[str], int] | None:
    """A pattern matching ``text`` filled in, and its fixed characters; None when it cannot be
    filled by name or has too little fixed text to be told apart."""
    parts: list[str] = []
    literal, at, names = 0, 0, set()
    for m in _PLACEHOLDER.finditer(text):
        chunk = text[at : m.start()]
        if _PLAIN_PERCENT.search(chunk):
            return None
        parts.append(re.escape(chunk))
        literal += _weight(chunk)
        if m.group(0) == "%%":
            parts.append("%")
        else:
            name = m.group(1)
            if name in names:
                parts.append(f"(?P={name})")
            else:
                names.add(name)
                parts.append(f"(?P<{name}>-?\\d+)" if m.group(2) == "d" else f"(?P<{name}>.+?)")
        at = m.end()
    tail = text[at:]
    if _PLAIN_PERCENT.search(tail):
        return None
    parts.append(re.escape(tail))
    literal += _weight(tail)
    if literal < MIN_LITERAL:
        return None
    return re.compile("".join(parts), re.DOTALL), literal


@dataclass
class _Index:
    exact: dict[str, set[str]]  # text without placeholders, in some language → msgids
    by_first: dict[str, list[_Pattern]]  # patterns beginning with fixed text, by its first character
    open_start: list[_Pattern]  # patterns beginning with a placeholder


def _catalog(language: str) -> list[tuple[str, str]]:
    """(msgid, translation) of the language's catalogs (singular messages, with their context;
    a message translated by several catalogs — the project's and Django's — comes once for each)."""
    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]
    return [(k, v) for k, v in catalog.items() if isinstance(k, str) and k and isinstance(v, str) and v]


def _plural_catalog(language: str) -> list[tuple[str, str, list[str]]]:
    """(msgid, its source plural, the language's forms) of the messages with a count that the
    language's catalogs translate (and whose source plural their files give)."""
    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]
    forms: dict[str, dict[int, str]] = {}
    for key, text in catalog.items():
        if isinstance(key, tuple) and key[0] and isinstance(text, str) and text:
            forms.setdefault(key[0], {})[key[1]] = text
    plurals = _source_plurals(language)
    return [
        (msgid, plurals[msgid], [by_index[i] for i in sorted(by_index)])
        for msgid, by_index in forms.items()
        if msgid in plurals
    ]


def _source_plurals(language: str) -> dict[str, str]:
    """The source plural (``msgid_plural``) of each message with a count in the language's
    compiled catalogs, by its msgid: Python's ``gettext`` reads it and drops it."""
    found: dict[str, str] = {}
    for folder in trans_real.all_locale_paths():
        for path in gettext.find("django", str(folder), [translation.to_locale(language)], all=True):
            found.update(_mo_plurals(Path(path).read_bytes()))
    return found


def _mo_plurals(data: bytes) -> dict[str, str]:
    """msgid → msgid_plural of a compiled catalog (GNU ``.mo``: a table of lengths and offsets of
    the source strings; a message with a count is its msgid and plural joined by NUL)."""
    if len(data) < 20:
        return {}
    order = {0x950412DE: "<", 0xDE120495: ">"}.get(struct.unpack("<I", data[:4])[0])
    if order is None:
        return {}
    count, originals = struct.unpack(order + "4x2I", data[4:16])
    found: dict[str, str] = {}
    for i in range(count):
        length, offset = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        source = data[offset : offset + length]
        if b"\x00" in source:
            singular, plural = source.split(b"\x00", 1)
            found[singular.decode("utf-8", "replace")] = plural.decode("utf-8", "replace")
    return found


@lru_cache(maxsize=4)
def _index(languages: tuple[str, ...]) -> _Index:
    exact: dict[str, set[str]] = {}
    patterns: list[_Pattern] = []
    seen: set[tuple[str, str]] = set()
    plural_seen: set[tuple[str, str, int]] = set()
    for language in languages:
        for msgid, text in _catalog(language):
            for form in (msgid.split("\x04", 1)[-1], text):  # the source text and its translation
                if (msgid, form) in seen:
                    continue
                seen.add((msgid, form))
                if "%" not in form:
                    exact.setdefault(form, set()).add(msgid)
                    continue
                compiled = _compile(form)
                if compiled is not None:
                    patterns.append(_Pattern(msgid, *compiled))
        for msgid, plural, texts in _plural_catalog(language):
            # The source's two forms (gettext's rule: one, other), then the language's own.
            forms: list[tuple[str, int, str]] = [("", 0, msgid.split("\x04", 1)[-1]), ("", 1, plural)]
            forms += [(language, i, form_text) for i, form_text in enumerate(texts)]
            for where, nth, form_text in forms:
                if (msgid, where, nth) in plural_seen:
                    continue
                plural_seen.add((msgid, where, nth))
                compiled = _compile(form_text)
                if compiled is not None:
                    patterns.append(_Pattern(msgid, *compiled, plural=_Plural(plural, where, nth)))
    by_first: dict[str, list[_Pattern]] = {}
    open_start: list[_Pattern] = []
    for p in patterns:
        first = p.regex.pattern[:1]
        if first in ("(", "") or first == "\\":
            open_start.append(p)  # a placeholder first (or an escaped character: kept simple)
        else:
            by_first.setdefault(first, []).append(p)
    return _Index(exact, by_first, open_start)


def _render(msgid: str, params: dict[str, str]) -> str:
    context, _sep, message = msgid.rpartition("\x04")
    text = translation.pgettext(context, message) if context else translation.gettext(message)
    return _fill(text, params)


def _fill(text: str, params: dict[str, str]) -> str:
    """``text`` filled with the values found for its placeholders; those of a number (``%(n)d``)
    as numbers (the values were found as digits)."""
    if not params:
        return text
    numbers = {m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(2) == "d"}
    return text % {k: int(v) if k in numbers and _number(v) is not None else v for k, v in params.items()}


def _form_of(language: str, n: int) -> int:
    """The index of the form ``language`` gives the count ``n`` ("" the source: one, other)."""
    if not language:
        return 0 if n == 1 else 1
    return int(trans_real.translation(language).plural(n))


def _count(language: str, found: _Plural, params: dict[str, str]) -> int | None:
    """The count a form with a count was filled for: read from a placeholder that holds it
    (``COUNTS``); else any count the form found is used for when ``language`` (the reader's) has
    one form for all of them (English one or other read in Chinese); else None (not to be told)."""
    read = {n for name, count in COUNTS.items() if name in params for n in [count(params[name])] if n is not None}
    if len(read) == 1:
        n = read.pop()
        return n if _form_of(found.language, n) == found.form else None  # a count the form denies
    if read:
        return None  # two placeholders that count otherwise
    possible = [n for n in _SAMPLE_COUNTS if _form_of(found.language, n) == found.form]
    forms = {_form_of(language, n) for n in possible}
    return possible[0] if len(forms) == 1 else None


def _render_found(language: str, index: _Index, pattern: _Pattern, params: dict[str, str]) -> str | None:
    """The message ``pattern`` found, filled with ``params`` (labels in the reader's language) in
    the active language, ``language``; None when a message with a count cannot tell its count."""
    filled = {k: _value(index, k, v) for k, v in params.items()}
    if pattern.plural is None:
        return _render(pattern.msgid, filled)
    n = _count(language, pattern.plural, params)
    if n is None:
        return None
    context, _sep, message = pattern.msgid.rpartition("\x04")
    plural = pattern.plural.plural
    text = translation.npgettext(context, message, plural, n) if context else translation.ngettext(message, plural, n)
    return _fill(text, filled)


def in_reader_language(text: str) -> str:
    """``text`` (made from a message of the catalog, in any language) in the active language;
    ``text`` itself when it matches no message or several equally well."""
    if not text or len(text) > 2000:
        return text
    return _in_language(translation.get_language() or settings.LANGUAGE_CODE, text)


@lru_cache(maxsize=8192)
def _in_language(language: str, text: str) -> str:
    index = _index(tuple(code for code, _name in settings.LANGUAGES))
    exact = index.exact.get(text)
    if exact is not None:
        # Several messages may share a translation: one answer when they all read alike here.
        rendered = {_render(msgid, {}) for msgid in exact}
        return rendered.pop() if len(rendered) == 1 else text
    best: list[tuple[_Pattern, dict[str, str]]] = []
    for pattern in [*index.by_first.get(text[0], []), *index.open_start]:
        if best and pattern.literal < best[0][0].literal:
            continue
        m = pattern.regex.fullmatch(text)
        if m is None:
            continue
        if best and pattern.literal > best[0][0].literal:
            best.clear()
        best.append((pattern, m.groupdict()))
    if not best:
        return text
    found = {_render_found(language, index, p, params) for p, params in best}
    shown = found.pop() if len(found) == 1 else None
    return shown if shown is not None else text


# Placeholders that messages fill with a label of the system's own (a rule, a category, a state):
# their values are read in the reader's language too. Any other value (a column of a department
# file, a person's words) is shown as it was written, even when it reads like a message.
LABEL_PLACEHOLDERS = frozenset({"rule", "category", "kept", "new", "state"})


def _value(index: _Index, name: str, value: str) -> str:
    """A placeholder's value as the reader reads it: a label of the system's in the reader's
    language; a value ``VALUES`` knows written again with the reader's marks; any other as written."""
    if name in LABEL_PLACEHOLDERS:
        return _label(index, value)
    again = VALUES[name](value) if name in VALUES else None
    return value if again is None else again


def _label(index: _Index, value: str) -> str:
    """A label filled into a message, in the active language when it is a whole message of the
    catalog ("Cross-check finding confirmed: <the rule>")."""
    msgids = index.exact.get(value)
    if not msgids:
        return value
    rendered = {_render(msgid, {}) for msgid in msgids}
    return rendered.pop() if len(rendered) == 1 else value
