"""Text stored in the language it was written in, shown in the reader's language.

Some text is kept as it was shown to the person who caused it: the problems an import found in a
file (written in the language of the cadre who uploaded it), notes and summaries on a timeline.
``in_reader_language`` finds the message such a text was made from — in the message catalog, as
the source text (English) or as any language's translation, with the values that filled its
placeholders — and renders that message again in the active language with the same values. Text
that matches no message, or more than one equally well, is shown as it is: it may be a person's
own words, or a message of an older version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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
class _Pattern:
    msgid: str
    regex: re.Pattern[str]
    literal: int  # characters of fixed text: the more, the surer the match


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


@lru_cache(maxsize=4)
def _index(languages: tuple[str, ...]) -> _Index:
    exact: dict[str, set[str]] = {}
    patterns: list[_Pattern] = []
    seen: set[tuple[str, str]] = set()
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
    return text % params if params else text


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
    rendered = {
        _render(p.msgid, {k: _label(index, v) if k in LABEL_PLACEHOLDERS else v for k, v in params.items()})
        for p, params in best
    }
    return rendered.pop() if len(rendered) == 1 else text


# Placeholders that messages fill with a label of the system's own (a rule, a category, a state):
# their values are read in the reader's language too. Any other value (a column of a department
# file, a person's words) is shown as it was written, even when it reads like a message.
LABEL_PLACEHOLDERS = frozenset({"rule", "category", "kept", "new", "state"})


def _label(index: _Index, value: str) -> str:
    """A label filled into a message, in the active language when it is a whole message of the
    catalog ("Cross-check finding confirmed: <the rule>")."""
    msgids = index.exact.get(value)
    if not msgids:
        return value
    rendered = {_render(msgid, {}) for msgid in msgids}
    return rendered.pop() if len(rendered) == 1 else value
