from __future__ import annotations

from typing import Any

import pytest

from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


@pytest.fixture
def xiangyun_household(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))


@pytest.fixture
def dalishi_household(tree: dict, users: dict[str, Any]) -> Household:
    data = household_input(tree["dalishi_g"])
    data.members[0].name = "段志刚"
    return services.household_create(actor=users["dalishi_staff"], data=data)
