"""Appending at the end of the transaction (``audit_deferred``) and the database-side hash on
PostgreSQL: the chain stays contiguous and verifiable, and nothing is written for work that rolled
back."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bangfu.common.audit import (
    GENESIS,
    _canonical,
    _canonical_around,
    audit_deferred,
    audit_record,
    audit_verify,
    compute_hash,
)
from bangfu.common.models import AuditEntry

# Values that a hand-made JSON text or SQL string would get wrong.
AWKWARD: dict[str, Any] = {
    "姓名": "张三",
    "quote": "he said \"no\" and 'yes'",
    "backslash": "C:\\path\\x",
    "percent": "100% %s %(x)s",
    "control": "tab\tnewline\nbell\x07end",  # (jsonb refuses \u0000 whichever way it is written)
    "emoji": "🙂",
    "line_separator": "a\u2028b",
    "nested": {"b": [1, 2.5, None, True], "a": {"z": "", "y": None}},
}


def _record(n: int, **extra: Any) -> AuditEntry:
    return audit_record(actor="test", action="update", target_type="household", target_id=n, after={"n": n, **extra})


def _seqs() -> list[int]:
    return list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))


def test_the_canonical_text_around_the_heads_values_is_the_canonical_text() -> None:
    for before, after, note in [(None, None, ""), (AWKWARD, {"k": AWKWARD}, '备注 "x" \\ %s')]:
        entry = AuditEntry(
            seq=12345,
            at=timezone.now(),
            actor_label="测试",
            action="update",
            target_type="household",
            target_id="7",
            unit_path="0001.0002.",
            before=before,
            after=after,
            note=note,
            prev_hash="ab" * 32,
        )
        head, middle, tail = _canonical_around(entry)
        assert (head + entry.prev_hash + middle + str(entry.seq) + tail).encode() == _canonical(entry)


@pytest.mark.django_db
def test_deferred_entries_are_appended_together_at_the_end() -> None:
    _record(0)
    with audit_deferred():
        entries = [_record(i, **AWKWARD) for i in range(1, 4)]
        assert AuditEntry.objects.count() == 1
        assert all(e.seq is None for e in entries)
    assert _seqs() == [1, 2, 3, 4]
    assert [e.seq for e in entries] == [2, 3, 4]
    for e in entries:
        stored = AuditEntry.objects.get(seq=e.seq)
        assert (stored.hash, stored.prev_hash) == (e.hash, e.prev_hash) and compute_hash(stored) == e.hash
    assert audit_verify() is None


@pytest.mark.django_db
def test_an_empty_chain_starts_from_genesis() -> None:
    with audit_deferred():
        entry = _record(1)
    assert (entry.seq, entry.prev_hash) == (1, GENESIS)
    assert audit_verify() is None


@pytest.mark.django_db
def test_entries_of_an_inner_block_that_rolled_back_are_dropped() -> None:
    with audit_deferred():
        _record(1)
        try:
            with transaction.atomic():
                _record(2)
                with transaction.atomic():
                    _record(3)
                raise ValueError
        except ValueError:
            pass
        with transaction.atomic():
            _record(4)
    assert list(AuditEntry.objects.order_by("seq").values_list("after__n", flat=True)) == [1, 4]
    assert _seqs() == [1, 2]
    assert audit_verify() is None


@pytest.mark.django_db
def test_nothing_is_written_when_the_block_fails_or_is_marked_for_rollback() -> None:
    _record(0)
    with pytest.raises(ValueError), audit_deferred():
        _record(1)
        raise ValueError
    with audit_deferred():
        _record(2)
        transaction.set_rollback(True)
    assert _seqs() == [1]
    _record(3)
    assert _seqs() == [1, 2]
    assert audit_verify() is None


@pytest.mark.django_db
def test_a_nested_block_joins_the_outer_one() -> None:
    with audit_deferred():
        with audit_deferred():
            inner = _record(1)
        assert inner.seq is None and AuditEntry.objects.count() == 0
        _record(2)
    assert _seqs() == [1, 2]
    assert audit_verify() is None


@pytest.mark.django_db
def test_an_entry_written_at_once_is_part_of_the_callers_transaction() -> None:
    with pytest.raises(ValueError), transaction.atomic():
        entry = _record(1, **AWKWARD)
        assert entry.seq == 1 and AuditEntry.objects.count() == 1
        raise ValueError
    assert AuditEntry.objects.count() == 0
    entry = _record(2, **AWKWARD)
    assert entry.seq == 1 and AuditEntry.objects.get(seq=1).hash == entry.hash
    assert audit_verify() is None


@pytest.mark.postgresql
def test_concurrent_writers_keep_the_chain_contiguous(shared_database: None, audit_log_emptied: None) -> None:
    writers, rounds = 6, 5
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(k: int) -> None:
        try:
            barrier.wait()
            for r in range(rounds):
                if r % 2:
                    with audit_deferred():
                        _record(k * 100 + r)
                        time.sleep(0.002)
                        _record(k * 100 + r, second=True)
                else:
                    with transaction.atomic():
                        _record(k * 100 + r)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    per_writer = rounds + rounds // 2
    assert _seqs() == list(range(1, writers * per_writer + 1))
    assert audit_verify() is None


@pytest.mark.postgresql
def test_the_outermost_block_commits_with_its_last_statement(audit_log_emptied: None) -> None:
    ran: list[int] = []
    with audit_deferred():
        _record(1)
        transaction.on_commit(lambda: ran.append(1))
    assert ran == [1] and _seqs() == [1]
    assert connection.get_autocommit() and not connection.in_atomic_block
    _record(2)  # outside any transaction: its own, committed by the append
    with transaction.atomic():
        _record(3)
    # A failure in the round trip that would commit leaves nothing of the transaction behind.
    with pytest.raises(DatabaseError), audit_deferred():
        _record(4)
        ghost = get_user_model()(pk=987654, username="ghost")  # no such user: the commit fails
        audit_record(actor=ghost, action="update", target_type="household")
    assert _seqs() == [1, 2, 3]
    with audit_deferred():
        _record(5)
    assert _seqs() == [1, 2, 3, 4] and audit_verify() is None
