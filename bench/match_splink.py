# ruff: noqa: S608, E501 - a benchmark script: SQL over its own temporary files
"""The match engine against Splink (DuckDB backend) on 232,000 persons × 1,000,000 department rows.

    .venv/bin/pip install -e '.[bench]'   # Splink (works with the DuckDB the project uses)
    .venv/bin/python bench/match_splink.py [--persons 232000] [--rows 1000000]

Both link on the pre-normalised 64-bit ID key with a name comparison: Splink blocks on the key
and compares the key (exact) and the names (Jaro-Winkler; EM trained blocking on each in turn);
the engine joins on the key and compares the stored 64-bit keys of the normalised names
(``names.name_key_sql``). Reports, in one run, the median of 3 for: the engine; Splink's
deterministic link; Splink's full model (u by random sampling, EM, predict). Then whether the two
agree on every exact-ID match (the same person–record pairs), how many of those the engine finds
under another name (low confidence) and how many Splink scores below a 0.5 match probability.
Names in the department rows vary as in real files: traditional forms, middle dots, spaces. The
department snapshot is written as import writes it (LZ4, record keys as integers, the name-key tag and the
unique-records flag in its metadata).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bangfu.matching.engine import backends, record_keys
from bangfu.matching.engine.names import NAME_KEY_META, name_key_tag, name_keys, normalise_name
from bangfu.matching.engine.rules import Confidence
from bangfu.matching.engine.schemas import DatasetKind

GIVEN = "建国华明丽军伟芳敏静强磊洋艳勇杰娟涛超秀英霞平刚桂兰"
N = len(GIVEN)
VARIANTS = {"国": "國", "华": "華", "丽": "麗", "军": "軍", "伟": "偉", "杰": "傑", "兰": "蘭"}


def make_data(tmp: Path, persons: int, rows: int) -> tuple[Path, Path]:
    con = duckdb.connect()
    people = con.sql(
        f"SELECT i AS member_id, i // 3 AS household_id, (hash(i) >> 1)::BIGINT AS id_key, "
        f"'张' || substr('{GIVEN}', CAST(i % {N} AS INTEGER) + 1, 1) || substr('{GIVEN}', CAST((i // {N}) % {N} AS INTEGER) + 1, 1) AS name, "
        f"800.0 AS monthly_income, 3 AS household_size FROM range({persons}) t(i)"
    ).to_arrow_table()
    names = people.column("name").to_pylist()
    people = people.append_column("name_key", name_keys([normalise_name(n) for n in names]))
    person_path = tmp / "persons.parquet"
    pq.write_table(people, person_path)
    # Rows: every 29th belongs to a person (≈ 3.5 %); its name as the department wrote it.
    con.register("people", people)
    ds = con.sql(
        f"SELECT i AS row_no, CASE WHEN i % 29 = 0 THEN p.id_key ELSE (hash(i + 1000000000000) >> 1)::BIGINT END AS id_key, "
        f"COALESCE(p.name, '李' || (i % 1000)) AS name, 'R' || i AS record_key, '在保' AS status, '城市低保' AS programme "
        f"FROM range({rows}) t(i) LEFT JOIN people p ON i % 29 = 0 AND p.member_id = (i * 7) % {persons}"
    ).to_arrow_table()
    raw = ds.column("name").to_pylist()
    varied = []
    for n, name in enumerate(raw):
        if n % 11 == 0:
            name = "".join(VARIANTS.get(c, c) for c in name)  # traditional forms
        elif n % 13 == 0:
            name = name[:1] + " " + name[1:]  # a space
        elif n % 17 == 0:
            name = name[:1] + "・" + name[1:]  # a katakana middle dot
        varied.append(name)
    ds = ds.set_column(ds.column_names.index("name"), "name", pa.array(varied))
    ds = ds.append_column("name_key", name_keys([normalise_name(n) for n in varied]))
    ds = record_keys.packed_reader(ds.to_reader()).read_all()  # record keys as integers, as import writes them
    ds = ds.replace_schema_metadata({NAME_KEY_META: name_key_tag(), record_keys.UNIQUE_META: "1"})
    ds_path = tmp / "dibao.parquet"
    pq.write_table(ds, ds_path, compression="lz4")
    return person_path, ds_path


Pairs = set[tuple[int, str]]  # (member id, department record key)


def engine(person_path: Path, ds_path: Path) -> tuple[Pairs, Pairs]:
    """The engine's pairs, and those of them under another name (low confidence)."""
    found = backends.match_table(
        backends.DuckDBBackend(), str(person_path), [backends.DatasetSource(1, DatasetKind.DIBAO_ROLL, str(ds_path))]
    )
    members, records = found.column("member_id").to_pylist(), found.column("record_key").to_pylist()
    confidence = found.column("confidence").to_pylist()
    pairs = set(zip(members, records, strict=True))
    low = {p for p, c in zip(zip(members, records, strict=True), confidence, strict=True) if c == Confidence.LOW.value}
    return pairs, low


# (person, department row) whichever side Splink put each table on.
_PAIRS = (
    "SELECT CASE WHEN source_dataset_l = 'persons' THEN unique_id_l ELSE unique_id_r END, "
    "CASE WHEN source_dataset_l = 'persons' THEN unique_id_r ELSE unique_id_l END FROM {}"
)


def splink_link(person_path: Path, ds_path: Path, full: bool) -> tuple[Pairs, Pairs]:
    """Splink's pairs, and (full model) those of them below a 0.5 match probability."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    con = duckdb.connect()
    db = DuckDBAPI(connection=con)
    left = db.register(
        con.sql(f"SELECT member_id AS unique_id, id_key, name FROM read_parquet('{person_path}')").to_arrow_table(),
        table_name="persons",
    )
    right = db.register(
        con.sql(
            f"SELECT row_no AS unique_id, id_key, name, {record_keys.unpack_sql('rk_hi', 'rk_lo', 'record_key')} "
            f"AS record_key FROM read_parquet('{ds_path}')"
        ).to_arrow_table(),
        table_name="dept",
    )
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.ExactMatch("id_key"), cl.JaroWinklerAtThresholds("name", [0.9, 0.7])],
        blocking_rules_to_generate_predictions=[block_on("id_key")],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([left, right], settings, log_level=logging.WARNING)
    if not full:
        pairs = linker.inference.deterministic_link()
        rows, low = con.sql(_PAIRS.format(pairs.physical_name)).fetchall(), []
    else:
        linker.training.estimate_probability_two_random_records_match([block_on("id_key")], recall=0.98)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_key"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
        pred = linker.inference.predict()
        rows = con.sql(_PAIRS.format(pred.physical_name)).fetchall()
        low = con.sql(_PAIRS.format(pred.physical_name) + " WHERE match_probability < 0.5").fetchall()
    # The department row's record key is 'R' || row_no.
    return {(int(m), f"R{int(r)}") for m, r in rows}, {(int(m), f"R{int(r)}") for m, r in low}


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=232_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if _version("splink") == "not installed":
        sys.exit("Splink is not installed: .venv/bin/pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory(prefix="bench-splink-") as tmpdir:
        person_path, ds_path = make_data(Path(tmpdir), args.persons, args.rows)
        times: dict[str, list[float]] = {"engine": [], "splink deterministic": [], "splink full model": []}
        results: dict[str, tuple[Pairs, Pairs]] = {}
        load_before = os.getloadavg()[0]
        for _ in range(3):  # alternate, so each sees the same machine load
            for label, fn in (
                ("engine", lambda: engine(person_path, ds_path)),
                ("splink deterministic", lambda: splink_link(person_path, ds_path, False)),
                ("splink full model", lambda: splink_link(person_path, ds_path, True)),
            ):
                t = time.perf_counter()
                results[label] = fn()
                times[label].append(time.perf_counter() - t)
        print(
            f"{args.persons:,} persons × {args.rows:,} rows, ID blocking + name comparison (median of 3; "
            f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)"
        )
        base = statistics.median(times["engine"])
        for label, runs in times.items():
            pairs, low = results[label]
            print(
                f"  {label:22}: {statistics.median(runs):6.2f} s  ×{statistics.median(runs) / base:5.1f}  "
                f"runs {[round(r, 2) for r in runs]}  pairs {len(pairs):,}"
                + (f", {len(low):,} under another name" if label == "engine" else "")
                + (f", {len(low):,} below 0.5 probability" if label == "splink full model" else "")
            )
        ours = results["engine"][0]
        for label in ("splink deterministic", "splink full model"):
            theirs = results[label][0]
            print(
                f"  agreement with {label}: {ours == theirs} (only engine {len(ours - theirs)}, only Splink {len(theirs - ours)})"
            )
        ours_low, theirs_low = results["engine"][1], results["splink full model"][1]
        print(
            f"  name disagreements: engine under another name {len(ours_low):,}, Splink below 0.5 {len(theirs_low):,}, "
            f"both {len(ours_low & theirs_low):,}"
        )
        print(f"  Splink {_version('splink')}, DuckDB {duckdb.__version__}")


if __name__ == "__main__":
    main()
