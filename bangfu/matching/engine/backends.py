"""Where the rule SQL runs: DuckDB in this process (default), or Spark (local or a cluster).

Both read the same Parquet snapshots and run the same rule SQL (``rules.rule_sql``). Spark hands
back the rules' rows ("hits") as Arrow and ``findings_table`` turns them into findings with one
DuckDB query (``rules.FINDINGS_SQL``); DuckDB runs the rules and that same findings SQL as one
query (``rules.findings_sql``), so that no row leaves DuckDB until the findings do and the two
engines give identical findings (a test compares them).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from .names import NAME_KEY_META, name_key_tag
from .record_keys import UNIQUE_META, with_record_keys
from .rules import (
    FINDINGS_SQL,
    HOUSEHOLD_RULES,
    Finding,
    Rule,
    RuleParams,
    findings_sql,
    hits_sql,
    homes_over_limit_sql,
    real_estate_matched_sql,
    recent_purchase_sql,
    tagged_sql,
)
from .schemas import DatasetKind

PERSON_COLUMNS = ("member_id", "household_id", "id_key", "name_key", "monthly_income", "household_size")

HIT_SCHEMA = pa.schema(
    [
        ("dataset_id", pa.int64()),
        ("kind", pa.string()),
        ("member_id", pa.int64()),
        ("household_id", pa.int64()),
        ("rk_hi", pa.int64()),
        ("rk_lo", pa.int64()),
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
    "rk_hi": "BIGINT",
    "rk_lo": "BIGINT",
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


@dataclass(frozen=True)
class SnapshotShape:
    """What a dataset snapshot's footer says about it."""

    packed: bool  # its record keys are integers where they fit (``record_keys``); older: text only
    unique: bool  # no two of its records share an ID key and a record key (``UNIQUE_META``)
    no_text_keys: bool = False  # packed, and every key fitted: its ``record_key`` is NULL throughout


def snapshot_shape(path: str) -> SnapshotShape:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    unique = (schema.metadata or {}).get(UNIQUE_META.encode()) == b"1"
    if "rk_hi" not in schema.names:
        return SnapshotShape(packed=False, unique=unique)
    return SnapshotShape(packed=True, unique=unique, no_text_keys=_all_null(meta, schema.get_field_index("record_key")))


def _all_null(meta: Any, column: int) -> bool:
    """Whether the footer's statistics say that column ``column`` holds nothing but NULLs."""
    nulls = 0
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is None or not stats.has_null_count:
            return False
        nulls += stats.null_count
    return nulls == meta.num_rows


# A snapshot written before record keys were packed gives NULL integers: its keys are all text.
_UNPACKED = "CAST(NULL AS BIGINT) AS rk_hi, CAST(NULL AS BIGINT) AS rk_lo"


class Backend(Protocol):
    name: str

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table: ...


class SnapshotTooOld(ValueError):  # noqa: N818 - a state of the data, not a programming error
    """A dataset snapshot written before names were stored as keys, or with another name key
    (``names.name_key_tag``): import the file again."""


def check_snapshots(datasets: Sequence[DatasetSource]) -> None:
    """Every snapshot has the columns the rules read (``name_key``), computed as now."""
    import pyarrow.parquet as pq

    for source in datasets:
        schema = pq.read_schema(source.path)
        tag = (schema.metadata or {}).get(NAME_KEY_META.encode())
        if "name_key" not in schema.names or (tag is not None and tag.decode() != name_key_tag()):
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

    def _views(self, con: Any, persons_path: str, datasets: Sequence[DatasetSource]) -> list[str]:
        """Views ``persons`` and ``ds<i>`` over the Parquet files: read where the query reads them,
        only the columns it needs (nothing is copied into tables first)."""
        persons = ", ".join(PERSON_COLUMNS)
        con.execute(f"CREATE VIEW persons AS SELECT {persons} FROM read_parquet({_sql_path(persons_path)})")  # noqa: S608
        views = []
        for i, source in enumerate(datasets):
            views.append(f"ds{i}")
            shape = snapshot_shape(source.path)
            # Every key an integer: the text column is not read (nor carried through the join).
            columns = "* REPLACE (CAST(NULL AS VARCHAR) AS record_key)" if shape.no_text_keys else "*"
            extra = "" if shape.packed else f", {_UNPACKED}"
            con.execute(f"CREATE VIEW ds{i} AS SELECT {columns}{extra} FROM read_parquet({_sql_path(source.path)})")  # noqa: S608
        return views

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table:
        with self.connect() as con:
            views = self._views(con, persons_path, datasets)
            parts = [hits_sql(s.dataset_id, s.kind, v, params, today) for s, v in zip(datasets, views, strict=True)]
            if not parts:
                return HIT_SCHEMA.empty_table()
            return _conform(con.sql(" UNION ALL ".join(parts)).to_arrow_table())

    def findings(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> pa.Table:
        """``findings_table(self.hits(…))`` as one query: the rules' rows never leave DuckDB."""
        with self.connect() as con:
            con.execute("SET preserve_insertion_order = false")  # findings have no order
            views = self._views(con, persons_path, datasets)
            unique = all(snapshot_shape(s.path).unique for s in datasets)
            found = con.sql(findings_query(datasets, views, params, today, unique=unique)).to_arrow_table()
            return with_record_keys(found)


def findings_query(
    datasets: Sequence[DatasetSource],
    views: Sequence[str],
    params: RuleParams,
    today: dt.date,
    *,
    unique: bool = False,
) -> str:
    """``rules.findings_sql`` over the rules of every dataset (view ``views[i]``), each rule's rows
    read once: a real-estate dataset's matched homes are computed once for its two rules.
    ``unique``: no dataset has two records with one ID and one record key."""
    columns = ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in _DUCK_TYPES.items())
    ctes: list[str] = []
    person: list[str] = []
    household: list[str] = [f"SELECT {columns} LIMIT 0"]
    for i, (source, view) in enumerate(zip(datasets, views, strict=True)):
        if source.kind == DatasetKind.REAL_ESTATE:
            ctes.append(f"m{i} AS MATERIALIZED ({real_estate_matched_sql(view)})")
            household.append(tagged_sql(source.dataset_id, source.kind, homes_over_limit_sql(f"m{i}", params)))
            person.append(tagged_sql(source.dataset_id, source.kind, recent_purchase_sql(f"m{i}", params, today)))
        else:
            person.append(hits_sql(source.dataset_id, source.kind, view, params, today))
    assert not HOUSEHOLD_RULES - {Rule.HOMES_OVER_LIMIT}  # noqa: S101 - the split above knows every household rule
    if not person:
        person.append(f"SELECT {columns} LIMIT 0")
    return findings_sql(_union(person), _union(household), ctes, unique=unique)


def _union(queries: Sequence[str]) -> str:
    return "(" + " UNION ALL ".join(f"({q})" for q in queries) + ")"


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
            frame = spark.read.parquet(source.path)
            if "rk_hi" not in frame.columns:  # an older snapshot: its record keys are all text
                frame = frame.selectExpr("*", *_UNPACKED.split(", "))
            frame.createOrReplaceTempView(view)
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
        return with_record_keys(con.sql(FINDINGS_SQL).to_arrow_table())


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
