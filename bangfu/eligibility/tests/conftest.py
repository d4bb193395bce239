from __future__ import annotations

from typing import Any

import pytest

from bangfu.eligibility import services
from bangfu.eligibility.models import Standard


@pytest.fixture
def province_standard(users: dict[str, Any]) -> Standard:
    """The demo province's standard for 2026: dibao 1,001, minimum wage 1,900, 20 m² per head."""
    return services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
        housing_area_per_head="20",
    )
