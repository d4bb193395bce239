"""Pluggable delivery: messages to workers and staff, and one-time login codes.

Message backends (``BANGFU_INTAKE_MESSAGE_BACKENDS``) get every notice after the transaction that
caused it commits; the default pair writes an in-app notice row and a log line. The code sender
(``BANGFU_INTAKE_CODE_SENDER``) delivers login codes; the log's sender is for the demo (which
names it) and development (``DEBUG``): without a configured sender, production sends none. An
SMS gateway or a mini-program push is one more class with ``send``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.utils.module_loading import import_string

from . import conf
from .models import Notice

logger = logging.getLogger("bangfu.intake.messages")

# The last codes and messages sent, for tests and the demo (bounded).
outbox: deque[tuple[str, str]] = deque(maxlen=200)


@dataclass(frozen=True)
class Message:
    text: str  # in the site's language when it was sent
    applicant_id: int | None = None
    user_id: int | None = None
    application_id: int | None = None
    phone: str = ""
    # The text's English source and values, to show an in-app notice in its reader's language.
    msgid: str = ""
    params: dict[str, Any] = field(default_factory=dict)


class MessageBackend(Protocol):
    """A channel: ``send`` one message. A backend may also have ``send_many(messages)``, given a
    whole batch at once (``notify_many``: the yearly job tells hundreds of thousands of workers);
    without it, ``send`` is called for each message of the batch."""

    def send(self, message: Message) -> None: ...


# In-app notices written per INSERT by ``InAppBackend.send_many``.
NOTICE_BATCH = 1000


def _notice(message: Message) -> Notice | None:
    if message.applicant_id is None and message.user_id is None:
        return None  # for a phone only (a worker not signed up yet: a yearly review): nobody to show it to
    return Notice(
        applicant_id=message.applicant_id,
        user_id=message.user_id,
        application_id=message.application_id,
        text=message.text[:1000],
        msgid=message.msgid[:200],
        params=message.params,
    )


class InAppBackend:
    def send(self, message: Message) -> None:
        notice = _notice(message)
        if notice is not None:
            notice.save()

    def send_many(self, messages: Sequence[Message]) -> None:
        """The notices of a batch written ``NOTICE_BATCH`` rows an INSERT, not one round trip each."""
        # One statement per NOTICE_BATCH rows; bulk_create writes them all or none.
        Notice.objects.bulk_create([n for n in map(_notice, messages) if n is not None], batch_size=NOTICE_BATCH)


class LoggingBackend:
    def send(self, message: Message) -> None:
        if message.applicant_id:
            to = f"applicant {message.applicant_id}"
        elif message.user_id:
            to = f"user {message.user_id}"
        else:  # a worker not signed up yet (a yearly review): the number's last digits only
            to = f"phone …{message.phone[-4:]}"
        logger.info("message to %s (application %s): %s", to, message.application_id, message.text)
        outbox.append((to, message.text))


def notify(message: Message) -> None:
    """Send through every configured backend once the current transaction commits."""
    notify_many([message])


def notify_many(messages: Iterable[Message]) -> None:
    """Send a batch through every configured backend once the current transaction commits: each
    backend is made once for the batch and given it whole (``send_many``) when it can take one,
    else each message in turn. One failing channel does not stop the others."""
    batch = list(messages)
    if not batch:
        return

    def deliver() -> None:
        for path in conf.message_backends():
            backend: Any = import_string(path)()
            many = getattr(backend, "send_many", None)
            if many is not None:
                try:
                    many(batch)
                except Exception:
                    logger.exception("message backend %s failed", path)
                continue
            for message in batch:
                try:
                    backend.send(message)
                except Exception:  # one failing channel must not stop the others
                    logger.exception("message backend %s failed", path)

    transaction.on_commit(deliver)


class LogCodeSender:
    """Writes the code to the log (at WARNING, so the demo's default log level shows it)."""

    def send(self, phone: str, code: str) -> None:
        logger.warning("login code for %s: %s", phone, code)
        outbox.append((phone, code))


def send_code(phone: str, code: str) -> None:
    path = conf.code_sender()
    if path is None:
        raise LookupError("no code sender")
    sender: Any = import_string(path)()
    sender.send(phone, code)


def can_send_codes() -> bool:
    return conf.code_sender() is not None
