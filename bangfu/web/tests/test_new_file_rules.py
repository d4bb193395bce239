"""The page opening a file offers only what a new file may be: an open state, a current category."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client


def test_the_new_file_form_offers_open_states_and_current_categories(users: dict[str, Any]) -> None:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    page = c.get("/households/new/").content.decode()
    state = re.search(r'<select name="household-state".*?</select>', page, re.S)
    category = re.search(r'<select name="household-category".*?</select>', page, re.S)
    assert state and category
    assert set(re.findall(r'value="(\w*)"', state.group(0))) == {"active", "temporary", "relieved"}
    assert set(re.findall(r'value="(\w*)"', category.group(0))) == {"", "deep", "relative", "accident"}
    response = c.post("/households/new/", {"household-state": "exited", "household-category": "legacy_dibao"})
    assert response.status_code == 400
