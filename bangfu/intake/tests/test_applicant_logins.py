"""A worker's sign-in (phone pages or API token) ends on signing out and on the next sign-in of the
same number, server-side: a token used afterwards gets 401, a page session goes back to sign-in."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bangfu.intake import otp
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Applicant, ApplicantLogin, LoginChannel, OneTimeCode

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def _code(phone: str = PHONE) -> str:
    OneTimeCode.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))  # past the resend wait
    otp.code_request(phone=phone)
    return next(code for to, code in reversed(outbox) if to == phone)


def _api_token(phone: str = PHONE) -> str:
    body = {"phone": phone, "code": _code(phone)}
    r = Client().post("/api/v1/applicant/token", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    return str(r.json()["token"])


def _get(token: str, path: str = "/applicant/applications") -> Any:
    return Client().get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def _logout(token: str) -> Any:
    return Client().post("/api/v1/applicant/logout", headers={"Authorization": f"Bearer {token}"})


def _page_client(phone: str = PHONE) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    r = c.post("/apply/login/", {"phone": phone, "code": _code(phone), "step": "verify"})
    assert r.status_code == 302 and r["Location"] == "/apply/"
    return c


def test_a_token_used_after_logout_gets_401() -> None:
    token = _api_token()
    assert _get(token).status_code == 200
    assert _logout(token).status_code == 204
    r = _get(token)
    # The app is told why, so it can tell its user (an unknown token is only "sign in").
    assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_ended"
    assert "has ended" in r.json()["error"]["message"] and r["WWW-Authenticate"]
    assert _logout(token).status_code == 401  # already ended
    unknown = _get("not-a-token")
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "unauthorized"
    login = ApplicantLogin.objects.get()
    assert login.ended_at is not None


def test_a_new_sign_in_ends_the_numbers_earlier_ones() -> None:
    """A recycled number's new holder signs in: the old holder's token and page stop working."""
    old_token = _api_token()
    page = _page_client()  # the page's sign-in ends the token's…
    r = _get(old_token)
    assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_replaced"
    assert "signed in again" in r.json()["error"]["message"]
    assert page.get("/apply/").status_code == 200
    old_page = page
    new_token = _api_token()  # …and a token's sign-in ends the page's
    assert _get(new_token).status_code == 200
    r = old_page.get("/apply/")
    assert r.status_code == 302 and r["Location"] == "/apply/login/"
    assert ApplicantLogin.objects.filter(ended_at__isnull=True).count() == 1
    # Another number's sign-ins are not touched.
    other = _api_token("13912345679")
    _api_token()
    assert _get(other).status_code == 200


def test_signing_out_of_the_phone_pages_ends_the_sign_in_itself() -> None:
    c = _page_client()
    token = c.session[otp.SESSION_KEY]
    assert otp.applicant_from_token(token, channel=LoginChannel.PAGE) is not None
    assert _get(token).status_code == 401  # a page's sign-in is not an API token
    r = c.post("/apply/logout/")
    assert r.status_code == 302 and r["Location"] == "/apply/login/"
    assert otp.applicant_from_token(token, channel=LoginChannel.PAGE) is None
    # A copy of the old session, had anyone kept one, is signed out too.
    copy = Client()
    session = copy.session
    session[otp.SESSION_KEY] = token
    session.save()
    assert copy.get("/apply/")["Location"] == "/apply/login/"


def test_tokens_expire_and_only_their_hash_is_kept(settings: Any) -> None:
    token = _api_token()
    login = ApplicantLogin.objects.get()
    assert login.key_hash != token and token not in login.key_hash
    assert login.expires_at - login.created_at == dt.timedelta(seconds=otp.TOKEN_MAX_AGE)
    page = otp.login_start(applicant=login.applicant, channel=LoginChannel.PAGE)
    page_login = ApplicantLogin.objects.get(channel=LoginChannel.PAGE)
    assert page_login.expires_at - page_login.created_at == dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    ApplicantLogin.objects.filter(pk=page_login.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert otp.applicant_from_token(page, channel=LoginChannel.PAGE) is None
    for forged in ("", "x" * 5000, token[:-1], "\x00"):
        assert otp.applicant_from_token(forged) is None


def test_ended_sign_ins_are_purged_after_a_day() -> None:
    worker = Applicant.objects.create(phone=PHONE)
    otp.token_for(worker)
    live = otp.token_for(worker)  # ends the first
    now = timezone.now()
    assert otp.logins_purge(now=now) == 0  # ended a moment ago: kept a day
    assert otp.logins_purge(now=now + otp.LOGINS_KEPT + dt.timedelta(minutes=1)) == 1
    assert otp.applicant_from_token(live) is not None
    assert otp.logins_purge(now=now + dt.timedelta(seconds=otp.TOKEN_MAX_AGE) + otp.LOGINS_KEPT * 2) == 1
    assert not ApplicantLogin.objects.exists()
