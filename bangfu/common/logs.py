"""Log records without ID numbers.

A request line carries its query string (``GET /households/?q=5329… HTTP/1.1``, as Django's
development server and the demo write it for every request), and a message may quote a value
someone typed. ``RedactIdNumbers``, on every handler of ``settings.LOGGING``, writes such a record
with each query value that holds an ID number (``ids.holds_id_number``: whole or nearly, in any
form) replaced by ``[ID]``, and any other valid ID number in it masked.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from bangfu.common.ids import holds_id_number, mask_ids_in

_QUERY = re.compile(r"\?([^\s\"'<>]+)")


def redact_ids(text: str) -> str:
    """``text`` with the ID numbers of its query strings replaced by ``[ID]`` and the others masked."""

    def query(m: re.Match[str]) -> str:
        parts = m.group(1).split("&")
        kept = [
            f"{name}=[ID]" if holds_id_number(unquote_plus(value)) else part
            for part in parts
            for name, _eq, value in [part.partition("=")]
        ]
        return "?" + "&".join(kept)

    return mask_ids_in(_QUERY.sub(query, text)) if text else text


_TRACEBACK = logging.Formatter()


class RedactIdNumbers(logging.Filter):
    """The message, and the text of an error logged with it (a server error's traceback quotes the
    values it failed on: a template's lookup quoted the whole member, ID number included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that does not format is left to the handler to report
            return True
        redacted = redact_ids(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatted here once, as a handler's formatter would (it keeps ``exc_text`` when set).
            record.exc_text = redact_ids(_TRACEBACK.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_ids(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_ids(record.stack_info)
        return True
