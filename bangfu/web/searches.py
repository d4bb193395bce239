"""Searches kept in the session, so that what was typed is not in the page's address.

A search text with a digit in it (an ID number, a masked one, a file number, or the first digits of
any of them as they are typed) is posted, kept in the user's session under a short random key, and
the list's address carries the key (``?s=…``) instead of the text: addresses go to web servers' and
proxies' access logs, the browser's history and the ``Referer`` of every link followed. Reload,
back and forward, the pages and the filters work with the key; a key of another session, or one
that has expired, finds nothing and the page says so. The text is kept encrypted with the field
key (sessions are rows of the database, and ID numbers are encrypted at rest), with its keyed hash
to find the same search again.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from bangfu.common import crypto, ids

SESSION_KEY = "bangfu_searches"
KEPT = 50  # the newest searches of a session; older keys expire
KEPT_SECONDS = 12 * 3600


def must_be_kept(text: str) -> bool:
    """Whether ``text`` goes into the session rather than the address: any digit may be part of an
    ID number (typed a few digits at a time, as the live search sends it)."""
    return any(c.isdigit() for c in unicodedata.normalize("NFKC", text or ""))


def keep(request: HttpRequest, text: str) -> str:
    """The key of ``text`` in the session (the same key for the same text while it is kept)."""
    now = int(time.time())
    kept = _fresh(request, now)
    digest = crypto.keyed_hash(text)
    key = next((k for k, (_sealed, h, _at) in kept.items() if h == digest), "") or secrets.token_urlsafe(9)
    kept.pop(key, None)
    kept[key] = (crypto.encrypt(text), digest, now)
    request.session[SESSION_KEY] = dict(list(kept.items())[-KEPT:])
    return key


def kept(request: HttpRequest, key: str) -> str | None:
    """The search kept under ``key`` in this session; None if there is none (another session's,
    or expired, or sealed with a field key no longer in use)."""
    found = _fresh(request, int(time.time())).get(key)
    if found is None:
        return None
    try:
        return crypto.decrypt(found[0])
    except (ValueError, crypto.FieldKeyError):
        return None


def address_params(request: HttpRequest, text: str) -> dict[str, str]:
    """What a list's address carries of the search ``text``: its key in the session (``s``) when
    it has a digit, else the text itself (``q``); nothing for no search."""
    if not text:
        return {}
    return {"s": keep(request, text)} if must_be_kept(text) else {"q": text}


@dataclass(frozen=True)
class Address:
    """A list's address as ``read_address`` reads it."""

    data: QueryDict  # its parameters, with the kept search in ``q`` in place of its key ``s``
    query: QueryDict  # what the page's links carry over: the address less ``page`` and an unknown key
    notices: list[str] = field(default_factory=list)  # what the page says of the search
    redirect_to: str = ""  # the address to go to instead: this one without an ID number in ``q``


def read_address(request: HttpRequest, path: str) -> Address:
    """The parameters of a list's address at ``path`` (a GET): the search under the key ``s``
    taken from the session (an unknown or expired key searches nothing, and the page says so);
    an ID number in ``q`` (an old bookmark, a hand-made link) is not searched but taken out of the
    address at once (the history, the language menu's return, the Referer), with a message."""
    data, query = request.GET.copy(), request.GET.copy()
    query.pop("page", None)
    notices = []
    if "s" in data:
        text = kept(request, data.get("s", ""))
        if text is None:
            notices.append(
                _("This search has expired or was made in another sign-in: the list is not searched. Type it again.")
            )
            del data["s"], query["s"]
        else:
            data["q"] = text
    elif ids.holds_id_number(data.get("q", "")):
        messages.warning(
            request,
            _("An ID number is not searched from the page's address, where it would be logged: type it in the box."),
        )
        del query["q"]
        return Address(data, query, notices, path + (f"?{query.urlencode()}" if query else ""))
    return Address(data, query, notices)


def _fresh(request: HttpRequest, now: int) -> dict[str, tuple[str, str, int]]:
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return {}
    return {
        str(k): (str(v[0]), str(v[1]), int(v[2]))
        for k, v in stored.items()
        if isinstance(v, (list, tuple)) and len(v) == 3 and now - int(v[2]) < KEPT_SECONDS
    }
