"""The audit log: one writer (``audit_record``) and one checker (``audit_verify``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditAction, AuditEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x62616E6766  # "bangf": one advisory lock serialises appends to the chain


def _canonical(entry: AuditEntry) -> bytes:
    body = {
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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


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
    """Append one entry to the chain, inside the caller's transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        user = actor if getattr(actor, "is_authenticated", False) else None
        entry = AuditEntry(
            seq=seq,
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
            prev_hash=prev,
        )
        entry.hash = compute_hash(entry)
        entry.save(force_insert=True)
    return entry


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
    detail: str


def audit_verify(batch: int = 5000) -> ChainProblem | None:
    """Walk the chain in order; return the first break, or None when the chain is whole."""
    expected_seq, prev = 1, GENESIS
    for entry in _iter_entries(batch):
        if entry.seq != expected_seq:
            return ChainProblem(entry.seq, "missing", f"rows {expected_seq}..{entry.seq - 1} are missing (deleted)")
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
