"""Reasons and rule problems as text in the current language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, ngettext

from bangfu.common.punctuation import join_list
from bangfu.registry import codes

from .rules.model import TEMPLATES

TRANSLATED_PARAMS = frozenset({"condition"})
# Parameters that list codes (", "-joined), shown by their labels.
CODE_LIST_PARAMS = {"kinds": codes.VehicleKind, "roles": codes.BusinessRoleKind}


def problem_text(template: str, params: dict[str, str]) -> str:
    return gettext(template).format(**params)


def _param(name: str, value: str) -> str:
    if name in TRANSLATED_PARAMS:
        return gettext(value)
    choices = CODE_LIST_PARAMS.get(name)
    if choices is not None:
        labels = dict(choices.choices)
        return join_list(labels.get(c, c) for c in value.split(", ")) if value else value
    return value


# Reasons whose wording follows a number (English "1 member", "2 members"): the parameter that
# is the number. ``_plural_template`` holds their two forms (literal calls, so that makemessages
# finds them); ``TEMPLATES`` keeps the plural form for a stored reason read without a language.
PLURAL_PARAMS = {
    "net_income": "members",
    "homes": "homes",
    "migrant_worker": "years",
    "exit_test_met": "run",
    "exit_test_not_met": "run",
}


def _plural_template(code: str, n: int) -> str:
    if code == "net_income":
        return ngettext(
            "Counted income {income} yuan − rigid expenses {rigid} yuan a year, over 12 months and {members} member "
            "= {net} yuan per head per month",
            "Counted income {income} yuan − rigid expenses {rigid} yuan a year, over 12 months and {members} members "
            "= {net} yuan per head per month",
            n,
        )
    if code == "homes":
        return ngettext(
            "Owns {homes} home with {per_head} m² per head > {multiple} × housing standard {standard} m²",
            "Owns {homes} homes with {per_head} m² per head > {multiple} × housing standard {standard} m²",
            n,
        )
    if code == "migrant_worker":
        return ngettext(
            "Migrant worker living in the city with at least {years} year of employment",
            "Migrant worker living in the city with at least {years} years of employment",
            n,
        )
    return ngettext(  # exit_test_met, exit_test_not_met
        "Income per head above dibao {dibao} yuan for {run} consecutive month; {months} needed",
        "Income per head above dibao {dibao} yuan for {run} consecutive months; {months} needed",
        n,
    )


def _count(value: Any) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def reason_text(reason: dict[str, Any]) -> str:
    """One stored reason ({"code", "params"}) as a sentence; an unknown code shows as the code."""
    code = reason.get("code", "")
    template = TEMPLATES.get(code)
    raw = reason.get("params") or {}
    params = {k: _param(k, v) for k, v in raw.items()}
    if template is None:
        return str(code)
    count = _count(raw.get(PLURAL_PARAMS[code])) if code in PLURAL_PARAMS else None
    try:
        if count is not None:
            return _plural_template(code, count).format(**params)
        return gettext(template).format(**params)
    except (KeyError, IndexError):
        return template.format_map({k: params.get(k, "?") for k in params}) if params else template


def reason_texts(reasons: list[dict[str, Any]]) -> list[str]:
    return [reason_text(r) for r in reasons]
