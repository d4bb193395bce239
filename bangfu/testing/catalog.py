"""A translation that the message catalog does not have yet, for a test: a change that adds a
message leaves its translation to the translators (the catalog is edited apart from it), and its
test reads the message translated as they will give it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def translated(language: str, msgid: str, text: str, *, context: str = "") -> Iterator[None]:
    """``msgid`` (in ``context``) reads ``text`` in ``language`` inside the block; as before after it."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation(language)._catalog._catalogs[0]  # type: ignore[attr-defined]
    key = f"{context}\x04{msgid}" if context else msgid
    before = catalog.get(key)
    catalog[key] = text
    try:
        yield
    finally:
        if before is None:
            del catalog[key]
        else:
            catalog[key] = before
