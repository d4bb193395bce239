"""Sign-in of workers by phone number and a one-time code.

Codes are six digits, kept only as a keyed hash, valid for five minutes and usable once; a phone
may ask for a code once a minute and five times an hour; a code dies after five wrong tries.

A right code starts a sign-in (``ApplicantLogin``): the phone pages keep its token in the session,
the API hands it to the caller. It ends on signing out, on the next sign-in of the same number, or
when it expires; an ended token is refused at once (the API answers 401).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common.errors import DomainError
from bangfu.common.phones import plain_phone

from . import messaging
from .models import Applicant, ApplicantLogin, LoginChannel, OneTimeCode

logger = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
HOURLY_LIMIT = 5
ADDRESS_HOURLY_LIMIT = 30  # codes a client address may ask for, to any numbers, in an hour
MAX_ATTEMPTS = 5
TOKEN_MAX_AGE = 7 * 24 * 3600  # seconds an API token lives (the pages' sign-in: SESSION_COOKIE_AGE)
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
CODE_RE = re.compile(r"[0-9]{6}")


class OtpError:
    UNAVAILABLE = "codes_unavailable"
    THROTTLED = "code_throttled"
    INVALID = "code_invalid"
    EXPIRED = "code_expired"


def normalise_phone(raw: str) -> str:
    phone = plain_phone(raw)
    if not PHONE_RE.match(phone):
        raise ValidationError({"phone": _("Enter an 11-digit mobile number.")})
    return phone


def _digest(phone: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def code_request(*, phone: str, address: str | None = None) -> None:
    """Send a fresh code to ``phone`` (rate-limited per number, and per ``address``, the client's:
    one client must not send texts to many numbers). The code itself is never stored."""
    phone = normalise_phone(phone)
    if not messaging.can_send_codes():
        logger.error("a worker asked for a login code, but no code sender is configured (BANGFU_INTAKE_CODE_SENDER)")
        raise DomainError(
            OtpError.UNAVAILABLE,
            _("Codes by text message are not set up here yet; apply at your union's counter."),
        )
    now = timezone.now()
    recent = OneTimeCode.objects.filter(phone=phone, created_at__gte=now - timedelta(hours=1))
    last = recent.order_by("-created_at").first()
    if last is not None and now - last.created_at < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - last.created_at)).total_seconds()) + 1
        raise DomainError(
            OtpError.THROTTLED, _("A code was just sent; ask again in %(n)s seconds.") % {"n": wait}, {"wait": wait}
        )
    if recent.count() >= HOURLY_LIMIT:
        raise DomainError(OtpError.THROTTLED, _("Too many codes were asked for this number; try again in an hour."))
    hour_ago = now - timedelta(hours=1)
    if (
        address
        and OneTimeCode.objects.filter(address=address, created_at__gte=hour_ago).count() >= ADDRESS_HOURLY_LIMIT
    ):
        raise DomainError(OtpError.THROTTLED, _("Too many codes were asked from this network; try again in an hour."))
    code = f"{secrets.randbelow(1_000_000):06d}"
    OneTimeCode.objects.create(
        phone=phone, digest=_digest(phone, code), created_at=now, expires_at=now + CODE_TTL, address=address
    )
    messaging.send_code(phone, code)


def code_verify(*, phone: str, code: str) -> Applicant:
    """The applicant for this phone when ``code`` is its latest live code; the code is then used up."""
    phone = normalise_phone(phone)
    # As typed on a phone: full-width digits (a Chinese keyboard's) are plain ones, spaces dropped.
    code = re.sub(r"\s", "", unicodedata.normalize("NFKC", code or ""))
    if not code:  # nothing typed: not a wrong try
        raise ValidationError({"code": _("Enter the code from the text message.")})
    if not CODE_RE.fullmatch(code):  # a typing slip, not a guess: not a wrong try either
        raise ValidationError({"code": _("The code is the 6 digits in the text message.")})
    now = timezone.now()
    with transaction.atomic():
        row = OneTimeCode.objects.select_for_update().filter(phone=phone).order_by("-created_at", "-id").first()
        if row is None or row.used_at is not None:
            raise DomainError(OtpError.INVALID, _("This code is not valid; ask for a new one."))
        if row.expires_at <= now:
            raise DomainError(OtpError.EXPIRED, _("This code has expired; ask for a new one."))
        if row.attempts >= MAX_ATTEMPTS:
            raise DomainError(OtpError.INVALID, _("Too many wrong codes; ask for a new one."))
        if not hmac.compare_digest(row.digest, _digest(phone, code)):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            left = MAX_ATTEMPTS - row.attempts
            # Raised after the block commits, so the failed try stays counted.
            raise_later = DomainError(
                OtpError.INVALID,
                _("The code is wrong; tries left: %(n)s.") % {"n": left}
                if left
                else _("Too many wrong codes; ask for a new one."),
                {"tries_left": left},
            )
        else:
            raise_later = None
            row.used_at = now
            row.save(update_fields=["used_at"])
            applicant, _created = Applicant.objects.get_or_create(phone=phone)
            applicant.last_login_at = now
            applicant.save(update_fields=["last_login_at"])
    if raise_later is not None:
        raise raise_later
    return applicant


# --- sign-ins ----------------------------------------------------------------------------------------

SESSION_KEY = "bangfu_applicant_token"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_start(*, applicant: Applicant, channel: str) -> str:
    """A new sign-in of ``applicant`` on ``channel`` (``LoginChannel``); returns its token (kept only
    as a hash). The number's other sign-ins end: a number is one person's at a time, so when a
    recycled number is signed in by its new holder, the old holder is signed out everywhere."""
    now = timezone.now()
    life = TOKEN_MAX_AGE if channel == LoginChannel.API else settings.SESSION_COOKIE_AGE
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApplicantLogin.objects.filter(applicant=applicant, ended_at__isnull=True).update(ended_at=now)
        ApplicantLogin.objects.create(
            applicant=applicant,
            channel=channel,
            key_hash=_token_hash(token),
            created_at=now,
            expires_at=now + timedelta(seconds=life),
        )
    return token


def token_for(applicant: Applicant) -> str:
    """A bearer token for the API (a mini-program keeps it instead of a cookie), valid for
    ``TOKEN_MAX_AGE`` until the worker signs out or signs in again."""
    return login_start(applicant=applicant, channel=LoginChannel.API)


def applicant_from_token(token: str | None, *, channel: str = LoginChannel.API) -> Applicant | None:
    """The worker of a live sign-in, with it as ``current_login``; None for an unknown, ended or
    expired token."""
    if not token or len(token) > 200:
        return None
    login = (
        ApplicantLogin.objects.select_related("applicant")
        .filter(key_hash=_token_hash(token), channel=channel, ended_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if login is None:
        return None
    applicant = login.applicant
    applicant.current_login = login
    return applicant


def login_end(*, applicant: Applicant) -> None:
    """Sign out: the sign-in ``applicant`` came with ends, so its token no longer works."""
    login = applicant.current_login
    if login is not None:
        ApplicantLogin.objects.filter(pk=login.pk, ended_at__isnull=True).update(ended_at=timezone.now())


def session_sign_in(session: Any, applicant: Applicant) -> None:
    """The phone pages: a new session holding a new sign-in's token."""
    token = login_start(applicant=applicant, channel=LoginChannel.PAGE)
    session.cycle_key()
    session[SESSION_KEY] = token


def applicant_from_session(session: Any) -> Applicant | None:
    return applicant_from_token(session.get(SESSION_KEY), channel=LoginChannel.PAGE)


class LoginEnded:
    """Why a page session's sign-in no longer works (``session_login_ended``)."""

    REPLACED = "replaced"  # the number signed in again, on another phone or in the app
    ENDED = "ended"  # signed out, expired, or no longer known


def session_login_ended(session: Any) -> str | None:
    """For a session that holds a sign-in's token which no longer works: why (``LoginEnded``), and
    the token is dropped from the session, so the pages no longer act as if signed in. None when the
    session holds no token."""
    token = session.get(SESSION_KEY)
    if not token:
        return None
    session.pop(SESSION_KEY, None)
    return login_ended(str(token), LoginChannel.PAGE) or LoginEnded.ENDED


def login_ended(token: str, channel: str) -> str | None:
    """Why a token that was a sign-in's no longer works (``LoginEnded``); None for a token no
    sign-in had (or one whose record is gone: said as "sign in", like any unknown token)."""
    if not token or len(token) > 200:
        return None
    login = (
        ApplicantLogin.objects.filter(key_hash=_token_hash(token), channel=channel)
        .only("applicant_id", "ended_at", "expires_at")
        .first()
    )
    if login is None:
        return None
    if login.ended_at is not None:
        newer = ApplicantLogin.objects.filter(applicant_id=login.applicant_id, created_at__gte=login.ended_at)
        if newer.exclude(pk=login.pk).exists():
            return LoginEnded.REPLACED
    return LoginEnded.ENDED


def session_sign_out(session: Any) -> None:
    applicant = applicant_from_session(session)
    if applicant is not None:
        login_end(applicant=applicant)
    session.flush()


LOGINS_KEPT = timedelta(days=1)  # an ended sign-in's proofs count wrong tries for a day (reviews)


def logins_purge(*, now: Any = None) -> int:
    """Delete the sign-ins that ended or expired more than a day ago (a daily job), with their
    proofs; returns how many sign-ins."""
    cutoff = (now or timezone.now()) - LOGINS_KEPT
    old = ApplicantLogin.objects.filter(Q(ended_at__lt=cutoff) | Q(expires_at__lt=cutoff))
    _deleted, by_model = old.delete()
    return by_model.get(ApplicantLogin._meta.label, 0)


CODES_KEPT = timedelta(days=1)  # far beyond a code's life and the hourly limit's window


def codes_purge(*, now: Any = None) -> int:
    """Delete the one-time codes asked for more than a day ago (a daily job); returns how many."""
    cutoff = (now or timezone.now()) - CODES_KEPT
    deleted, _by_model = OneTimeCode.objects.filter(created_at__lt=cutoff).delete()
    return deleted
