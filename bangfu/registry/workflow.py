"""The file's states and the transitions allowed between them: one declared table, enforced by
``services.household_state_change`` (which also writes the audit entry and the timeline event)
and by ``services.household_update`` when a file's edit changes its state."""

from __future__ import annotations

from collections.abc import Callable

from .codes import FileState

S = FileState

FILE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.TEMPORARY: frozenset({S.ACTIVE, S.EXITED, S.CANCELLED, S.REMOVED}),  # converted, resolved, closed
    S.ACTIVE: frozenset({S.EXITED, S.RELIEVED, S.CANCELLED, S.REMOVED}),
    S.RELIEVED: frozenset({S.ACTIVE, S.EXITED, S.CANCELLED, S.REMOVED}),
    S.EXITED: frozenset({S.ACTIVE}),  # relapse: the file is reopened
    S.REMOVED: frozenset({S.ACTIVE}),  # re-applied and found eligible
    S.CANCELLED: frozenset(),  # death, retirement, transfer: closed for good
}


def allowed(from_state: str, to_state: str) -> bool:
    return to_state in FILE_TRANSITIONS.get(from_state, frozenset())


# The states a file's edit does not move it to or from: each has its own step. A removal follows a
# removal proposal once the worker has been told the check's result (the cross-department
# checks); a removed file comes back when the worker applies again and is approved.
NOT_BY_EDIT = frozenset({S.REMOVED})

# Whether a household's current identification finds the exit test met (None: not decided, or the
# test not computed): set by the identification app, which the registry does not import. An exit
# by an edit of the file needs it met.
exit_test_met: Callable[[int], bool | None] | None = None

# The category, in words, of the household's current identification when it still finds hardship
# (None: it does not, or there is none): set by the identification app. An exit by an edit needs the
# family out of hardship as well (domain.md §4: all three conditions).
hardship_in_force: Callable[[int], str | None] | None = None
