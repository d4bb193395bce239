# ruff: noqa: S608, E501 - a benchmark script: SQL over its own temporary files
"""Province benchmark for cross-department checks (issue: 232k persons × 5 datasets × 5M rows).

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python bench/match_province.py [--rows 5000000] [--import-rows 1000000]

Measures, in one run and beside its baseline:
* matching: the engine (rule SQL on DuckDB over the Parquet snapshots + findings) against a
  bare DuckDB hash join of the same files on the integer key;
* import: ``ingest`` of a CSV and of a Parquet file of raw ID numbers (rows/s).
Synthetic data: about 3.5 % of each dataset's rows belong to registry persons.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django

django.setup()

import duckdb  # noqa: E402

from bangfu.common.ids import build_resident_id  # noqa: E402
from bangfu.matching.engine import backends  # noqa: E402
from bangfu.matching.engine.schemas import DatasetKind  # noqa: E402
from bangfu.matching.ingest import ingest  # noqa: E402

KINDS = {
    DatasetKind.VEHICLES: "CASE WHEN i % 5 = 0 THEN '残疾人专用车' ELSE '小型轿车' END AS vehicle_type",
    DatasetKind.REAL_ESTATE: "40.0 + (i % 90) AS area, DATE '2000-01-01' + CAST(i % 9000 AS INTEGER) AS purchase_date",
    DatasetKind.BUSINESS_ROLES: "'某公司' AS company, '股东' AS role, '存续' AS company_status, (i % 3 <> 0) AS company_active",
    DatasetKind.SOCIAL_INSURANCE: "1000.0 + (i % 9000) AS contribution_base",
    DatasetKind.DIBAO_ROLL: "'在保' AS status, '城市低保' AS programme",
}


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def make_engine_data(tmp: Path, persons: int, rows: int) -> tuple[str, list[backends.DatasetSource]]:
    con = duckdb.connect()
    person_path = tmp / "persons.parquet"
    con.execute(
        f"COPY (SELECT i AS member_id, i // 3 AS household_id, (hash(i) >> 1)::BIGINT AS id_key, '张' || (i % 1000) AS name, "
        f"800.0 AS monthly_income, 3 AS household_size FROM range({persons}) t(i)) TO '{person_path}' (FORMAT parquet)"
    )
    sources = []
    for n, (kind, extra) in enumerate(KINDS.items()):
        path = tmp / f"{kind.value}.parquet"
        match_every = 29  # ≈ 3.5 %
        con.execute(
            f"COPY (SELECT i AS row_no, CASE WHEN i % {match_every} = 0 THEN (hash((i * 7 + {n}) % {persons}) >> 1)::BIGINT "
            f"ELSE (hash(i + {(n + 1) * 1_000_000_000}) >> 1)::BIGINT END AS id_key, '' AS id_masked, "
            f"'张' || (i % 1000) AS name, 'R' || i AS record_key, {extra} FROM range({rows}) t(i)) "
            f"TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
        )
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=232_000)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmpdir:
        tmp = Path(tmpdir)
        persons, sources = make_engine_data(tmp, args.persons, args.rows)
        base_t, pairs = timed(lambda: bare_join(persons, sources))
        eng_t, found = timed(lambda: backends.match(backends.DuckDBBackend(), persons, sources))
        print(f"matching {args.persons:,} persons × {len(sources)} × {args.rows:,} rows")
        print(f"  bare DuckDB join on BIGINT keys: {base_t:.2f} s ({pairs:,} pairs)")
        print(f"  engine (rules + findings):       {eng_t:.2f} s ({len(found):,} findings), ratio {eng_t / base_t:.2f}")
        csv_path, pq_path = make_import_files(tmp, args.import_rows)
        for label, path in (("CSV", csv_path), ("Parquet", pq_path)):
            work = tmp / f"w-{label}"
            work.mkdir()
            t = time.perf_counter()
            result = ingest(path, DatasetKind.VEHICLES, work)
            took = time.perf_counter() - t
            print(
                f"  import {label}: {result.rows_taken:,} rows in {took:.2f} s = {result.rows_taken / took:,.0f} rows/s"
            )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
