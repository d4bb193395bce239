from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgUnit, RoleAssignment
from bangfu.registry import services
from bangfu.registry.models import Household, Member
from bangfu.testing.factories import UserFactory, household_input


@pytest.fixture
def files(tree: dict[str, OrgUnit], users: dict[str, Any]) -> dict[str, Household]:
    return {
        "xiangyun": services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"])),
        "dalishi": services.household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"])),
    }


def test_county_user_sees_only_own_county(users: dict[str, Any], files: dict[str, Household]) -> None:
    qs = access.scope(users["xiangyun_staff"], Household.objects.all())
    assert list(qs) == [files["xiangyun"]]
    with pytest.raises(Http404):
        access.get_for(users["xiangyun_staff"], Household, files["dalishi"].pk)
    # Out of jurisdiction answers exactly like an id that does not exist.
    with pytest.raises(Http404):
        access.get_for(users["xiangyun_staff"], Household, 999_999)


def test_province_sees_every_county_and_members_follow_households(
    users: dict[str, Any], files: dict[str, Household]
) -> None:
    assert set(access.scope(users["province_manager"], Household.objects.all())) == set(files.values())
    members = access.scope(users["dalishi_staff"], Member.objects.all())
    assert {m.household_id for m in members} == {files["dalishi"].pk}


def test_fails_closed(tree: dict[str, OrgUnit], files: dict[str, Household]) -> None:
    stranger: Any = UserFactory(username="stranger")
    RoleAssignment.objects.create(user=stranger, unit=tree["province"], role="superhero")  # unknown role
    assert not access.scope(stranger, Household.objects.all()).exists()
    assert not access.scope(AnonymousUser(), Household.objects.all()).exists()
    assert not access.scope(None, Household.objects.all()).exists()
    inactive: Any = UserFactory(username="gone", is_active=False)
    RoleAssignment.objects.create(user=inactive, unit=tree["province"], role="manager")
    assert not access.scope(inactive, Household.objects.all()).exists()
    with pytest.raises(PermissionDenied):
        access.scope(stranger, OrgUnit.objects.all())  # a model that declares no scope path


def test_read_only_roles_cannot_write(
    tree: dict[str, OrgUnit], users: dict[str, Any], files: dict[str, Household]
) -> None:
    for role in ("evaluator", "province_manager"):
        assert access.has_perm(users[role], Perm.HOUSEHOLD_VIEW, tree["xiangyun_g"])
        with pytest.raises(PermissionDenied):
            services.household_create(actor=users[role], data=household_input(tree["xiangyun_g"]))
    with pytest.raises(PermissionDenied):
        services.member_id_reveal(actor=users["xiangyun_cadre"], member_id=files["xiangyun"].members.first().pk)  # type: ignore[union-attr]


def test_the_roles_of_many_users_read_at_once_are_those_read_one_by_one(
    tree: dict[str, OrgUnit], users: dict[str, Any], django_assert_num_queries: Any
) -> None:
    """``grants_loaded``: one query for all, each user's grants as ``grants`` reads them (an
    unknown role grants nothing, an inactive user holds none)."""
    from django.contrib.auth import get_user_model

    stranger: Any = UserFactory(username="stranger")
    RoleAssignment.objects.create(user=stranger, unit=tree["province"], role="superhero")
    inactive: Any = UserFactory(username="gone", is_active=False)
    RoleAssignment.objects.create(user=inactive, unit=tree["province"], role="manager")
    RoleAssignment.objects.create(user=users["xiangyun_staff"], unit=tree["dalishi"], role="evaluator")
    pks = [u.pk for u in [*users.values(), stranger, inactive]]
    User = get_user_model()  # noqa: N806 - the model
    one_by_one = {u.pk: sorted(access.grants(u), key=repr) for u in User.objects.filter(pk__in=pks)}
    fresh = list(User.objects.filter(pk__in=pks))
    with django_assert_num_queries(1):
        access.grants_loaded([*fresh, None])
        at_once = {u.pk: sorted(access.grants(u), key=repr) for u in fresh}
    assert at_once == one_by_one and at_once[stranger.pk] == [] and at_once[inactive.pk] == []
    assert len(at_once[users["xiangyun_staff"].pk]) == 2
