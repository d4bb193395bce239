from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.audit import audit_record
from bangfu.common.models import AuditEntry
from bangfu.common.paging import CappedPaginator


@pytest.mark.django_db
def test_count_stops_at_the_cap_and_says_so() -> None:
    for i in range(7):
        audit_record(actor="t", action="update", target_type="x", target_id=i)
    qs = AuditEntry.objects.order_by("-seq")
    exact = CappedPaginator(qs, 2, cap=10)
    assert (exact.count, exact.capped, exact.num_pages) == (7, False, 4)
    capped = CappedPaginator(qs, 2, cap=5)
    assert (capped.count, capped.capped) == (6, True)
    assert [e.seq for e in capped.page(1)] == [7, 6]


def test_count_query_is_limited(django_assert_num_queries: Any, db: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        CappedPaginator(AuditEntry.objects.order_by("-seq"), 25, cap=100).count  # noqa: B018 - the property runs the query
    assert "LIMIT 101" in ctx.captured_queries[0]["sql"].upper()
