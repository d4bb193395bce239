"""Taking access away: ``bangfu users remove-role | deactivate | activate`` and ``bangfu tokens
list | revoke``. Each is audit-logged, takes effect from the next request, and says clearly what
it did or why it cannot (an unknown user, union or role)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client

from bangfu.api.tests.conftest import Api
from bangfu.common.models import AuditEntry
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import ApiToken, OrgUnit, Role, RoleAssignment
from bangfu.org.services import token_create
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def fresh(user: Any) -> Any:
    """The user as the next request reads it (the gate caches roles on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def signed_in(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


# --- roles -----------------------------------------------------------------------------------------


def test_remove_role_takes_that_role_only(tree: dict[str, OrgUnit]) -> None:
    run("users", "add", "--username", "wang", "--unit", "532923", "--role", "centre_staff")
    run("users", "add", "--username", "wang", "--unit", "530000", "--role", "evaluator")
    wang = get_user_model().objects.get(username="wang")
    api = Api(token_create(actor="cli", user=wang))
    assert "registry.export" in api.get("/me").json()["permissions"]

    out = run("users", "remove-role", "--username", "wang", "--unit", "532923", "--role", "centre_staff")
    assert out.strip() == (
        "wang no longer holds the role Assistance-centre staff at 祥云县总工会 (532923); roles left: 1."
    )
    assert list(RoleAssignment.objects.filter(user=wang).values_list("role", flat=True)) == ["evaluator"]
    assert not access.has_perm(fresh(wang), Perm.REGISTRY_EXPORT)
    assert access.has_perm(fresh(wang), Perm.HOUSEHOLD_VIEW, tree["dalishi"])
    assert "registry.export" not in api.get("/me").json()["permissions"]  # at once, same token
    entry = AuditEntry.objects.filter(target_type="user.role").get()
    assert (entry.action, entry.actor_label, entry.unit_path) == ("delete", "command line", tree["xiangyun"].path)
    assert entry.before == {"username": "wang", "role": "centre_staff", "unit": "532923"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "nobody", "--unit", "532923", "--role", "manager"], "No user is named nobody"),
        (["--username", "wang", "--unit", "999999", "--role", "manager"], "No union with the code 999999."),
        (["--username", "wang", "--unit", "532923", "--role", "emperor"], "Unknown role emperor; choose one of: "),
        (
            ["--username", "wang", "--unit", "532923", "--role", "manager"],
            "wang does not hold the role manager at 祥云县总工会 (532923).",
        ),
    ],
)
def test_remove_role_says_what_is_wrong(tree: dict[str, OrgUnit], args: list[str], message: str) -> None:
    user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "wang")
    with pytest.raises(CommandError) as exc:
        run("users", "remove-role", *args)
    assert message in str(exc.value)
    assert RoleAssignment.objects.filter(user__username="wang").count() == 1
    assert not AuditEntry.objects.filter(target_type="user.role").exists()


# --- deactivate and activate ----------------------------------------------------------------------


def test_deactivate_ends_sessions_and_tokens_at_once(tree: dict[str, OrgUnit]) -> None:
    wang = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "wang")
    li = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "li")
    page, other = signed_in(wang), signed_in(li)
    assert page.get("/households/").status_code == 200
    token = token_create(actor="cli", user=wang)
    assert Api(token).get("/me").status_code == 200
    assert Api(token, client=page).get("/me").status_code == 200  # the page's session in the API

    out = run("users", "deactivate", "--username", "wang")
    assert out.strip() == "wang is deactivated: signed out everywhere, API tokens revoked."
    assert page.get("/households/").status_code == 302 and page.get("/households/")["Location"].startswith("/login/")
    assert Api(token).get("/me").status_code == 401
    assert Api(client=page).get("/me").status_code == 401
    assert other.get("/households/").status_code == 200  # another user's session is left alone
    assert Session.objects.count() == 1
    assert not access.has_perm(fresh(wang), Perm.HOUSEHOLD_VIEW)
    entry = AuditEntry.objects.filter(target_type="user", target_id=str(wang.pk)).latest("seq")
    assert entry.action == "update" and entry.before == {"active": True}
    assert entry.after == {"username": "wang", "active": False, "sessions_ended": 1, "tokens_revoked": 1}
    assert run("users", "deactivate", "--username", "wang").strip() == "wang is already deactivated."
    assert "wang\tcentre_staff\t532923\t祥云县总工会\tdeactivated" in run("users", "list")

    out = run("users", "activate", "--username", "wang")
    assert out.startswith("wang is active again")
    assert fresh(wang).is_active and access.has_perm(fresh(wang), Perm.HOUSEHOLD_VIEW)
    assert Api(token).get("/me").status_code == 401  # a revoked token stays revoked
    assert page.get("/households/").status_code == 302  # the ended session does not come back
    assert signed_in(fresh(wang)).get("/households/").status_code == 200  # signing in again works
    entry = AuditEntry.objects.filter(target_type="user", target_id=str(wang.pk)).latest("seq")
    assert entry.before == {"active": False} and entry.after == {"username": "wang", "active": True}
    assert run("users", "activate", "--username", "wang").strip() == "wang is already active."


@pytest.mark.parametrize("action", ["deactivate", "activate"])
def test_deactivate_an_unknown_user(db: Any, action: str) -> None:
    with pytest.raises(CommandError, match="No user is named nobody"):
        run("users", action, "--username", "nobody")


# --- tokens --------------------------------------------------------------------------------------


@pytest.fixture
def tokens(users: dict[str, Any]) -> dict[str, str]:
    staff, cadre = users["xiangyun_staff"], users["xiangyun_cadre"]
    return {
        "phone app": token_create(actor="cli", user=staff, name="phone app"),
        "report script": token_create(actor="cli", user=staff, name="report script"),
        "cadre": token_create(actor="cli", user=cadre, name="cadre"),
    }


def test_tokens_list_never_prints_a_token(tokens: dict[str, str]) -> None:
    out = run("tokens", "list")
    assert out.splitlines()[0] == "id\tuser\tname\tbegins with\tissued\tlast used\tstate"
    assert len(out.splitlines()) == 4
    for token in tokens.values():
        assert token not in out and token[:12] not in out
        assert f"{token[:8]}…" in out
    row = ApiToken.objects.get(name="cadre")
    assert any(line.startswith(f"{row.pk}\txiangyun_cadre\tcadre\t") for line in out.splitlines())
    assert all(line.endswith("\tin force") for line in out.splitlines()[1:])

    mine = run("tokens", "list", "--username", "xiangyun_staff")
    assert len(mine.splitlines()) == 3 and "xiangyun_cadre" not in mine
    with pytest.raises(CommandError, match="No user is named nobody"):
        run("tokens", "list", "--username", "nobody")


def test_revoke_one_token_answers_401_at_once(tokens: dict[str, str]) -> None:
    row = ApiToken.objects.get(name="phone app")
    api = Api(tokens["phone app"])
    assert api.get("/me").status_code == 200
    out = run("tokens", "revoke", "--id", str(row.pk))
    assert out.strip() == f"Revoked token {row.pk} of xiangyun_staff (phone app)."
    response = api.get("/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert Api(tokens["report script"]).get("/me").status_code == 200  # the user's other token works
    entry = AuditEntry.objects.get(target_type="api_token")
    assert (entry.action, entry.target_id, entry.actor_label) == ("update", str(row.pk), "command line")
    assert entry.before == {"username": "xiangyun_staff", "name": "phone app", "revoked": False}
    assert f"{row.pk}\txiangyun_staff\tphone app\t" in run("tokens", "list")
    assert "revoked 20" in run("tokens", "list", "--username", "xiangyun_staff")

    assert run("tokens", "revoke", "--id", str(row.pk)).strip() == f"Token {row.pk} was already revoked."
    assert AuditEntry.objects.filter(target_type="api_token").count() == 1


def test_revoke_every_token_of_a_user(tokens: dict[str, str]) -> None:
    out = run("tokens", "revoke", "--username", "xiangyun_staff", "--all")
    assert len(out.splitlines()) == 2 and "phone app" in out and "report script" in out
    assert Api(tokens["phone app"]).get("/me").status_code == 401
    assert Api(tokens["report script"]).get("/me").status_code == 401
    assert Api(tokens["cadre"]).get("/me").status_code == 200
    assert AuditEntry.objects.filter(target_type="api_token").count() == 2
    again = run("tokens", "revoke", "--username", "xiangyun_staff", "--all")
    assert again.strip() == "xiangyun_staff has no token in force."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "987654"], "No API token has the id 987654"),
        (["--username", "xiangyun_staff"], "To revoke every token of xiangyun_staff add --all"),
        (["--username", "nobody", "--all"], "No user is named nobody"),
        (["--id", "1", "--all"], "--all goes with --username, not with --id."),
    ],
)
def test_revoke_says_what_is_wrong(tokens: dict[str, str], args: list[str], message: str) -> None:
    with pytest.raises(CommandError) as exc:
        run("tokens", "revoke", *args)
    assert message in str(exc.value)
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(target_type="api_token").exists()


def test_a_user_left_without_a_role_is_listed_and_told_on_signing_in(tree: Any, users: Any) -> None:
    """Removing the last role leaves an account that still signs in and sees nothing: it is in
    `users list`, and its pages say why they are empty."""

    run(
        "users", "add", "--username", "norole", "--unit", "532923", "--role", "evaluator", "--password", "Norole-pass-1"
    )
    run("users", "remove-role", "--username", "norole", "--unit", "532923", "--role", "evaluator")
    listed = [line.split("\t") for line in run("users", "list").splitlines()]
    assert ["norole", "-", "-", "no role"] in listed
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(get_user_model().objects.get(username="norole"))
    assert "holds no role at any union" in c.get("/households/").content.decode()
    c.force_login(users["xiangyun_staff"])
    assert 'id="no-role"' not in c.get("/households/").content.decode()


def test_a_token_for_a_deactivated_user_points_to_activate(tree: Any, users: Any) -> None:
    run("users", "deactivate", "--username", "xiangyun_staff")
    with pytest.raises(CommandError, match="users activate"):
        run("tokens", "create", "--username", "xiangyun_staff")


def test_a_password_set_from_the_command_line_meets_the_rules_and_a_new_one_is_logged(tree: Any, users: Any) -> None:
    """`users add --password 1` was taken (the sign-in rules skipped); setting a password again was
    logged as a role given, and the user's API tokens went on answering."""
    from bangfu.org.services import token_create

    with pytest.raises(CommandError) as caught:
        run("users", "add", "--username", "weakpw", "--unit", "532923", "--role", "evaluator", "--password", "1")
    assert "password" in str(caught.value).lower()
    assert not get_user_model().objects.filter(username="weakpw").exists()
    user = users["xiangyun_staff"]
    token = token_create(actor=user, user=user, name="tests")
    assert Api(token).get("/me").status_code == 200
    run(
        "users",
        "add",
        "--username",
        user.username,
        "--unit",
        "532923",
        "--role",
        "centre_staff",
        "--password",
        "Fresh-pass-2026",
    )
    entry = AuditEntry.objects.filter(target_type="user", target_id=str(user.pk)).order_by("-seq").first()
    assert entry is not None and (entry.after or {}).get("password_set_again") is True
    assert Api(token).get("/me").status_code == 401
