"""The cache every web process shares: a table in the project's database (no other service to run).

Django's ``DatabaseCache`` reads a counter and writes it back in two steps, so two processes
counting the same client at once could both write the same number and a rate limit would let more
through. ``incr`` here reads the row under a lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
IMMEDIATE transactions let one writer in at a time) and adds in the same transaction.

The table is created by a migration (``common`` 0004), so ``migrate`` is the only set-up step.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router, transaction
from django.utils.timezone import now as tz_now


class DatabaseCache(DjangoDatabaseCache):
    _table: str  # set by Django's base class (not in its type stubs)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """Add ``delta`` to the stored number at once for every process; ``ValueError`` when the
        key is missing or expired, as for any Django cache."""
        cache_key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        qn = connection.ops.quote_name
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0))
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {qn('value')} FROM {qn(self._table)} "  # noqa: S608 - names quoted, values bound
                f"WHERE {qn('cache_key')} = %s AND {qn('expires')} > %s{lock}",
                [cache_key, now],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode(), validate=True)) + delta  # noqa: S301 - our own rows
            cursor.execute(
                f"UPDATE {qn(self._table)} SET {qn('value')} = %s WHERE {qn('cache_key')} = %s",  # noqa: S608
                [base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1"), cache_key],
            )
        return value
