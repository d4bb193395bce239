"""Without a code sender (``BANGFU_INTAKE_CODE_SENDER``) the phone's sign-in page says at once to
apply at the counter and offers no phone form; with one (the demo's log sender) the form is there."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.mark.django_db
def test_no_sender_no_phone_form(settings: Any) -> None:
    del settings.BANGFU_INTAKE_CODE_SENDER
    settings.DEBUG = False
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/apply/login/").content.decode()
    assert "apply at your union's counter" in page
    assert 'name="phone"' not in page and "We send a one-time code" not in page


@pytest.mark.django_db
def test_with_a_sender_the_form_is_offered(settings: Any) -> None:
    settings.BANGFU_INTAKE_CODE_SENDER = "bangfu.intake.messaging.LogCodeSender"
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/apply/login/").content.decode()
    assert 'name="phone"' in page and 'id="no-codes"' not in page
