"""The audit log: one writer (``audit_record``) and one checker (``audit_verify``).

Appending takes the chain's lock (on PostgreSQL a transaction-level advisory lock; SQLite serialises
writers), so every audited write in the system waits for the one before it to commit. The lock is
therefore taken as late as possible: on PostgreSQL one round trip takes it, reads the chain's head
and inserts the entry with its hash computed by the database (``_append_pg``). A service that wraps
its transaction in ``audit_deferred`` appends all of its entries in that one round trip at the end
of the transaction, and when that block is the outermost transaction the same round trip commits
it: the lock is then held by the database alone, never while it waits for the application.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from .models import AuditAction, AuditEntry

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x62616E6766  # "bangf": one advisory lock serialises appends to the chain
_PENDING = "_bangfu_audit_pending"  # the open ``audit_deferred`` block's entries, on the connection


def _body(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "unit_path": entry.unit_path,
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
        "prev_hash": entry.prev_hash,
    }


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _canonical(entry: AuditEntry) -> bytes:
    return _dumps(_body(entry)).encode()


def _canonical_around(entry: AuditEntry) -> tuple[str, str, str]:
    """The canonical text with the two values only the chain's head gives left out:
    ``head + prev_hash + middle + str(seq) + tail == _canonical(entry)``. With sorted keys,
    ``prev_hash`` and ``seq`` are neighbours, between the other keys."""
    body = _body(entry)
    del body["prev_hash"], body["seq"]
    head = _dumps({k: v for k, v in body.items() if k < "prev_hash"})
    tail = _dumps({k: v for k, v in body.items() if k > "seq"})
    return head[:-1] + ',"prev_hash":"', '","seq":', "," + tail[1:]


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def audit_record(
    *,
    actor: Any,
    action: AuditAction | str,
    target_type: str,
    target_id: object = "",
    unit_path: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """Append one entry to the chain, inside the caller's transaction. Inside ``audit_deferred``
    the entry is appended when that block ends (its ``seq`` and ``hash`` are set then)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    entry = AuditEntry(  # numbered and linked when appended
        at=timezone.now(),
        actor=user,
        actor_label=(user.get_username() if user else str(actor or "system")),
        action=str(action),
        target_type=target_type,
        target_id=str(target_id),
        unit_path=unit_path,
        before=_jsonable(before),
        after=_jsonable(after),
        note=note,
        prev_hash="",
    )
    pending: list[_Pending] | None = getattr(connection, _PENDING, None)
    if pending is not None and connection.in_atomic_block:
        marker = _Marker()
        # Django drops an on-commit callback registered inside a savepoint that rolls back: the
        # marker tells the end of the block whether the entry's part of the transaction survived.
        transaction.on_commit(marker)
        pending.append(_Pending(entry, marker))
        return entry
    # No savepoint of its own: a failed append fails the caller's transaction, and the lock is
    # not held over a RELEASE round trip.
    outermost = _outermost()
    with transaction.atomic(savepoint=False):
        _append(connection, [entry], commit=outermost)
    return entry


_TOLD = threading.local()  # ``audit_told`` entries whose transaction rolled back, not yet written


def audit_told(*, then: Callable[[], None] | None = None, **fields: Any) -> None:
    """An entry (the arguments of ``audit_record``) for what a user was told on the way to a
    refusal — which union keeps the file of a person outside their jurisdiction, say: the refusal
    rolls back the caller's transaction, but the telling happened. Outside a transaction it is
    written at once; inside one, when the transaction commits, or, rolled back, when the request,
    background job or command ends (``flush_told``, on Django's ``request_finished`` and
    ``task_finished`` signals and at the end of a ``TranslatedCommand``). ``then``: called once
    the entry is written (to count what was told, say, where a rollback would undo the count)."""
    if then is not None:
        fields["_then"] = then
    if not connection.in_atomic_block:
        _write_told(fields)
        return
    entry = dict(fields)
    pending: list[dict[str, Any]] = _TOLD.__dict__.setdefault("pending", [])
    pending.append(entry)

    def committed() -> None:
        # Written with the transaction: no longer for the flush (compared by identity).
        for i, other in enumerate(pending):
            if other is entry:
                del pending[i]
                _write_told(entry)
                return

    transaction.on_commit(committed)


def flush_told(**_signal: Any) -> None:
    """Write the ``audit_told`` entries whose transaction rolled back (a receiver of signals)."""
    pending: list[dict[str, Any]] | None = getattr(_TOLD, "pending", None)
    if not pending or connection.in_atomic_block:
        return
    _TOLD.pending = []
    for entry in pending:
        _write_told(entry)


def _write_told(entry: dict[str, Any]) -> None:
    fields = dict(entry)
    then = fields.pop("_then", None)
    audit_record(**fields)
    if then is not None:
        then()


def _outermost() -> bool:
    """Whether an ``atomic`` block entered now is the whole transaction (it commits on exit)."""
    return not connection.in_atomic_block and connection.get_autocommit()


class _Marker:
    def __call__(self) -> None:
        return None


@dataclass(frozen=True)
class _Pending:
    entry: AuditEntry
    marker: Callable[[], None]


def _survived(conn: BaseDatabaseWrapper, marker: Callable[[], None]) -> bool:
    return any(hook[1] is marker for hook in conn.run_on_commit)  # (savepoint ids, func, robust)


@contextmanager
def audit_deferred() -> Iterator[None]:
    """A transaction (``transaction.atomic``) whose audit entries are appended together as its last
    statement, just before it commits: the chain's lock is held for that statement and the commit
    only, not from the first audited write on. Entries recorded in an inner ``atomic`` block that
    rolls back are dropped with it; nothing is appended when the block fails or is marked for
    rollback. As with ``transaction.on_commit``, only ``atomic`` blocks count: do not roll back a
    hand-made savepoint (``savepoint_create``) inside the block. Nested inside another
    ``audit_deferred``, its entries join the outer block's."""
    outermost = _outermost()
    with transaction.atomic():
        if getattr(connection, _PENDING, None) is not None:
            yield
            return
        pending: list[_Pending] = []
        setattr(connection, _PENDING, pending)
        try:
            yield
        finally:
            setattr(connection, _PENDING, None)
        entries = [p.entry for p in pending if _survived(connection, p.marker)]
        if entries and not connection.needs_rollback:
            # The last statement of the block: when the block is the transaction, commit with it.
            _append(connection, entries, commit=outermost)


def _append(conn: BaseDatabaseWrapper, entries: list[AuditEntry], *, commit: bool = False) -> None:
    """Number, link and insert ``entries`` at the head of the chain (inside a transaction). With
    ``commit``, the transaction may be committed by the same round trip: the caller must be about
    to leave its outermost ``atomic`` block, with nothing run in between."""
    if conn.vendor == "postgresql":
        _append_pg(conn, entries, commit=commit)
        return
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = compute_hash(entry)
        entry.save(force_insert=True)


# The chain's head (its last row, or the genesis), the next row numbered and linked to it, and its
# hash: SHA-256 of the canonical text, which the caller passes around the two values from the head.
_PG_INSERT = """
INSERT INTO common_auditentry (seq, at, actor_id, actor_label, action, target_type, target_id,
                               unit_path, before, after, note, prev_hash, hash)
SELECT h.seq + 1, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, h.hash,
       encode(sha256(convert_to(%s || h.hash || %s || (h.seq + 1)::text || %s, 'UTF8')), 'hex')
FROM (SELECT m.seq, COALESCE(l.hash, %s) AS hash
      FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM common_auditentry) AS m
      LEFT JOIN common_auditentry AS l ON l.seq = m.seq) AS h
RETURNING seq, prev_hash, hash"""


def _append_pg(conn: BaseDatabaseWrapper, entries: list[AuditEntry], *, commit: bool) -> None:
    """One round trip: take the lock, then each INSERT reads the head and computes its hash in the
    database. Each statement of a multi-statement query has its own snapshot, so the head read
    after the lock is granted includes the entry committed by the lock's last holder. With
    ``commit`` the round trip ends with COMMIT, which releases the lock; Django's own commit on
    leaving the block then finds no transaction open and does nothing (psycopg's ``commit()`` on
    an idle connection), and its on-commit callbacks run as usual. A failure anywhere in the round
    trip rolls the whole transaction back."""
    statements = ["SELECT pg_advisory_xact_lock(%s)"]
    params: list[Any] = [_PG_LOCK_KEY]
    for e in entries:
        statements.append(_PG_INSERT)
        params += [e.at, e.actor_id, e.actor_label, e.action, e.target_type, e.target_id, e.unit_path]
        params += [_json_param(e.before), _json_param(e.after), e.note, *_canonical_around(e), GENESIS]
    with conn.cursor() as cur:
        committed = commit and _multi_statement(cur)
        if committed:
            statements.append("COMMIT")
        if _multi_statement(cur):
            cur.execute(";\n".join(statements), params)
            rows = []
            for _e in entries:
                cur.nextset()
                rows.append(cur.fetchone())
        else:  # server-side binding: one statement per round trip
            cur.execute(statements[0], params[:1])
            per = (len(params) - 1) // len(entries)
            rows = []
            for i in range(len(entries)):
                cur.execute(_PG_INSERT, params[1 + i * per : 1 + (i + 1) * per])
                rows.append(cur.fetchone())
    for entry, (seq, prev, digest) in zip(entries, rows, strict=True):
        entry.seq, entry.prev_hash, entry.hash = seq, prev, digest
        entry._state.adding, entry._state.db = False, conn.alias
        if compute_hash(entry) != digest:  # the database and Python must hash the same text
            problem = f"audit entry {seq}: the database's hash differs from the canonical one"
            if not committed:
                raise RuntimeError(problem)
            logger.error("%s; `bangfu audit verify` will report the row", problem)


def _multi_statement(cur: Any) -> bool:
    """Client-side binding (Django's default with psycopg 3) sends the simple query protocol,
    which takes several statements at once."""
    import psycopg

    return isinstance(getattr(cur, "cursor", None), psycopg.ClientCursor)


def _json_param(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, ensure_ascii=False)


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    # Round-trip through JSON so the stored value hashes the same when read back.
    result: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    return result


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "edited" | "missing" | "inserted"
    detail: str  # in English, for logs; ``bangfu audit verify`` says it in the user's language
    missing_from: int | None = None  # "missing": the first row gone (the last is ``seq - 1``)


def audit_verify(batch: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first break, or None when the chain is whole."""
    expected_seq, prev = 1, GENESIS
    for entry in _iter_entries(batch):
        if entry.seq != expected_seq:
            return ChainProblem(
                entry.seq, "missing", f"rows {expected_seq}..{entry.seq - 1} are missing (deleted)", expected_seq
            )
        if entry.prev_hash != prev:
            return ChainProblem(entry.seq, "inserted", "does not follow the previous row (inserted or re-linked)")
        if compute_hash(entry) != entry.hash:
            return ChainProblem(entry.seq, "edited", "content does not match its hash (edited)")
        prev, expected_seq = entry.hash, expected_seq + 1
    return None


def _iter_entries(batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
