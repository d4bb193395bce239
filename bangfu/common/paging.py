"""Pagination whose cost does not grow with the jurisdiction.

An exact COUNT(*) over a province's or the nation's files costs seconds; people paging a list
need "more than 10,000" plus the first pages, and narrow the search for the rest. The count is
taken over at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (… LIMIT cap+1)``), so a page costs
the same whatever the jurisdiction holds.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000
# The highest page number a request may ask for: far past any list (counts stop at the cap), and
# small enough that its offset is an integer every database takes.
MAX_PAGE = 100_000


class CappedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, cap: int = COUNT_CAP, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        # A selector may know more than the query shows: every matching id in order
        # (``known_ids``), or that there are more rows than the cap (``count_at_least``).
        known = getattr(self.object_list, "known_ids", None)
        if known is not None:
            return min(len(known), self.cap + 1)
        if getattr(self.object_list, "count_at_least", 0) > self.cap:
            return self.cap + 1
        return int(self.object_list[: self.cap + 1].count())  # type: ignore[attr-defined]

    def page(self, number: Any) -> Page:
        known = getattr(self.object_list, "known_ids", None)
        if known is None:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list.filter(pk__in=known[bottom : bottom + self.per_page])  # type: ignore[attr-defined]
        return self._get_page(list(rows), number, self)  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        """True when there are more rows than the cap; ``count`` is then ``cap + 1``."""
        return self.count > self.cap
