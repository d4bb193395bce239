"""The union picker: a plain list for a small jurisdiction; for a large one (a city, a province,
the nation) a search box above a short list — the top of the tree and the chosen union — whose
other unions are looked up by name or code (``views.unit_options``), so a page never carries
hundreds of unions and a user never scrolls through them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.urls import reverse

from bangfu.org.access import Perm
from bangfu.org.models import OrgUnit

# Up to this many unions the picker is a plain list of all of them.
PICKER_FULL_LIST = 60
# Unions a search shows at most.
PICKER_SEARCH_LIMIT = 50


def shown_units(units: Iterable[OrgUnit]) -> set[int]:
    """The unions a long picker lists before a search: the top of the jurisdiction and the
    unions directly under it, or only the top if those are more than ``PICKER_FULL_LIST``."""
    units = list(units)
    if len(units) <= PICKER_FULL_LIST:
        return {u.pk for u in units}
    top = min(u.level for u in units)
    near = [u.pk for u in units if u.level <= top + 1]
    return set(near) if len(near) <= PICKER_FULL_LIST else {u.pk for u in units if u.level == top}


class UnitPicker(forms.Select):
    """A ``Select`` of unions that shows only ``shown`` (and the chosen value) when the list is
    long, with a search box; ``perm`` is the permission the search scopes to (the unions offered
    are those the user holds it on, as the field's own choices are)."""

    template_name = "web/widgets/unit_picker.html"

    def __init__(self, attrs: dict[str, Any] | None = None, *, perm: Perm = Perm.HOUSEHOLD_VIEW) -> None:
        super().__init__(attrs)
        self.perm = perm
        self.shown: set[str] | None = None  # None: every choice (a short list)

    def set_units(self, units: Iterable[OrgUnit]) -> None:
        units = list(units)
        self.shown = None if len(units) <= PICKER_FULL_LIST else {str(pk) for pk in shown_units(units)}

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        full = self.choices
        if self.shown is not None:
            chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v not in (None, "")}
            keep = self.shown | chosen
            self.choices = [c for c in full if c[0] in ("", None) or str(c[0]) in keep]
        try:
            context = super().get_context(name, value, attrs)
        finally:
            self.choices = full
        blank = next((str(label) for v, label in full if v in ("", None)), None)
        context["widget"]["picker"] = {
            "searchable": self.shown is not None,
            "url": reverse("web:unit_options"),
            "perm": self.perm.value,
            "blank": blank,
        }
        return context
