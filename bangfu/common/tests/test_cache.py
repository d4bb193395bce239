"""The cache is shared by every web process (a database table made by the migrations), so a rate
limit counts a client's requests to all of them, and its counter goes up by one per request even
when processes count at once."""

from __future__ import annotations

import importlib
import threading
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, connections
from django.test import Client

from bangfu.common.cache import DatabaseCache
from bangfu.eligibility import selftest

pytestmark = pytest.mark.django_db

TABLE = str(settings.CACHES["default"]["LOCATION"])


def _another_process() -> DatabaseCache:
    """The cache as another web process builds it from the same settings (nothing in memory)."""
    conf = settings.CACHES["default"]
    return DatabaseCache(TABLE, {"OPTIONS": conf.get("OPTIONS", {})})


def test_the_default_cache_is_the_database_table() -> None:
    assert isinstance(caches["default"], DatabaseCache)
    assert TABLE in connection.introspection.table_names()
    cache.set("bangfu-test", {"n": 1}, 60)
    assert _another_process().get("bangfu-test") == {"n": 1}


def test_the_migration_creates_the_table_on_a_database_without_it() -> None:
    migration = importlib.import_module("bangfu.common.migrations.0004_cache_table")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(TABLE)}")
    assert TABLE not in connection.introspection.table_names()
    migration.create_cache_tables(None, SimpleNamespace(connection=connection))
    assert TABLE in connection.introspection.table_names()
    migration.create_cache_tables(None, SimpleNamespace(connection=connection))  # again: nothing to do
    cache.set("k", 1, 60)
    assert cache.get("k") == 1


def test_incr_adds_in_place_and_refuses_a_missing_or_expired_key() -> None:
    cache.set("n", 5, 60)
    assert cache.incr("n") == 6 and cache.incr("n", 10) == 16
    assert _another_process().get("n") == 16
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    cache.set("gone", 1, -1)
    with pytest.raises(ValueError, match="not found"):
        cache.incr("gone")


def test_the_self_tests_limit_counts_in_the_shared_table(monkeypatch: pytest.MonkeyPatch, tree: Any) -> None:
    """The counter of a client's answers is in the table, where every process reads it: another
    process would refuse the next answer as this one does."""
    monkeypatch.setattr(selftest, "RATE_LIMIT", 2)
    cache.clear()
    client = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="198.51.100.7")
    post = {"region": "532923", "household_size": "1", "m0_age": "45"}
    assert [client.post("/self-test/", post).status_code for _ in range(3)] == [200, 200, 429]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(TABLE)}")  # noqa: S608 - a quoted name
        assert cursor.fetchone()[0] >= 1
    assert _another_process().get("eligibility:self-test:198.51.100.7") == 3


@pytest.mark.postgresql
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="counting at once needs two connections")
def test_processes_counting_at_once_lose_no_count(transactional_db: Any) -> None:
    key = f"bangfu-test-{uuid.uuid4()}"
    cache.set(key, 0, 60)
    threads, per_thread, errors = 6, 30, []

    def count() -> None:
        try:
            mine = _another_process()
            for _ in range(per_thread):
                mine.incr(key)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    try:
        assert errors == []
        assert cache.get(key) == threads * per_thread
    finally:
        cache.delete(key)
