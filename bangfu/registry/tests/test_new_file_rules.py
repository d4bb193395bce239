"""A file made by hand (page, API) is held to the rules an edit is held to: it starts open and in a
current category; the legacy import, which brings old files as they were, is not."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


@pytest.mark.parametrize("state", ["exited", "removed", "cancelled"])
def test_a_new_file_does_not_start_closed(tree: dict, users: dict[str, Any], state: str) -> None:
    before = Household.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], state=state))
    assert "starts active" in exc.value.message_dict["state"][0]
    assert Household.objects.count() == before


@pytest.mark.parametrize("state", ["active", "temporary", "relieved"])
def test_a_new_file_starts_in_an_open_state(tree: dict, users: dict[str, Any], state: str) -> None:
    h = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], state=state))
    assert h.state == state


@pytest.mark.parametrize("category", ["legacy_dibao", "legacy_dibao_edge", "legacy_accident"])
def test_a_new_file_takes_a_current_category(tree: dict, users: dict[str, Any], category: str) -> None:
    data = household_input(tree["xiangyun_g"], category=category, state="exited")
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=users["xiangyun_staff"], data=data)
    errors = exc.value.message_dict
    assert "current category" in errors["category"][0]
    assert "state" in errors  # every problem at once
