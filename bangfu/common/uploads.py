"""Upload handlers that give a file the name its sender gave it.

Browsers (and HTTP libraries that follow the HTML standard, such as urllib3) escape three
characters of a file's name in a multipart form: ``"`` as ``%22``, CR as ``%0D`` and LF as
``%0A``; Django keeps the escapes, so a file sent as ``报告"终稿".pdf`` was stored and shown as
``报告%22终稿%22.pdf``. These handlers undo the quote's escape and drop the line breaks (a name has
none). A literal ``%22`` in a name cannot be told apart from the escape, as the standard accepts.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler


def sent_name(name: str | None) -> str | None:
    """The file name as its sender wrote it, from the form's escaped one. A name that would be
    left empty, or be ``.`` or ``..`` (``.%0A.``), stays as it came: Django refuses those names
    (its parser refuses them as sent, before these handlers), which would fail the whole request."""
    if not name or "%" not in name:
        return name
    plain = name
    for escaped, unescaped in (("%22", '"'), ("%0D", ""), ("%0A", ""), ("%0d", ""), ("%0a", "")):
        plain = plain.replace(escaped, unescaped)
    return name if plain.strip() in {"", ".", ".."} else plain


class MemoryUploads(MemoryFileUploadHandler):
    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, sent_name(file_name) or file_name, *args, **kwargs)


class TemporaryUploads(TemporaryFileUploadHandler):
    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, sent_name(file_name) or file_name, *args, **kwargs)
