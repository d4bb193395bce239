"""What the commands tell an operator: a bad user name refused before the database sees it, one
problem a line, one message for a union that does not exist, and option values refused in the
command's language."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from bangfu.org.models import OrgUnit, Role


@pytest.mark.parametrize("name", ["", "  ", "bad name/;", "x" * 200])
def test_users_add_refuses_a_user_name_the_user_model_does_not_take(tree: dict[str, OrgUnit], name: str) -> None:
    with pytest.raises(CommandError) as error:
        call_command("users", "add", "--username", name, "--unit", "530000", "--role", Role.ADMIN, stdout=io.StringIO())
    assert str(error.value).startswith("--username: ")
    assert not get_user_model().objects.filter(username=name).exists()


def test_password_problems_come_one_a_line(tree: dict[str, OrgUnit]) -> None:
    with pytest.raises(CommandError) as error:
        call_command(
            "users",
            "add",
            "--username",
            "admin1",
            "--unit",
            "530000",
            "--role",
            Role.ADMIN,
            "--password",
            "1234",
            stdout=io.StringIO(),
        )
    lines = str(error.value).splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("--password: ") for line in lines)


def test_every_command_says_alike_that_a_union_does_not_exist(users: dict[str, Any], tmp_path: Path) -> None:
    workbook = tmp_path / "legacy.xlsx"
    workbook.write_bytes(b"")
    calls = [
        ["users", "add", "--username", "someone", "--unit", "999", "--role", Role.ADMIN],
        ["identify", "--unit", "999"],
        ["whatif", "--unit", "999", "--dibao", "1100"],
        ["intake", "--user", "admin", "import", str(workbook), "--unit", "999"],
        ["match", "--user", "admin", "findings", "--unit", "999"],
        ["registry", "export", "--format", "csv", "--unit", "999"],
        ["org", "list", "--unit", "999"],
    ]
    for args in calls:
        with pytest.raises(CommandError) as error:
            call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
        assert str(error.value) == "No union with the code 999.", args


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["match", "--user", "admin", "import", "--kind", "vehicles", "f.csv", "--as-of", "notadate"], "不是日期"),
        (["match", "--user", "admin", "run", "--dataset", "x"], ""),
        (["tokens", "revoke", "--id", "x"], ""),
    ],
)
def test_option_values_are_refused_in_the_commands_language(users: dict[str, Any], args: list[str], said: str) -> None:
    with translation.override("zh-hans"), pytest.raises(CommandError) as error:
        call_command(*args, stdout=io.StringIO())
    assert "invalid" not in str(error.value)
    if said:  # the messages translated so far (a new one shows in English until the lead's translation)
        assert said in str(error.value)
