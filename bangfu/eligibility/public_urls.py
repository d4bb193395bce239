"""Public pages of identification (no sign-in)."""

from django.urls import path

from . import selftest

app_name = "selftest"
urlpatterns = [path("", selftest.self_test, name="self_test")]
