"""No ID number in a log line: not in a request line's query string, nor in a message."""

from __future__ import annotations

import io
import logging
from urllib.parse import quote

from bangfu.common.logs import redact_ids
from bangfu.testing.factories import new_id


def test_the_request_log_writes_no_id_number_of_a_query_string() -> None:
    # As Django's development server (the demo's) logs each request, through the configured handler.
    head_id = new_id()
    logger = logging.getLogger("django.server")
    (configured,) = [h for h in logger.handlers if type(h) is logging.StreamHandler]  # pytest adds its own
    # The configured handler's format and filters, writing here (its own stream may be one of
    # pytest's, closed by now).
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(configured.formatter)
    for f in configured.filters:
        handler.addFilter(f)
    logger.addHandler(handler)
    try:
        for q in [head_id, f"{head_id[:6]} {head_id[6:].lower()}", "".join(chr(ord(c) + 0xFEE0) for c in head_id)]:
            line = f"GET /api/v1/households?q={quote(q)}&state=active HTTP/1.1"
            logger.warning('"%s" %s %s', line, "422", "180", extra={"server_time": "now", "status_code": 422})
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert written.count("/api/v1/households?q=[ID]&state=active") == 3, written
    assert head_id[:10] not in written and quote(head_id[:3]) not in written


def test_redact_ids_keeps_what_is_not_an_id_number() -> None:
    head_id = new_id()
    assert redact_ids("GET /households/?q=zjg&page=2 HTTP/1.1") == "GET /households/?q=zjg&page=2 HTTP/1.1"
    assert redact_ids("GET /households/?q=5329232016000001") == "GET /households/?q=5329232016000001"
    assert redact_ids(f"GET /x/?a=1&q={head_id[:17]}") == "GET /x/?a=1&q=[ID]"
    assert redact_ids(f"note: {head_id}") == f"note: {head_id[:4]}{'*' * 10}{head_id[-4:]}"


def test_an_error_logged_with_a_record_writes_no_id_number_of_its_text() -> None:
    # A server error's traceback quotes the values it failed on (a template's failed lookup quoted
    # a worker's whole member): the ID number in it is masked as in the message.
    head_id = new_id()
    logger = logging.getLogger("django.request")  # its records go up to the root's handler
    (configured,) = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    for f in configured.filters:
        handler.addFilter(f)
    logger.addHandler(handler)
    try:
        try:
            raise LookupError(f"Failed lookup for key [monthly_income] in {{'id_number': '{head_id}'}}")
        except LookupError:
            logger.exception("Internal Server Error: /applications/9/")
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "Failed lookup for key [monthly_income]" in written
    assert head_id not in written and f"{head_id[:4]}{'*' * 10}{head_id[-4:]}" in written
