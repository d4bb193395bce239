"""``bangfu match import | run | findings`` end to end."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command


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
