"""The application's states and steps: one declared table, enforced by
``services.application_transition`` (which also checks maker-checker, locks the row, writes the
audit entry and the application's event, and tells the worker).

Each forward step names who may take it (roles, at which union levels). From any step under way a
case can be returned one step down, or refused, by whoever may take that step; the worker may
withdraw a case not yet under review.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bangfu.org.models import OrgLevel, Role

from .models import ApplicationKind as K
from .models import ApplicationState as S

APPLICANT = "applicant"  # the worker signed in on the phone (not a staff role)
RETURN = "return"
REFUSE = "refuse"
WITHDRAW = "withdraw"

GRASSROOTS = frozenset({OrgLevel.GRASSROOTS})
CENTRE = frozenset({OrgLevel.COUNTY, OrgLevel.CITY})
CADRE = frozenset({Role.GRASSROOTS_CADRE})
STAFF = frozenset({Role.CENTRE_STAFF})
FORMAL = frozenset({K.FORMAL})
TEMPORARY = frozenset({K.TEMPORARY})
BOTH = frozenset({K.FORMAL, K.TEMPORARY})


@dataclass(frozen=True)
class Step:
    action: str
    source: str
    target: str
    roles: frozenset[str]
    levels: frozenset[int]
    kinds: frozenset[str]
    label: str | Promise


STEPS: tuple[Step, ...] = (
    # At the counter: a grassroots union's cadre, or the assistance centre's staff for a worker who
    # came to the centre (the case then goes to the grassroots union for its first review).
    Step(
        "submit",
        S.DRAFT,
        S.SUBMITTED,
        frozenset({APPLICANT, Role.GRASSROOTS_CADRE, Role.CENTRE_STAFF}),
        GRASSROOTS | CENTRE,
        BOTH,
        _("Submit"),
    ),
    Step("accept", S.SUBMITTED, S.FIRST_REVIEW, CADRE, GRASSROOTS, FORMAL, _("Accept for review")),
    Step("first_review_pass", S.FIRST_REVIEW, S.HOME_VISIT, CADRE, GRASSROOTS, FORMAL, _("First review passed")),
    Step("visit_done", S.HOME_VISIT, S.UNIT_REVIEW, CADRE, GRASSROOTS, FORMAL, _("Home visit done")),
    Step("notice_done", S.UNIT_REVIEW, S.HIGHER_REVIEW, CADRE, GRASSROOTS, FORMAL, _("Report to the higher union")),
    Step("higher_review_pass", S.HIGHER_REVIEW, S.ECONOMIC_CHECK, STAFF, CENTRE, FORMAL, _("Higher review passed")),
    Step("check_done", S.ECONOMIC_CHECK, S.APPROVAL, STAFF, CENTRE, FORMAL, _("Economic check done")),
    Step("approve", S.APPROVAL, S.FILE_OPENED, STAFF, CENTRE, BOTH, _("Approve and open the file")),
    Step("report_up", S.FILE_OPENED, S.REPORTED_UP, STAFF, CENTRE, BOTH, _("Report up")),
    # Temporary aid: decided fast, at the centre, after the grassroots union vouches for it.
    Step(
        "emergency_accept",
        S.SUBMITTED,
        S.APPROVAL,
        CADRE | STAFF,
        GRASSROOTS | CENTRE,
        TEMPORARY,
        _("Accept as an emergency"),
    ),
)

ACTION_LABELS: dict[str, str | Promise] = {
    **{s.action: s.label for s in STEPS},
    RETURN: _("Return one step"),
    REFUSE: _("Refuse"),
    WITHDRAW: _("Withdraw"),
}
# What the page says once an action is taken: what happened to the application, not the button's
# words ("Done: Refuse." read as an order). "%(step)s" is the step the application is now at.
ACTION_DONE: dict[str, str | Promise] = {
    "submit": _("The application was submitted."),
    "accept": _("The application was accepted for review."),
    "first_review_pass": _("The application passed its first review."),
    "visit_done": _("The home visit was recorded as done."),
    "notice_done": _("The application was sent to the higher union for review."),
    "higher_review_pass": _("The application passed the higher union's review."),
    "check_done": _("The economic check was recorded as done."),
    "approve": _("The application was approved and its household file opened."),
    "report_up": _("The approved application was reported up."),
    "emergency_accept": _("The application was accepted as an emergency."),
    RETURN: _("The application was returned to “%(step)s”."),
    REFUSE: _("The application was refused."),
    WITHDRAW: _("The application was withdrawn."),
}
# Steps under review: a case there can be returned or refused.
UNDER_WAY = frozenset(
    {S.SUBMITTED, S.FIRST_REVIEW, S.HOME_VISIT, S.UNIT_REVIEW, S.HIGHER_REVIEW, S.ECONOMIC_CHECK, S.APPROVAL}
)
WITHDRAWABLE = frozenset({S.DRAFT, S.SUBMITTED})
CLOSED = frozenset({S.FILE_OPENED, S.REPORTED_UP, S.REFUSED, S.WITHDRAWN})
# The decisions that close a case (its approval, a refusal, a withdrawal): the closed cases are
# listed with their day and reason. Reporting an approved case up, or converting a temporary one,
# closes nothing: the case was closed already.
CLOSING = frozenset({*(s.action for s in STEPS if s.target in CLOSED and s.source not in CLOSED), REFUSE, WITHDRAW})


def forward(kind: str, source: str, action: str) -> Step | None:
    for s in STEPS:
        if s.action == action and s.source == source and kind in s.kinds:
            return s
    return None


def step_at(kind: str, state: str) -> Step | None:
    """The forward step that completes ``state`` for this kind (None when nothing moves it on)."""
    return next((s for s in STEPS if s.source == state and kind in s.kinds), None)


def previous(kind: str, state: str) -> str | None:
    """One step down: the state whose forward step leads here."""
    return next((s.source for s in STEPS if s.target == state and kind in s.kinds), None)


def target(kind: str, source: str, action: str) -> str | None:
    """Where ``action`` takes a case of ``kind`` in ``source``, or None when the table forbids it."""
    if action == RETURN:
        return previous(kind, source) if source in UNDER_WAY else None
    if action == REFUSE:
        return S.REFUSED if source in UNDER_WAY else None
    if action == WITHDRAW:
        return S.WITHDRAWN if source in WITHDRAWABLE else None
    step = forward(kind, source, action)
    return step.target if step else None


def who(kind: str, source: str, action: str) -> tuple[frozenset[str], frozenset[int]]:
    """Roles and levels that may take ``action`` here: return and refuse belong to whoever may take
    the step under way; only the worker withdraws."""
    if action == WITHDRAW:
        return frozenset({APPLICANT}), frozenset()
    step = forward(kind, source, action) if action not in {RETURN, REFUSE} else step_at(kind, source)
    if step is None:
        return frozenset(), frozenset()
    roles = step.roles - {APPLICANT} if action in {RETURN, REFUSE} else step.roles
    return roles, step.levels


ALL_ACTIONS = (*dict.fromkeys(s.action for s in STEPS), RETURN, REFUSE, WITHDRAW)


# The formal path's states in order, and the record each step keeps (the event that records it).
ORDER = (
    S.DRAFT,
    S.SUBMITTED,
    S.FIRST_REVIEW,
    S.HOME_VISIT,
    S.UNIT_REVIEW,
    S.HIGHER_REVIEW,
    S.ECONOMIC_CHECK,
    S.APPROVAL,
)
RECORDS = {S.HOME_VISIT: "visit_recorded", S.UNIT_REVIEW: "unit_reviewed", S.ECONOMIC_CHECK: "check_answered"}


def at_or_below(state: str) -> list[str]:
    """The states of the formal path up to ``state``: a case returned to one of them goes through
    ``state`` again, and the record ``state`` keeps has to be made again."""
    return list(ORDER[: ORDER.index(state) + 1]) if state in ORDER else [state]
