from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from bangfu.eligibility.models import Standard
from bangfu.org.models import OrgUnit, Role
from bangfu.testing.factories import user_with_role


@pytest.fixture
def users(tree: dict[str, OrgUnit], users: dict[str, Any]) -> dict[str, Any]:
    """The shared users plus a city-centre approver (not the county staff who checked the case)."""
    return {**users, "dali_staff": user_with_role(tree["dali"], Role.CENTRE_STAFF, "dali_staff")}


@pytest.fixture
def standard(db: Any) -> Standard:
    import datetime as dt
    from decimal import Decimal

    return Standard.objects.create(
        division_code="530000",
        year=timezone.localdate().year,
        dibao_monthly=Decimal("800"),
        minimum_wage_monthly=Decimal("1900"),
        is_current=True,
        effective_from=dt.date(timezone.localdate().year, 1, 1),
    )


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """The private storage (encrypted files) on disk, as in production; its folder."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "bangfu.common.storage.EncryptedStorage",
            "OPTIONS": {"options": {"location": str(root)}},
        },
    }
    return root
