"""A workbook whose used area is too large to read (a stray value in the sheet's last row and
column) is refused with a message saying where, before the reader builds the area in memory (which
aborted the process), and nothing is kept."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from bangfu.intake import imports
from bangfu.intake.models import ImportBatch
from bangfu.intake.tests.test_legacy_import import household_rows, xlsx
from bangfu.registry.models import Household


def test_a_stray_value_far_away_is_named_and_nothing_is_kept(tree: Any, users: Any) -> None:
    book = load_workbook(io.BytesIO(xlsx(household_rows("L-0090"))))
    sheet = book.active
    assert sheet is not None
    sheet["XFD1048576"] = "备注"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ValidationError) as refused:
        imports.import_file(
            actor=users["xiangyun_staff"],
            unit_id=tree["xiangyun"].pk,
            name="a.xlsx",
            content=out.getvalue(),
            commit=True,
        )
    assert "XFD1048576" in str(refused.value) and "stray value" in str(refused.value)
    assert not ImportBatch.objects.exists() and not Household.objects.exists()
