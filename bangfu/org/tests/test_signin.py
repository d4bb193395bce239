"""Staff sign-in: wrong passwords lock the name (or the address) for a while; sign-ins are audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.common.models import AuditAction, AuditEntry
from bangfu.org import signin
from bangfu.org.models import SignInFailure

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


def _try(password: str, username: str = "xiangyun_staff", address: str = "10.0.0.1") -> Any:
    c = Client(REMOTE_ADDR=address, headers={"Accept-Language": "en"})
    return c.post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_name_even_for_the_right_one(users: dict[str, Any]) -> None:
    for _ in range(signin.ACCOUNT_LIMIT):
        assert _try("wrong").status_code == 200  # the form again, with its error
    refused = _try(PASSWORD)
    assert refused.status_code == 200
    assert "Too many wrong passwords for this name or from this computer; try again in 15 minutes." in (
        refused.content.decode()
    )
    assert "_auth_user_id" not in refused.client.session
    # The same name from another computer is locked too; another name from this one is not.
    assert _try(PASSWORD, address="10.0.0.2").status_code == 200
    assert _try(PASSWORD, username="dalishi_staff").status_code == 302


def test_the_lock_ends_when_the_failures_age_out(users: dict[str, Any]) -> None:
    for _ in range(signin.ACCOUNT_LIMIT):
        _try("wrong")
    SignInFailure.objects.update(at=timezone.now() - signin.WINDOW - dt.timedelta(seconds=1))
    assert _try(PASSWORD).status_code == 302


def test_a_name_typed_in_capitals_counts_as_the_same_name(users: dict[str, Any]) -> None:
    for i in range(signin.ACCOUNT_LIMIT):
        _try("wrong", username="XIANGYUN_STAFF" if i % 2 else "xiangyun_staff ")
    assert signin.minutes_locked("xiangyun_staff", None) == 15


def test_many_names_from_one_address_lock_the_address(users: dict[str, Any]) -> None:
    for i in range(signin.ADDRESS_LIMIT):
        _try("wrong", username=f"guess{i}")
    assert signin.minutes_locked("xiangyun_staff", "10.0.0.1") == 15
    assert _try(PASSWORD).status_code == 200
    assert _try(PASSWORD, address="10.0.0.9").status_code == 302


def test_a_sign_in_is_audited_and_clears_the_failures(users: dict[str, Any]) -> None:
    _try("wrong")
    _try("wrong")
    assert _try(PASSWORD).status_code == 302
    entry = AuditEntry.objects.filter(action=AuditAction.LOGIN).get()
    assert entry.actor == users["xiangyun_staff"]
    assert entry.note == "10.0.0.1"
    assert not SignInFailure.objects.filter(username="xiangyun_staff").exists()


def test_failures_older_than_a_day_are_purged() -> None:
    now = timezone.now()
    SignInFailure.objects.create(username="a", at=now - dt.timedelta(hours=25))
    SignInFailure.objects.create(username="b", at=now - dt.timedelta(hours=1))
    assert signin.failures_purge(now=now) == 1
    assert list(SignInFailure.objects.values_list("username", flat=True)) == ["b"]


def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(settings: Any) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert signin.client_address(request) == "10.0.0.254"  # not trusted unless configured
    settings.BANGFU_PROXY_HEADERS = True
    assert signin.client_address(request) == "203.0.113.7"  # the first one the client may forge
    request.META["HTTP_X_FORWARDED_FOR"] = "not an address"
    assert signin.client_address(request) is None
    del request.META["HTTP_X_FORWARDED_FOR"]
    assert signin.client_address(request) == "10.0.0.254"


def _refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("seq"))


def test_a_wrong_password_is_audited_with_the_name_tried_and_never_the_password(users: dict[str, Any]) -> None:
    _try("my-secret-guess")
    (entry,) = _refusals()
    assert entry.actor is None and entry.actor_label == "xiangyun_staff"
    assert (entry.target_type, entry.target_id) == ("auth.user", str(users["xiangyun_staff"].pk))
    assert entry.after == {"username": "xiangyun_staff", "outcome": "wrong_password"}
    assert entry.note == "10.0.0.1"
    assert "my-secret-guess" not in str(AuditEntry.objects.values_list().get(pk=entry.pk))


def test_an_unknown_name_and_an_inactive_user_are_audited_as_such(users: dict[str, Any]) -> None:
    _try(PASSWORD, username="nobody_here")
    users["dalishi_staff"].is_active = False
    users["dalishi_staff"].save()
    _try(PASSWORD, username="dalishi_staff")
    unknown, inactive = _refusals()
    assert (unknown.target_id, unknown.after) == ("", {"username": "nobody_here", "outcome": "unknown_name"})
    assert inactive.after == {"username": "dalishi_staff", "outcome": "inactive"}


def test_a_try_refused_while_locked_is_audited(users: dict[str, Any]) -> None:
    for _ in range(signin.ACCOUNT_LIMIT):
        _try("wrong")
    _try(PASSWORD, address="10.0.0.2")  # the right password, refused: the name is locked
    entries = _refusals()
    assert [e.after["outcome"] for e in entries if e.after] == ["wrong_password"] * signin.ACCOUNT_LIMIT + ["locked"]
    locked = entries[-1]
    assert locked.after == {"username": "xiangyun_staff", "outcome": "locked", "minutes": 15}
    assert locked.note == "10.0.0.2"
    assert locked.target_id == str(users["xiangyun_staff"].pk)
    assert PASSWORD not in str(AuditEntry.objects.values_list().get(pk=locked.pk))
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()
