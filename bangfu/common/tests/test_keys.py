"""The personal-data keys: their form is checked at start, and a key that is not the database's
(a restore beside new keys) stops the start, naming its variable, instead of finding nothing or
failing with a server error on the first number read."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from bangfu.common import crypto
from bangfu.common.checks import check_key_form, refuse_to_start
from bangfu.common.keys import key_checks_record, key_mismatches
from bangfu.common.models import KeyCheck
from bangfu.registry import services
from bangfu.testing.factories import household_input

OTHER_KEY = "b3RoZXIta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXMtISE="  # 32 bytes, base64


@contextmanager
def key_in_use(**values: str) -> Iterator[None]:
    """The settings of the keys changed for the block, the keys read again inside and after it."""
    crypto.keys_forget()
    try:
        with override_settings(**values):
            crypto.keys_forget()
            yield
    finally:
        crypto.keys_forget()


@pytest.fixture
def recorded(db: Any) -> None:
    KeyCheck.objects.all().delete()
    assert sorted(key_checks_record()) == ["field", "hash"]


def test_decrypt_with_another_field_key_names_the_variable() -> None:
    stored = crypto.encrypt("532923197203090017")
    with key_in_use(FIELD_ENCRYPTION_KEY=OTHER_KEY), pytest.raises(crypto.FieldKeyError) as error:
        crypto.decrypt(stored)
    assert "BANGFU_FIELD_KEY" in str(error.value)
    assert crypto.decrypt(stored) == "532923197203090017"


def test_recording_again_changes_nothing(recorded: None) -> None:
    before = list(KeyCheck.objects.values_list("name", "value"))
    with key_in_use(FIELD_HASH_KEY=OTHER_KEY):
        assert key_checks_record() == []
    assert list(KeyCheck.objects.values_list("name", "value")) == before
    assert key_mismatches() == {}


def test_check_refuses_another_hash_key(recorded: None) -> None:
    with key_in_use(FIELD_HASH_KEY=OTHER_KEY), pytest.raises(SystemCheckError) as error:
        call_command("check")
    assert "BANGFU_HASH_KEY is not the key this database was made with" in str(error.value)
    assert "BANGFU_FIELD_KEY" not in str(error.value)


def test_check_refuses_another_field_key_and_a_server_will_not_start(recorded: None) -> None:
    with key_in_use(FIELD_ENCRYPTION_KEY=OTHER_KEY):
        with pytest.raises(SystemCheckError) as error:
            call_command("check")
        assert "BANGFU_FIELD_KEY is not the key this database was made with" in str(error.value)
        with pytest.raises(Exception, match="BANGFU_FIELD_KEY"):
            refuse_to_start()
    call_command("check", stdout=io.StringIO())  # the right keys again: passes
    refuse_to_start()


@pytest.mark.parametrize("value", ["", "short", "bm90LWJhc2U2NC1vZi0zMg=="])
@pytest.mark.parametrize(
    ("setting", "variable"), [("FIELD_ENCRYPTION_KEY", "BANGFU_FIELD_KEY"), ("FIELD_HASH_KEY", "BANGFU_HASH_KEY")]
)
def test_a_key_of_the_wrong_form_is_named_at_start(setting: str, variable: str, value: str) -> None:
    with key_in_use(**{setting: value}):
        errors = check_key_form()
        assert len(errors) == 1
        assert errors[0].msg.startswith(variable)
        # The variable an operator sets, not the setting's name.
        assert "FIELD_ENCRYPTION_KEY" not in errors[0].msg
        assert "FIELD_HASH_KEY" not in errors[0].msg
        with pytest.raises(Exception, match=variable):
            crypto.encrypt("x") if setting == "FIELD_ENCRYPTION_KEY" else crypto.keyed_hash("x")


def test_the_reveal_page_says_the_key_is_wrong(recorded: None, client: Any, tree: dict, users: dict[str, Any]) -> None:
    household = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    member = household.members.first()
    assert member is not None
    client.force_login(users["xiangyun_staff"])
    with key_in_use(FIELD_ENCRYPTION_KEY=OTHER_KEY):
        response = client.post(f"/members/{member.pk}/id-number/reveal/", {"reason": "bank form"})
    assert response.status_code == 500
    assert "BANGFU_FIELD_KEY" in response.content.decode()


def test_a_command_with_another_field_key_says_so_without_a_traceback(
    recorded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from bangfu.cli import main

    with key_in_use(FIELD_ENCRYPTION_KEY=OTHER_KEY), pytest.raises(SystemExit) as exit_:
        main(["bangfu", "registry", "export", "--format", "csv", "--reveal"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "BANGFU_FIELD_KEY is not the key this database was made with" in err
    assert "Traceback" not in err
