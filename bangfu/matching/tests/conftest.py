from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bangfu.org.models import OrgUnit
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input


@pytest.fixture
def make_household(tree: dict[str, OrgUnit], users: dict[str, Any]) -> Callable[..., tuple[Any, list[str]]]:
    """A household on file in 祥云县纺织厂工会; returns it and its members' ID numbers."""

    def make(unit: str = "xiangyun_g", **overrides: Any) -> tuple[Any, list[str]]:
        data = household_input(tree[unit], **overrides)
        actor = users["admin"]
        household = household_create(actor=actor, data=data)
        return household, [m.id_number for m in data.members]

    return make


@pytest.fixture
def standard(users: dict[str, Any]) -> None:
    """The demo province's standard for this year (dibao 1,001, minimum wage 1,900, 20 m² per
    head): a confirmed finding decides the household again today."""
    from bangfu.eligibility import services as eligibility_services
    from bangfu.matching import services

    eligibility_services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=services.today().year,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
        housing_area_per_head="20",
    )


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str, rows: list[list[Any]], encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh).writerows(rows)
        return path

    return write


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Each test stores its snapshots in its own folder, on disk as in production."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root
