"""Reasons and rule problems as text in the current language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

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
        return ", ".join(str(labels.get(c, c)) for c in value.split(", ")) if value else value
    return value


def reason_text(reason: dict[str, Any]) -> str:
    """One stored reason ({"code", "params"}) as a sentence; an unknown code shows as the code."""
    template = TEMPLATES.get(reason.get("code", ""))
    params = {k: _param(k, v) for k, v in (reason.get("params") or {}).items()}
    if template is None:
        return str(reason.get("code", ""))
    try:
        return gettext(template).format(**params)
    except (KeyError, IndexError):
        return template.format_map({k: params.get(k, "?") for k in params}) if params else template


def reason_texts(reasons: list[dict[str, Any]]) -> list[str]:
    return [reason_text(r) for r in reasons]
