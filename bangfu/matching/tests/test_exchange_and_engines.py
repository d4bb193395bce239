"""The hashed exchange with a checking centre, and DuckDB and Spark giving the same findings."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bangfu.common.models import AuditEntry
from bangfu.matching import services, snapshots
from bangfu.matching.engine import backends, record_keys
from bangfu.matching.engine.rules import RuleParams
from bangfu.matching.engine.schemas import DatasetKind
from bangfu.matching.models import Dataset, Finding


def test_hashed_exchange_round_trip(
    make_household: Any,
    users: dict[str, Any],
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _household, ids = make_household()
    request = tmp_path / "request.csv"
    count = services.exchange_request_export(actor=users["admin"], target=request)
    assert count == 3
    text = request.read_text(encoding="utf-8")
    assert not any(i in text for i in ids)  # no plaintext ID leaves
    assert "张建国" not in text
    assert AuditEntry.objects.filter(target_type="matching.exchange_request", action="export").exists()

    # The checking centre answers for the persons it has records of: the spouse owns a car.
    with request.open(encoding="utf-8") as fh:
        asked = list(csv.DictReader(fh))
    reply = tmp_path / "reply.csv"
    with reply.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_key", "号牌号码", "车辆类型"])
        writer.writerow([asked[1]["id_key"], "云L99999", "小型轿车"])
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=reply, source="checking centre")
    assert ds.prehashed
    assert ds.rows_taken == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    finding = Finding.objects.get()
    assert finding.member.name == "李秀英"
    assert (finding.rule, finding.record_key) == ("vehicle_owned", "云L99999")
    assert finding.confidence == "low"  # the reply carries no name: the ID alone matched


def test_plain_request_files_need_the_reveal_permission(
    make_household: Any, users: dict[str, Any], tmp_path: Path
) -> None:
    from django.core.exceptions import PermissionDenied

    make_household()
    with pytest.raises(PermissionDenied):
        services.exchange_request_export(actor=users["province_manager"], target=tmp_path / "r.csv", hashed_only=False)
    assert services.exchange_request_export(actor=users["admin"], target=tmp_path / "r.parquet", fmt="parquet") == 3


def _all_kinds(make_household: Any, users: dict[str, Any], write_csv: Any) -> tuple[list[Dataset], Any]:
    _h1, a = make_household()
    _h2, b = make_household(unit="dalishi_g")
    recent = (dt.date.today() - dt.timedelta(days=30)).isoformat()  # noqa: DTZ011 - relative to the run date
    files = {
        "vehicles": [
            ["身份证号", "姓名", "号牌号码", "车辆类型"],
            [a[0], "張建國", "云L1", "轿车"],
            [b[1], "别人", "云A2", "轿车"],
        ],
        "real_estate": [
            ["身份证号", "姓名", "不动产权证号", "建筑面积", "登记日期"],
            [a[0], "张建国", "H1", "120", "2001-01-01"],
            [a[1], "李秀英", "H2", "100", recent],
        ],
        "business_roles": [
            ["身份证号", "姓名", "企业名称", "职务", "经营状态"],
            [b[0], "张建国", "某公司", "监事", "存续"],
            [b[1], "李秀英", "某公司", "股东", "在业"],
        ],
        "social_insurance": [["身份证号", "姓名", "缴费基数"], [a[1], "李秀英", "6000"], [b[1], "李秀英", "1300"]],
        "housing_fund": [["身份证号", "姓名", "缴存基数"], [b[0], "张建国", "5000"]],
        "hukou_death": [["身份证号", "姓名", "死亡日期"], [a[2], "张小明", "2025-01-01"]],
        "dibao_roll": [["身份证号", "姓名", "救助状态"], [b[2], "张小明", "在保"], [a[2], "张小明", "停保"]],
        "tax": [["身份证号", "姓名", "年收入"], [a[0], "张建国", "90000"]],
    }
    datasets = [
        services.dataset_import(actor=users["admin"], kind=kind, path=write_csv(f"{kind}.csv", rows))
        for kind, rows in files.items()
    ]
    return datasets, datasets[0].unit


def _findings(backend: backends.Backend, datasets: list[Dataset], unit: Any, tmp_path: Path) -> list[Any]:
    persons = tmp_path / "persons.parquet"
    snapshots.write_persons(unit, persons)
    sources = [
        backends.DatasetSource(d.pk, DatasetKind(d.kind), snapshots.default_storage.path(d.snapshot)) for d in datasets
    ]
    return backends.match(backend, str(persons), sources, RuleParams(), dt.date.today())  # noqa: DTZ011


def test_every_kind_finds_what_it_should_on_duckdb(
    make_household: Any, users: dict[str, Any], write_csv: Any, tmp_path: Path
) -> None:
    datasets, unit = _all_kinds(make_household, users, write_csv)
    found = _findings(backends.DuckDBBackend(), datasets, unit, tmp_path)
    got = sorted((f.kind, f.rule, f.record_key, f.confidence) for f in found)
    assert got == [
        ("business_roles", "active_company_role", "row 3", "high"),
        ("dibao_roll", "on_dibao", "row 2", "high"),
        ("housing_fund", "income_discrepancy", "row 2", "high"),
        ("hukou_death", "death_record", "row 2", "high"),
        ("real_estate", "homes_over_limit", "H1,H2", "high"),
        ("real_estate", "recent_home_purchase", "H2", "high"),
        ("social_insurance", "income_discrepancy", "row 2", "high"),
        ("tax", "income_discrepancy", "row 2", "high"),
        ("vehicles", "vehicle_owned", "云A2", "low"),
        ("vehicles", "vehicle_owned", "云L1", "high"),
    ]


@pytest.mark.spark
def test_duckdb_and_spark_give_identical_findings(
    make_household: Any, users: dict[str, Any], write_csv: Any, tmp_path: Path
) -> None:
    pytest.importorskip("pyspark")
    datasets, unit = _all_kinds(make_household, users, write_csv)
    duck = _findings(backends.DuckDBBackend(), datasets, unit, tmp_path)
    spark = _findings(backends.SparkBackend(master="local[1]"), datasets, unit, tmp_path)
    assert len(duck) == 10
    assert spark == duck
    # Snapshots written before record keys were kept as integers: their keys are all text.
    for ds in datasets:
        path = snapshots.default_storage.path(ds.snapshot)
        key = record_keys.unpack_sql("rk_hi", "rk_lo", "record_key")
        old = f"SELECT * EXCLUDE (rk_hi, rk_lo, record_key), {key} AS record_key FROM '{path}'"  # noqa: S608
        duckdb.connect().execute(f"COPY ({old}) TO '{path}.old' (FORMAT parquet)")
        Path(path + ".old").replace(path)
        assert not backends.snapshot_shape(path).packed
    assert _findings(backends.SparkBackend(master="local[1]"), datasets, unit, tmp_path) == duck
    assert _findings(backends.DuckDBBackend(), datasets, unit, tmp_path) == duck
