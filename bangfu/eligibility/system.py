"""The actor of command-line runs."""

from __future__ import annotations

from typing import Any


class _System:
    """Whoever runs a management command already holds the whole database: no jurisdiction applies."""

    is_authenticated = False
    pk = None

    def __str__(self) -> str:
        return "command line"


SYSTEM: Any = _System()
