"""``bangfu match import | run | findings`` end to end."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation


def test_import_run_and_findings_csv(make_household: Any, users: dict[str, Any], write_csv: Any) -> None:
    household, ids = make_household()
    path = write_csv(
        "车辆.csv", [["证件号码", "姓名", "车牌号码", "车辆类型"], [ids[0].lower(), "张建国", "云L1", "轿车"]], "gbk"
    )
    out = io.StringIO()
    call_command(
        "match", "--user", "admin", "import", "--kind", "vehicles", str(path), "--mapping", "车管所", stdout=out
    )
    assert "1" in out.getvalue()
    out = io.StringIO()
    call_command("match", "--user", "admin", "run", "--unit", household.unit.code, stdout=out)
    assert "1" in out.getvalue()
    out = io.StringIO()
    call_command("match", "--user", "admin", "findings", "--format", "csv", stdout=out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["file_number"] == household.file_number
    assert row["id_number"] == ids[0][:4] + "*" * 10 + ids[0][-4:]
    assert (row["kind"], row["record_key"], row["rule"], row["severity"], row["confidence"]) == (
        "vehicles",
        "云L1",
        "vehicle_owned",
        "disqualifying",
        "high",
    )


def test_findings_go_to_a_file_for_excel_or_plain_to_a_pipe(
    make_household: Any, users: dict[str, Any], write_csv: Any, tmp_path: Any
) -> None:
    """``--output`` writes the file with a byte-order mark (Excel read the names without it as
    GBK), for its owner only; stdout stays plain UTF-8 for pipes; the export is logged alike."""
    from bangfu.common.models import AuditEntry

    _household, ids = make_household()
    path = write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "轿车"]])
    call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path), stdout=io.StringIO())
    call_command("match", "--user", "admin", "run", stdout=io.StringIO())
    out = io.StringIO()
    call_command("match", "--user", "admin", "findings", stdout=out)
    assert not out.getvalue().startswith("\ufeff") and "云L1" in out.getvalue()
    piped = AuditEntry.objects.order_by("-seq").first()
    assert piped is not None

    target = tmp_path / "findings.csv"
    call_command(
        "match", "--user", "admin", "findings", "--output", str(target), stdout=io.StringIO(), stderr=io.StringIO()
    )
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig") == out.getvalue()
    assert target.stat().st_mode & 0o777 == 0o600
    filed = AuditEntry.objects.order_by("-seq").first()
    assert filed is not None and filed.seq == piped.seq + 1
    assert (filed.action, filed.target_type, filed.after) == (piped.action, piped.target_type, piped.after)
    with translation.override("en"), pytest.raises(CommandError, match="No such folder"):
        call_command("match", "--user", "admin", "findings", "--output", str(tmp_path / "none" / "f.csv"))
    assert AuditEntry.objects.order_by("-seq").first() == filed


def test_a_bad_file_is_a_clear_error(users: dict[str, Any], write_csv: Any) -> None:
    path = write_csv("x.csv", [["姓名"], ["张三"]])
    with pytest.raises(CommandError, match="id_number"):
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path))


def test_refusals_are_clear_errors_not_tracebacks(
    make_household: Any, users: dict[str, Any], write_csv: Any, tmp_path: Any
) -> None:
    """What the services refuse (a dataset one may not use, a retention of no days, a reveal or an
    import the role does not allow) and a file that is not there are said in a sentence."""
    _household, ids = make_household()
    path = write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "轿车"]])
    cases = [
        (("--user", "admin", "import", "--kind", "vehicles", str(tmp_path / "none.csv")), "File not found"),
        (("--user", "admin", "import", "--kind", "vehicles", "--retention-days", "0", str(path)), "at least one day"),
        (("--user", "admin", "run", "--dataset", "987654"), "Choose datasets you may use."),
        (("--user", "xiangyun_cadre", "findings", "--reveal"), "You may not reveal ID numbers here."),
        (
            ("--user", "evaluator", "import", "--kind", "vehicles", str(path)),
            "evaluator may not do this: it needs the permission to bring personal data in",
        ),
        (("--user", "admin", "findings", "--status", "bogus"), "invalid choice"),
        (("--user", "xiangyun_staff", "run", "--unit", "530000"), "outside the jurisdiction of xiangyun_staff"),
        (("--user", "xiangyun_staff", "findings", "--unit", "530000"), "outside the jurisdiction of xiangyun_staff"),
        (("--user", "xiangyun_staff", "request", "--unit", "530000", "--output", str(tmp_path / "r.csv")), "outside"),
        (("--user", "admin", "request", "--output", str(tmp_path / "none" / "r.csv")), "No such folder"),
    ]
    for args, message in cases:
        with translation.override("en"), pytest.raises(CommandError, match=message):
            call_command("match", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_a_run_without_datasets_takes_the_newest_current_one_of_each_kind(
    make_household: Any, users: dict[str, Any], write_csv: Any
) -> None:
    """The same vehicles file imported three times gave three findings per car (every dataset
    ever imported was checked); one past its retention made every run fail."""
    import datetime as dt

    from bangfu.matching.models import Dataset, Finding

    _household, ids = make_household()
    path = write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "轿车"]])
    for _ in range(3):
        call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path), stdout=io.StringIO())
    oldest, *_middle, newest = Dataset.objects.order_by("id")
    Dataset.objects.filter(pk=oldest.pk).update(expires_on=dt.date(2000, 1, 1))
    call_command("match", "--user", "admin", "run", stdout=io.StringIO())
    assert list(Finding.objects.values_list("dataset_id", flat=True)) == [newest.pk]
