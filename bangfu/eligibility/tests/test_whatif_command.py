"""``bangfu whatif`` as the README shows it: the values not given are those of the standard in force;
with none in force it says so, and its problems come one a line."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bangfu.eligibility.models import Standard


def test_the_readme_example_takes_the_minimum_wage_in_force(province_standard: Standard) -> None:
    out = io.StringIO()
    call_command("whatif", "--unit", "530102", "--dibao", "1100", "--from", "2026-06-01", stdout=out)
    assert "households would change category" in out.getvalue()


def test_without_a_standard_in_force_it_says_so(users: dict[str, Any]) -> None:
    with pytest.raises(CommandError) as error:
        call_command("whatif", "--unit", "530102", "--dibao", "1100", "--from", "2026-06-01", stdout=io.StringIO())
    assert str(error.value) == (
        "--minimum-wage: No standard is in force for 530102 in 2026 to take this value from: give it too, "
        "or set the year's standard first."
    )


def test_problems_come_one_a_line(province_standard: Standard) -> None:
    with pytest.raises(CommandError) as error:
        call_command(
            "whatif",
            "--unit",
            "530102",
            "--dibao",
            "-5",
            "--minimum-wage",
            "0",
            "--from",
            "2026-06-01",
            stdout=io.StringIO(),
        )
    lines = str(error.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["--dibao", "--minimum-wage"]


def test_a_first_standard_can_be_saved_from_the_command_line(users: dict[str, Any]) -> None:
    """A new install's first standard (docs/deployment.md, "First run"), as the page sets it."""
    out = io.StringIO()
    call_command(
        "whatif",
        "--unit",
        "530000",
        "--dibao",
        "1100",
        "--minimum-wage",
        "1900",
        "--from",
        "2026-01-01",
        "--save",
        stdout=out,
    )
    assert "Saved 530000/2026/v1." in out.getvalue()
    assert Standard.objects.filter(division_code="530000", year=2026, is_current=True).exists()
