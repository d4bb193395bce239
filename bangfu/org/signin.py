"""Staff sign-in: too many wrong passwords lock an account (or an address) for a while, and every
sign-in is in the audit log: a successful one (``login``), and a refused one (``login_failed``, with
the name tried and why: a wrong password, an unknown name, an inactive user, or a name or address
locked by too many failures; never the password), so that an auditor can follow an attack.

Failures are counted in the database (``SignInFailure``), so every web process sees the same
counts: five for one user name within 15 minutes, or 30 from one address (many names tried from
one place), and the sign-in form refuses further tries — the right password too — until the oldest
of them is 15 minutes old. A successful sign-in clears its name's failures. The failures are
deleted after a day (a daily job). The address is the connection's (``REMOTE_ADDR``), or behind a
reverse proxy (``BANGFU_PROXY_HEADERS``) the one it appended to X-Forwarded-For: without that,
every sign-in would come from the proxy's address and thirty wrong passwords would lock everyone.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.http import HttpRequest
from django.utils import timezone

from bangfu.common.audit import audit_record
from bangfu.common.models import AuditAction

from .models import SignInFailure

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30
WINDOW = dt.timedelta(minutes=15)
KEPT = dt.timedelta(days=1)


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address: the connection's, or behind a reverse proxy (``BANGFU_PROXY_HEADERS``)
    the last one of X-Forwarded-For, which that proxy appended (earlier ones the client may forge)."""
    if request is None:
        return None
    if settings.BANGFU_PROXY_HEADERS:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            try:
                return str(ipaddress.ip_address(forwarded[-1]))
            except ValueError:
                return None
    return request.META.get("REMOTE_ADDR") or None


def minutes_locked(username: str, address: str | None, *, now: dt.datetime | None = None) -> int:
    """How many minutes sign-in stays refused for this name or address (0: it is not)."""
    now = now or timezone.now()
    recent = SignInFailure.objects.filter(at__gt=now - WINDOW)
    checks = [(recent.filter(username=username.strip().lower()), ACCOUNT_LIMIT)]
    if address:
        checks.append((recent.filter(address=address), ADDRESS_LIMIT))
    waits = []
    for qs, limit in checks:
        # Refused while ``limit`` failures lie in the window: until the newest ``limit``-th one ages out.
        times = list(qs.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            waits.append((times[-1] + WINDOW - now).total_seconds())
    return max((math.ceil(w / 60) for w in waits if w > 0), default=0)


class Outcome:
    """Why a sign-in was refused, as the audit entry (``after.outcome``) names it."""

    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome's name, not a password
    UNKNOWN_NAME = "unknown_name"
    INACTIVE = "inactive"
    LOCKED = "locked"


def _user_named(username: str) -> Any:
    return get_user_model().objects.filter(username=username).only("pk", "is_active").first() if username else None


def _audit_refused(username: str, address: str | None, outcome: str, user: Any, **extra: Any) -> None:
    """A refused sign-in in the audit log. The actor is the name tried (no one signed in); the
    target the user of that name when there is one."""
    audit_record(
        actor=username or "anonymous",
        action=AuditAction.LOGIN_FAILED,
        target_type="auth.user",
        target_id=user.pk if user else "",
        after={"username": username, "outcome": outcome, **extra},
        note=address or "",
    )


def _failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    typed = str(credentials.get("username") or "").strip()[:150]
    address = client_address(request)
    SignInFailure.objects.create(username=typed.lower(), address=address, at=timezone.now())
    user = _user_named(typed)
    if user is None:
        outcome = Outcome.UNKNOWN_NAME
    elif not user.is_active:
        outcome = Outcome.INACTIVE
    else:
        outcome = Outcome.WRONG_PASSWORD
    _audit_refused(typed, address, outcome, user)


def refused_while_locked(username: str, request: HttpRequest | None, minutes: int) -> None:
    """A try refused, before its password was looked at, because its name or address is locked."""
    typed = str(username).strip()[:150]
    _audit_refused(typed, client_address(request), Outcome.LOCKED, _user_named(typed), minutes=minutes)


def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    SignInFailure.objects.filter(username=user.get_username().lower()).delete()
    audit_record(
        actor=user,
        action=AuditAction.LOGIN,
        target_type="auth.user",
        target_id=user.pk,
        note=client_address(request) or "",
    )


def connect() -> None:
    user_login_failed.connect(_failed, dispatch_uid="bangfu.org.signin.failed")
    user_logged_in.connect(_signed_in, dispatch_uid="bangfu.org.signin.logged_in")


def failures_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the failures older than a day; returns how many."""
    cutoff = (now or timezone.now()) - KEPT
    deleted, _by_model = SignInFailure.objects.filter(at__lt=cutoff).delete()
    return deleted
