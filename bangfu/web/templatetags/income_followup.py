"""The household page's monthly income follow-up section (``web.income_views``)."""

from __future__ import annotations

from typing import Any

from django import template

from bangfu.registry.models import Household
from bangfu.web.income_views import SECTION_TEMPLATE, followup_context

register = template.Library()


@register.inclusion_tag(SECTION_TEMPLATE, takes_context=True)
def income_followup(context: template.Context, household: Household) -> dict[str, Any]:
    """The last twelve months of income records and the form to add one; the page showing it has
    already checked the household's jurisdiction."""
    return followup_context(context["request"], household)
