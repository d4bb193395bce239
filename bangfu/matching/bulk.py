"""Writing a run's results in bulk: the findings (hundreds of thousands for a province) and the
households' cross-check times, set-based, never one ORM object per row.

PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT … SELECT … ON CONFLICT``.
Other databases (SQLite): ``executemany`` of one ``INSERT … ON CONFLICT`` statement.
A finding already recorded (same member, dataset, rule and record) is left as it is, and so is
one raised before from another dataset of the same kind (the same file imported again, or next
month's copy of it) and open, dismissed, or confirmed since the file last closed: an open one is
not listed twice, a dismissal stands (a dismissed car does not come back as a new open finding
with each refresh of the police's data), and a confirmed car is on the file (``_not_raised``).

Two runs over overlapping unions write some of the same rows at the same time. PostgreSQL makes
the second writer of a row wait for the first one's transaction; rows written in different orders
would then wait for each other (a deadlock, and one run failed). Both statements therefore write
in the order of the unique key, so that the first to reach a row goes on and the other waits.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection

from bangfu.registry.codes import OPEN_STATES, TimelineKind
from bangfu.registry.models import TimelineEvent

from .engine.rules import FINDING_COLUMNS
from .models import Finding, FindingStatus, HouseholdCheck

_LOAD_TYPES = {
    "household_id": "bigint",
    "member_id": "bigint",
    "dataset_id": "bigint",
    "kind": "text",
    "record_key": "text",
    "rule": "text",
    "severity": "text",
    "confidence": "text",
    "details": "jsonb",
}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _copy_csv(cursor: Any, table: str, data: pa.Table) -> None:
    """COPY an Arrow table into ``table`` through CSV (PostgreSQL)."""
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    columns = ", ".join(_q(c) for c in data.column_names)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        view = buffer.getbuffer()
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start : start + (1 << 20)])


# The columns of the findings' unique constraint (``matching_finding_once``), in its order.
_UNIQUE = ("member_id", "dataset_id", "rule", "record_key")


def _not_raised(row: str) -> str:
    """SQL: ``row`` is not a record already raised for its member, department kind and rule from
    another dataset and still open or dismissed, or confirmed since the file last closed: the
    confirmation wrote the record into the file, and a recheck raised the same car again and
    again as a new open finding. A record confirmed before the file was closed (removed, exited,
    cancelled) and opened again is raised again: it must be proposed again. A record named by its
    row (``row 2``: of another file, another record) is always raised."""
    table = _q(Finding._meta.db_table)
    same = " AND ".join(f"f.{_q(c)} = {row}.{_q(c)}" for c in ("member_id", "kind", "rule", "record_key"))
    statuses = ", ".join(f"'{s}'" for s in (FindingStatus.OPEN, FindingStatus.DISMISSED))
    events = _q(TimelineEvent._meta.db_table)
    to = "e.data ->> 'to'" if connection.vendor == "postgresql" else "json_extract(e.data, '$.to')"
    open_states = ", ".join(f"'{s}'" for s in sorted(OPEN_STATES))
    closed_since = (
        f"EXISTS (SELECT 1 FROM {events} e WHERE e.{_q('household_id')} = f.{_q('household_id')} "  # noqa: S608
        f"AND e.{_q('kind')} = '{TimelineKind.STATE_CHANGED}' AND e.{_q('at')} >= f.{_q('reviewed_at')} "
        f"AND {to} NOT IN ({open_states}))"
    )
    confirmed = f"f.{_q('status')} = '{FindingStatus.CONFIRMED}' AND NOT {closed_since}"
    return (
        f"(substr({row}.{_q('record_key')}, 1, 4) = 'row ' OR NOT EXISTS "  # noqa: S608 - fixed identifiers
        f"(SELECT 1 FROM {table} f WHERE {same} AND (f.{_q('status')} IN ({statuses}) OR ({confirmed}))))"
    )


def findings_insert(found: pa.Table, *, run_id: int, now: dt.datetime) -> None:
    """Insert the findings of ``found`` (``rules.FINDING_COLUMNS``) as open findings of the run."""
    if found.num_rows == 0:
        return
    found = found.select(list(FINDING_COLUMNS))
    table = _q(Finding._meta.db_table)
    target = ", ".join(_q(c) for c in (*FINDING_COLUMNS, "status", "run_id", "reason", "created_at"))
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TABLE IF EXISTS matching_finding_load")
            cursor.execute(
                "CREATE TEMPORARY TABLE matching_finding_load ("
                + ", ".join(f"{_q(c)} {_LOAD_TYPES[c]}" for c in FINDING_COLUMNS)
                + ") ON COMMIT DROP"
            )
            _copy_csv(cursor, "matching_finding_load", found)
            columns = ", ".join(_q(c) for c in FINDING_COLUMNS)
            order = ", ".join(_q(c) for c in _UNIQUE)
            cursor.execute(
                f"INSERT INTO {table} ({target}) SELECT {columns}, %s, %s, '', %s "  # noqa: S608
                f"FROM matching_finding_load l WHERE {_not_raised('l')} ORDER BY {order} ON CONFLICT DO NOTHING",
                [FindingStatus.OPEN.value, run_id, stamp],
            )
            cursor.execute("DROP TABLE matching_finding_load")
            return
        placeholders = ", ".join(
            f"%s AS {_q(c)}" for c in (*FINDING_COLUMNS, "status", "run_id", "reason", "created_at")
        )
        tail = (FindingStatus.OPEN.value, run_id, "", stamp)
        values = [found.column(c).to_pylist() for c in FINDING_COLUMNS]
        cursor.executemany(
            f"INSERT INTO {table} ({target}) SELECT * FROM (SELECT {placeholders}) l "  # noqa: S608
            f"WHERE {_not_raised('l')} ON CONFLICT DO NOTHING",
            [(*row, *tail) for row in zip(*values, strict=True)],
        )


def household_checks_upsert(household_ids: Sequence[int], *, run_id: int, now: dt.datetime) -> None:
    """Record that these households were cross-checked by the run, now."""
    if not household_ids:
        return
    table = _q(HouseholdCheck._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    upsert = (
        f"ON CONFLICT ({_q('household_id')}) DO UPDATE SET {_q('run_id')} = excluded.{_q('run_id')}, "
        f"{_q('checked_at')} = excluded.{_q('checked_at')}"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TABLE IF EXISTS matching_check_load")
            cursor.execute("CREATE TEMPORARY TABLE matching_check_load (household_id bigint) ON COMMIT DROP")
            _copy_csv(cursor, "matching_check_load", pa.table({"household_id": pa.array(household_ids, pa.int64())}))
            cursor.execute(
                f"INSERT INTO {table} (household_id, run_id, checked_at) "  # noqa: S608
                f"SELECT household_id, %s, %s FROM matching_check_load ORDER BY household_id {upsert}",
                [run_id, stamp],
            )
            cursor.execute("DROP TABLE matching_check_load")
            return
        cursor.executemany(
            f"INSERT INTO {table} (household_id, run_id, checked_at) VALUES (%s, %s, %s) {upsert}",  # noqa: S608
            [(h, run_id, stamp) for h in household_ids],
        )
