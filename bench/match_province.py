# ruff: noqa: S608, E501 - a benchmark script: SQL over its own temporary files
"""Province benchmark for cross-department checks (issue: 232k persons × 5 datasets × 5M rows).

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python bench/match_province.py [--rows 5000000] [--import-rows 1000000] [--only import|match]

Measures, in one run and beside its baseline:
* matching: the engine (rule SQL and findings, one DuckDB query over the Parquet snapshots) against a
  bare DuckDB hash join of the same files on the integer key;
* import: ``ingest`` of a CSV and of a Parquet file of raw ID numbers (rows/s) against DuckDB's own
  copy of the same file to Parquet (read, write LZ4 as import does, nothing else), the two in turn, three times each.
Synthetic data: about 3.5 % of each dataset's rows belong to registry persons.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django

django.setup()

import duckdb  # noqa: E402

from bangfu.common.ids import build_resident_id  # noqa: E402
from bangfu.matching.engine import backends, record_keys  # noqa: E402
from bangfu.matching.engine.names import name_key_sql, name_norm_fast_sql  # noqa: E402
from bangfu.matching.engine.schemas import DatasetKind  # noqa: E402
from bangfu.matching.ingest import ingest  # noqa: E402

KINDS = {
    DatasetKind.VEHICLES: "CASE WHEN i % 5 = 0 THEN '残疾人专用车' ELSE '小型轿车' END AS vehicle_type",
    DatasetKind.REAL_ESTATE: "40.0 + (i % 90) AS area, DATE '2000-01-01' + CAST(i % 9000 AS INTEGER) AS purchase_date",
    DatasetKind.BUSINESS_ROLES: "'某公司' AS company, '股东' AS role, '存续' AS company_status, (i % 3 <> 0) AS company_active",
    DatasetKind.SOCIAL_INSURANCE: "1000.0 + (i % 9000) AS contribution_base",
    DatasetKind.DIBAO_ROLL: "'在保' AS status, '城市低保' AS programme",
}


def timed[T](fn: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result  # repeat >= 1


def make_engine_data(tmp: Path, persons: int, rows: int) -> tuple[str, list[backends.DatasetSource]]:
    con = duckdb.connect()
    person_path = tmp / "persons.parquet"
    # The names' normalised forms, as import and the persons snapshot compute them, then their keys.
    person_norm = f"COALESCE({name_norm_fast_sql('name')}, name)"
    row_norm = f"COALESCE({name_norm_fast_sql('name')}, replace(name, '張', '张'))"
    con.execute(
        f"COPY (SELECT i AS member_id, i // 3 AS household_id, (hash(i) >> 1)::BIGINT AS id_key, "
        f"{name_key_sql(person_norm)} AS name_key, 800.0 AS monthly_income, 3 AS household_size "
        f"FROM (SELECT i, '张' || (i % 1000) AS name FROM range({persons}) t(i))) TO '{person_path}' (FORMAT parquet)"
    )
    sources = []
    for n, (kind, extra) in enumerate(KINDS.items()):
        path = tmp / f"{kind.value}.parquet"
        match_every = 29  # ≈ 3.5 %
        rows_sql = (
            f"SELECT i AS row_no, CASE WHEN i % {match_every} = 0 THEN (hash((i * 7 + {n}) % {persons}) >> 1)::BIGINT "
            f"ELSE (hash(i + {(n + 1) * 1_000_000_000}) >> 1)::BIGINT END AS id_key, "
            f"name, {name_key_sql(row_norm)} AS name_key, 'R' || i AS record_key, {extra} "
            f"FROM (SELECT *, CASE WHEN i % 7 = 0 THEN '張' WHEN i % 13 = 0 THEN '王' ELSE '张' END "
            f"|| (((i * 7 + {n}) % {persons}) % 1000) AS name FROM range({rows}) t(i))"
        )
        # As import writes it: record keys as integers where they fit, and the footer saying that
        # no two records share an ID and a record key.
        source = duckdb.connect()
        con.register("source", record_keys.packed_reader(source.sql(rows_sql).to_arrow_reader(1_000_000)))
        meta = f"KV_METADATA {{'{record_keys.UNIQUE_META}': '1'}}"
        con.execute(f"COPY source TO '{path}' (FORMAT parquet, COMPRESSION lz4_raw, {meta})")
        con.unregister("source")
        sources.append(backends.DatasetSource(n + 1, kind, str(path)))
    return str(person_path), sources


def bare_join(persons: str, sources: list[backends.DatasetSource]) -> int:
    con = duckdb.connect()
    total = 0
    for s in sources:
        total += con.execute(
            f"SELECT count(*) FROM read_parquet('{persons}') p JOIN read_parquet('{s.path}') d ON p.id_key = d.id_key"
        ).fetchall()[0][0]
    return total


def make_import_files(tmp: Path, rows: int) -> tuple[Path, Path]:
    rng = random.Random(7)
    base = dt.date(1950, 1, 1)
    ids = [
        build_resident_id("532923", base + dt.timedelta(days=rng.randrange(20000)), rng.randrange(100), i % 2 == 0)
        for i in range(rows)
    ]
    csv_path = tmp / "vehicles.csv"
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write("身份证号,姓名,号牌号码,车辆类型\n")
        fh.writelines(f"{v},张三,云A{i},小型轿车\n" for i, v in enumerate(ids))
    pq_path = tmp / "vehicles.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar=true)) TO '{pq_path}' (FORMAT parquet)"
    )
    return csv_path, pq_path


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_matching(tmp: Path, args: argparse.Namespace) -> None:
    persons, sources = make_engine_data(tmp, args.persons, args.rows)
    print(f"matching {args.persons:,} persons × {len(sources)} × {args.rows:,} rows (median of 3, in turn)")
    base, eng = [], []
    for _ in range(3):  # alternate, so both see the same machine load
        t, pairs = timed(lambda: bare_join(persons, sources), 1)
        base.append(t)
        t, found = timed(lambda: backends.match_table(backends.DuckDBBackend(), persons, sources), 1)
        eng.append(t)
    base_t, eng_t = statistics.median(base), statistics.median(eng)
    by = found.group_by(["rule", "confidence"]).aggregate([("member_id", "count")]).to_pylist()
    print(f"  bare DuckDB join on BIGINT keys: {base_t:.2f} s ({pairs:,} pairs)  runs {[round(x, 2) for x in base]}")
    print(
        f"  engine (rules + findings table): {eng_t:.2f} s ({found.num_rows:,} findings), "
        f"ratio {eng_t / base_t:.2f}  runs {[round(x, 2) for x in eng]}"
    )
    print("  findings by rule/confidence:", {(r["rule"], r["confidence"]): r["member_id_count"] for r in by})


def bench_import(tmp: Path, rows: int) -> None:
    csv_path, pq_path = make_import_files(tmp, rows)
    print(f"import of {rows:,} rows (median of 3; the DuckDB copy and the import in turn)  load {load()}")
    for label, path in (("CSV", csv_path), ("Parquet", pq_path)):
        reader = "read_csv" if label == "CSV" else "read_parquet"
        copy = (
            f"COPY (SELECT * FROM {reader}('{path}')) TO '{tmp / 'copy.parquet'}' (FORMAT parquet, COMPRESSION lz4_raw)"
        )
        work = tmp / f"w-{label}"
        copies, runs = [], []
        for n in range(3):  # alternate, so both see the same machine load
            t = time.perf_counter()
            duckdb.connect().execute(copy)
            copies.append(time.perf_counter() - t)
            (work / str(n)).mkdir(parents=True)
            t = time.perf_counter()
            result = ingest(path, DatasetKind.VEHICLES, work / str(n))
            runs.append(time.perf_counter() - t)
        copy_t, took = statistics.median(copies), statistics.median(runs)
        print(
            f"  baseline {label}: DuckDB read + write Parquet, nothing else: {rows / copy_t:,.0f} rows/s"
            f"  runs {[round(x, 2) for x in copies]}"
        )
        print(
            f"  import {label}: {result.rows_taken:,} rows in {took:.2f} s = {result.rows_taken / took:,.0f} rows/s, "
            f"{took / copy_t:.2f}× the copy  runs {[round(x, 2) for x in runs]}  load {load()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=232_000)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["import", "match"], help="run one part only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmpdir:
        tmp = Path(tmpdir)
        if args.only != "import":
            bench_matching(tmp, args)
        if args.only != "match":
            bench_import(tmp, args.import_rows)
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
