"""What an import refuses, in the reader's words (a picture named .csv, a death after the data's
date, a column mapped that the file lacks, a file of another kind), and who may start a recheck."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from bangfu.common.errors import DomainError
from bangfu.matching import services
from bangfu.matching.models import Dataset, Finding, MatchRun
from bangfu.org.services import token_create

VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]


def _png(path: Path) -> Path:
    """A real (one-pixel) PNG picture, named as the caller says."""
    raw = b"\x00\xff\x00\x00"
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))  # noqa: E731
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b""))
    return path


def _strangers(n: int) -> list[str]:
    """ID numbers of people on no file."""
    from bangfu.testing.factories import new_id

    return [new_id("532923", dt.date(1960, 1, 1 + i)) for i in range(n)]


def _api(user: Any) -> Client:
    token = token_create(actor=user, user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def test_a_picture_named_csv_is_said_to_be_a_picture_in_the_page_the_api_and_the_command(
    users: dict[str, Any], tmp_path: Path
) -> None:
    picture = _png(tmp_path / "车辆.csv")
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=picture)
    message = caught.value.message
    assert message.startswith("This is not a text (CSV) file: it looks like a picture.")
    assert "Error" not in message and "/" not in message and str(tmp_path) not in message
    assert caught.value.details["problem"] == "wrong_format"

    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["admin"])
    with picture.open("rb") as fh:
        html = page.post("/matching/datasets/import/", {"kind": "vehicles", "file": fh}).content.decode()
    assert "it looks like a picture" in html and "sniffing" not in html and "lf.csv" not in html

    with picture.open("rb") as fh:
        answer = _api(users["admin"]).post("/api/v1/matching/datasets", {"kind": "vehicles", "file": fh})
    assert "it looks like a picture" in json.dumps(answer.json(), ensure_ascii=False)

    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(picture))
    assert "it looks like a picture" in str(refused.value) and "sniffing" not in str(refused.value)
    assert not Dataset.objects.exists()


def test_an_engine_error_reading_the_file_names_no_engine_internals_nor_paths(
    users: dict[str, Any], write_csv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own words ("Invalid Input Error: Error when sniffing file …/lf.csv") are not
    shown: the person importing is told what to do."""
    from bangfu.matching import ingest

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise duckdb.InvalidInputException(
            'Invalid Input Error: Error when sniffing file "/tmp/bangfu-import-x/lf.csv".'
        )

    monkeypatch.setattr(ingest, "_run", fail)
    path = write_csv("v.csv", [VEHICLES, ["110101199003074258", "张三", "云A1", "轿车"]])
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert caught.value.message.startswith("The file cannot be read as a table: its lines do not split")
    assert "Error" not in caught.value.message and "lf.csv" not in caught.value.message


def test_a_death_after_the_data_s_date_is_a_rejected_row(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _household, ids = make_household()
    as_of = services.today() - dt.timedelta(days=1)
    rows = [
        ["身份证号", "姓名", "死亡日期"],
        [ids[0], "张建国", "2030-01-01"],
        [ids[1], "李秀英", as_of.isoformat()],
        [ids[2], "张小明", services.today().isoformat()],  # after the data's date, though not after today
        *([n, "王五", "2020-01-01"] for n in _strangers(3)),
        [_strangers(4)[-1], "赵六", "1899-01-01"],  # before anyone on record was born
    ]
    with translation.override("en"):
        ds = services.dataset_import(
            actor=users["admin"], kind="hukou_death", path=write_csv("d.csv", rows), as_of=as_of
        )
    assert (ds.rows_taken, ds.rows_rejected) == (4, 3)
    rejected = Path(ds.rejected_file)
    from bangfu.matching import snapshots

    with snapshots.local_path(str(rejected)) as local:
        text = Path(local).read_text(encoding="utf-8-sig")
    assert f"死亡日期: 2030-01-01 is after the date of the data ({as_of.isoformat()})" in text
    assert "死亡日期: 1899-01-01 is before 1900" in text
    with django_capture_on_commit_callbacks(execute=True):
        services.match_run(actor=users["admin"], dataset_ids=[ds.pk])
    assert list(Finding.objects.values_list("member__name", flat=True)) == ["李秀英"]


def test_a_column_mapped_that_the_file_lacks_is_quoted_with_the_field_in_words(
    users: dict[str, Any], write_csv: Any
) -> None:
    path = write_csv("v.csv", [["车主身份证", "姓名", "号牌号码", "车辆类型"], ["1", "张三", "云A1", "轿车"]])
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path, mapping={"id_number": "不存在的列"})
    assert caught.value.message == (
        "The file has no column “不存在的列”, to which the field “ID number” (id_number) was mapped. "
        "Its columns: 车主身份证, 姓名, 号牌号码, 车辆类型."
    )


def test_the_columns_of_the_file_are_listed_in_the_language_s_punctuation(
    users: dict[str, Any], write_csv: Any
) -> None:
    """A Chinese message listed the file's columns with ", " between them, as the English one."""
    path = write_csv("v.csv", [["车主身份证", "姓名", "号牌号码", "车辆类型"], ["1", "张三", "云A1", "轿车"]])
    with translation.override("zh-hans"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path, mapping={"id_number": "不存在的列"})
    assert caught.value.message.endswith("文件中的列：车主身份证、姓名、号牌号码、车辆类型。")


def test_a_file_of_another_kind_is_named_in_words(users: dict[str, Any], write_csv: Any) -> None:
    path = write_csv("t.csv", [["身份证号", "姓名"], ["110101199003074258", "张三"]])
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="tax", path=path)
    assert caught.value.message.startswith("This does not look like a tax file: it has no column such as")


def _vehicles(make_household: Any, users: dict[str, Any], write_csv: Any) -> Dataset:
    _household, ids = make_household()
    rows = [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]]
    return services.dataset_import(actor=users["admin"], kind="vehicles", path=write_csv("v.csv", rows))


def test_the_province_manager_starts_a_recheck_by_page_api_and_command(
    make_household: Any,
    users: dict[str, Any],
    write_csv: Any,
    tree: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ds = _vehicles(make_household, users, write_csv)
    manager = users["province_manager"]
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(manager)
    assert page.get("/matching/runs/new/").status_code == 200
    form = {"unit": tree["province"].pk, "dataset_ids": [ds.pk], "engine": "duckdb"}
    # Each run done by the worker before the next is asked for (one run of a union at a time).
    with django_capture_on_commit_callbacks(execute=True):
        started = page.post("/matching/runs/new/", form)
    assert started.status_code == 302, started.content.decode()[:2000]
    answer = json.dumps({"dataset_ids": [ds.pk]})
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(manager).post("/api/v1/matching/runs", answer, content_type="application/json")
    assert response.status_code == 202, response.content
    out = io.StringIO()
    call_command("match", "--user", manager.username, "run", "--dataset", str(ds.pk), stdout=out)
    assert MatchRun.objects.filter(started_by=manager).count() == 3
    # Reviewing stays with who may change the files.
    finding = Finding.objects.first()
    assert finding is not None
    reason = json.dumps({"reason": "属实"})
    refused = _api(manager).post(
        f"/api/v1/matching/findings/{finding.pk}/confirm", reason, content_type="application/json"
    )
    assert refused.status_code == 403


def test_a_role_that_may_not_start_a_recheck_is_told_so(
    make_household: Any, users: dict[str, Any], write_csv: Any
) -> None:
    ds = _vehicles(make_household, users, write_csv)
    response = _api(users["evaluator"]).post(
        "/api/v1/matching/runs", json.dumps({"dataset_ids": [ds.pk]}), content_type="application/json"
    )
    assert response.status_code == 403
    body = json.dumps(response.json())
    assert "start a recheck" in body and "household" not in body
    # The command with the evaluator's own union: the permission named, not "not found".
    with pytest.raises(CommandError) as caught:
        call_command("match", "--user", users["evaluator"].username, "run", "--unit", "530000", "--dataset", str(ds.pk))
    assert "start a recheck" in str(caught.value) and "Not found" not in str(caught.value)


def test_a_floor_area_of_zero_or_below_is_a_rejected_row(users: dict[str, Any], write_csv: Any) -> None:
    """A home of -30 m² was taken, and brought a household's homes under the limit."""
    people = _strangers(6)
    rows = [["身份证号", "姓名", "不动产权证号", "建筑面积"]]
    rows += [[n, "王五", f"C-{i}", "120"] for i, n in enumerate(people[:4])]
    rows += [[people[4], "王五", "C-8", "-30"], [people[5], "王五", "C-9", "0"]]
    with translation.override("en"):
        ds = services.dataset_import(actor=users["admin"], kind="real_estate", path=write_csv("re.csv", rows))
    assert (ds.rows_taken, ds.rows_rejected) == (4, 2)
