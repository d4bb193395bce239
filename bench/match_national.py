# ruff: noqa: S608, E501 - a benchmark script: SQL over its own files, itself as a child process
"""National benchmark for cross-department checks: 10,000,000 persons × 50,000,000 department rows.

    .venv/bin/python bench/match_national.py [--persons 10000000] [--rows 50000000] [--data var/bench-national]
        [--compression lz4_raw]

The data files are generated once (Parquet, as import and the persons snapshot write them) and
kept in ``--data``. Each measurement runs in its own child process, so each peak memory is its
own; the baselines and the engine alternate, three rounds, and the medians are reported:
* join: a bare DuckDB hash join of the two files on the pre-normalised BIGINT key, returning the
  joined rows (every column of both files) as Arrow, as a join's result is handed on;
* count: the same join only counted, so DuckDB reads nothing but the two key columns (the
  strictest baseline: no payload is decoded or carried);
* engine: the match engine (rule SQL and findings in one DuckDB query), as a recheck runs it.
About 3.5 % of the department rows belong to registry persons. ``--compression`` writes the
department file with another Parquet codec (import writes lz4_raw, the default here), kept
beside the others, to measure what the codec costs the match. Each measurement reports its wall time, the CPU time of
its process (user + system: less disturbed by other work on the machine) and its peak memory;
both sides import their modules before the clock starts (a worker has them loaded);
the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generate(data: Path, persons: int, rows: int, compression: str = "lz4_raw") -> tuple[Path, Path]:
    import duckdb

    from bangfu.matching.engine import record_keys
    from bangfu.matching.engine.names import name_key_sql

    data.mkdir(parents=True, exist_ok=True)
    # ".k": snapshots with the name key, ".kr": and record keys as integers (files of before are left alone).
    codec = "" if compression == "zstd" else f".{compression}"
    person_path, ds_path = data / f"persons-{persons}.k.parquet", data / f"vehicles-{rows}.kr{codec}.parquet"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    person_name, row_name = "'张' || (i % 1000)", f"'张' || (((i * 7) % {persons}) % 1000)"
    if not person_path.exists():
        con.execute(
            f"COPY (SELECT i AS member_id, i // 3 AS household_id, (hash(i) >> 1)::BIGINT AS id_key, "
            f"{name_key_sql(person_name)} AS name_key, 800.0 AS monthly_income, "
            f"3 AS household_size FROM range({persons}) t(i)) TO '{person_path}' (FORMAT parquet)"
        )
    if not ds_path.exists():
        # As import writes it: record keys as integers where they fit, and the footer saying that
        # no two records share an ID and a record key.
        rows_sql = (
            f"SELECT i AS row_no, CASE WHEN i % 29 = 0 THEN (hash((i * 7) % {persons}) >> 1)::BIGINT "
            f"ELSE (hash(i + 1000000000000) >> 1)::BIGINT END AS id_key, "
            f"{row_name} AS name, 'R' || i AS record_key, "
            f"CASE WHEN i % 5 = 0 THEN '残疾人专用车' ELSE '小型轿车' END AS vehicle_type, "
            f"{name_key_sql(row_name)} AS name_key FROM range({rows}) t(i)"
        )
        source = duckdb.connect()  # makes the rows while the other connection writes them
        con.register("source", record_keys.packed_reader(source.sql(rows_sql).to_arrow_reader(1_000_000)))
        meta = f"KV_METADATA {{'{record_keys.UNIQUE_META}': '1'}}"
        con.execute(f"COPY source TO '{ds_path}' (FORMAT parquet, COMPRESSION {compression}, {meta})")
    return person_path, ds_path


def measure(what: str, persons: str, dataset: str) -> dict[str, float]:
    # Modules are imported before the clock starts, on both sides: a worker has them loaded.
    import duckdb

    from bangfu.matching.engine import backends
    from bangfu.matching.engine.schemas import DatasetKind

    start = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    if what == "join":
        n = (
            duckdb.connect()
            .sql(f"SELECT * FROM read_parquet('{persons}') p JOIN read_parquet('{dataset}') d ON p.id_key = d.id_key")
            .to_arrow_table()
            .num_rows
        )
    elif what == "count":
        n = (
            duckdb.connect()
            .execute(
                f"SELECT count(*) FROM read_parquet('{persons}') p JOIN read_parquet('{dataset}') d ON p.id_key = d.id_key"
            )
            .fetchall()[0][0]
        )
    else:
        found = backends.match_table(
            backends.DuckDBBackend(), persons, [backends.DatasetSource(1, DatasetKind.VEHICLES, dataset)]
        )
        n = found.num_rows
    took = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - start.ru_utime - start.ru_stime
    return {"seconds": took, "cpu": cpu, "rows": n, "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--data", default="var/bench-national")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compression", default="lz4_raw", choices=["zstd", "snappy", "lz4_raw", "uncompressed"])
    parser.add_argument("--measure", choices=["join", "count", "engine"])
    parser.add_argument("--files", nargs=2)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, *args.files)))
        return
    t = time.perf_counter()
    persons, dataset = generate(Path(args.data), args.persons, args.rows, args.compression)
    print(f"data ready in {time.perf_counter() - t:.0f} s: {persons.name}, {dataset.name}")
    results: dict[str, list[dict[str, float]]] = {"join": [], "count": [], "engine": []}
    for _ in range(args.rounds):
        for what in results:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", what, "--files", str(persons), str(dataset)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[what].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"matching {args.persons:,} persons × {args.rows:,} rows ({args.compression}; median of {args.rounds}, "
        f"alternating; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])})"
    )
    for what, runs in results.items():
        secs = [r["seconds"] for r in runs]
        print(
            f"  {what:6}: {statistics.median(secs):.2f} s  runs {[round(s, 2) for s in secs]}  "
            f"CPU {statistics.median(r['cpu'] for r in runs):.2f} s  "
            f"rows {int(runs[-1]['rows']):,}  peak RSS {max(r['peak_mb'] for r in runs):,.0f} MB"
        )
    eng = statistics.median(r["seconds"] for r in results["engine"])
    eng_cpu = statistics.median(r["cpu"] for r in results["engine"])
    for what in ("join", "count"):
        base = statistics.median(r["seconds"] for r in results[what])
        cpu_ratio = eng_cpu / statistics.median(r["cpu"] for r in results[what])
        print(f"  ratio engine / {what}: {eng / base:.2f} (CPU time {cpu_ratio:.2f})")


if __name__ == "__main__":
    main()
