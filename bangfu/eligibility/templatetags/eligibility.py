"""Template tags for pages of other apps that show identification (the household page)."""

from __future__ import annotations

from django import template

from bangfu.eligibility.models import EligibilityDecision
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.registry.models import Household

register = template.Library()


@register.simple_tag
def current_decision(household: Household) -> EligibilityDecision | None:
    """The household's current decision; the page showing it has already checked the household's
    jurisdiction."""
    return EligibilityDecision.objects.current().filter(household_id=household.pk).first()


@register.simple_tag
def may_recompute(user: object) -> bool:
    """Whether the navigation offers the bulk recompute (``Perm.HOUSEHOLD_EDIT`` somewhere)."""
    return any(Perm.HOUSEHOLD_EDIT in g.perms for g in access.grants(user))


@register.filter
def ruleset_name(version: str) -> str:
    """A rule set's version as people read it: the built-in rules (``default``) in their language."""
    from django.utils.translation import gettext as _

    from bangfu.eligibility.adapters import DEFAULT_RULESET_VERSION

    return _("built-in") if version == DEFAULT_RULESET_VERSION else version


@register.simple_tag
def not_eligible_on_file(household: Household, decision: EligibilityDecision | None) -> str:
    """The sentence of ``selectors.file_not_eligible`` for the household page's banner ("" none)."""
    from bangfu.eligibility.selectors import file_not_eligible

    return file_not_eligible(household, decision)
