"""What one department file's import may take: rows and unpacked size, read from a Parquet file's
footer before its data (a few hundred KB of dictionary-encoded Parquet hold tens of millions of
rows), a CSV file's rows once read, the columns of any file; the page and the API take less than
the command line; and a file the server cannot process is a refused import, never a server error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from bangfu.common.errors import DomainError
from bangfu.matching import ingest, services
from bangfu.matching.models import Dataset
from bangfu.org.services import token_create

VALID_ID = "110101199003074258"


def _repeated(path: Path, rows: int) -> Path:
    """The tester's file: every column dictionary-encoded, ``rows`` times the same value."""
    index = pa.array(np.zeros(rows, np.int32))

    def column(value: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(index, pa.array([value]))

    table = pa.table(
        {
            "身份证号": column(VALID_ID),
            "所有人": column("张三"),
            "号牌号码": column("云L12345"),
            "车辆类型": column("轿车"),
        }
    )
    pq.write_table(table, path, compression="zstd")
    return path


def _api(user: Any) -> Client:
    token = token_create(actor=user, user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def test_a_parquet_file_over_the_web_s_rows_is_refused_from_its_footer_naming_both(
    users: dict[str, Any], tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.BANGFU_DATASET_WEB_MAX_ROWS = 1_000
    path = _repeated(tmp_path / "车辆.parquet", 1_200)

    def never(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the file's rows were read")

    monkeypatch.setattr(ingest, "_run", never)  # refused before the engine reads a row
    with path.open("rb") as fh:
        answer = _api(users["province_manager"]).post("/api/v1/matching/datasets", {"kind": "vehicles", "file": fh})
    assert answer.status_code == 400
    body = answer.json()["error"]
    assert body["message"].startswith(
        "The file has 1,200 rows; an import on this page or through the API takes at most 1,000. "
        "Import it with the command line (bangfu match import)"
    )
    assert body["details"] == {"problem": "too_many_rows", "rows": 1200, "max_rows": 1000}

    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["province_manager"])
    with path.open("rb") as fh:
        html = page.post("/matching/datasets/import/", {"kind": "vehicles", "file": fh}).content.decode()
    assert "The file has 1,200 rows" in html
    assert not Dataset.objects.exists()


def test_the_command_line_takes_more_rows_than_the_web_and_refuses_past_its_own_limit(
    users: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    settings.BANGFU_DATASET_WEB_MAX_ROWS = 10
    settings.BANGFU_DATASET_MAX_ROWS = 1_000
    taken = _repeated(tmp_path / "ok.parquet", 50)
    call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(taken))
    (ds,) = Dataset.objects.all()
    assert (ds.rows_total, ds.rows_taken, ds.rows_duplicate) == (50, 1, 49)

    too_many = _repeated(tmp_path / "big.parquet", 1_001)
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(too_many))
    assert str(refused.value) == (
        "The file has 1,001 rows; one import takes at most 1,000. Split it into smaller files."
    )


def test_a_file_over_the_unpacked_size_is_refused(users: dict[str, Any], tmp_path: Path, settings: Any) -> None:
    settings.BANGFU_DATASET_WEB_MAX_MB = 0
    for path in (_repeated(tmp_path / "v.parquet", 10), tmp_path / "v.csv"):
        if path.suffix == ".csv":
            path.write_text(f"身份证号,姓名,号牌号码,车辆类型\n{VALID_ID},张三,云A1,轿车\n", encoding="utf-8")
        with translation.override("en"), pytest.raises(DomainError) as caught:
            services.dataset_import(
                actor=users["admin"], kind="vehicles", path=path, limits=services.import_limits(web=True)
            )
        assert caught.value.message.startswith("The file's data is 1 MB unpacked; an import on this page or")
        assert caught.value.details["problem"] == "too_large"


def test_a_csv_file_over_the_rows_is_refused_once_they_are_counted(
    users: dict[str, Any], write_csv: Any, settings: Any
) -> None:
    settings.BANGFU_DATASET_MAX_ROWS = 3
    path = write_csv(
        "v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], *([VALID_ID, "张三", "云A1", "轿车"] for _ in range(4))]
    )
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert caught.value.message == "The file has 4 rows; one import takes at most 3. Split it into smaller files."


def test_a_file_the_server_cannot_map_is_a_refused_import_not_a_server_error(
    users: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tester's 60M rows failed inside the request with ``OSError: Memory mapping file
    failed`` (a 500): the same failure, made to happen on a small file, is a 400 with a message."""

    def no_mapping(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("Memory mapping file failed: Cannot allocate memory")

    monkeypatch.setattr(ingest, "SPILL_ROWS", 0)  # the rows go to a memory-mapped file, as a big file's do
    monkeypatch.setattr(pa, "memory_map", no_mapping)
    path = _repeated(tmp_path / "v.parquet", 20)
    with path.open("rb") as fh:
        answer = _api(users["province_manager"]).post("/api/v1/matching/datasets", {"kind": "vehicles", "file": fh})
    assert answer.status_code == 400
    body = answer.json()["error"]
    assert body["message"].startswith("The file could not be imported: the server ran short of memory or disk space")
    assert "Memory mapping" not in json.dumps(body) and body["details"] == {"problem": "too_large"}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_of_too_many_columns_says_so_with_the_count_and_the_limit(
    users: dict[str, Any], tmp_path: Path, suffix: str
) -> None:
    columns = ["身份证号", "姓名", "号牌号码", "车辆类型", *(f"c{i}" for i in range(ingest.MAX_COLUMNS))]
    path = tmp_path / f"wide{suffix}"
    if suffix == ".csv":
        path.write_text(
            ",".join(columns) + "\n" + ",".join([VALID_ID, "张三", "云A1", "轿车"]) + "\n", encoding="utf-8"
        )
    else:
        pq.write_table(pa.table({c: ["1"] for c in columns}), path)
    with path.open("rb") as fh:
        answer = _api(users["province_manager"]).post("/api/v1/matching/datasets", {"kind": "vehicles", "file": fh})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "The file has 1,004 columns; a department file may have at most 1,000. Export only the table's own "
        "columns (as CSV, Excel or Parquet) and import it again."
    )
    assert answer.json()["error"]["details"] == {"problem": "too_many_columns", "columns": 1004, "max_columns": 1000}
