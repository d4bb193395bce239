"""Writes to the union tree, users, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common import divisions
from bangfu.common.audit import audit_record
from bangfu.common.errors import ErrorCollector
from bangfu.common.models import AuditAction
from bangfu.common.punctuation import join_list

from .models import ApiToken, OrgKind, OrgLevel, OrgUnit, Role, RoleAssignment
from .tree_file import UnitRow, kind_from, level_from

TOKEN_PREFIX = "bf_"  # noqa: S105 - a visible marker, not a secret


def org_unit_create(
    *,
    name: str,
    level: int,
    division_code: str,
    parent: OrgUnit | None = None,
    kind: str = OrgKind.FEDERATION,
    code: str = "",
) -> OrgUnit:
    """Add a unit under ``parent``. Federations (county and up) are known by their division code,
    which must exist in GB/T 2260 and lie inside the parent's; grassroots unions need a code of
    their own (default: generated from the parent)."""
    errors: dict[str, str] = {}
    if not divisions.division_exists(division_code):
        errors["division_code"] = _("%(code)s is not an administrative-division code in use.") % {"code": division_code}
    if parent is None and level != OrgLevel.NATIONAL and level != OrgLevel.PROVINCE:
        errors["parent"] = _("Only a national or provincial federation can be at the top of a tree.")
    if parent is not None and level <= parent.level:
        errors["level"] = _("A unit must be at a lower level than its parent.")
    if parent is not None and level < OrgLevel.GRASSROOTS and parent.level >= OrgLevel.PROVINCE:
        prefix = parent.division_code[: {OrgLevel.PROVINCE: 2, OrgLevel.CITY: 4}.get(OrgLevel(parent.level), 6)]
        if parent.level in (OrgLevel.PROVINCE, OrgLevel.CITY) and not division_code.startswith(prefix):
            errors["division_code"] = _("%(code)s does not lie inside %(parent)s.") % {
                "code": division_code,
                "parent": parent.name,
            }
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if not code:
            if level < OrgLevel.GRASSROOTS and not OrgUnit.objects.filter(code=division_code).exists():
                code = division_code
            else:
                base = parent.code if parent else division_code
                n = OrgUnit.objects.filter(code__startswith=base + "-").count() + 1
                while OrgUnit.objects.filter(code=f"{base}-{n:03d}").exists():
                    n += 1
                code = f"{base}-{n:03d}"
        unit = OrgUnit.objects.create(
            name=name, level=level, kind=kind, division_code=division_code, parent=parent, code=code, path="-"
        )
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.save(update_fields=["path"])
    return unit


@dataclass
class TreeLoad:
    """What ``org_tree_load`` did: the unions created and renamed, and how many were already so."""

    created: list[OrgUnit] = field(default_factory=list)
    changed: list[OrgUnit] = field(default_factory=list)
    unchanged: int = 0


def org_tree_load(*, actor: Any, rows: list[UnitRow]) -> TreeLoad:
    """Load unions into the tree (``tree_file`` says what a row holds), all or nothing: every row is
    checked, and any problem — keyed ``rows.<line>.<field>`` — leaves the tree as it was. A union
    whose code is already in the tree is the same union: a new name (or a kind given) is written
    and audit-logged, the same row again changes nothing; one that would move (another parent,
    level or division) is refused, as moving a union is not what a load does."""
    errors = ErrorCollector()
    result = TreeLoad()

    def problem(row: UnitRow, name: str, message: str) -> None:
        errors.add(f"rows.{row.line}.{name}", message)

    first_line: dict[str, int] = {}
    checked: list[tuple[UnitRow, int, str, str]] = []  # row, level, kind, division code
    for row in rows:
        ok = True
        if not row.code:
            problem(row, "code", _("The code is empty."))
            ok = False
        elif len(row.code) > OrgUnit._meta.get_field("code").max_length:  # type: ignore[operator]
            problem(row, "code", _("The code is longer than 32 characters."))
            ok = False
        elif row.code in first_line:
            problem(
                row,
                "code",
                _("The code %(code)s is also on row %(row)d.") % {"code": row.code, "row": first_line[row.code]},
            )
            ok = False
        else:
            first_line[row.code] = row.line
        if not row.name:
            problem(row, "name", _("The name is empty."))
            ok = False
        elif len(row.name) > OrgUnit._meta.get_field("name").max_length:  # type: ignore[operator]
            problem(row, "name", _("The name is longer than 100 characters."))
            ok = False
        if row.code and row.parent_code == row.code:
            problem(row, "parent_code", _("A union cannot be its own parent."))
            ok = False
        level = level_from(row, division_in_use=divisions.division_exists(row.code))
        if level is None:
            problem(
                row,
                "level",
                _("%(value)s is not a level: province, city, county or grassroots.") % {"value": row.level},
            )
            ok = False
        kind = kind_from(row, level or OrgLevel.GRASSROOTS)
        if kind is None:
            problem(
                row,
                "kind",
                _("%(value)s is not a kind of union: %(kinds)s.")
                % {"value": row.kind, "kinds": join_list(OrgKind.values)},
            )
            ok = False
        if ok and level is not None and kind is not None:
            checked.append((row, int(level), kind, row.division_code))

    codes = {row.code for row, *_rest in checked} | {row.parent_code for row, *_rest in checked if row.parent_code}
    with transaction.atomic():
        known = {
            u.code: u
            for u in OrgUnit.objects.select_for_update(of=("self",)).select_related("parent").filter(code__in=codes)
        }
        in_file = {row.code: row for row in rows if row.code}
        pending = checked
        while pending:
            waiting: list[tuple[UnitRow, int, str, str]] = []
            for row, row_level, kind, division_code in pending:
                parent = known.get(row.parent_code) if row.parent_code else None
                if row.parent_code and parent is None:
                    if row.parent_code in in_file and f"rows.{in_file[row.parent_code].line}" not in _lines(errors):
                        waiting.append((row, row_level, kind, division_code))  # its parent's row comes first
                    elif row.parent_code in in_file:
                        problem(
                            row,
                            "parent_code",
                            _("Its parent, on row %(row)d, is not loaded: see that row's problems.")
                            % {"row": in_file[row.parent_code].line},
                        )
                    else:
                        problem(
                            row,
                            "parent_code",
                            _("No union has the code %(code)s, in the file or in the tree.")
                            % {"code": row.parent_code},
                        )
                    continue
                _load_one(actor, row, row_level, kind, division_code, parent, known, result, problem)
            if len(waiting) == len(pending):  # parents that wait on each other: a loop in the file
                for row, *_rest in waiting:
                    problem(row, "parent_code", _("The parents of this row lead back to it."))
                break
            pending = waiting
        errors.raise_if_any()
    return result


def _lines(errors: ErrorCollector) -> set[str]:
    return {key.rsplit(".", 1)[0] for key in errors.errors}


def _load_one(
    actor: Any,
    row: UnitRow,
    level: int,
    kind: str,
    division_code: str,
    parent: OrgUnit | None,
    known: dict[str, OrgUnit],
    result: TreeLoad,
    problem: Any,
) -> None:
    """Create the union of ``row``, or bring the one of its code up to date (its name, its kind)."""
    unit = known.get(row.code)
    division_code = division_code or (
        row.code if level < OrgLevel.GRASSROOTS else parent.division_code if parent else ""
    )
    if unit is None:
        try:
            unit = org_unit_create(
                name=row.name, level=level, division_code=division_code, parent=parent, kind=kind, code=row.code
            )
        except ValidationError as exc:
            where = {
                "division_code": "division_code" if row.division_code else "code",
                "parent": "parent_code",
                "level": "level" if row.level else "parent_code",
            }
            for name, messages in exc.message_dict.items():
                for message in messages:
                    problem(row, where.get(name, "code"), message)
            return
        known[row.code] = unit
        result.created.append(unit)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="org_unit",
            target_id=unit.pk,
            unit_path=unit.path,
            after={
                "code": unit.code,
                "name": unit.name,
                "level": unit.level,
                "kind": unit.kind,
                "division_code": unit.division_code,
                "parent": parent.code if parent else "",
            },
        )
        return
    was_parent = unit.parent.code if unit.parent else ""
    if was_parent != row.parent_code or unit.level != level or unit.division_code != division_code:
        problem(
            row,
            "parent_code" if was_parent != row.parent_code else "level" if unit.level != level else "division_code",
            _(
                "%(code)s is already in the tree as %(name)s (%(level)s, division %(division)s, under %(parent)s); "
                "a load does not move a union."
            )
            % {
                "code": unit.code,
                "name": unit.name,
                "level": OrgLevel(unit.level).label,
                "division": unit.division_code,
                "parent": was_parent or "-",
            },
        )
        return
    before = {"name": unit.name, "kind": unit.kind}
    after = {"name": row.name, "kind": kind if row.kind else unit.kind}
    if before == after:
        result.unchanged += 1
        return
    unit.name, unit.kind = after["name"], after["kind"]
    unit.save(update_fields=["name", "kind"])
    result.changed.append(unit)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="org_unit",
        target_id=unit.pk,
        unit_path=unit.path,
        before={k: v for k, v in before.items() if v != after[k]},
        after={k: v for k, v in after.items() if v != before[k]},
    )


def org_unit_by_code(code: str) -> OrgUnit:
    """A unit by its unit code or, for federations, its division code."""
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        unit = OrgUnit.objects.filter(division_code=code, level__lt=OrgLevel.GRASSROOTS).order_by("level").first()
    if unit is None:
        raise ValidationError({"unit": _("No union with the code %(code)s.") % {"code": code}})
    return unit


def user_add(*, actor: Any, username: str, unit: OrgUnit, role: str, password: str | None = None) -> tuple[Any, str]:
    """Create the user if needed and give them ``role`` at ``unit``. Returns (user, password set or "")."""
    if role not in Role.values:
        raise _unknown_role(role)
    User = get_user_model()  # noqa: N806 - Django's idiom
    if not User.objects.filter(username=username).exists():
        username_check(username)
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        new_password = ""
        if created or password:
            new_password = password or secrets.token_urlsafe(9)
            if password:
                # A password chosen by a person meets the rules the sign-in pages set
                # (AUTH_PASSWORD_VALIDATORS): not too short, not common, not all digits, not the name.
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise ValidationError({"password": exc.messages}) from exc
            user.set_password(new_password)
            user.save()
        RoleAssignment.objects.get_or_create(user=user, unit=unit, role=role)
        after: dict[str, Any] = {"username": username, "role": role, "unit": unit.code}
        if new_password and not created:
            # A password set again: said in the log, and the user's API tokens no longer answer
            # (whoever held the old password may have made one).
            after["password_set_again"] = True
            revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
            after["tokens_revoked"] = revoked
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            target_type="user",
            target_id=user.pk,
            unit_path=unit.path,
            after=after,
        )
    return user, new_password


def username_check(username: str) -> None:
    """A new user's name as the user model takes it: not empty, not longer than its column (PostgreSQL
    refused a longer one with a database error, SQLite stored it), and only the characters of its
    validator (letters, digits and @ . + - _)."""
    User = get_user_model()  # noqa: N806 - Django's idiom
    longest = getattr(User._meta.get_field(User.USERNAME_FIELD), "max_length", None)
    if not username.strip():
        raise ValidationError({"username": _("Give a user name.")})
    if longest and len(username) > longest:
        raise ValidationError({"username": _("A user name has at most %(max)d characters.") % {"max": longest}})
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc


def _unknown_role(role: str) -> ValidationError:
    return ValidationError(
        {
            "role": _("Unknown role %(role)s; choose one of: %(roles)s.")
            % {"role": role, "roles": join_list(Role.values)}
        }
    )


def user_by_username(username: str) -> Any:
    """The staff account of ``username``, active or not; a clear error for a name nobody has."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError(
            {"username": _("No user is named %(username)s; see `bangfu users list`.") % {"username": username}}
        )
    return user


def role_remove(*, actor: Any, user: Any, unit: OrgUnit, role: str) -> None:
    """Take ``role`` at ``unit`` from ``user`` (at once: the gate reads the roles on each request).
    The account stays; its other roles stay."""
    if role not in Role.values:
        raise _unknown_role(role)
    with transaction.atomic():
        deleted, _by_model = RoleAssignment.objects.filter(user=user, unit=unit, role=role).delete()
        if not deleted:
            raise ValidationError(
                {
                    "role": _("%(username)s does not hold the role %(role)s at %(unit)s (%(code)s).")
                    % {"username": user.get_username(), "role": role, "unit": unit.name, "code": unit.code}
                }
            )
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            target_type="user.role",
            target_id=user.pk,
            unit_path=unit.path,
            before={"username": user.get_username(), "role": role, "unit": unit.code},
        )


def user_set_active(*, actor: Any, user: Any, active: bool) -> bool:
    """Deactivate (``active=False``) or activate an account; returns whether anything changed.

    A deactivated user is refused at once everywhere: the gate grants an inactive user nothing,
    its sessions are ended and its API tokens revoked (so activating the account again does not
    bring old sessions or tokens back: the user signs in again, and new tokens are issued)."""
    with transaction.atomic():
        user = type(user).objects.select_for_update().get(pk=user.pk)
        if user.is_active == active:
            return False
        user.is_active = active
        user.save(update_fields=["is_active"])
        after: dict[str, Any] = {"username": user.get_username(), "active": active}
        if not active:
            after["sessions_ended"] = _sessions_end(user)
            after["tokens_revoked"] = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="user",
            target_id=user.pk,
            before={"active": not active},
            after=after,
        )
    return True


def _sessions_end(user: Any) -> int:
    """Delete the signed-in sessions of ``user`` (database sessions); returns how many."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = [
        s.pk
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if str(s.get_decoded().get(SESSION_KEY, "")) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def token_list(*, username: str | None = None) -> Any:
    """API tokens, newest first, with their users; only the stored prefix of a token is known."""
    qs = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if username is not None:
        qs = qs.filter(user=user_by_username(username))
    return qs


def token_revoke(*, actor: Any, token_id: int | None = None, user: Any = None) -> list[ApiToken]:
    """Revoke one token (``token_id``) or every token of ``user`` still in force; a revoked token
    answers 401 from the next request. Returns the tokens revoked now (an already revoked one is
    not revoked again and is not in the list)."""
    with transaction.atomic():
        if token_id is not None:
            row = ApiToken.objects.select_for_update().select_related("user").filter(pk=token_id).first()
            if row is None:
                raise ValidationError(
                    {"id": _("No API token has the id %(id)s; see `bangfu tokens list`.") % {"id": token_id}}
                )
            rows = [row] if row.revoked_at is None else []
        else:
            rows = list(
                ApiToken.objects.select_for_update().select_related("user").filter(user=user, revoked_at__isnull=True)
            )
        now = timezone.now()
        ApiToken.objects.filter(pk__in=[r.pk for r in rows]).update(revoked_at=now)
        for r in rows:
            r.revoked_at = now
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                target_type="api_token",
                target_id=r.pk,
                before={"username": r.user.get_username(), "name": r.name, "revoked": False},
                after={"revoked": True},
            )
    return rows


def token_create(*, actor: Any, user: Any, name: str = "") -> str:
    """Issue a bearer token for ``user``; only its digest is kept, the token is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(user=user, name=name, digest=_digest(token), prefix=token[:8])
        audit_record(actor=actor, action=AuditAction.TOKEN, target_type="user", target_id=user.pk, after={"name": name})
    return token


def token_authenticate(token: str) -> Any | None:
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
