"""A field key that does not open the stored numbers answers in the API's error shape, naming the
variable, not as an unknown server error."""

from __future__ import annotations

from typing import Any

from bangfu.common.tests.test_keys import OTHER_KEY, key_in_use
from bangfu.registry.models import Household


def test_reveal_with_another_field_key_names_it(api_as: Any, xiangyun_file: Household) -> None:
    head = xiangyun_file.members.order_by("position").first()
    assert head is not None
    with key_in_use(FIELD_ENCRYPTION_KEY=OTHER_KEY):
        response = api_as("xiangyun_staff").post(f"/households/{xiangyun_file.pk}/members/{head.pk}/reveal-id")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "field_key_mismatch"
    assert "BANGFU_FIELD_KEY" in error["message"]
