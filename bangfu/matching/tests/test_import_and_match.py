"""Importing department files and matching them against the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import translation

from bangfu.common.crypto import keyed_hash64
from bangfu.common.errors import DomainError
from bangfu.common.ids import build_resident_id
from bangfu.matching import selectors, services
from bangfu.matching.models import Dataset, Finding, HouseholdCheck, MatchRun, RunStatus

VALID_ID = build_resident_id("532923", dt.date(1970, 1, 1), 1, False)
VEHICLE_HEADER = ["身份证号", "姓名", "号牌号码", "车辆类型"]


def dirty(id_number: str) -> str:
    """The same number as department files write it: full width, spaces, lower-case x."""
    full = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in id_number[:6])
    return f" {full} {id_number[6:14]} {id_number[14:].lower()}"


def run(actor: Any, datasets: list[Dataset], capture: Any, **kwargs: Any) -> MatchRun:
    with capture(execute=True):
        started = services.match_run(actor=actor, dataset_ids=[d.pk for d in datasets], **kwargs)
    started.refresh_from_db()
    assert started.status == RunStatus.DONE, started.error
    return started


def findings_of(run_: MatchRun) -> set[tuple[str, str, str, str]]:
    return {(f.member.name, f.rule, f.record_key, f.confidence) for f in Finding.objects.filter(run=run_)}


def test_dirty_ids_are_normalised_at_import_and_matched(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    household, ids = make_household()
    head, spouse, son = ids
    legacy = head[:6] + head[8:17]  # the 15-digit form of the head's number
    path = write_csv(
        "vehicles.csv",
        [
            VEHICLE_HEADER,
            [legacy, "张建国", "云L12345", "小型轿车"],
            [dirty(spouse), "李秀英", "云L22222", "小型轿车"],
            [son[:17] + ("0" if son[17] != "0" else "1"), "张小明", "云L33333", "小型轿车"],  # bad check digit
            [dirty(spouse), "李秀英", "云L22222", "小型轿车"],  # duplicate record
        ],
    )
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert (ds.rows_total, ds.rows_taken, ds.rows_rejected, ds.rows_duplicate) == (4, 2, 1, 1)
    rejected = selectors.dataset_rejected_csv(actor=users["admin"], dataset_id=ds.pk).decode()
    assert "4," in rejected  # row 4 of the file (the bad check digit), with its reason
    assert son not in rejected  # the rejected number is masked

    result = run(users["admin"], [ds], django_capture_on_commit_callbacks)
    assert findings_of(result) == {
        ("张建国", "vehicle_owned", "云L12345", "high"),
        ("李秀英", "vehicle_owned", "云L22222", "high"),
    }
    assert all(f.household_id == household.pk for f in Finding.objects.all())
    head_finding = Finding.objects.get(record_key="云L12345")
    assert head_finding.details == {"text": "小型轿车", "record_name": "张建国"}
    assert (head_finding.status, head_finding.severity, head_finding.dataset_id) == ("open", "disqualifying", ds.pk)
    assert result.findings_new == 2 and result.households == 1
    assert result.summary["by_kind"] == {"vehicles": {"disqualifying": 2}}
    assert result.summary["by_unit"] == [
        {"unit_id": household.unit_id, "unit": household.unit.name, "households": 1, "findings": {"disqualifying": 2}}
    ]
    assert HouseholdCheck.objects.get(household=household).run_id == result.pk
    # a second run records nothing twice, leaves a reviewed finding as it is, and re-dates the check
    services.finding_dismiss(actor=users["admin"], finding_id=head_finding.pk, reason="sold in 2020")
    again = run(users["admin"], [ds], django_capture_on_commit_callbacks)
    assert again.findings_new == 0
    assert Finding.objects.count() == 2
    assert Finding.objects.get(pk=head_finding.pk).status == "dismissed"
    assert HouseholdCheck.objects.get(household=household).run_id == again.pk


def test_snapshot_holds_keyed_hashes_not_id_numbers(make_household: Any, users: dict[str, Any], write_csv: Any) -> None:
    _household, ids = make_household()
    path = write_csv("v.csv", [VEHICLE_HEADER, [ids[0], "张建国", "云L1", "轿车"]])
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    local = Path(path).parent / "copy.parquet"
    local.write_bytes(default_storage.open(ds.snapshot, "rb").read())
    con = duckdb.connect()
    ((key,),) = con.sql(f"SELECT id_key FROM '{local}'").fetchall()  # noqa: S608
    assert key == keyed_hash64(ids[0])
    # Nothing of the number is kept but its keyed hash: not even a masked form.
    columns = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM '{local}'").fetchall()]  # noqa: S608
    assert columns == ["row_no", "id_key", "name", "rk_hi", "rk_lo", "record_key", "vehicle_type", "name_key"]
    assert ids[0].encode() not in local.read_bytes()


def test_gbk_and_utf8_files_with_the_same_content_give_the_same_findings(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _household, ids = make_household()
    rows = [
        ["身份证号", "姓名", "企业名称", "职务", "经营状态"],
        [ids[0], "张建国", "祥云县某某商贸有限公司", "法定代表人", "存续"],
        [ids[1], "李秀英", "大理某某公司", "股东", "注销"],
    ]
    utf8 = services.dataset_import(actor=users["admin"], kind="business_roles", path=write_csv("u.csv", rows))
    bom = services.dataset_import(
        actor=users["admin"], kind="business_roles", path=write_csv("b.csv", rows, encoding="utf-8-sig")
    )
    gbk = services.dataset_import(actor=users["admin"], kind="business_roles", path=write_csv("g.csv", rows, "gbk"))
    results = [findings_of(run(users["admin"], [d], django_capture_on_commit_callbacks)) for d in (utf8, bom, gbk)]
    Finding.objects.all().delete()
    assert results[0] == {("张建国", "active_company_role", "row 2", "high")}  # the cancelled company is not
    assert results[0] == results[1] == results[2]


def test_excel_and_parquet_files_are_read(make_household: Any, users: dict[str, Any], tmp_path: Path) -> None:
    from openpyxl import Workbook

    _household, ids = make_household()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["证件号码", "姓名", "死亡日期"])
    sheet.append([ids[2], "张小明", dt.date(2025, 3, 1)])
    book.save(tmp_path / "deaths.xlsx")
    excel = services.dataset_import(actor=users["admin"], kind="hukou_death", path=tmp_path / "deaths.xlsx")
    assert excel.rows_taken == 1

    duckdb.connect().sql(f"SELECT '{ids[0]}' AS 身份证号, '张建国' AS 姓名, 5200.0 AS 缴费基数").write_parquet(
        str(tmp_path / "si.parquet")
    )
    parquet = services.dataset_import(actor=users["admin"], kind="social_insurance", path=tmp_path / "si.parquet")
    assert parquet.rows_taken == 1


@pytest.mark.parametrize(
    ("damage", "problem", "message"),
    [
        ("cut", "truncated", "The file is truncated or damaged (perhaps the upload or copy was cut short)."),
        ("password", "password_protected", "The workbook is protected with a password: save it again without one."),
        ("text", "not_excel", "This is not an Excel workbook (.xlsx, .xls or .ods)."),
    ],
)
def test_a_workbook_that_cannot_be_read_is_named(
    users: dict[str, Any], tmp_path: Path, damage: str, problem: str, message: str
) -> None:
    from openpyxl import Workbook

    from bangfu.common.sheets import OLE_MAGIC

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "姓名", "车辆类型"])
    path = tmp_path / "vehicles.xlsx"
    book.save(path)
    whole = path.read_bytes()
    path.write_bytes(
        {
            "cut": whole[: len(whole) // 2],
            "password": OLE_MAGIC + "EncryptedPackage".encode("utf-16-le") + whole,
            "text": "身份证号,姓名\n".encode(),
        }[damage]
    )
    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert (caught.value.details["problem"], caught.value.message) == (problem, message)
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([["姓名", "号牌号码", "车辆类型"], ["张三", "云A1", "轿车"]], "missing_id_column"),
        ([["身份证号", "姓名", "建筑面积"], ["532923197001010011", "张三", "80"]], "wrong_kind"),
        ([["身份证号", "姓名", "车辆类型"]], "empty"),
        (
            [["身份证号", "姓名", "车辆类型"], ["not an id", "a", "b"], ["53292319700101001X", "c", "d"]],
            "mostly_invalid",
        ),
    ],
)
def test_a_failed_import_leaves_nothing_behind(
    users: dict[str, Any], write_csv: Any, rows: list[list[str]], problem: str
) -> None:
    path = write_csv("bad.csv", rows)
    with pytest.raises(DomainError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert caught.value.details["problem"] == problem
    assert caught.value.message
    assert Dataset.objects.count() == 0
    assert not default_storage.exists("datasets") or default_storage.listdir("datasets") == ([], [])


def test_a_failure_while_storing_removes_the_stored_files(
    users: dict[str, Any], write_csv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv("v.csv", [VEHICLE_HEADER, [VALID_ID, "张三", "云A1", "轿车"]])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path)
    assert Dataset.objects.count() == 0
    assert default_storage.listdir("datasets")[1] == []


def test_purge_after_retention(users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any) -> None:
    path = write_csv("v.csv", [VEHICLE_HEADER, [VALID_ID, "张三", "云A1", "轿车"]])
    as_of = services.today() - dt.timedelta(days=10)
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=path, as_of=as_of, retention_days=30)
    assert default_storage.exists(ds.snapshot)
    before = run(users["admin"], [ds], django_capture_on_commit_callbacks)
    # Kept 30 days: to the end of the 30th day after the data's date, purged the day after.
    assert services.purge_expired_datasets(on=as_of + dt.timedelta(days=30)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired_datasets(on=as_of + dt.timedelta(days=31)) == 1
    assert not Dataset.objects.exists()
    assert not default_storage.exists(ds.snapshot)
    # A run made before still says what it was checked against, and that it is gone since.
    used = {"id": ds.pk, "kind": "vehicles", "file_name": "v.csv", "as_of": as_of.isoformat(), "unit": ds.unit.name}
    assert MatchRun.objects.get(pk=before.pk).sources == [used]
    client = Client()
    client.force_login(users["admin"])
    assert client.get(f"/api/v1/matching/runs/{before.pk}").json()["sources"] == [used]
    page = client.get(f"/matching/runs/{before.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Vehicles (v.csv, {as_of.isoformat()}, " in page and "since purged or deleted" in page
    listed = client.get("/matching/runs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td class="d-none d-sm-table-cell text-wrap">Vehicles</td>' in listed  # folded on a phone


def test_findings_export_masks_ids_unless_revealed(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    household, ids = make_household()
    ds = services.dataset_import(
        actor=users["admin"],
        kind="dibao_roll",
        path=write_csv("d.csv", [["身份证号", "姓名", "救助状态"], [ids[0], "张建国", "在保"]]),
    )
    run(users["admin"], [ds], django_capture_on_commit_callbacks)
    (row,) = list(selectors.findings_rows(actor=users["admin"]))
    assert row["file_number"] == household.file_number
    assert row["id_number"] == ids[0][:4] + "*" * 10 + ids[0][-4:]
    assert (row["kind"], row["rule"], row["severity"], row["confidence"]) == ("dibao_roll", "on_dibao", "info", "high")
    (revealed,) = list(selectors.findings_rows(actor=users["admin"], reveal=True))
    assert revealed["id_number"] == ids[0]
    # outside the jurisdiction nothing is listed
    assert list(selectors.findings_rows(actor=users["dalishi_staff"])) == []


def test_sql_checks_of_id_numbers_agree_with_resident_id_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Import settles the usual forms in SQL and sends only the rest to ResidentId.parse; either
    way a row is taken exactly when parse accepts it, as the number parse gives."""
    from bangfu.common.ids import InvalidResidentId, ResidentId, compute_check_digit
    from bangfu.matching import ingest
    from bangfu.matching.engine.schemas import DatasetKind

    today = dt.date(2026, 6, 1)
    leap = "532923" + "20000229" + "123"
    plain = [
        VALID_ID,
        VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1"),  # bad check digit
        dirty(VALID_ID),
        VALID_ID[:6] + VALID_ID[8:17],  # 15 digits
        leap + compute_check_digit(leap),
        "532923" + "19990229" + "1231",  # no 29 February in 1999
        "532923" + "20270101" + "1231",  # in the future
        "532923" + "18991231" + "1231",  # before 1900
        "999999" + "19800101" + "1231",  # no such region
        "110000" + "19800101" + "1231",
        "",
        "5.32923E+17",
        "53292319700101001",  # 17 characters
    ]
    noisy = [
        f"'{VALID_ID}",
        f"\u3000{VALID_ID}",
        f"{VALID_ID[:9]}\u200b{VALID_ID[9:]}",
        VALID_ID[:9] + "—" + VALID_ID[9:],
    ]
    odd = [f"{VALID_ID[:9]}\u00ad{VALID_ID[9:]}", f"{VALID_ID[:9]}\u2028{VALID_ID[9:]}"]  # rarer invisible characters
    values = [*plain, *noisy, *odd]
    path = tmp_path / "ids.csv"
    path.write_text("身份证号,车辆类型\n" + "".join(f'"{v}",car\n' for v in values) + f"{VALID_ID},car\n" * 20)

    parsed: list[str] = []
    real_parse = ResidentId.parse

    def counting(raw: str, **kwargs: object) -> ResidentId:
        parsed.append(raw)
        return real_parse(raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest.ResidentId, "parse", counting)
    work = tmp_path / "w"
    work.mkdir()
    result = ingest.ingest(path, DatasetKind.VEHICLES, work, today=today)

    expected_reasons: dict[str, int] = {}
    taken: set[int] = set()
    for v in values:
        try:
            taken.add(keyed_hash64(real_parse(v, today=today).value))
        except InvalidResidentId as exc:
            expected_reasons[exc.message] = expected_reasons.get(exc.message, 0) + 1
    keys = {r[0] for r in duckdb.connect().sql(f"SELECT id_key FROM '{result.snapshot}'").fetchall()}  # noqa: S608
    assert keys == taken
    assert result.reasons == expected_reasons
    assert result.rows_total == len(values) + 20
    # The valid, dirty, noisy and 15-digit forms never reached Python; the odd and the bad ones did.
    assert not {VALID_ID, dirty(VALID_ID), plain[3], plain[4], *noisy} & set(parsed)
    assert set(odd) | set(plain[1:2]) | set(plain[5:]) <= set(parsed)


def test_a_parquet_file_with_nul_characters_is_matched_without_them(
    make_household: Any, users: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """A NUL character in a record key, a name or a vehicle type reached the findings, which
    PostgreSQL cannot store: the whole recheck failed. The import rejects those rows instead."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _household, ids = make_household()
    bad = [
        (ids[0], "张建国", "云L\x001", "小型轿车"),
        (ids[1], "李\x00秀英", "云L3", "小型轿车"),
        (ids[1], "李秀英", "云L4", "小型\x00轿车"),
        (ids[2], "张小明", "云L5\x00\x00", "小型轿车"),
    ]
    good = [(ids[i % 3], "张建国", f"云M{i}", "小型轿车") for i in range(5)]
    columns = list(zip(*bad, *good, strict=True))
    table = pa.table(dict(zip(VEHICLE_HEADER, map(list, columns), strict=True)))
    pq.write_table(table, tmp_path / "vehicles.parquet")
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=tmp_path / "vehicles.parquet")
    assert (ds.rows_taken, ds.rows_rejected) == (5, 4)
    result = run(users["admin"], [ds], django_capture_on_commit_callbacks)
    assert {f[2] for f in findings_of(result)} == {f"云M{i}" for i in range(5)}


def test_a_date_or_retention_out_of_bounds_is_refused_by_field(users: dict[str, Any], write_csv: Any) -> None:
    """A data date after today, or a retention of millions of days, made a purge date past the
    calendar: a traceback from the command, a page and the API said only "a number is too large"."""
    path = write_csv("v.csv", [VEHICLE_HEADER, [VALID_ID, "张三", "云A1", "轿车"]])
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"as_of": services.today() + dt.timedelta(days=1)}, "as_of", "The data cannot be as of a day after today."),
        ({"as_of": dt.date(9999, 12, 1)}, "as_of", "The data cannot be as of a day after today."),
        ({"retention_days": 99_999_999}, "retention_days", "Keep a dataset for at most 3650 days."),
    ]
    for kwargs, field, message in cases:
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            services.dataset_import(actor=users["admin"], kind="vehicles", path=path, **kwargs)
        assert caught.value.message_dict == {field: [message]}
    assert not Dataset.objects.exists()
    old = services.today() - dt.timedelta(days=201)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.dataset_import(actor=users["admin"], kind="vehicles", path=path, as_of=old, retention_days=200)
    assert caught.value.message_dict == {
        "retention_days": [
            f"Data of {old.isoformat()} kept 200 days is already past its retention: give a longer retention."
        ]
    }
    assert not Dataset.objects.exists()
    kept = services.dataset_import(actor=users["admin"], kind="vehicles", path=path, retention_days=3650)
    assert kept.expires_on == services.today() + dt.timedelta(days=3651)  # kept to the end of the 3,650th day
    # Past its retention (the purge runs at night), a dataset is not used by a recheck.
    Dataset.objects.filter(pk=kept.pk).update(expires_on=services.today())
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.match_run(actor=users["admin"], dataset_ids=[kept.pk])
    assert caught.value.message_dict == {"dataset_ids": ["v.csv is past its retention period and is no longer used."]}


def test_the_same_record_in_a_later_dataset_is_not_raised_again(
    make_household: Any, users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Next month's copy of the police's file (or the same file imported again) finds the same cars:
    a dismissed one stays dismissed instead of coming back as a new open finding, and an open one
    is listed once, not once per copy."""
    _household, ids = make_household()
    rows = [VEHICLE_HEADER, [ids[0], "张建国", "云L12345", "残疾人代步车"], [ids[1], "李秀英", "云L22222", "小型轿车"]]
    first = services.dataset_import(actor=users["admin"], kind="vehicles", path=write_csv("v1.csv", rows))
    run(users["admin"], [first], django_capture_on_commit_callbacks)
    assert Finding.objects.count() == 1  # the disability vehicle is exempt; the car is found
    car = Finding.objects.get()
    services.finding_dismiss(actor=users["admin"], finding_id=car.pk, reason="家用车已于上月过户，见转让证明")
    rows.append([ids[2], "张小明", "云L33333", "小型轿车"])
    second = services.dataset_import(actor=users["admin"], kind="vehicles", path=write_csv("v2.csv", rows))
    later = run(users["admin"], [second], django_capture_on_commit_callbacks)
    found = {f.record_key: (f.status, f.dataset_id) for f in Finding.objects.all()}
    assert found == {"云L22222": ("dismissed", first.pk), "云L33333": ("open", second.pk)}
    assert later.findings_new == 1
    third = services.dataset_import(actor=users["admin"], kind="vehicles", path=write_csv("v3.csv", rows))
    run(users["admin"], [third], django_capture_on_commit_callbacks)
    assert Finding.objects.count() == 2


def test_data_kept_n_days_is_kept_to_the_end_of_the_nth_day_by_the_import_the_recheck_and_the_purge(
    users: dict[str, Any], write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Data of yesterday kept one day is kept to the end of today: the import took it as already
    past its retention, while it expires at the end of the day."""
    path = write_csv("v.csv", [VEHICLE_HEADER, [VALID_ID, "张三", "云A1", "轿车"]])
    yesterday = services.today() - dt.timedelta(days=1)
    ds = services.dataset_import(actor=users["admin"], kind="vehicles", path=path, as_of=yesterday, retention_days=1)
    assert ds.expires_on == services.today() + dt.timedelta(days=1)  # purged tomorrow
    assert ds in services.usable_datasets(ds.unit)
    run(users["admin"], [ds], django_capture_on_commit_callbacks)  # the recheck may use it today
    assert services.purge_expired_datasets() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired_datasets(on=services.today() + dt.timedelta(days=1)) == 1
