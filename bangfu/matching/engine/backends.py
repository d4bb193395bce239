"""Where the rule SQL runs: DuckDB in this process (default), or Spark (local or a cluster).

Both read the same Parquet snapshots and run the same SQL (``rules.rule_sql``); ``match``
turns their rows into findings in one place, so the two give identical findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .rules import Finding, Hit, RuleParams, build_findings, rule_sql
from .schemas import DatasetKind

PERSON_COLUMNS = ("member_id", "household_id", "id_key", "name", "monthly_income", "household_size")


@dataclass(frozen=True)
class DatasetSource:
    dataset_id: int
    kind: DatasetKind
    path: str  # a Parquet snapshot


class Backend(Protocol):
    name: str

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> list[Hit]: ...


def _hit(source: DatasetSource, row: Sequence[Any]) -> Hit:
    return Hit(
        dataset_id=source.dataset_id,
        kind=source.kind.value,
        member_id=int(row[0]),
        household_id=int(row[1]),
        record_key=str(row[2]),
        rule=str(row[3]),
        person_name=row[4],
        record_name=row[5],
        value_num=row[6],
        value_text=row[7],
        value_date=row[8],
    )


def _sql_path(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


class DuckDBBackend:
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def hits(
        self, persons_path: str, datasets: Sequence[DatasetSource], params: RuleParams, today: dt.date
    ) -> list[Hit]:
        import duckdb

        out: list[Hit] = []
        with duckdb.connect() as con:
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            if self.memory_limit:
                con.execute(f"SET memory_limit = {_sql_path(self.memory_limit)}")
            con.execute(f"CREATE VIEW persons AS SELECT * FROM read_parquet({_sql_path(persons_path)})")  # noqa: S608
            for i, source in enumerate(datasets):
                view = f"ds{i}"
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_sql_path(source.path)})")  # noqa: S608
                rows = con.execute(rule_sql(source.kind, view, params, today)).fetchall()
                out.extend(_hit(source, row) for row in rows)
        return out


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
    ) -> list[Hit]:
        spark = self.session()
        spark.read.parquet(persons_path).createOrReplaceTempView("persons")
        out: list[Hit] = []
        for i, source in enumerate(datasets):
            view = f"ds{i}"
            spark.read.parquet(source.path).createOrReplaceTempView(view)
            rows = spark.sql(rule_sql(source.kind, view, params, today)).collect()
            out.extend(_hit(source, tuple(row)) for row in rows)
        return out


def get_backend(name: str, **options: Any) -> Backend:
    if name == "duckdb":
        return DuckDBBackend(**options)
    if name == "spark":
        return SparkBackend(**options)
    raise ValueError(f"unknown engine {name!r} (duckdb or spark)")


def match(
    backend: Backend,
    persons_path: str,
    datasets: Sequence[DatasetSource],
    params: RuleParams | None = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """All findings of ``datasets`` against the persons snapshot, sorted."""
    day = today or dt.date.today()  # noqa: DTZ011 - callers pass the Shanghai date; this is the fallback
    return build_findings(backend.hits(persons_path, datasets, params or RuleParams(), day))
