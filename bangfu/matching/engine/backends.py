"""Where the rule SQL runs: DuckDB in this process (default), or Spark (local or a cluster).

Both read the same Parquet snapshots and run the same SQL (``rules.hits_sql``) and hand back
the rows as Arrow; ``match_table`` turns them into findings with one DuckDB query
(``rules.FINDINGS_SQL``), in one place, so the two engines give identical findings.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from .rules import FINDINGS_SQL, Finding, RuleParams, hits_sql
from .schemas import DatasetKind

PERSON_COLUMNS = ("member_id", "household_id", "id_key", "name", "name_norm", "monthly_income", "household_size")

HIT_SCHEMA = pa.schema(
    [
        ("dataset_id", pa.int64()),
        ("kind", pa.string()),
        ("member_id", pa.int64()),
        ("household_id", pa.int64()),
        ("record_key", pa.string()),
        ("rule", pa.string()),
        ("name_ok", pa.int32()),
        ("record_name", pa.string()),
        ("value_num", pa.float64()),
        ("value_text", pa.string()),
        ("value_date", pa.date32()),
    ]
)


_DUCK_TYPES = {
    "dataset_id": "BIGINT",
    "kind": "VARCHAR",
    "member_id": "BIGINT",
    "household_id": "BIGINT",
    "record_key": "VARCHAR",
    "rule": "VARCHAR",
    "name_ok": "INTEGER",
    "record_name": "VARCHAR",
    "value_num": "DOUBLE",
    "value_text": "VARCHAR",
    "value_date": "DATE",
}
assert tuple(_DUCK_TYPES) == tuple(HIT_SCHEMA.names)  # noqa: S101


@dataclass(frozen=True)
class DatasetSource:
    dataset_id: int
    kind: DatasetKind
    path: str  # a Parquet snapshot


class Backend(Protocol):
    name: str

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table: ...


class SnapshotTooOld(ValueError):  # noqa: N818 - a state of the data, not a programming error
    """A dataset snapshot written before names were stored normalised: import the file again."""


def check_snapshots(datasets: Sequence[DatasetSource]) -> None:
    """Every snapshot has the columns the rules read (``name_norm`` since the keyed hash changed)."""
    import pyarrow.parquet as pq

    for source in datasets:
        if "name_norm" not in pq.read_schema(source.path).names:
            raise SnapshotTooOld(f"dataset {source.dataset_id} was imported by an older version: import it again")


def _sql_path(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _conform(table: pa.Table) -> pa.Table:
    return table.select(list(HIT_SCHEMA.names)).cast(HIT_SCHEMA)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables([_conform(t) for t in tables]) if tables else HIT_SCHEMA.empty_table()


class DuckDBBackend:
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def connect(self) -> Any:
        import duckdb

        con = duckdb.connect()
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = {_sql_path(self.memory_limit)}")
        return con

    def _hits_into(
        self, con: Any, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> None:
        """The rules' rows of every dataset into the table ``hits`` of ``con``."""
        con.execute(f"CREATE TEMP TABLE persons AS SELECT * FROM read_parquet({_sql_path(persons_path)})")  # noqa: S608
        columns = ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in _DUCK_TYPES.items())
        con.execute(f"CREATE TEMP TABLE hits AS SELECT {columns} LIMIT 0")
        for i, source in enumerate(datasets):
            view = f"ds{i}"
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_sql_path(source.path)})")  # noqa: S608
            con.execute(f"INSERT INTO hits {hits_sql(source.dataset_id, source.kind, view, params, today)}")

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table:
        with self.connect() as con:
            self._hits_into(con, persons_path, datasets, params, today)
            return _conform(con.sql("SELECT * FROM hits").to_arrow_table())

    def findings(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table:
        """``findings_table(self.hits(…))`` without taking the rows out of DuckDB in between."""
        with self.connect() as con:
            self._hits_into(con, persons_path, datasets, params, today)
            return con.sql(FINDINGS_SQL).to_arrow_table()


class SparkBackend:
    """PySpark; ``master`` is ``local[*]`` by default (a cluster URL when configured)."""

    name = "spark"

    def __init__(self, *, master: str = "local[2]", conf: dict[str, str] | None = None) -> None:
        self.master = master
        self.conf = conf or {}

    def session(self) -> Any:
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(self.master)
            .appName("bangfu-matching")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
        )
        for key, value in self.conf.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table:
        spark = self.session()
        spark.read.parquet(persons_path).createOrReplaceTempView("persons")
        tables = []
        for i, source in enumerate(datasets):
            view = f"ds{i}"
            spark.read.parquet(source.path).createOrReplaceTempView(view)
            tables.append(spark.sql(hits_sql(source.dataset_id, source.kind, view, params, today)).toArrow())
        return _concat(tables)


def get_backend(name: str, **options: Any) -> Backend:
    if name == "duckdb":
        return DuckDBBackend(**options)
    if name == "spark":
        return SparkBackend(**options)
    raise ValueError(f"unknown engine {name!r} (duckdb or spark)")


def findings_table(hits: pa.Table, *, threads: int | None = None) -> pa.Table:
    """The findings (``rules.FINDING_COLUMNS``, details as JSON text) of the rules' rows."""
    import duckdb

    with duckdb.connect() as con:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.register("hits", _conform(hits))
        return con.sql(FINDINGS_SQL).to_arrow_table()


def match_table(
    backend: Backend,
    persons_path: str,
    datasets: Sequence[DatasetSource],
    params: RuleParams | None = None,
    today: dt.date | None = None,
) -> pa.Table:
    """All findings of ``datasets`` against the persons snapshot, as an Arrow table."""
    day = today or dt.date.today()  # noqa: DTZ011 - callers pass the Shanghai date; this is the fallback
    check_snapshots(datasets)
    if isinstance(backend, DuckDBBackend):
        return backend.findings(persons_path, datasets, params or RuleParams(), day)
    return findings_table(backend.hits(persons_path, datasets, params or RuleParams(), day))


def findings_from_table(table: pa.Table) -> list[Finding]:
    found = [Finding(**{**row, "details": json.loads(row["details"])}) for row in table.to_pylist()]
    return sorted(found, key=lambda f: f.sort_key)


def match(
    backend: Backend,
    persons_path: str,
    datasets: Sequence[DatasetSource],
    params: RuleParams | None = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """``match_table`` as a sorted list of ``Finding`` (for small runs and tests)."""
    return findings_from_table(match_table(backend, persons_path, datasets, params, today))
