from __future__ import annotations

from typing import Any

import pytest

from bangfu.org.models import OrgUnit, Role
from bangfu.testing.factories import org_tree, user_with_role


@pytest.fixture
def tree(db: Any) -> dict[str, OrgUnit]:
    return org_tree()


@pytest.fixture
def users(tree: dict[str, OrgUnit]) -> dict[str, Any]:
    """One user per role at the level where that role works."""
    return {
        "province_manager": user_with_role(tree["province"], Role.MANAGER, "province_manager"),
        "xiangyun_staff": user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_staff"),
        "dalishi_staff": user_with_role(tree["dalishi"], Role.CENTRE_STAFF, "dalishi_staff"),
        "xiangyun_cadre": user_with_role(tree["xiangyun_g"], Role.GRASSROOTS_CADRE, "xiangyun_cadre"),
        "evaluator": user_with_role(tree["province"], Role.EVALUATOR, "evaluator"),
        "admin": user_with_role(tree["province"], Role.ADMIN, "admin"),
    }
