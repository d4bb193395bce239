"""Bulk writes of generated rows: ``COPY … FROM STDIN`` on PostgreSQL, ``executemany`` elsewhere.

Rows carry explicit primary keys (allocated by the generator); ``reset_sequences`` moves the
PostgreSQL sequences past them afterwards.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models

from bangfu.registry.models import (
    BankAccount,
    BusinessRole,
    Home,
    Household,
    Income,
    IncomeRecord,
    Member,
    RigidExpense,
    TimelineEvent,
    Vehicle,
)

from .generate import COLUMNS

MODELS: dict[str, type[models.Model]] = {
    "household": Household,
    "member": Member,
    "income": Income,
    "rigid_expense": RigidExpense,
    "home": Home,
    "vehicle": Vehicle,
    "business_role": BusinessRole,
    "bank_account": BankAccount,
    "timeline": TimelineEvent,
    "income_record": IncomeRecord,
}


def check_columns() -> None:
    """Fail early if a model gained a column the generator does not fill."""
    for table, model in MODELS.items():
        expected = {f.attname for f in model._meta.concrete_fields}
        given = set(COLUMNS[table])
        if expected != given:
            raise RuntimeError(
                f"seed columns of {table} are out of date: missing {sorted(expected - given)}, "
                f"unknown {sorted(given - expected)}"
            )


def _columns_sql(table: str) -> tuple[str, str]:
    model = MODELS[table]
    qn = connection.ops.quote_name
    by_attname = {f.attname: f.column or f.attname for f in model._meta.concrete_fields}
    return qn(model._meta.db_table), ", ".join(qn(by_attname[a]) for a in COLUMNS[table])


def next_ids() -> dict[str, int]:
    """The first free primary key of each table."""
    result = {}
    for table, model in MODELS.items():
        top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
        result[table] = (top or 0) + 1
    return result


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


Rows = dict[str, list[tuple[Any, ...]]]


def write(rows: Rows) -> None:
    """Append the rows of every table (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        for table, table_rows in rows.items():
            if table_rows:
                _write_table(cursor.cursor if connection.vendor == "postgresql" else cursor, table, table_rows)


class Writer:
    """``write`` in the background on PostgreSQL: a thread runs the COPYs of one chunk while the
    caller generates the next, so Python and the database server work at the same time (the
    thread waits on the socket without holding the GIL). Elsewhere it writes in the foreground.

    Use inside the caller's transaction; the thread uses the same connection, and the caller does
    not touch the database between ``__enter__`` and ``__exit__``.
    """

    def __init__(self) -> None:
        self.background = connection.vendor == "postgresql"
        self.queue: queue.Queue[Rows | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Writer:
        if self.background:
            connection.ensure_connection()
            raw = connection.connection  # the psycopg connection, already inside the transaction
            self.thread = threading.Thread(target=self._run, args=(raw,), name="seed-copy", daemon=True)
            self.thread.start()
        return self

    def _run(self, raw: Any) -> None:
        try:
            with raw.cursor() as cursor:
                while (rows := self.queue.get()) is not None:
                    for table, table_rows in rows.items():
                        if table_rows:
                            _write_table(cursor, table, table_rows)
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
            while self.queue.get() is not None:  # drain so the caller never blocks
                pass

    def put(self, rows: Rows) -> None:
        if not self.background:
            write(rows)
            return
        if self.error is not None:
            raise self.error
        self.queue.put(rows)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None and exc is None:
            raise self.error


def _write_table(cursor: Any, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``cursor``: a psycopg cursor on PostgreSQL, Django's cursor elsewhere."""
    name, cols = _columns_sql(table)
    if connection.vendor == "postgresql":
        with cursor.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * len(COLUMNS[table]))
        cursor.executemany(
            f"INSERT INTO {name} ({cols}) VALUES ({marks})",  # noqa: S608 - identifiers from the models
            [tuple(_sqlite_value(v) for v in row) for row in rows],
        )


def reset_sequences() -> None:
    """Move the id sequences past the explicit ids (PostgreSQL; SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(MODELS.values()))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def analyze() -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL). Without them the planner
    takes the freshly filled tables for empty and, e.g., probes every household of a province
    for an ID-number search instead of starting from the ID's index."""
    if connection.vendor != "postgresql":
        return
    from bangfu.org.models import OrgUnit

    tables = [OrgUnit._meta.db_table, *(m._meta.db_table for m in MODELS.values())]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
