from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgLevel(models.IntegerChoices):
    NATIONAL = 1, _("National federation")
    PROVINCE = 2, _("Provincial federation")
    CITY = 3, _("City federation")
    COUNTY = 4, _("County federation")
    GRASSROOTS = 5, _("Grassroots union")


class OrgKind(models.TextChoices):
    """What a unit is called: the Bingtuan names its city/county/grassroots levels 师/团/连."""

    FEDERATION = "federation", _("Federation of trade unions")
    BINGTUAN_DIVISION = "division", _("Division (师)")
    BINGTUAN_REGIMENT = "regiment", _("Regiment (团/镇)")
    BINGTUAN_COMPANY = "company", _("Company (连队)")
    ENTERPRISE = "enterprise", _("Enterprise union")
    INDUSTRY = "industry", _("Industry union")
    STREET = "street", _("Street union")
    COMMUNITY = "community", _("Community union")


class OrgUnit(models.Model):
    """A node of the union tree. ``path`` is the materialised path of ids (``/1/7/42/``):
    a unit's jurisdiction is every row whose unit path starts with its own."""

    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=OrgLevel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=OrgKind.choices, default=OrgKind.FEDERATION)
    division_code = models.CharField(_("division code"), max_length=6, db_index=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    code = models.CharField(
        _("unit code"), max_length=32, unique=True, help_text=_("Division code for federations, or a unique code")
    )

    class Meta:
        verbose_name = _("union unit")
        verbose_name_plural = _("union units")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(condition=models.Q(division_code__regex=r"^[0-9]{6}$"), name="org_division_code_6")
        ]

    def __str__(self) -> str:
        return self.name

    def is_within(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)


class Role(models.TextChoices):
    GRASSROOTS_CADRE = "grassroots_cadre", _("Grassroots union cadre")
    CENTRE_STAFF = "centre_staff", _("Assistance-centre staff")
    MANAGER = "manager", _("Manager")
    EVALUATOR = "evaluator", _("Evaluator (read-only)")
    ADMIN = "admin", _("Administrator")


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="org_role_once")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.unit_id}"


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


class SignInFailure(models.Model):
    """A failed staff sign-in (``org.signin``), kept a day: the sign-in form refuses an account or an
    address with too many recent failures."""

    username = models.CharField(max_length=150)  # as typed, lower-cased
    address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="org_signinfailure_user_at"),
            models.Index(fields=["address", "at"], name="org_signinfailure_addr_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.at:%Y-%m-%d %H:%M}"
