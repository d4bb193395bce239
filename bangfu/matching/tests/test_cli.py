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
        (("--user", "evaluator", "import", "--kind", "vehicles", str(path)), "evaluator may not do this"),
        (("--user", "admin", "findings", "--status", "bogus"), "invalid choice"),
    ]
    for args, message in cases:
        with translation.override("en"), pytest.raises(CommandError, match=message):
            call_command("match", *args, stdout=io.StringIO(), stderr=io.StringIO())
