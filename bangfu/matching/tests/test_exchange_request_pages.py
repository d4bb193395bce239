"""The request file for an outside checking centre from the page and the API (it was only
`bangfu match request`): keyed hashes by default, ID numbers and names only for who may reveal
them, each download logged."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from bangfu.common import crypto
from bangfu.common.models import AuditEntry
from bangfu.org.services import token_create

pytestmark = pytest.mark.django_db


def _page(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def _rows(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def test_the_request_file_from_the_page(make_household: Any, users: dict[str, Any], tree: dict) -> None:
    h, ids = make_household()
    staff = _page(users["xiangyun_staff"])
    page = staff.get("/matching/datasets/").content.decode()
    assert 'id="request-link"' in page
    assert staff.get("/matching/datasets/request/").status_code == 200
    r = staff.post("/matching/datasets/request/", {"unit": tree["xiangyun"].pk, "format": "csv"})
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    rows = _rows(r)
    assert [set(row) for row in rows[:1]] == [{"request_id", "id_key"}]
    assert len(rows) == h.members.count() and not any(i in str(rows) for i in ids)
    entry = AuditEntry.objects.get(target_type="matching.exchange_request")
    assert (entry.action, entry.unit_path) == ("export", tree["xiangyun"].path)
    # With ID numbers and names: a reveal; a name a spreadsheet would take for a formula, as text.
    head = h.members.get(relationship="head")
    head.name = "-王(测试)"
    head.save(update_fields=["name"])
    r = staff.post("/matching/datasets/request/", {"unit": tree["xiangyun"].pk, "format": "csv", "plain": "on"})
    plain = _rows(r)
    assert {row["id_number"] for row in plain} == {crypto.decrypt(m.id_cipher) for m in h.members.all()}
    assert "'-王(测试)" in {row["name"] for row in plain}
    assert all(row["id_key"].lstrip("-").isdigit() for row in plain)  # negative keys stay numbers
    assert AuditEntry.objects.filter(target_type="matching.exchange_request", action="reveal").count() == 1


def test_who_may_not_reveal_sends_hashes_only(make_household: Any, users: dict[str, Any], tree: dict) -> None:
    make_household()
    manager = _page(users["province_manager"])
    r = manager.post("/matching/datasets/request/", {"unit": tree["province"].pk, "format": "csv", "plain": "on"})
    assert r.status_code == 400 and "may not reveal personal numbers" in r.content.decode()
    assert not AuditEntry.objects.filter(target_type="matching.exchange_request").exists()
    # The evaluator has no export at all: the page is refused.
    assert _page(users["evaluator"]).get("/matching/datasets/request/").status_code == 403


def test_the_request_file_from_the_api(make_household: Any, users: dict[str, Any], tree: dict) -> None:
    h, _ids = make_household()
    token = token_create(actor=users["province_manager"], user=users["province_manager"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    r = api.get("/api/v1/matching/exchange/request", {"unit_id": tree["dali"].pk})
    assert r.status_code == 200, r.content
    assert len(_rows(r)) == h.members.count()
    assert api.get("/api/v1/matching/exchange/request", {"plain": "true"}).status_code == 403
    assert api.get("/api/v1/matching/exchange/request", {"format": "xls"}).status_code in {400, 422}
    # A county's staff ask for another city's persons: as if that union did not exist.
    token = token_create(actor=users["xiangyun_staff"], user=users["xiangyun_staff"], name="tests")
    county = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert county.get("/api/v1/matching/exchange/request", {"unit_id": tree["wuhua"].pk}).status_code == 404
    assert county.get("/api/v1/matching/exchange/request", {"unit_id": tree["xiangyun"].pk}).status_code == 200


def test_the_share_cross_checked_says_how_old_the_checks_are(
    make_household: Any, users: dict[str, Any], tree: dict
) -> None:
    """A share of 100 % said nothing of when: a check of long ago read as today's."""
    import datetime as dt

    from django.utils import timezone

    from bangfu.matching.models import HouseholdCheck

    h, _ids = make_household()
    when = timezone.now() - dt.timedelta(days=400)
    HouseholdCheck.objects.create(household=h, checked_at=when)
    token = token_create(actor=users["province_manager"], user=users["province_manager"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    (top, *_rest) = api.get("/api/v1/matching/coverage").json()
    # The API gives the instant with its offset; the page the day as the union's users live it
    # (Asia/Shanghai: from 16:00 UTC on, the next day).
    assert top["rate"] == 1.0 and abs(dt.datetime.fromisoformat(top["oldest_check"]) - when) < dt.timedelta(
        milliseconds=1
    )
    day = timezone.localdate(when).isoformat()
    page = _page(users["province_manager"]).get("/matching/coverage/").content.decode()
    assert day in page
