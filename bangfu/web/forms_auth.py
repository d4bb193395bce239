from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from bangfu.org import signin


class LoginForm(AuthenticationForm):
    """Django's sign-in form with Bootstrap classes on its inputs; it refuses to try a password for a
    name or an address with too many recent failures (``org.signin``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def full_clean(self) -> None:
        """A refused sign-in (a wrong password, a lock) is the form's error, not a field's: both
        boxes are marked invalid and described by it (``login-error`` in web/login.html), and the
        page's script puts the cursor on the first instead of the name box's autofocus, so that a
        screen reader reads the error with the box."""
        super().full_clean()
        if self.non_field_errors():
            for field in self.fields.values():
                field.widget.attrs.pop("autofocus", None)
                field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": "login-error"})

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        minutes = signin.minutes_locked(username, signin.client_address(self.request)) if username else 0
        if minutes:
            signin.refused_while_locked(username, self.request, minutes)
            raise ValidationError(
                ngettext(
                    "Too many wrong passwords for this name or from this computer; try again in %(n)s minute.",
                    "Too many wrong passwords for this name or from this computer; try again in %(n)s minutes.",
                    minutes,
                )
                % {"n": minutes},
                code="throttled",
            )
        return super().clean()
