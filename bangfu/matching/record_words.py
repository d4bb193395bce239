"""A department record named for people: by its own key (a plate, a certificate number), or by
its row in the department's file when it has none (``row 12`` as stored), in the reader's words.

The stored key stays as the import made it, ``row 12`` included: a recheck compares keys to know a
record it has raised before (a dismissed or confirmed finding is not raised again). Every page,
every download made for people and every line of the timeline or the audit log names the record
through ``record_in_words``; a line kept in its writer's language is named again in the reader's
by ``record_in_words_again`` (``common.retranslate.VALUES``, the ``record`` placeholder)."""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from bangfu.common.punctuation import join_list

ROW_KEY = re.compile(r"row (\d+)")
# What lists of records were joined with, in any language (``join_list``): a finding's key of
# several records (homes over the limit) is theirs joined by commas.
_LIST_MARKS = re.compile(r"、|, ")


def own_key(key: str) -> str:
    """The record's own key as the department wrote it (plate, certificate, registration number);
    empty for a record named by its row, which is no value of the record's."""
    return "" if ROW_KEY.fullmatch(key or "") else key


def _row_in_words(n: str) -> str:
    return _("row %(n)s of the file") % {"n": n}


def record_in_words(key: str) -> str:
    """A record's key as people read it: a record without a key of its own (no plate or
    certificate number in the file) is named by its row in the department's file, ``row 12``, in
    their language. A finding of several records (homes over the limit: the records' keys joined
    by commas, ``row 3,云(2019)…``) names each of them so, in a list of their language; a key
    naming no row is shown as it is. The API and the command line keep the key as stored."""
    parts = (key or "").split(",")
    if not any(ROW_KEY.fullmatch(p) for p in parts):
        return key
    if len(parts) == 1:
        return _row_in_words(parts[0][4:])
    return join_list(_row_in_words(p[4:]) if ROW_KEY.fullmatch(p) else p for p in parts)


@lru_cache(maxsize=8)
def _rows_in_words(languages: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """``row N of the file`` as each language writes it (the source's English included)."""
    found = {"row %(n)s of the file"}
    for code in languages:
        with translation.override(code):
            found.add(_("row %(n)s of the file"))
    patterns = []
    for text in sorted(found):
        before, _sep, after = text.partition("%(n)s")
        patterns.append(re.compile(re.escape(before) + r"(\d+)" + re.escape(after)))
    return tuple(patterns)


def _row_number(text: str) -> str | None:
    for pattern in _rows_in_words(tuple(code for code, _name in settings.LANGUAGES)):
        found = pattern.fullmatch(text)
        if found:
            return found.group(1)
    return None


def record_in_words_again(text: str) -> str | None:
    """A record named by ``record_in_words`` in any language (kept in a line of the timeline or
    the audit log), named in the active language; None when it names no row (a plate, a
    certificate: shown as written)."""
    parts = _LIST_MARKS.split(text)
    rows = [_row_number(p) for p in parts]
    if all(n is None for n in rows):
        return None
    shown = [_row_in_words(n) if n is not None else p for p, n in zip(parts, rows, strict=True)]
    return shown[0] if len(shown) == 1 else join_list(shown)
