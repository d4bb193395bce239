from __future__ import annotations

from typing import Any

import pytest

from bangfu.org.models import OrgKind, OrgLevel, OrgUnit
from bangfu.org.services import org_unit_create
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


@pytest.fixture
def many_unions(tree: dict[str, OrgUnit]) -> list[OrgUnit]:
    """More grassroots unions under 祥云县 than the union picker lists without a search."""
    from bangfu.web.widgets import PICKER_FULL_LIST

    return [
        org_unit_create(
            name=f"祥云县第{i}工厂工会",
            level=OrgLevel.GRASSROOTS,
            division_code="532923",
            parent=tree["xiangyun"],
            kind=OrgKind.ENTERPRISE,
        )
        for i in range(PICKER_FULL_LIST)
    ]
